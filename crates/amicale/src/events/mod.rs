//! Events: the staff agenda, participants and attendance, the
//! members' registrations and calendars, and the automatic rules
//! that send reminders relative to event dates.

pub mod audience;
pub mod ics;
pub mod member;
pub mod model;
pub mod pages;
pub mod rules;
pub mod rules_pages;
pub mod scope;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/events", get(pages::list))
        .route(
            "/admin/events/new",
            get(pages::new_form).post(pages::create),
        )
        .route("/admin/events/{id}", get(pages::show))
        .route(
            "/admin/events/{id}/edit",
            get(pages::edit_form).post(pages::update),
        )
        .route("/admin/events/{id}/delete", post(pages::delete))
        .route(
            "/admin/events/{id}/participants",
            post(pages::add_participant),
        )
        .route(
            "/admin/events/{id}/participants/{person}/remove",
            post(pages::remove_participant),
        )
        .route("/admin/events/{id}/attendance", post(pages::attendance))
        .route("/admin/events/{id}/sheet", get(pages::sheet))
        .route(
            "/admin/events/{id}/send",
            post(crate::comms::direct::send_event),
        )
        .route("/admin/agenda", get(pages::agenda))
        .route("/admin/rules", get(rules_pages::list))
        .route(
            "/admin/rules/new",
            get(rules_pages::new_form).post(rules_pages::create),
        )
        .route("/admin/rules/test", get(rules_pages::test))
        .route("/admin/rules/test/me", post(rules_pages::test_me))
        .route(
            "/admin/rules/{id}",
            get(rules_pages::edit_form).post(rules_pages::update),
        )
        .route("/admin/rules/{id}/toggle", post(rules_pages::toggle))
        .route("/admin/rules/{id}/delete", post(rules_pages::delete))
        .route("/events", get(member::list))
        .route("/events/{id}/register", post(member::register))
        .route("/events/{id}/unregister", post(member::unregister))
        .route("/events/{file}", get(ics::event))
        .route("/calendar/{token}", get(ics::feed))
}
