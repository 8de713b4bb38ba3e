use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "smtp_profiles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub label: String,
    pub host: String,
    pub port: i32,
    /// none, starttls or tls.
    pub tls: String,
    pub username: String,
    /// Sealed with the network's secret key; empty when there is none.
    pub password: String,
    pub timeout_secs: i32,
    /// Messages per second this node may send through it; 0 for no limit.
    pub rate_per_sec: f64,
    /// The profile every message goes through (AMICALE_SMTP_URL otherwise).
    pub is_default: bool,
    /// Connections this node may hold open to it; 0: one per worker.
    pub max_connections: i32,
    /// Of those, how many may carry mail for one recipient domain at once;
    /// 0 for no limit.
    pub per_domain: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
