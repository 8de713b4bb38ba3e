//! The delivery settings in force: the SMTP profile marked default in
//! Administration (else `AMICALE_SMTP_URL`, else the catcher), the other
//! profiles that identities may pick, their limits, and the DKIM keys by
//! domain (plus the configured key file). Workers ask
//! for them before each batch; a generation number in the settings table
//! tells every node when an administrator changed them, so no restart is
//! needed and no worker keeps a connection to an old server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use amicale_mailkit::dkim::{Signer, SigningKey};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::rate::RateLimiter;
use crate::smtp_url::{SmtpUrl, TlsMode};
use crate::state::Engine;
use crate::transport::Transport;
use amicale_kernel::crypto::random_token;
use amicale_store::entities::{dkim_keys, smtp_profiles};
use amicale_store::error::{AppError, AppResult};
use amicale_store::setting;

const GENERATION: &str = "delivery_generation";
pub const SEAL_SMTP: &str = "smtp-password";
pub const SEAL_DKIM: &str = "dkim-key";

/// One way out: a transport with the limits of its profile. The limits are
/// this node's: each node holds its own connections.
pub struct Route {
    /// The SMTP profile; `None` for the configuration's server or the catcher.
    pub profile: Option<i64>,
    pub transport: Transport,
    pub rate: RateLimiter,
    /// Connections this node may hold open; `None`: one per worker.
    pub connections: Option<Arc<Semaphore>>,
    /// Connections that may carry mail for one recipient domain at once.
    per_domain: usize,
    domains: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Route {
    fn new(
        profile: Option<i64>,
        transport: Transport,
        rate: f64,
        max_connections: i32,
        per_domain: i32,
    ) -> Route {
        Route {
            profile,
            transport,
            rate: RateLimiter::new(rate),
            connections: (max_connections > 0)
                .then(|| Arc::new(Semaphore::new(max_connections as usize))),
            per_domain: per_domain.max(0) as usize,
            domains: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until one more connection may talk to `recipient`'s domain;
    /// the slot is held until the permit is dropped.
    /// Whether connections per recipient domain are limited.
    pub fn limits_domains(&self) -> bool {
        self.per_domain > 0
    }

    pub async fn domain_slot(&self, recipient: &str) -> Option<OwnedSemaphorePermit> {
        if self.per_domain == 0 {
            return None;
        }
        let domain = recipient
            .rsplit_once('@')
            .map_or("", |(_, d)| d)
            .to_ascii_lowercase();
        let sem = {
            let mut domains = self.domains.lock().ok()?;
            domains
                .entry(domain)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_domain)))
                .clone()
        };
        sem.acquire_owned().await.ok()
    }
}

pub struct Active {
    /// The profile marked default, else `AMICALE_SMTP_URL`, else the catcher.
    pub default: Arc<Route>,
    /// Every usable profile, for identities that pick their own.
    pub routes: HashMap<i64, Arc<Route>>,
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

    /// The route of mail sent through `profile` (an identity's choice).
    pub fn route(&self, profile: Option<i64>) -> &Arc<Route> {
        profile
            .and_then(|p| self.routes.get(&p))
            .unwrap_or(&self.default)
    }
}

/// The cell in `Engine` holding the settings in force.
pub type Cell = RwLock<Arc<Active>>;

pub fn initial(state_config: &crate::config::Config) -> AppResult<Cell> {
    Ok(RwLock::new(Arc::new(Active {
        default: Arc::new(configured(state_config)?),
        routes: HashMap::new(),
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
pub async fn current(state: &Engine) -> AppResult<Arc<Active>> {
    let generation = stored_generation(&state.db).await?;
    {
        let cur = state.delivery.read().map_err(|_| poisoned())?;
        if cur.generation == generation {
            return Ok(cur.clone());
        }
    }
    let fresh = Arc::new(load(state, generation).await?);
    *state.delivery.write().map_err(|_| poisoned())? = fresh.clone();
    tracing::info!(transport = %fresh.default.transport.describe(), profiles = fresh.routes.len(), dkim_domains = fresh.dkim.len(), "delivery settings loaded");
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
pub fn transport_of(state: &Engine, p: &smtp_profiles::Model) -> AppResult<Transport> {
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

/// The server of the configuration file (or the catcher) as a route.
fn configured(config: &crate::config::Config) -> AppResult<Route> {
    Ok(Route::new(
        None,
        Transport::from_config(config)?,
        config.smtp_rate_per_sec,
        0,
        0,
    ))
}

async fn load(state: &Engine, generation: String) -> AppResult<Active> {
    let mut routes = HashMap::new();
    let mut default = None;
    for p in smtp_profiles::Entity::find().all(&state.db).await? {
        match transport_of(state, &p) {
            Ok(t) => {
                let route = Arc::new(Route::new(
                    Some(p.id),
                    t,
                    p.rate_per_sec,
                    p.max_connections,
                    p.per_domain,
                ));
                if p.is_default {
                    default = Some(route.clone());
                }
                routes.insert(p.id, route);
            }
            // Keep delivering with the configured server rather than
            // stopping every send.
            Err(e) => tracing::error!(error = %e, "SMTP profile unusable, using the configuration"),
        }
    }
    let default = match default {
        Some(d) => d,
        None => Arc::new(configured(&state.config)?),
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
        default,
        routes,
        dkim,
        fallback_dkim: state.config.dkim()?.map(Arc::new),
        generation,
    })
}
