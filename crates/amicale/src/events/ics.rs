//! iCalendar (RFC 5545): one file per event, and a private feed per user
//! (their registrations and the events they facilitate) behind a signed
//! link that works in calendar apps without a session.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::web::extract::{CurrentUser, grants};
use amicale_kernel::permissions::{Level, Module};
use amicale_store::entities::{event_facilitators, events, participations, persons};

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma
/// are escaped, every line end (CRLF, CR or LF) becomes `\n`, and other
/// control characters, which TEXT cannot hold, are dropped. Whatever the
/// stored value, it stays inside its own content line.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A URI value (RFC 5545 §3.3.13) as written, or `None` when it is not an
/// https URL or holds a control character: a URI cannot be escaped, so a
/// doubtful one is left out rather than allowed to start a new line.
fn uri(s: &str) -> Option<String> {
    crate::events::model::video_link(s)
}

/// Folds a content line at 75 octets, never inside a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

pub fn calendar(state: &AppState, evs: &[events::Model], name: &str) -> String {
    let domain = state.mail_from.email.domain();
    let mut out = String::new();
    let mut line = |l: String| fold(&l, &mut out);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//Amicale//Events//FR".into());
    line("CALSCALE:GREGORIAN".into());
    line(format!("X-WR-CALNAME:{}", text(name)));
    let now = stamp(Utc::now());
    for e in evs {
        line("BEGIN:VEVENT".into());
        line(format!("UID:event-{}@{domain}", e.id));
        line(format!("DTSTAMP:{now}"));
        line(format!("DTSTART:{}", stamp(e.starts_at)));
        line(format!("DTEND:{}", stamp(e.ends_at)));
        line(format!("SUMMARY:{}", text(&e.title)));
        let place: Vec<&str> = [&e.site, &e.address, &e.postal_code, &e.city]
            .into_iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        if !place.is_empty() {
            line(format!("LOCATION:{}", text(&place.join(", "))));
        }
        if let Some(link) = uri(&e.video_link) {
            line(format!("URL:{link}"));
        }
        line(format!("LAST-MODIFIED:{}", stamp(e.updated_at)));
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

fn ics_response(body: String, filename: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The person record of a signed-in user, if any.
pub async fn own_person(state: &AppState, user_id: i64) -> AppResult<Option<persons::Model>> {
    Ok(persons::Entity::find()
        .filter(persons::Column::UserId.eq(user_id))
        .one(&state.db)
        .await?)
}

/// `/events/{id}.ics`: staff who see events, or a member registered for
/// the event or allowed to register for it.
pub async fn event(
    State(state): State<AppState>,
    CurrentUser(s): CurrentUser,
    Path(file): Path<String>,
) -> AppResult<Response> {
    let id: i64 = file
        .strip_suffix(".ics")
        .and_then(|i| i.parse().ok())
        .ok_or(AppError::NotFound)?;
    let e = crate::events::store::get(&state.db, id).await?;
    // Staff see the events of their scope; anyone else, as a member.
    let staff_sees = grants(&s, Module::Events, Level::Consult)
        && crate::events::scope::check(&state, &s, id).await.is_ok();
    let allowed = if staff_sees {
        true
    } else if let Some(p) = own_person(&state, s.user.id).await? {
        e.open_registration
            || participations::Entity::find()
                .filter(participations::Column::EventId.eq(id))
                .filter(participations::Column::PersonId.eq(p.id))
                .one(&state.db)
                .await?
                .is_some()
    } else {
        false
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    Ok(ics_response(
        calendar(&state, std::slice::from_ref(&e), &e.title),
        &format!("event-{id}.ics"),
    ))
}

/// The signed path of a user's private feed.
pub fn feed_path(state: &AppState, user_id: i64) -> String {
    let sig = state
        .secret
        .sign("calendar", user_id.to_string().as_bytes());
    format!("/calendar/{user_id}.{sig}.ics")
}

/// `/calendar/{user}.{signature}.ics`: events from 30 days ago on.
pub async fn feed(State(state): State<AppState>, Path(token): Path<String>) -> AppResult<Response> {
    let inner = token.strip_suffix(".ics").ok_or(AppError::NotFound)?;
    let (uid, sig) = inner.split_once('.').ok_or(AppError::NotFound)?;
    if !state.secret.verify("calendar", uid.as_bytes(), sig) {
        return Err(AppError::NotFound);
    }
    let uid: i64 = uid.parse().map_err(|_| AppError::NotFound)?;
    let mut ids: Vec<i64> = event_facilitators::Entity::find()
        .filter(event_facilitators::Column::UserId.eq(uid))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|f| f.event_id)
        .collect();
    if let Some(p) = own_person(&state, uid).await? {
        ids.extend(
            participations::Entity::find()
                .filter(participations::Column::PersonId.eq(p.id))
                .filter(participations::Column::Waiting.eq(false))
                .all(&state.db)
                .await?
                .into_iter()
                .map(|x| x.event_id),
        );
    }
    ids.sort_unstable();
    ids.dedup();
    let mut evs = Vec::new();
    for chunk in ids.chunks(500) {
        evs.extend(
            events::Entity::find()
                .filter(events::Column::Id.is_in(chunk.iter().copied()))
                .filter(events::Column::StartsAt.gte(Utc::now() - Duration::days(30)))
                .order_by_asc(events::Column::StartsAt)
                .all(&state.db)
                .await?,
        );
    }
    Ok(ics_response(
        calendar(&state, &evs, &state.config.network_name),
        "amicale.ics",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(text("a, b; c\\d\ne"), "a\\, b\\; c\\\\d\\ne");
        // Whatever the line end, the value stays on its line.
        assert_eq!(
            text("a\r\nATTENDEE:x\rb\nc\u{0}d\te"),
            "a\\nATTENDEE:x\\nb\\ncd e"
        );
    }

    #[test]
    fn uri_values_refuse_line_ends() {
        assert_eq!(
            uri("https://meet.example.org/x").as_deref(),
            Some("https://meet.example.org/x")
        );
        assert_eq!(
            uri("https://meet.example.org/x\r\nATTENDEE:mailto:a@b"),
            None
        );
        assert_eq!(uri("http://meet.example.org/x"), None);
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let line = format!("SUMMARY:{}", "é".repeat(60));
        fold(&line, &mut out);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        let unfolded = out.replace("\r\n ", "").trim_end().to_owned();
        assert_eq!(unfolded, line);
    }
}
