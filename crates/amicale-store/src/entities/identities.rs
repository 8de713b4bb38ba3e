use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// personal or shared.
    pub kind: String,
    pub label: String,
    pub address: String,
    pub reply_to: Option<String>,
    /// The user a personal identity belongs to.
    pub owner_user_id: Option<i64>,
    /// A shared mailbox proved it reads its mail; personal ones are the login.
    pub verified: bool,
    pub code_hash: Option<String>,
    pub code_sent_at: Option<DateTimeUtc>,
    /// Wrong codes typed since the last one was sent.
    pub code_attempts: i32,
    pub created_at: DateTimeUtc,
    /// The SMTP profile its mail goes through; the default one when unset.
    pub smtp_profile_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
