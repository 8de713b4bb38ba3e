//! Operations endpoints: health, metrics, and a bare handler for benchmarks.

pub mod metrics;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .route("/ping", get(ping))
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let (status, code) = match amicale_store::ping(&state.db).await {
        Ok(()) => ("ok", StatusCode::OK),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            ("error", StatusCode::SERVICE_UNAVAILABLE)
        }
    };
    (
        code,
        Json(json!({
            "status": status,
            "database": state.backend.name(),
            "version": env!("CARGO_PKG_VERSION"),
        })),
    )
}

/// Answers through the whole middleware stack without touching the database:
/// `bench/http.sh` compares it with real pages.
async fn ping() -> &'static str {
    "pong"
}
