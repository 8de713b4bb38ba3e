use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sms_packages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// YYYY-MM-DD.
    pub purchased_on: String,
    /// Segments bought.
    pub quantity: i64,
    pub note: String,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
