use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: i64,
    pub person_id: i64,
    /// On the waiting list (registered beyond capacity).
    pub waiting: bool,
    pub confirmed: bool,
    /// "", present, absent or excused
    pub presence: String,
    pub registered_at: DateTimeUtc,
    pub registered_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
