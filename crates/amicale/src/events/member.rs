//! Members and events: the open events, registering oneself (the
//! waiting list beyond capacity), one's registrations and private
//! calendar feed.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::events::ics::{feed_path, own_person};
use crate::events::pages::when;
use crate::events::store::{self, Event, Participation};
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, render};
use amicale_store::entities::persons;

pub struct MemberEvent {
    pub id: i64,
    pub title: String,
    pub when: String,
    pub place: String,
    pub fill: String,
    /// "registered", "waiting" or "".
    pub mine: &'static str,
    pub open: bool,
}

#[derive(Template)]
#[template(path = "events/member.html")]
struct ListTpl<'a> {
    p: &'a Page,
    rows: Vec<MemberEvent>,
    feed: String,
    has_record: bool,
}

fn member_event(
    state: &AppState,
    l: amicale_kernel::Locale,
    e: Event,
    reg: u64,
    wait: u64,
    me: Option<&Participation>,
) -> MemberEvent {
    MemberEvent {
        id: e.id,
        when: when(state, l, &e),
        place: [e.site.as_str(), e.city.as_str()]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        fill: crate::events::model::fill_label(l, reg, wait, e.capacity),
        mine: match me {
            Some(m) if m.waiting => "waiting",
            Some(_) => "registered",
            None => "",
        },
        open: e.open_registration,
        title: e.title,
    }
}

/// Open events to come and the user's own, soonest first, at most
/// `limit`; with the user's person record, when they have one.
pub async fn upcoming(
    state: &AppState,
    l: amicale_kernel::Locale,
    user_id: i64,
    limit: usize,
) -> AppResult<(Option<persons::Model>, Vec<MemberEvent>)> {
    let person = own_person(state, user_id).await?;
    let mine = match &person {
        Some(pr) => store::participations_of(&state.db, pr.id).await?,
        None => Vec::new(),
    };
    let my_ids: Vec<i64> = mine.iter().map(|m| m.event_id).collect();
    let evs = store::upcoming_for_member(&state.db, my_ids).await?;
    let mut rows = Vec::with_capacity(evs.len().min(limit));
    for e in evs.into_iter().take(limit) {
        let (reg, wait) = store::fill(&state.db, e.id).await?;
        let me = mine.iter().find(|m| m.event_id == e.id);
        rows.push(member_event(state, l, e, reg, wait, me));
    }
    Ok((person, rows))
}

/// Open events to come and the member's own, soonest first.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(s): CurrentUser,
    p: Page,
) -> AppResult<Response> {
    let (person, rows) = upcoming(&state, p.locale, s.user.id, usize::MAX).await?;
    render(&ListTpl {
        p: &p,
        rows,
        feed: state.url(&feed_path(&state, s.user.id)),
        has_record: person.is_some(),
    })
}

pub async fn register(
    State(state): State<AppState>,
    CurrentUser(s): CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let e = store::get(&state.db, id).await?;
    let person = own_person(&state, s.user.id)
        .await?
        .ok_or(AppError::Forbidden)?;
    if !e.open_registration || e.starts_at < Utc::now() {
        return Err(AppError::Forbidden);
    }
    store::register(&state.db, &e, person.id, None).await?;
    Ok(Redirect::to("/events").into_response())
}

pub async fn unregister(
    State(state): State<AppState>,
    CurrentUser(s): CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let e = store::get(&state.db, id).await?;
    let person = own_person(&state, s.user.id)
        .await?
        .ok_or(AppError::Forbidden)?;
    if e.starts_at < Utc::now() {
        return Err(AppError::Forbidden);
    }
    store::unregister(&state.db, &e, person.id).await?;
    Ok(Redirect::to("/events").into_response())
}
