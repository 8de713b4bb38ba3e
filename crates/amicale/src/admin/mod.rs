//! Administration: the mail catcher / outbox and the scheduler's state.

pub mod profiles;
pub mod store;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::AppResult;
use crate::web::extract::{Admin, Require};
use crate::web::page::{Page, render};
use amicale_delivery::outbox;
use amicale_delivery::worker::{VersionCache, content};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/outbox", get(outbox_list))
        .route("/admin/outbox/{id}", get(outbox_message))
        .route("/admin/outbox/{id}/body", get(outbox_body))
        .route("/admin/schedule", get(schedule))
        .route(
            "/admin/profiles",
            get(profiles::list).post(profiles::create),
        )
        .route(
            "/admin/profiles/{id}",
            get(profiles::show).post(profiles::save),
        )
        .route("/admin/users", get(profiles::users_list))
        .route(
            "/admin/users/{id}",
            axum::routing::post(profiles::user_save),
        )
}

/// An instant in the network zone, written as the reader's language does.
fn local(tz: Tz, l: amicale_kernel::Locale, t: DateTime<Utc>) -> String {
    l.date_time(t.with_timezone(&tz).naive_local())
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexTpl<'a> {
    p: &'a Page,
}

async fn index(_: Require<Admin>, p: Page) -> AppResult<Response> {
    render(&IndexTpl { p: &p })
}

pub struct MsgRow {
    pub id: i64,
    pub state: &'static str,
    pub recipient: String,
    pub subject: String,
    pub created: String,
    pub attempts: i32,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxTpl<'a> {
    p: &'a Page,
    catcher: bool,
    counts: Vec<(&'static str, i64)>,
    rows: Vec<MsgRow>,
    older: Option<i64>,
}

#[derive(Deserialize)]
struct ListQuery {
    before: Option<i64>,
}

const PAGE: u64 = 50;

async fn outbox_list(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let list = outbox::list(&state.db, q.before, PAGE).await?;
    let older = (list.len() as u64 == PAGE)
        .then(|| list.last().map(|m| m.id))
        .flatten();
    let rows = list
        .into_iter()
        .map(|m| MsgRow {
            id: m.id,
            state: m.state.as_str(),
            recipient: m.recipient,
            subject: m.subject,
            created: local(state.tz, p.locale, m.created_at),
            attempts: m.attempts,
        })
        .collect();
    let counts = outbox::counts(&state.db)
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str(), n))
        .collect();
    render(&OutboxTpl {
        p: &p,
        catcher: amicale_delivery::delivery_settings::current(&state)
            .await?
            .default
            .transport
            .is_catcher(),
        counts,
        rows,
        older,
    })
}

#[derive(Template)]
#[template(path = "admin/outbox_message.html")]
struct MessageTpl<'a> {
    p: &'a Page,
    m: amicale_delivery::archive::Message,
    state: &'static str,
    created: String,
    next_attempt: String,
    sent: String,
}

async fn outbox_message(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut m = outbox::get(&state.db, id).await?;
    if let Ok(c) = content(&state, &m, &mut VersionCache::default()).await? {
        m.subject = c.subject;
        m.body_text = c.text;
        m.body_html = c.html;
    }
    render(&MessageTpl {
        p: &p,
        state: m.state.as_str(),
        created: local(state.tz, p.locale, m.created_at),
        next_attempt: local(state.tz, p.locale, m.next_attempt_at),
        sent: m
            .sent_at
            .map(|t| local(state.tz, p.locale, t))
            .unwrap_or_default(),
        m,
    })
}

/// The HTML part on its own, for the sandboxed frame of the message page. Its
/// policy forbids scripts and any outside resource, whatever the message holds.
async fn outbox_body(
    State(state): State<AppState>,
    _: Require<Admin>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let m = outbox::get(&state.db, id).await?;
    let html = match content(&state, &m, &mut VersionCache::default()).await? {
        Ok(c) => c.html.unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok(crate::comms::templates::pages::sandboxed_html(html))
}

pub struct TaskRow {
    pub name: &'static str,
    pub expr: String,
    pub next: String,
    pub last: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "admin/schedule.html")]
struct ScheduleTpl<'a> {
    p: &'a Page,
    tz: String,
    tasks: Vec<TaskRow>,
}

async fn schedule(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
) -> AppResult<Response> {
    let now = Utc::now();
    let mut tasks = Vec::new();
    for t in crate::schedule::tasks::all(state.clone()) {
        let last = crate::schedule::last_slots(&state.db, t.name, 5)
            .await?
            .into_iter()
            .map(|s| {
                (
                    local(state.tz, p.locale, s.slot_at),
                    s.outcome,
                    s.detail.unwrap_or_default(),
                )
            })
            .collect();
        tasks.push(TaskRow {
            name: t.name,
            expr: t.expr.clone(),
            next: t
                .next_after(state.tz, now)
                .map(|n| local(state.tz, p.locale, n))
                .unwrap_or_default(),
            last,
        });
    }
    render(&ScheduleTpl {
        p: &p,
        tz: state.tz.name().to_owned(),
        tasks,
    })
}
