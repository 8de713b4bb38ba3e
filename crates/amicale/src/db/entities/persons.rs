use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "persons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub civility: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub city: String,
    pub country: String,
    pub promo_year: Option<i32>,
    pub programme_id: Option<i64>,
    pub organisation_id: Option<i64>,
    pub job_title: Option<String>,
    pub community_role: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
