//! The home page and the modules that later work fills in.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::app::AppState;
use crate::error::AppResult;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, render, render_status};
use amicale_store::entities::{organisations, persons, programmes};

pub fn router() -> Router<AppState> {
    let mut r = Router::new().route("/", get(home));
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
#[template(path = "home.html")]
struct HomeTpl<'a> {
    p: &'a Page,
    members: u64,
    programmes: u64,
    organisations: u64,
}

async fn home(State(state): State<AppState>, _user: CurrentUser, p: Page) -> AppResult<Response> {
    render(&HomeTpl {
        p: &p,
        members: persons::Entity::find().count(&state.db).await?,
        programmes: programmes::Entity::find().count(&state.db).await?,
        organisations: organisations::Entity::find().count(&state.db).await?,
    })
}

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
