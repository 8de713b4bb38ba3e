//! The transport settings administrators edit: SMTP profiles (their
//! passwords sealed) and DKIM keys. Every change bumps the delivery
//! settings so that every node's workers reload them.

use chrono::Utc;
use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use crate::delivery_settings::{self, SEAL_DKIM};
use crate::state::Engine;
use crate::transport::{Outcome, Session};
use amicale_mailkit::dkim::{Algorithm, SigningKey};
use amicale_store::entities::{dkim_keys, smtp_profiles};
use amicale_store::error::{AppError, AppResult};

pub type Profile = smtp_profiles::Model;
pub type DkimKey = dkim_keys::Model;

/// An SMTP profile as checked from a form; the password apart, as it is
/// sealed and may be kept.
pub struct ProfileInput {
    pub label: String,
    pub host: String,
    pub port: i32,
    pub tls: String,
    pub username: String,
    pub timeout_secs: i32,
    pub rate_per_sec: f64,
    pub max_connections: i32,
    pub per_domain: i32,
    pub is_default: bool,
}

impl ProfileInput {
    fn row(self, sealed_password: String) -> smtp_profiles::ActiveModel {
        smtp_profiles::ActiveModel {
            label: Set(self.label),
            host: Set(self.host),
            port: Set(self.port),
            tls: Set(self.tls),
            username: Set(self.username),
            password: Set(sealed_password),
            timeout_secs: Set(self.timeout_secs),
            rate_per_sec: Set(self.rate_per_sec),
            max_connections: Set(self.max_connections),
            per_domain: Set(self.per_domain),
            is_default: Set(self.is_default),
            updated_at: Set(Utc::now()),
            ..Default::default()
        }
    }
}

/// The SMTP profiles, by label.
pub async fn profiles(db: &DatabaseConnection) -> AppResult<Vec<Profile>> {
    Ok(smtp_profiles::Entity::find()
        .order_by_asc(smtp_profiles::Column::Label)
        .all(db)
        .await?)
}

pub async fn find_profile(db: &DatabaseConnection, id: i64) -> AppResult<Option<Profile>> {
    Ok(smtp_profiles::Entity::find_by_id(id).one(db).await?)
}

pub async fn profile(db: &DatabaseConnection, id: i64) -> AppResult<Profile> {
    find_profile(db, id).await?.ok_or(AppError::NotFound)
}

/// Only one default profile: the one just saved as default wins.
async fn only_default(db: &DatabaseConnection, id: i64, is_default: bool) -> AppResult<()> {
    if is_default {
        smtp_profiles::Entity::update_many()
            .col_expr(smtp_profiles::Column::IsDefault, Expr::value(false))
            .filter(smtp_profiles::Column::Id.ne(id))
            .exec(db)
            .await?;
    }
    delivery_settings::bump(db).await
}

pub async fn create_profile(
    db: &DatabaseConnection,
    input: ProfileInput,
    sealed_password: String,
) -> AppResult<i64> {
    let is_default = input.is_default;
    let id = smtp_profiles::Entity::insert(input.row(sealed_password))
        .exec(db)
        .await?
        .last_insert_id;
    only_default(db, id, is_default).await?;
    Ok(id)
}

pub async fn update_profile(
    db: &DatabaseConnection,
    id: i64,
    input: ProfileInput,
    sealed_password: String,
) -> AppResult<()> {
    let is_default = input.is_default;
    let mut row = input.row(sealed_password);
    row.id = Set(id);
    smtp_profiles::Entity::update(row).exec(db).await?;
    only_default(db, id, is_default).await
}

pub async fn delete_profile(db: &DatabaseConnection, id: i64) -> AppResult<()> {
    smtp_profiles::Entity::delete_by_id(id).exec(db).await?;
    delivery_settings::bump(db).await
}

/// Sends one plain-text message through the profile now (whether or not it
/// is the default) and returns what the server said; `Err` is why `to` is
/// no address.
pub async fn send_test(
    engine: &Engine,
    profile: &Profile,
    to: &str,
    subject: String,
    body: String,
) -> Result<Outcome, String> {
    let transport = match delivery_settings::transport_of(engine, profile) {
        Ok(t) => t,
        Err(e) => return Ok(Outcome::Failed(e.to_string().into())),
    };
    let to = to.parse::<Mailbox>().map_err(|e| e.to_string())?;
    let msg = Message::builder()
        .from(engine.mail_from.clone())
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body);
    Ok(match msg {
        Err(e) => Outcome::Failed(e.to_string().into()),
        Ok(m) => {
            let mut session = Session::default();
            let out = transport
                .send(&mut session, m.envelope(), &m.formatted())
                .await;
            session.close().await;
            out
        }
    })
}

/// The DKIM keys, by domain, newest first.
pub async fn dkim_keys(db: &DatabaseConnection) -> AppResult<Vec<DkimKey>> {
    Ok(dkim_keys::Entity::find()
        .order_by_asc(dkim_keys::Column::Domain)
        .order_by_desc(dkim_keys::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn dkim_key(db: &DatabaseConnection, id: i64) -> AppResult<DkimKey> {
    dkim_keys::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Generates and stores a new, inactive key for `selector._domainkey.domain`,
/// its private half sealed, with the DNS record to publish.
pub async fn generate_dkim_key(
    engine: &Engine,
    domain: String,
    selector: String,
    alg: Algorithm,
) -> AppResult<()> {
    // RSA key generation takes a while: off the I/O threads.
    let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("DKIM key: {e}")))?;
    let record = format!(
        "{selector}._domainkey.{domain} IN TXT \"{}\"",
        key.dns_txt_record()
    );
    dkim_keys::Entity::insert(dkim_keys::ActiveModel {
        domain: Set(domain),
        selector: Set(selector),
        algorithm: Set(alg.as_str().to_owned()),
        private_key: Set(engine.secret.seal(SEAL_DKIM, &key.to_pkcs8_pem())),
        dns_record: Set(record),
        active: Set(false),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&engine.db)
    .await?;
    Ok(())
}

/// One active key per domain: activating one retires the others.
pub async fn activate_dkim_key(db: &DatabaseConnection, key: &DkimKey) -> AppResult<()> {
    dkim_keys::Entity::update_many()
        .col_expr(dkim_keys::Column::Active, Expr::value(false))
        .filter(dkim_keys::Column::Domain.eq(key.domain.clone()))
        .exec(db)
        .await?;
    set_dkim_active(db, key.id, true).await
}

pub async fn deactivate_dkim_key(db: &DatabaseConnection, id: i64) -> AppResult<()> {
    set_dkim_active(db, id, false).await
}

async fn set_dkim_active(db: &DatabaseConnection, id: i64, active: bool) -> AppResult<()> {
    dkim_keys::Entity::update_many()
        .col_expr(dkim_keys::Column::Active, Expr::value(active))
        .filter(dkim_keys::Column::Id.eq(id))
        .exec(db)
        .await?;
    delivery_settings::bump(db).await
}

pub async fn delete_dkim_key(db: &DatabaseConnection, id: i64) -> AppResult<()> {
    dkim_keys::Entity::delete_by_id(id).exec(db).await?;
    delivery_settings::bump(db).await
}
