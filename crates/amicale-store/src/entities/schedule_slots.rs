use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "schedule_slots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub task: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot_at: DateTimeUtc,
    pub claimed_by: String,
    pub claimed_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub outcome: String,
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
