//! Sends in Administration: list, live progress (server-sent events, with a
//! plain refresh when scripts are off), pause, resume, stop.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use futures_util::stream::{self, Stream};

use crate::app::AppState;
use crate::error::AppResult;
use crate::web::extract::{ManageSends, Require};
use crate::web::page::{Page, render};
use amicale_delivery::sends::{self, Progress};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sends", get(list))
        .route("/admin/sends/{id}", get(show))
        .route("/admin/sends/{id}/events", get(events))
        .route("/admin/sends/{id}/pause", post(pause))
        .route("/admin/sends/{id}/resume", post(resume))
        .route("/admin/sends/{id}/stop", post(stop))
}

#[derive(Template)]
#[template(path = "admin/sends.html")]
struct ListTpl<'a> {
    p: &'a Page,
    rows: Vec<Progress>,
}

async fn list(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    p: Page,
) -> AppResult<Response> {
    let mut rows = Vec::new();
    for s in sends::list(&state.db, 100).await? {
        rows.push(sends::progress(&state.db, s.id, Utc::now()).await?);
    }
    render(&ListTpl { p: &p, rows })
}

#[derive(Template)]
#[template(path = "admin/send.html")]
struct ShowTpl<'a> {
    p: &'a Page,
    s: Progress,
}

impl ShowTpl<'_> {
    pub fn eta(&self) -> String {
        match self.s.eta_secs {
            Some(secs) => format!("{}:{:02}", secs / 60, secs % 60),
            None => "—".into(),
        }
    }
}

async fn show(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    p: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let s = sends::progress(&state.db, id, Utc::now()).await?;
    render(&ShowTpl { p: &p, s })
}

/// One progress snapshot a second until the send is finished.
async fn events(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    sends::get(&state.db, id).await?;
    let stream = stream::unfold((state, false), move |(state, done)| async move {
        if done {
            return None;
        }
        let event = match sends::progress(&state.db, id, Utc::now()).await {
            Ok(p) => {
                let finished = p.finished;
                let data = serde_json::to_string(&p).unwrap_or_default();
                tokio::time::sleep(Duration::from_millis(if finished { 0 } else { 1000 })).await;
                return Some((
                    Ok(Event::default().event("progress").data(data)),
                    (state, finished),
                ));
            }
            Err(e) => Event::default().event("error").data(e.to_string()),
        };
        Some((Ok(event), (state, true)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn pause(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    sends::pause(&state.db, id).await?;
    tracing::info!(send = id, "send paused");
    Ok(Redirect::to(&format!("/admin/sends/{id}")).into_response())
}

async fn resume(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    sends::resume(&state.db, id).await?;
    state.outbox_wakeup.notify_waiters();
    state.outbox_wakeup.notify_one();
    tracing::info!(send = id, "send resumed");
    Ok(Redirect::to(&format!("/admin/sends/{id}")).into_response())
}

async fn stop(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let n = sends::stop(&state.db, id).await?;
    tracing::info!(send = id, cancelled = n, "send stopped");
    Ok(Redirect::to(&format!("/admin/sends/{id}")).into_response())
}
