//! The sent archive: each user sees what went out as their personal
//! identity and as the shared mailboxes assigned to them — sortable,
//! searchable by recipient and subject, each message viewable as received.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;

use crate::app::AppState;
use crate::comms::context::local;
use crate::error::{AppError, AppResult};
use crate::web::extract::{Require, SendMessages};
use crate::web::page::{Page, render};
use crate::web::session::SessionUser;
use amicale_delivery::archive::{self, Message, Search};
use amicale_delivery::identities::{self, Identity};
use amicale_delivery::worker::{VersionCache, content};

const PER_PAGE: u64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sent", get(list))
        .route("/sent/{id}", get(show))
        .route("/sent/{id}/body", get(body))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Q {
    pub q: String,
    pub identity: String,
    pub sort: String,
    pub dir: String,
    pub page: u64,
}

pub struct Row {
    pub id: i64,
    pub when: String,
    pub recipient: String,
    pub subject: String,
    pub state: String,
    pub identity: String,
}

#[derive(Template)]
#[template(path = "account/sent.html")]
struct ListTpl<'a> {
    p: &'a Page,
    q: Q,
    identities: Vec<Identity>,
    rows: Vec<Row>,
    total: u64,
    pages: u64,
}

impl ListTpl<'_> {
    /// The link that sorts by `col`, reversing the order when it already does.
    fn sort_link(&self, col: &str) -> String {
        let dir = if self.q.sort == col && self.q.dir != "desc" {
            "desc"
        } else {
            "asc"
        };
        self.link(col, dir, 0)
    }

    fn page_link(&self, page: u64) -> String {
        self.link(&self.q.sort, &self.q.dir, page)
    }

    fn link(&self, sort: &str, dir: &str, page: u64) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("q", &self.q.q)
            .append_pair("identity", &self.q.identity)
            .append_pair("sort", sort)
            .append_pair("dir", dir)
            .append_pair("page", &page.to_string());
        format!("/sent?{}", s.finish())
    }
}

/// The identities whose messages the user may read.
async fn readable(state: &AppState, who: &SessionUser) -> AppResult<Vec<Identity>> {
    identities::of_user(&state.db, &who.user).await
}

async fn list(
    State(state): State<AppState>,
    who: Require<SendMessages>,
    p: Page,
    Query(q): Query<Q>,
) -> AppResult<Response> {
    let mine = readable(&state, &who.0).await?;
    let ids: Vec<i64> = match q.identity.parse::<i64>() {
        Ok(one) => mine.iter().filter(|i| i.id == one).map(|i| i.id).collect(),
        Err(_) => mine.iter().map(|i| i.id).collect(),
    };
    let search = Search {
        identities: ids,
        words: &q.q,
        sort: &q.sort,
        ascending: q.dir == "asc",
        page: q.page,
        per_page: PER_PAGE,
    };
    let (found, total, pages) = archive::search(&state.db, search).await?;
    let labels: std::collections::HashMap<i64, String> =
        mine.iter().map(|i| (i.id, i.label.clone())).collect();
    let rows = found
        .into_iter()
        .map(|m| Row {
            id: m.id,
            when: local(&state, m.sent_at.unwrap_or(m.created_at)),
            identity: m
                .identity_id
                .and_then(|i| labels.get(&i).cloned())
                .unwrap_or_default(),
            recipient: m.recipient,
            subject: m.subject,
            state: m.state.as_str().to_owned(),
        })
        .collect();
    render(&ListTpl {
        p: &p,
        q,
        identities: mine,
        rows,
        total,
        pages,
    })
}

/// A message of the user's archive; any other is not found.
async fn readable_message(state: &AppState, who: &SessionUser, id: i64) -> AppResult<Message> {
    let m = archive::message(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mine = readable(state, who).await?;
    match m.identity_id {
        Some(i) if mine.iter().any(|x| x.id == i) => Ok(m),
        _ => Err(AppError::NotFound),
    }
}

#[derive(Template)]
#[template(path = "account/sent_message.html")]
struct ShowTpl<'a> {
    p: &'a Page,
    m: Message,
    when: String,
}

async fn show(
    State(state): State<AppState>,
    who: Require<SendMessages>,
    p: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut m = readable_message(&state, &who.0, id).await?;
    if let Ok(c) = content(&state, &m, &mut VersionCache::default()).await? {
        m.subject = c.subject;
        m.body_text = c.text;
        m.body_html = c.html;
    }
    render(&ShowTpl {
        p: &p,
        when: local(&state, m.sent_at.unwrap_or(m.created_at)),
        m,
    })
}

async fn body(
    State(state): State<AppState>,
    who: Require<SendMessages>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let m = readable_message(&state, &who.0, id).await?;
    let html = match content(&state, &m, &mut VersionCache::default()).await? {
        Ok(c) => c.html.unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok(crate::comms::templates::pages::sandboxed_html(html))
}
