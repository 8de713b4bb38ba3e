//! The template library and merge fields: e-mail, newsletter and
//! SMS templates with versions, attachments, preview and JUNGO2 import.

pub mod import;
pub use amicale_delivery::templates::{layout, model, plaintext, render, sanitize};

pub mod pages;

pub mod store;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/templates", get(pages::list))
        .route(
            "/admin/templates/new",
            get(pages::new_form).post(pages::create),
        )
        .route(
            "/admin/templates/import",
            get(import::form).post(import::import),
        )
        .route("/admin/templates/sms-count", get(pages::sms_count))
        .route(
            "/admin/templates/{id}",
            get(pages::edit_form).post(pages::save),
        )
        .route("/admin/templates/{id}/active", post(pages::set_active))
        .route("/admin/templates/{id}/delete", post(pages::delete))
        .route("/admin/templates/{id}/preview", get(pages::preview))
        .route(
            "/admin/templates/{id}/preview/frame",
            get(pages::preview_frame),
        )
        .route("/admin/templates/{id}/test", post(pages::send_test))
        .route(
            "/admin/templates/{id}/attachments",
            // Several attachments of up to 2 MB at once (the default form
            // limit would refuse even one).
            post(pages::upload).layer(DefaultBodyLimit::max(
                10 * pages::MAX_ATTACHMENT + 64 * 1024,
            )),
        )
        .route(
            "/admin/templates/{id}/attachments/{aid}",
            get(pages::download),
        )
        .route(
            "/admin/templates/{id}/attachments/{aid}/delete",
            post(pages::remove_attachment),
        )
        .route("/admin/merge-fields", get(pages::merge_fields))
}
