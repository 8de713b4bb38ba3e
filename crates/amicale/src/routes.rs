//! Every page and endpoint of the product, and the middleware around them
//! (outermost first). Each feature folder gives its own router; this file
//! only assembles them, so the shell in `web` knows no feature.

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::app::AppState;
use crate::web::{assets, csrf, errors, headers, page, session};

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::home::router())
        .merge(crate::account::router())
        .merge(crate::auth::router())
        .merge(crate::admin::router())
        .merge(crate::comms::router())
        .merge(crate::delivery::send_pages::router())
        .merge(crate::delivery::sms::pages::router())
        .merge(crate::delivery::hooks::router())
        .merge(crate::delivery::identity_pages::router())
        .merge(crate::delivery::archive::router())
        .merge(crate::delivery::transport_pages::router())
        .merge(crate::ops::router())
        .merge(crate::people::router())
        .merge(crate::events::router())
        .route("/static/{version}/{name}", get(assets::serve))
        .fallback(errors::not_found)
        // Outermost first: metrics see every response, errors are rendered in
        // the language chosen from the session, CSRF runs before any handler.
        .layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(
                    state.clone(),
                    crate::ops::metrics::track,
                ))
                .layer(CompressionLayer::new())
                .layer(from_fn_with_state(state.clone(), headers::secure))
                .layer(from_fn_with_state(state.clone(), session::load))
                .layer(from_fn_with_state(state.clone(), page::resolve_locale))
                .layer(from_fn(errors::pages))
                .layer(CatchPanicLayer::custom(errors::panic_to_500))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(30),
                ))
                .layer(from_fn_with_state(state.clone(), csrf::protect))
                // Forms are small; the upload routes set larger limits of
                // their own, checked after the user is (inner layers win).
                .layer(DefaultBodyLimit::max(state.config.max_form_bytes)),
        )
        .with_state(state)
}
