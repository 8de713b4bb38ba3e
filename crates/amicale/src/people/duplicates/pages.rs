//! The pages of probable duplicates and their merge.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::service::{self, Group, Merged};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::web::extract::{CreatePeople, EditPeople, Require};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "people/duplicates.html")]
struct DuplicatesTpl<'a> {
    p: &'a Page,
    groups: Vec<Group>,
    all: bool,
    page: u64,
    done: String,
}

#[derive(Deserialize, Default)]
pub struct DupQuery {
    #[serde(default)]
    all: String,
    #[serde(default)]
    #[serde(deserialize_with = "amicale_kernel::fields::blank_as_none")]
    page: Option<u64>,
    #[serde(default)]
    done: String,
}

pub async fn list(
    State(state): State<AppState>,
    who: Require<EditPeople>,
    p: Page,
    Query(q): Query<DupQuery>,
) -> AppResult<Response> {
    let all = q.all == "1";
    let page = q.page.unwrap_or(1).max(1);
    let groups = service::groups(&state, &who.0, all, page).await?;
    render(&DuplicatesTpl {
        p: &p,
        groups,
        all,
        page,
        done: q.done,
    })
}

/// Merging deletes a record and moves a login: it needs the create level,
/// every record within the user's scope, and records that really are
/// duplicates (the same name key).
pub async fn merge_page(
    State(state): State<AppState>,
    who: Require<CreatePeople>,
    f: FormPairs,
) -> AppResult<Response> {
    let keep: i64 = f.get("keep").parse().map_err(|_| AppError::NotFound)?;
    let mut members: Vec<i64> = f
        .all("member")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    members.sort_unstable();
    members.dedup();
    if !members.contains(&keep) || members.len() < 2 {
        return Ok(Redirect::to("/admin/people/duplicates?done=none").into_response());
    }
    let done = match service::merge_group(&state, &who.0, keep, &members).await? {
        Merged::NotDuplicates => "not-duplicates",
        Merged::TwoAccounts => "two-accounts",
        Merged::Done => "merged",
    };
    Ok(Redirect::to(&format!("/admin/people/duplicates?done={done}")).into_response())
}
