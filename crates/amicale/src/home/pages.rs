//! The home page: the dashboard of [`super::service`].

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::service::{self, Dashboard};
use crate::app::AppState;
use crate::error::AppResult;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "home.html")]
struct HomeTpl<'a> {
    p: &'a Page,
    d: Dashboard,
}

impl HomeTpl<'_> {
    /// Delivered, failed or cancelled, of the total: how far a send is.
    fn done(s: &amicale_delivery::sends::Progress) -> i64 {
        s.sent + s.failed + s.cancelled + s.suppressed
    }
}

pub async fn home(
    State(state): State<AppState>,
    CurrentUser(s): CurrentUser,
    p: Page,
) -> AppResult<Response> {
    let d = service::dashboard(&state, p.locale, &s).await?;
    render(&HomeTpl { p: &p, d })
}
