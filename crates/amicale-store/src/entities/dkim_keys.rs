use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dkim_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub domain: String,
    pub selector: String,
    /// ed25519-sha256 or rsa-sha256.
    pub algorithm: String,
    /// PKCS#8 PEM, sealed with the network's secret key.
    pub private_key: String,
    /// The TXT record to publish, as `name IN TXT "…"`.
    pub dns_record: String,
    /// Signs mail from its domain; one active key per domain.
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
