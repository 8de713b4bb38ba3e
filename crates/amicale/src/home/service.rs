//! What the home page shows each user: the network in figures, and the
//! panels their rights open — a member's events and profile, a staff
//! member's day, queues and sends. Each panel is read only for those who
//! may see what it links to.

use chrono::{Duration, Utc};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::app::AppState;
use crate::error::AppResult;
use crate::events::member::MemberEvent;
use crate::people::model::TagKind;
use crate::web::extract::grants;
use crate::web::session::SessionUser;
use amicale_delivery::outbox::State as MsgState;
use amicale_delivery::sends::Progress;
use amicale_kernel::permissions::{Level, Module};
use amicale_store::entities::{events, organisations, persons, programmes};

pub struct Dashboard {
    pub members: u64,
    pub programmes: u64,
    pub organisations: u64,
    /// Events to come, for members and everyone who sees events.
    pub upcoming: Vec<MemberEvent>,
    /// Upcoming events the user is registered for (or waiting).
    pub registered: usize,
    /// The user's own profile, when they have a person record.
    pub profile: Option<Completeness>,
    pub staff: Option<StaffPanels>,
}

/// How much of a profile is filled in, and what is missing (locale keys).
pub struct Completeness {
    pub person_id: i64,
    pub percent: i64,
    pub missing: Vec<&'static str>,
}

/// The staff side: each part is `None` for those who may not see it.
#[derive(Default)]
pub struct StaffPanels {
    /// Today's events in the user's scope: (time, title, id).
    pub today: Option<Vec<(String, String, i64)>>,
    pub pending_registrations: Option<u64>,
    pub sends: Option<Vec<Progress>>,
    /// Messages waiting, deferred, failed in the last day; and whether the
    /// mail catcher keeps them (no SMTP server).
    pub outbox: Option<OutboxHealth>,
    pub sms_remaining: Option<i64>,
}

pub struct OutboxHealth {
    pub waiting: i64,
    pub deferred: i64,
    pub failed: i64,
    pub caught: i64,
}

pub async fn dashboard(
    state: &AppState,
    l: amicale_kernel::Locale,
    s: &SessionUser,
) -> AppResult<Dashboard> {
    let (person, upcoming) = crate::events::member::upcoming(state, l, s.user.id, 4).await?;
    let registered = upcoming.iter().filter(|e| !e.mine.is_empty()).count();
    Ok(Dashboard {
        members: persons::Entity::find().count(&state.db).await?,
        programmes: programmes::Entity::find().count(&state.db).await?,
        organisations: organisations::Entity::find().count(&state.db).await?,
        upcoming,
        registered,
        profile: match person {
            Some(p) => Some(completeness(state, p).await?),
            None => None,
        },
        staff: staff(state, s).await?,
    })
}

/// Seven things a profile that others find useful has.
async fn completeness(state: &AppState, person: persons::Model) -> AppResult<Completeness> {
    let r = crate::people::store::load(&state.db, person.id).await?;
    let photo = crate::people::photos::store::photo(&state.db, person.id)
        .await?
        .is_some();
    let checks = [
        ("profile-missing-photo", photo),
        ("profile-missing-phone", !r.phones.is_empty()),
        ("profile-missing-city", !r.person.city.trim().is_empty()),
        ("profile-missing-education", !r.education.is_empty()),
        ("profile-missing-experience", !r.experiences.is_empty()),
        (
            "profile-missing-skills",
            !r.tags_of(TagKind::Skill).is_empty(),
        ),
        (
            "profile-missing-interests",
            !r.tags_of(TagKind::Interest).is_empty(),
        ),
    ];
    let filled = checks.iter().filter(|(_, ok)| *ok).count() as i64;
    Ok(Completeness {
        person_id: person.id,
        percent: filled * 100 / checks.len() as i64,
        missing: checks
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(k, _)| *k)
            .collect(),
    })
}

async fn staff(state: &AppState, s: &SessionUser) -> AppResult<Option<StaffPanels>> {
    let mut panels = StaffPanels::default();
    if grants(s, Module::Events, Level::Consult) {
        panels.today = Some(today(state, s).await?);
    }
    if grants(s, Module::Registrations, Level::Modify) {
        panels.pending_registrations =
            Some(crate::people::registration::store::pending(&state.db).await?);
    }
    if grants(s, Module::Sends, Level::Create) {
        let mut sends = Vec::new();
        for send in amicale_delivery::sends::list(&state.db, 4).await? {
            sends.push(amicale_delivery::sends::progress(&state.db, send.id, Utc::now()).await?);
        }
        panels.sends = Some(sends);
    }
    if s.user.is_admin {
        let counts = amicale_delivery::outbox::counts(&state.db).await?;
        let n = |st: MsgState| counts.iter().find(|(x, _)| *x == st).map_or(0, |(_, n)| *n);
        panels.outbox = Some(OutboxHealth {
            waiting: n(MsgState::Queued) + n(MsgState::Sending),
            deferred: n(MsgState::Deferred),
            failed: n(MsgState::Failed),
            caught: n(MsgState::Caught),
        });
        panels.sms_remaining = Some(
            amicale_delivery::sms::credit::balance(&state.db)
                .await?
                .remaining(),
        );
    }
    let any = panels.today.is_some()
        || panels.pending_registrations.is_some()
        || panels.sends.is_some()
        || panels.outbox.is_some();
    Ok(any.then_some(panels))
}

/// The events of today (network time) the user may see, with their time.
async fn today(state: &AppState, s: &SessionUser) -> AppResult<Vec<(String, String, i64)>> {
    let now = Utc::now().with_timezone(&state.tz);
    let day = now.date_naive();
    let start = amicale_kernel::time::local_to_utc(state.tz, day, chrono::NaiveTime::MIN)
        .unwrap_or_else(|| Utc::now() - Duration::hours(12));
    let end = start + Duration::days(1);
    let evs: Vec<events::Model> = crate::events::store::agenda(
        &state.db,
        None,
        crate::events::scope::condition(s),
        start,
        end,
    )
    .await?;
    Ok(evs
        .into_iter()
        .map(|e| {
            let at = e
                .starts_at
                .with_timezone(&state.tz)
                .format("%H:%M")
                .to_string();
            (at, e.title, e.id)
        })
        .collect())
}
