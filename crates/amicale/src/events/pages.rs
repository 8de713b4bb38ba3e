//! Staff pages of events: search, create and edit, the event page
//! with participants, attendance and its sends, the attendance sheet and
//! the agenda.

use amicale_kernel::time;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Duration, NaiveDate, Utc};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::events::model::{self, Mode, Nature, Presence, fill_label};
use crate::events::scope;
use crate::events::scope::Events;
use crate::events::store::{self, Event, EventInput, EventQuery, Participant, User};
use crate::people::crm::Opt;
use crate::web::extract::InScope;
use crate::web::extract::{EditEvents, Require, ViewEvents};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render, render_status};
use crate::web::session::SessionUser;

pub struct EventRow {
    pub id: i64,
    pub title: String,
    pub when: String,
    pub place: String,
    pub nature: String,
    pub event_type: String,
    pub fill: String,
}

async fn rows(state: &AppState, p: &Page, evs: Vec<Event>) -> AppResult<Vec<EventRow>> {
    let mut out = Vec::with_capacity(evs.len());
    for e in evs {
        let (reg, wait) = store::fill(&state.db, e.id).await?;
        out.push(EventRow {
            id: e.id,
            when: when(state, p.locale, &e),
            place: [e.site.as_str(), e.city.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
            fill: fill_label(p.locale, reg, wait, e.capacity),
            nature: e.nature,
            event_type: e.event_type,
            title: e.title,
        });
    }
    Ok(out)
}

/// `12/03/2026 14:30–16:00` (French) or `12 Mar 2026, 14:30–16:00` in the
/// network zone.
pub fn when(state: &AppState, l: amicale_kernel::Locale, e: &Event) -> String {
    let s = e.starts_at.with_timezone(&state.tz).naive_local();
    let end = e.ends_at.with_timezone(&state.tz).naive_local();
    if s.date() == end.date() {
        format!("{}–{}", l.date_time(s), end.format("%H:%M"))
    } else {
        format!("{} – {}", l.date_time(s), l.date_time(end))
    }
}

#[derive(Template)]
#[template(path = "events/list.html")]
struct ListTpl<'a> {
    p: &'a Page,
    q: EventQuery,
    rows: Vec<EventRow>,
    total: u64,
    staff: Vec<User>,
    next_href: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    who: Require<ViewEvents>,
    p: Page,
    Query(q): Query<EventQuery>,
) -> AppResult<Response> {
    let (evs, total) = store::search(&state.db, &q, scope::condition(&who.0)).await?;
    let page = q.page.unwrap_or(1).max(1);
    let next_href = (page * store::PER_PAGE < total).then(|| {
        let qs = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q.q)
            .append_pair("place", &q.place)
            .append_pair("facilitator", &q.facilitator)
            .append_pair("from", &q.from)
            .append_pair("to", &q.to)
            .append_pair("page", &(page + 1).to_string())
            .finish();
        format!("/admin/events?{qs}")
    });
    render(&ListTpl {
        p: &p,
        rows: rows(&state, &p, evs).await?,
        total,
        staff: store::staff(&state.db).await?,
        next_href,
        q,
    })
}

#[derive(Template)]
#[template(path = "events/form.html")]
struct FormTpl<'a> {
    p: &'a Page,
    id: Option<i64>,
    f: FormPairs,
    errors: Vec<(String, String)>,
    programmes: Vec<Opt>,
    staff: Vec<User>,
    types: Vec<String>,
    steps: Vec<String>,
}

impl FormTpl<'_> {
    fn v(&self, name: &str) -> String {
        self.f.get(name).to_owned()
    }
    fn checked(&self, name: &str) -> bool {
        self.f.has(name)
    }
    fn facilitates(&self, id: &i64) -> bool {
        self.f.all("facilitator").contains(&id.to_string().as_str())
    }
    fn error(&self, name: &str) -> String {
        self.errors
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

fn form_of(state: &AppState, e: &Event, facilitators: &[User]) -> FormPairs {
    let s = e.starts_at.with_timezone(&state.tz);
    let end = e.ends_at.with_timezone(&state.tz);
    let mut v: Vec<(String, String)> = vec![
        ("title".into(), e.title.clone()),
        ("nature".into(), e.nature.clone()),
        ("event_type".into(), e.event_type.clone()),
        (
            "programme".into(),
            e.programme_id.map(|i| i.to_string()).unwrap_or_default(),
        ),
        ("step".into(), e.step.clone()),
        ("phase".into(), e.phase.clone()),
        ("mode".into(), e.mode.clone()),
        ("video_link".into(), e.video_link.clone()),
        ("site".into(), e.site.clone()),
        ("address".into(), e.address.clone()),
        ("postal_code".into(), e.postal_code.clone()),
        ("city".into(), e.city.clone()),
        ("date".into(), s.format("%Y-%m-%d").to_string()),
        ("start".into(), s.format("%H:%M").to_string()),
        ("end_date".into(), end.format("%Y-%m-%d").to_string()),
        ("end".into(), end.format("%H:%M").to_string()),
        (
            "capacity".into(),
            e.capacity.map(|c| c.to_string()).unwrap_or_default(),
        ),
        ("resource".into(), e.resource.clone()),
    ];
    if e.open_registration {
        v.push(("open_registration".into(), "1".into()));
    }
    for u in facilitators {
        v.push(("facilitator".into(), u.id.to_string()));
    }
    FormPairs(v)
}

/// Parses the event form; errors are (field, message) in the user's language.
fn parse(state: &AppState, p: &Page, f: &FormPairs) -> Result<EventInput, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, key: &str| errors.push((field.to_owned(), p.t(key)));
    let text = |name: &str| f.get(name).trim().to_owned();
    let title = text("title");
    if title.is_empty() {
        bad("title", "err-required");
    } else if title.chars().count() > 200 {
        bad("title", "err-too-long");
    }
    let nature = Nature::parse(f.get("nature"));
    if nature.is_none() {
        bad("nature", "err-required");
    }
    let mode = Mode::parse(f.get("mode"));
    if mode.is_none() {
        bad("mode", "err-required");
    }
    let event_type = text("event_type");
    if event_type.is_empty() {
        bad("event_type", "err-required");
    }
    let programme_id = match f.get("programme") {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(i) => Some(i),
            Err(_) => {
                bad("programme", "err-invalid");
                None
            }
        },
    };
    let date = time::parse_date(f.get("date"));
    if date.is_none() {
        bad("date", "event-err-date");
    }
    let end_date = match f.get("end_date").trim() {
        "" => date,
        s => time::parse_date(s),
    };
    if end_date.is_none() {
        bad("end_date", "event-err-date");
    }
    let start = time::parse_time(f.get("start"));
    if start.is_none() {
        bad("start", "event-err-time");
    }
    let end = time::parse_time(f.get("end"));
    if end.is_none() {
        bad("end", "event-err-time");
    }
    let capacity = match f.get("capacity").trim() {
        "" => None,
        s => match s.parse::<i32>() {
            Ok(c) if (1..=100_000).contains(&c) => Some(c),
            _ => {
                bad("capacity", "event-err-capacity");
                None
            }
        },
    };
    let mut video_link = text("video_link");
    if !video_link.is_empty() {
        match model::video_link(&video_link) {
            Some(link) => video_link = link,
            None => bad("video_link", "event-err-link"),
        }
    }
    let mut facilitators = Vec::new();
    for v in f.all("facilitator") {
        match v.parse::<i64>() {
            Ok(i) => facilitators.push(i),
            Err(_) => bad("facilitator", "err-invalid"),
        }
    }
    let tz = state.tz;
    let starts = match (date, start) {
        (Some(d), Some(t)) => {
            let r = time::local_to_utc(tz, d, t);
            if r.is_none() {
                bad("start", "event-err-time");
            }
            r
        }
        _ => None,
    };
    let ends = match (end_date, end) {
        (Some(d), Some(t)) => {
            let r = time::local_to_utc(tz, d, t);
            if r.is_none() {
                bad("end", "event-err-time");
            }
            r
        }
        _ => None,
    };
    if let (Some(s), Some(e)) = (starts, ends)
        && e <= s
    {
        bad("end", "event-err-end-before-start");
    }
    // Titles, places and the rest go into mails and .ics files: no control
    // characters (the link has its own check above).
    for name in [
        "title",
        "event_type",
        "step",
        "phase",
        "site",
        "address",
        "postal_code",
        "city",
        "resource",
    ] {
        if amicale_people::check_line(f.get(name).trim()).is_err() {
            bad(name, "err-control-char");
        }
    }
    for (name, max) in [
        ("step", 200),
        ("phase", 200),
        ("site", 200),
        ("address", 300),
        ("postal_code", 20),
        ("city", 120),
        ("resource", 200),
        ("video_link", 500),
        ("event_type", 120),
    ] {
        if f.get(name).chars().count() > max {
            bad(name, "err-too-long");
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(nature), Some(mode), Some(starts_at), Some(ends_at), Some(local_date)) =
        (nature, mode, starts, ends, date)
    else {
        return Err(vec![("title".into(), p.t("err-invalid"))]);
    };
    Ok(EventInput {
        title,
        nature,
        event_type,
        programme_id,
        step: text("step"),
        phase: text("phase"),
        mode,
        video_link,
        site: text("site"),
        address: text("address"),
        postal_code: text("postal_code"),
        city: text("city"),
        starts_at,
        ends_at,
        local_date,
        capacity,
        resource: text("resource"),
        open_registration: f.has("open_registration"),
        facilitators,
    })
}

async fn form_page(
    state: &AppState,
    p: &Page,
    id: Option<i64>,
    f: FormPairs,
    errors: Vec<(String, String)>,
) -> AppResult<Response> {
    let tpl = FormTpl {
        p,
        id,
        f,
        programmes: store::programme_choices(state).await?,
        staff: store::staff(&state.db).await?,
        types: store::event_types(&state.db).await?,
        steps: store::steps(&state.db).await?,
        errors,
    };
    if tpl.errors.is_empty() {
        render(&tpl)
    } else {
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl)
    }
}

pub async fn new_form(
    State(state): State<AppState>,
    who: Require<EditEvents>,
    p: Page,
) -> AppResult<Response> {
    let f = FormPairs(vec![
        ("nature".into(), "collective".into()),
        ("mode".into(), "onsite".into()),
        ("facilitator".into(), who.user().id.to_string()),
    ]);
    form_page(&state, &p, None, f, Vec::new()).await
}

pub async fn create(
    State(state): State<AppState>,
    who: Require<EditEvents>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    match parse(&state, &p, &f) {
        Ok(input) => {
            let id = store::create(&state.db, &input, Some(who.user().id)).await?;
            Ok(Redirect::to(&format!("/admin/events/{id}")).into_response())
        }
        Err(errors) => form_page(&state, &p, None, f, errors).await,
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    InScope { id, .. }: InScope<Events, EditEvents>,
    p: Page,
) -> AppResult<Response> {
    let e = store::get(&state.db, id).await?;
    let fac = store::facilitators(&state.db, id).await?;
    form_page(&state, &p, Some(id), form_of(&state, &e, &fac), Vec::new()).await
}

pub async fn update(
    State(state): State<AppState>,
    InScope { id, .. }: InScope<Events, EditEvents>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    store::get(&state.db, id).await?;
    match parse(&state, &p, &f) {
        Ok(input) => {
            store::update(&state.db, id, &input).await?;
            Ok(Redirect::to(&format!("/admin/events/{id}")).into_response())
        }
        Err(errors) => form_page(&state, &p, Some(id), f, errors).await,
    }
}

pub async fn delete(
    State(state): State<AppState>,
    InScope { id, .. }: InScope<Events, EditEvents>,
) -> AppResult<Response> {
    store::delete(&state.db, id).await?;
    Ok(Redirect::to("/admin/events").into_response())
}

pub struct Found {
    pub id: i64,
    pub name: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "events/show.html")]
struct ShowTpl<'a> {
    p: &'a Page,
    ev: Event,
    when: String,
    programme: String,
    facilitators: Vec<User>,
    fill: String,
    participants: Vec<Participant>,
    find: String,
    found: Vec<Found>,
    notice: Option<String>,
    send: crate::comms::direct::SendPanel,
    history: Vec<crate::comms::direct::HistoryRow>,
    ics: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ShowQuery {
    pub find: String,
    pub notice: String,
    pub channel: String,
    pub audience: String,
}

/// The persons within the user's reach matching `find`, to add one.
async fn found(state: &AppState, who: &SessionUser, find: &str) -> AppResult<Vec<Found>> {
    if find.trim().is_empty() {
        return Ok(Vec::new());
    }
    let reach = crate::people::scope::condition(who, amicale_store::Backend::of(&state.db));
    Ok(store::people_matching(&state.db, reach, find)
        .await?
        .into_iter()
        .map(|person| Found {
            id: person.id,
            name: format!("{} {}", person.first_name, person.last_name),
            detail: [person.email.unwrap_or_default(), person.city]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · "),
        })
        .collect())
}

pub async fn show(
    State(state): State<AppState>,
    InScope { id, who, .. }: InScope<Events, ViewEvents>,
    p: Page,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    let e = store::get(&state.db, id).await?;
    let participants = store::participants(&state.db, id).await?;
    let (reg, wait) = store::fill(&state.db, id).await?;
    let programme = store::programme_name(&state.db, e.programme_id).await?;
    let found = found(&state, &who.0, &q.find).await?;
    let send =
        crate::comms::direct::event_panel(&state, who.user(), &e, &q.channel, &q.audience).await?;
    let history = crate::comms::direct::event_history(&state, id).await?;
    let notice = match q.notice.split_once(':') {
        Some((k, n)) => Some(p.t1(&format!("event-notice-{k}"), "n", n)),
        None if !q.notice.is_empty() => Some(p.t(&format!("event-notice-{}", q.notice))),
        None => None,
    };
    render(&ShowTpl {
        p: &p,
        when: when(&state, p.locale, &e),
        programme,
        facilitators: store::facilitators(&state.db, id).await?,
        fill: fill_label(p.locale, reg, wait, e.capacity),
        participants,
        find: q.find,
        found,
        notice,
        send,
        history,
        ics: format!("/events/{id}.ics"),
        ev: e,
    })
}

pub async fn add_participant(
    State(state): State<AppState>,
    InScope { id, who, .. }: InScope<Events, EditEvents>,
    f: FormPairs,
) -> AppResult<Response> {
    let e = store::get(&state.db, id).await?;
    let person: i64 = f.get("person").parse().map_err(|_| AppError::NotFound)?;
    // The person must be within the staff member's reach.
    crate::people::scope::check(&state, &who.0, person).await?;
    let r = store::register(&state.db, &e, person, Some(who.user().id)).await?;
    let notice = match r {
        store::Registered::Registered => "added",
        store::Registered::Waiting => "waiting",
        store::Registered::Already => "already",
    };
    Ok(Redirect::to(&format!("/admin/events/{id}?notice={notice}")).into_response())
}

pub async fn remove_participant(
    State(state): State<AppState>,
    InScope { .. }: InScope<Events, EditEvents>,
    Path((id, person)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let e = store::get(&state.db, id).await?;
    store::unregister(&state.db, &e, person).await?;
    Ok(Redirect::to(&format!("/admin/events/{id}?notice=removed")).into_response())
}

/// The attendance sheet posts `confirmed_<participation>` checkboxes and
/// `presence_<participation>` selects for every row it shows.
pub async fn attendance(
    State(state): State<AppState>,
    InScope { id, .. }: InScope<Events, EditEvents>,
    f: FormPairs,
) -> AppResult<Response> {
    store::get(&state.db, id).await?;
    let mut rows = Vec::new();
    for part in f.all("row") {
        let Ok(pid) = part.parse::<i64>() else {
            continue;
        };
        let presence = Presence::parse(f.get(&format!("presence_{pid}")));
        rows.push((pid, f.has(&format!("confirmed_{pid}")), presence));
    }
    store::set_attendance(&state.db, id, &rows).await?;
    Ok(Redirect::to(&format!("/admin/events/{id}?notice=attendance")).into_response())
}

#[derive(Template)]
#[template(path = "events/sheet.html")]
struct SheetTpl<'a> {
    p: &'a Page,
    ev: Event,
    when: String,
    facilitators: Vec<User>,
    participants: Vec<Participant>,
}

impl SheetTpl<'_> {
    fn css(&self) -> String {
        crate::web::assets::url("sheet.css")
    }
}

/// A printable attendance sheet: one line per registered participant with
/// a signature box.
pub async fn sheet(
    State(state): State<AppState>,
    InScope { id, .. }: InScope<Events, ViewEvents>,
    p: Page,
) -> AppResult<Response> {
    let e = store::get(&state.db, id).await?;
    let mut participants = store::participants(&state.db, id).await?;
    participants.retain(|x| !x.participation.waiting);
    render(&SheetTpl {
        p: &p,
        when: when(&state, p.locale, &e),
        facilitators: store::facilitators(&state.db, id).await?,
        participants,
        ev: e,
    })
}

pub struct Day {
    pub label: String,
    pub date: String,
    pub events: Vec<EventRow>,
}

#[derive(Template)]
#[template(path = "events/agenda.html")]
struct AgendaTpl<'a> {
    p: &'a Page,
    week: bool,
    mine: bool,
    date: String,
    prev: String,
    next: String,
    days: Vec<Day>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct AgendaQuery {
    pub view: String,
    pub date: String,
    pub all: String,
}

/// The staff agenda: the user's own events (or everyone's), by day or
/// by week (Monday to Sunday) in the network zone.
pub async fn agenda(
    State(state): State<AppState>,
    who: Require<ViewEvents>,
    p: Page,
    Query(q): Query<AgendaQuery>,
) -> AppResult<Response> {
    let today = Utc::now().with_timezone(&state.tz).date_naive();
    let date = match q.date.trim() {
        "" => today,
        d => time::parse_date(d).ok_or(AppError::BadInput("date"))?,
    };
    let week = q.view != "day";
    let mine = q.all != "1";
    let (first, n) = span(date, week);
    let start = day_start(&state, first)?;
    let end = day_start(&state, first + Duration::days(n))?;
    let evs = store::agenda(
        &state.db,
        mine.then_some(who.user().id),
        scope::condition(&who.0),
        start,
        end,
    )
    .await?;
    let mut days = empty_days(&p, first, n);
    for row in rows(&state, &p, evs.clone()).await? {
        if let Some(e) = evs.iter().find(|e| e.id == row.id)
            && let Some(day) = days.iter_mut().find(|d| d.date == e.local_date)
        {
            day.events.push(row);
        }
    }
    let step = Duration::days(n);
    render(&AgendaTpl {
        p: &p,
        week,
        mine,
        date: date.format("%Y-%m-%d").to_string(),
        prev: (date - step).format("%Y-%m-%d").to_string(),
        next: (date + step).format("%Y-%m-%d").to_string(),
        days,
    })
}

/// The first day and the number of days shown: the week (from Monday) of
/// `date`, or that day alone.
fn span(date: NaiveDate, week: bool) -> (NaiveDate, i64) {
    if week {
        (
            date - Duration::days(date.weekday().num_days_from_monday() as i64),
            7,
        )
    } else {
        (date, 1)
    }
}

fn empty_days(p: &Page, first: NaiveDate, n: i64) -> Vec<Day> {
    (0..n)
        .map(|i| {
            let d = first + Duration::days(i);
            Day {
                label: format!(
                    "{} {}",
                    p.t(&format!("weekday-{}", d.weekday().num_days_from_monday())),
                    d.format("%d/%m")
                ),
                date: d.format("%Y-%m-%d").to_string(),
                events: Vec::new(),
            }
        })
        .collect()
}

fn day_start(state: &AppState, d: NaiveDate) -> AppResult<chrono::DateTime<Utc>> {
    time::local_to_utc(state.tz, d, chrono::NaiveTime::MIN)
        .or_else(|| time::local_to_utc(state.tz, d, chrono::NaiveTime::from_hms_opt(1, 0, 0)?))
        .ok_or_else(|| AppError::Internal(format!("no midnight on {d}")))
}
