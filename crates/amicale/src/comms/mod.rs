//! The communication hub: templates now; audiences, mailings, campaigns,
//! rules, history and tracking as the sending issues add them.

pub mod context;
pub mod direct;
pub mod eligibility;
pub mod templates;
pub mod unsubscribe;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    use axum::routing::get;
    templates::router()
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::form).post(unsubscribe::confirm),
        )
        .route(
            "/admin/people/{id}/messages",
            get(direct::person_page).post(direct::person_send),
        )
}
