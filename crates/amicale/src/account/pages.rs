//! The account overview page.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::app::AppState;
use crate::error::AppResult;
use crate::web::extract::{CurrentUser, Permission, SendMessages};
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "account/overview.html")]
struct OverviewTpl<'a> {
    p: &'a Page,
    login: &'a str,
    /// May send from person and event pages: has sender identities and an
    /// archive of what they sent.
    sender: bool,
    calendar: String,
}

pub async fn overview(
    State(state): State<AppState>,
    CurrentUser(s): CurrentUser,
    p: Page,
) -> AppResult<Response> {
    render(&OverviewTpl {
        p: &p,
        login: &s.user.email,
        sender: SendMessages::allows(&s),
        calendar: state.url(&crate::events::ics::feed_path(&state, s.user.id)),
    })
}
