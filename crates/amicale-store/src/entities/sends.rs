use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sends")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub label: String,
    pub origin: String,
    pub origin_id: Option<i64>,
    /// running, paused, stopped
    pub state: String,
    pub total: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
