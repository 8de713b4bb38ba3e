//! "My account": one page that leads to everything a signed-in user can
//! change about their account (password, login address, sender identity,
//! calendar feed, language, deactivation) and, for staff, to what they sent.

pub mod pages;

use axum::Router;
use axum::routing::get;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/account", get(pages::overview))
}
