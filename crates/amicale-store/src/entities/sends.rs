use sea_orm::entity::prelude::*;

pub use super::outbox::Origin;

crate::stored_codes!(
    /// Whether a send's messages may go.
    SendState {
        Running = "running",
        Paused = "paused",
        Stopped = "stopped",
    }
);

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sends")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub label: String,
    pub origin: Origin,
    pub origin_id: Option<i64>,
    pub state: SendState,
    pub total: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
