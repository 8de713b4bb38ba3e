//! The home page — a dashboard of what the user's rights open — and the
//! modules that later work fills in.

mod pages;
pub mod service;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use crate::app::AppState;
use crate::error::AppResult;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, render_status};

pub fn router() -> Router<AppState> {
    let mut r = Router::new().route("/", get(pages::home));
    for m in MODULES.iter().filter(|m| !m.built) {
        r = r.route(m.path, get(unavailable));
    }
    r
}

/// A navigation entry. One whose module is not built yet says so plainly
/// instead of showing invented content.
pub struct Module {
    pub path: &'static str,
    pub key: &'static str,
    /// Served by its own feature's router.
    pub built: bool,
}

pub const MODULES: &[Module] = &[
    Module {
        path: "/news",
        key: "nav-news",
        built: false,
    },
    Module {
        path: "/events",
        key: "nav-events",
        built: true,
    },
    Module {
        path: "/directory",
        key: "nav-directory",
        built: true,
    },
    Module {
        path: "/mentoring",
        key: "nav-mentoring",
        built: false,
    },
    Module {
        path: "/jobs",
        key: "nav-jobs",
        built: false,
    },
    Module {
        path: "/messages",
        key: "nav-messages",
        built: false,
    },
];

#[derive(Template)]
#[template(path = "unavailable.html")]
struct UnavailableTpl<'a> {
    p: &'a Page,
    title: String,
}

async fn unavailable(_user: CurrentUser, p: Page) -> AppResult<Response> {
    let key = MODULES
        .iter()
        .find(|m| p.active(m.path))
        .map_or("nav-home", |m| m.key);
    // Honest status for scripts too: the module does not exist yet.
    render_status(
        StatusCode::NOT_IMPLEMENTED,
        &UnavailableTpl {
            title: p.t(key),
            p: &p,
        },
    )
}
