//! What the delivery workers and every layer above share: connections,
//! configuration, the secret, the transport in force. Cheap to clone.

use std::ops::Deref;
use std::sync::Arc;

use chrono_tz::Tz;
use lettre::message::Mailbox;
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, watch};

use amicale_kernel::Locale;
use amicale_kernel::crypto::SecretKey;
use amicale_store::error::{AppError, AppResult};
use amicale_store::{self as db, Backend};

use crate::config::Config;

/// Shared by every worker, task and request; cheap to clone.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

pub struct Inner {
    pub db: DatabaseConnection,
    /// What the delivery workers claim and record through (see
    /// [`db::connect_outbox`]).
    pub outbox_db: DatabaseConnection,
    pub config: Config,
    pub backend: Backend,
    pub base_url: String,
    pub secret: SecretKey,
    pub tz: Tz,
    pub default_locale: Locale,
    pub mail_from: Mailbox,
    /// Transport, rate and DKIM keys in force (reloaded when changed).
    pub delivery: crate::delivery_settings::Cell,
    /// Woken after a transaction that queued messages commits, so delivery
    /// starts at once instead of at the next poll.
    pub outbox_wakeup: Notify,
    /// The merge engine every template renders through.
    pub merge: amicale_merge::Engine,
    /// Calls SMS providers.
    pub http: crate::sms::http::ProviderClient,
}

impl Deref for Engine {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Engine {
    /// Connects, migrates and loads the secret key.
    pub async fn new(config: Config, base_url: String) -> AppResult<Self> {
        let backend = Backend::from_url(&config.database_url)?;
        let db = db::connect(&config.database_url).await?;
        db::migrate(&db).await?;
        let outbox_db = db::connect_outbox(&config.database_url, &db).await?;
        let secret = match &config.secret_key {
            Some(k) => SecretKey::from_config(k).map_err(|e| AppError::Config(e.into()))?,
            None => db::setting::secret_key(&db).await?,
        };
        let delivery = crate::delivery_settings::initial(&config)?;
        let mail_from = config
            .mail_from
            .parse()
            .map_err(|e| AppError::Config(format!("mail_from: {e}")))?;
        Ok(Engine(Arc::new(Inner {
            backend,
            tz: config.tz()?,
            default_locale: Locale::parse(&config.default_locale).unwrap_or_default(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            db,
            outbox_db,
            secret,
            mail_from,
            delivery,
            outbox_wakeup: Notify::new(),
            merge: amicale_merge::Engine::new(),
            http: provider_client(&config)?,
            config,
        })))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// The HTTP client SMS provider calls go through. Provider calls reach
/// public addresses only, unless the network says its provider lives on
/// the local network.
fn provider_client(config: &Config) -> AppResult<crate::sms::http::ProviderClient> {
    crate::sms::http::ProviderClient::new(config.sms_allow_private_urls)
        .map_err(|e| AppError::Config(format!("HTTP client: {e}")))
}

/// Tells long-running loops to stop; they finish what is in flight first.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }
}

pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl Shutdown {
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }
}
