use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    /// individual or collective
    pub nature: String,
    pub event_type: String,
    pub programme_id: Option<i64>,
    pub step: String,
    pub phase: String,
    /// onsite or remote
    pub mode: String,
    pub video_link: String,
    pub site: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// The start day in the network time zone, `YYYY-MM-DD`.
    pub local_date: String,
    pub capacity: Option<i32>,
    pub resource: String,
    pub open_registration: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
