//! The delivery settings in force: the SMTP profile marked default in
//! Administration (else `AMICALE_SMTP_URL`, else the catcher), its rate,
//! and the DKIM keys by domain (plus the configured key file). Workers ask
//! for them before each batch; a generation number in the settings table
//! tells every node when an administrator changed them, so no restart is
//! needed and no worker keeps a connection to an old server.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use amicale_mailkit::dkim::{Signer, SigningKey};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::app::AppState;
use crate::crypto::random_token;
use crate::db::entities::{dkim_keys, smtp_profiles};
use crate::db::setting;
use crate::delivery::rate::RateLimiter;
use crate::delivery::smtp::{SmtpUrl, TlsMode};
use crate::delivery::transport::Transport;
use crate::error::{AppError, AppResult};

const GENERATION: &str = "delivery_generation";
pub const SEAL_SMTP: &str = "smtp-password";
pub const SEAL_DKIM: &str = "dkim-key";

pub struct Active {
    pub transport: Transport,
    pub rate: RateLimiter,
    /// Active keys by domain, from Administration.
    pub dkim: HashMap<String, Arc<Signer>>,
    /// The key of the configuration file, for any other domain.
    pub fallback_dkim: Option<Arc<Signer>>,
    pub generation: String,
}

impl Active {
    /// The signer for mail from `domain`.
    pub fn signer_for(&self, domain: &str) -> Option<Arc<Signer>> {
        self.dkim
            .get(&domain.to_ascii_lowercase())
            .or(self.fallback_dkim.as_ref())
            .cloned()
    }
}

/// The cell in `AppState` holding the settings in force.
pub type Cell = RwLock<Arc<Active>>;

pub fn initial(state_config: &crate::config::Config) -> AppResult<Cell> {
    Ok(RwLock::new(Arc::new(Active {
        transport: Transport::from_config(state_config)?,
        rate: RateLimiter::new(state_config.smtp_rate_per_sec),
        dkim: HashMap::new(),
        fallback_dkim: state_config.dkim()?.map(Arc::new),
        // Never equal to a stored generation: the first batch loads.
        generation: String::new(),
    })))
}

async fn stored_generation(db: &DatabaseConnection) -> AppResult<String> {
    Ok(setting::get(db, GENERATION)
        .await?
        .unwrap_or_else(|| "0".into()))
}

/// Tells every node the settings changed.
pub async fn bump(db: &DatabaseConnection) -> AppResult<()> {
    setting::put(db, GENERATION, random_token(9)).await
}

/// The settings in force, reloaded when they changed.
pub async fn current(state: &AppState) -> AppResult<Arc<Active>> {
    let generation = stored_generation(&state.db).await?;
    {
        let cur = state.delivery.read().map_err(|_| poisoned())?;
        if cur.generation == generation {
            return Ok(cur.clone());
        }
    }
    let fresh = Arc::new(load(state, generation).await?);
    *state.delivery.write().map_err(|_| poisoned())? = fresh.clone();
    tracing::info!(transport = %fresh.transport.describe(), dkim_domains = fresh.dkim.len(), "delivery settings loaded");
    Ok(fresh)
}

fn poisoned() -> AppError {
    AppError::Internal("delivery settings lock poisoned".into())
}

pub fn tls_of(s: &str) -> TlsMode {
    match s {
        "starttls" => TlsMode::StartTls,
        "tls" => TlsMode::Tls,
        _ => TlsMode::None,
    }
}

pub fn tls_str(t: TlsMode) -> &'static str {
    match t {
        TlsMode::None => "none",
        TlsMode::StartTls => "starttls",
        TlsMode::Tls => "tls",
    }
}

/// The transport of a stored profile; `Err` when its password cannot be
/// opened (the secret key changed).
pub fn transport_of(state: &AppState, p: &smtp_profiles::Model) -> AppResult<Transport> {
    let password = if p.password.is_empty() {
        None
    } else {
        Some(state.secret.open(SEAL_SMTP, &p.password).ok_or_else(|| {
            AppError::Config(format!(
                "SMTP profile \"{}\": its password cannot be read, enter it again",
                p.label
            ))
        })?)
    };
    Transport::smtp(
        SmtpUrl {
            host: p.host.clone(),
            port: p.port as u16,
            tls: tls_of(&p.tls),
            user: Some(p.username.clone()).filter(|u| !u.is_empty()),
            password,
        },
        Duration::from_secs(p.timeout_secs.max(1) as u64),
    )
}

async fn load(state: &AppState, generation: String) -> AppResult<Active> {
    let profile = smtp_profiles::Entity::find()
        .filter(smtp_profiles::Column::IsDefault.eq(true))
        .one(&state.db)
        .await?;
    let (transport, rate) = match &profile {
        Some(p) => match transport_of(state, p) {
            Ok(t) => (t, p.rate_per_sec),
            Err(e) => {
                // Keep delivering with the configured server rather than
                // stopping every send.
                tracing::error!(error = %e, "default SMTP profile unusable, using the configuration");
                (
                    Transport::from_config(&state.config)?,
                    state.config.smtp_rate_per_sec,
                )
            }
        },
        None => (
            Transport::from_config(&state.config)?,
            state.config.smtp_rate_per_sec,
        ),
    };
    let mut dkim = HashMap::new();
    for k in dkim_keys::Entity::find()
        .filter(dkim_keys::Column::Active.eq(true))
        .all(&state.db)
        .await?
    {
        let Some(pem) = state.secret.open(SEAL_DKIM, &k.private_key) else {
            tracing::error!(domain = %k.domain, selector = %k.selector, "DKIM key cannot be read");
            continue;
        };
        match SigningKey::from_pkcs8_pem(&pem) {
            Ok(key) => {
                dkim.insert(
                    k.domain.to_ascii_lowercase(),
                    Arc::new(Signer::new(k.domain.clone(), k.selector.clone(), key)),
                );
            }
            Err(e) => tracing::error!(domain = %k.domain, error = %e, "DKIM key unusable"),
        }
    }
    Ok(Active {
        transport,
        rate: RateLimiter::new(rate),
        dkim,
        fallback_dkim: state.config.dkim()?.map(Arc::new),
        generation,
    })
}
