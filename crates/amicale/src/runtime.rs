//! The roles the binary plays: a web server with its background tasks, or
//! the background tasks alone. The top of the crate: it assembles every
//! floor, and nothing below imports it.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::app::{AppState, Shutdown};
use crate::error::{AppError, AppResult};
use crate::schedule;
use amicale_delivery::config::Config;

/// A web server bound to its port, ready to run.
pub struct Application {
    state: AppState,
    listener: TcpListener,
}

impl Application {
    /// Binds first so that `bind = "127.0.0.1:0"` (tests) knows its port
    /// before links are built from it.
    pub async fn build(config: Config, demo: bool) -> AppResult<Self> {
        let listener = TcpListener::bind(&config.bind)
            .await
            .map_err(|e| AppError::Config(format!("cannot listen on {}: {e}", config.bind)))?;
        let addr = listener.local_addr()?;
        let base_url = config
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let state = AppState::new(config, base_url, demo).await?;
        Ok(Self { state, listener })
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Web server, delivery workers and scheduler until `shutdown` fires.
    pub async fn serve(self, shutdown: Shutdown) -> AppResult<()> {
        let mut background = spawn_background(&self.state, &shutdown);
        let router = crate::routes::router(self.state.clone());
        tracing::info!(addr = %self.addr(), base_url = %self.state.base_url, "listening");
        crate::web::server::raise_fd_limit();
        crate::web::server::run(self.listener, router, &self.state.config, shutdown.clone()).await;
        while let Some(done) = background.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "background task ended abnormally");
            }
        }
        Ok(())
    }
}

/// Delivery workers and the scheduler; the `worker` role runs only these.
pub fn spawn_background(state: &AppState, shutdown: &Shutdown) -> JoinSet<()> {
    let mut set = JoinSet::new();
    // No workers: this node serves pages and leaves e-mail to the others.
    if state.config.workers > 0 {
        set.spawn(amicale_delivery::worker::run(
            state.engine.clone(),
            shutdown.clone(),
        ));
    }
    set.spawn(amicale_delivery::sms::worker::run(
        state.engine.clone(),
        shutdown.clone(),
    ));
    // Validated when the configuration was loaded.
    if let Ok(Some(url)) = state.config.bounce_mailbox() {
        set.spawn(amicale_delivery::bounce_mailbox::run(
            state.engine.clone(),
            shutdown.clone(),
            url,
        ));
    }
    let scheduler = schedule::Scheduler::new(
        state.db.clone(),
        state.tz,
        schedule::tasks::all(state.clone()),
    );
    set.spawn(scheduler.run(shutdown.clone()));
    set.spawn(crate::people::bulk::runner(state.clone(), shutdown.clone()));
    set
}

pub async fn run_worker(config: Config, shutdown: Shutdown) -> AppResult<()> {
    let base_url = config
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.bind));
    let state = AppState::new(config, base_url, false).await?;
    let mut set = spawn_background(&state, &shutdown);
    while let Some(done) = set.join_next().await {
        if let Err(e) = done {
            tracing::error!(error = %e, "background task ended abnormally");
        }
    }
    Ok(())
}
