//! Accounts: login, logout, password reset and change, language choice.

pub mod model;
pub mod pages;
pub mod password;
pub mod service;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route(
            "/password/forgot",
            get(pages::forgot_form).post(pages::forgot),
        )
        .route(
            "/password/reset/{token}",
            get(pages::reset_form).post(pages::reset),
        )
        .route(
            "/account/password",
            get(pages::change_form).post(pages::change),
        )
        .route("/lang", post(pages::set_language))
}
