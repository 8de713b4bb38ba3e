//! The follow-up of accompanied persons: situations, projects,
//! programme enrolments, tasks and documents.

pub mod documents;
pub mod kinds;
pub mod pages;
pub mod store;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/people/{id}/followup", get(pages::page))
        .route(
            "/admin/people/{id}/followup/documents",
            post(documents::upload)
                .layer(DefaultBodyLimit::max(documents::MAX_DOCUMENT + 64 * 1024)),
        )
        .route(
            "/admin/people/{id}/followup/documents/{doc}",
            get(documents::download),
        )
        .route(
            "/admin/people/{id}/followup/documents/{doc}/delete",
            post(documents::remove),
        )
        .route("/admin/people/{id}/followup/{kind}", post(pages::add))
        .route(
            "/admin/people/{id}/followup/{kind}/{row}",
            post(pages::correct),
        )
        .route(
            "/admin/people/{id}/followup/{kind}/{row}/delete",
            post(pages::remove),
        )
}
