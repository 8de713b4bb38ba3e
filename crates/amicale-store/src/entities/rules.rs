use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub nature: String,
    pub event_type: String,
    pub programme_id: Option<i64>,
    pub step: String,
    pub mode: String,
    pub presence: String,
    /// "", yes or no
    pub confirmed: String,
    pub channel: String,
    pub template_id: i64,
    pub offset_days: i32,
    pub active: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
