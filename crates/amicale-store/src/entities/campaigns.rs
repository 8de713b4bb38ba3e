use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub recipient_type: String,
    pub channel: String,
    pub template_id: i64,
    /// The filters as JSON (`Filters`).
    pub filters: String,
    /// "all" or a JSON list of person ids.
    pub selection: String,
    /// draft, scheduled, sending, sent
    pub state: String,
    pub scheduled_at: Option<DateTimeUtc>,
    pub send_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The sender identity chosen for the campaign.
    pub identity_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
