//! The communication hub: templates now; audiences, mailings, campaigns,
//! rules, history and tracking as the sending issues add them.

pub mod templates;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    templates::router()
}
