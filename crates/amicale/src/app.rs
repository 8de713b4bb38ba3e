//! The application state every request, worker and task shares: the
//! delivery engine's state, plus what only the application needs.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::Notify;

use amicale_delivery::Engine;
pub use amicale_delivery::config::Config;
pub use amicale_delivery::state::{Shutdown, ShutdownTrigger, shutdown_pair};

use crate::error::AppResult;
use crate::ops::metrics::Metrics;

/// Shared by every request, worker and task; cheap to clone. Derefs to the
/// engine's state (connections, configuration, secret, time zone…).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// What the delivery engine's workers share; also the application's
    /// connections and configuration.
    pub engine: Engine,
    pub secure_cookies: bool,
    pub metrics: Metrics,
    /// Wakes the bulk-job runner when a job is queued.
    pub jobs_wakeup: Notify,
    /// Set by `--demo`: the login page shows where the demo login is printed.
    pub demo: bool,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Deref for Inner {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl AppState {
    /// Connects, migrates and loads the secret key.
    pub async fn new(config: Config, base_url: String, demo: bool) -> AppResult<Self> {
        let secure_cookies = base_url.starts_with("https://");
        Ok(AppState(Arc::new(Inner {
            engine: Engine::new(config, base_url).await?,
            secure_cookies,
            metrics: Metrics::default(),
            jobs_wakeup: Notify::new(),
            demo,
        })))
    }
}
