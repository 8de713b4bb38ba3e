//! The person and event page sends as operations: each takes a parsed
//! command, checks it against what the page offers, and queues through
//! [`crate::compose`], like every other send.

use chrono::{DateTime, Utc};
use sea_orm::Condition;

use super::store;
use crate::app::AppState;
use crate::comms::context;
use crate::comms::eligibility::{self, Category, Exclusion, Summary};
use crate::comms::templates::store as tstore;
use crate::compose::{self, Halted, Outcome};
use crate::error::{AppError, AppResult};
use crate::events::audience::{EventCache, Participants};
use crate::events::model::Audience;
use amicale_delivery::copies::{Copies, CopiesError, MAX_COPIES};
use amicale_delivery::outbox::Origin;
use amicale_delivery::sms::pricing::Pricer;
use amicale_delivery::templates::model::{self as tmodel, RecipientType, SendingMode};
use amicale_kernel::SendChannel;
use amicale_store::entities::{events, outbox, participations, persons, templates, users};

/// The channels a user can pick; SMS needs an SMS account and credit.
pub const CHANNELS: [SendChannel; 3] = [
    SendChannel::Email,
    SendChannel::Newsletter,
    SendChannel::Sms,
];

/// The channel a form or a link names, e-mail when it names none we offer.
/// The channel chosen on a send panel; e-mail until one is chosen.
pub fn channel(s: &str) -> AppResult<SendChannel> {
    if s.trim().is_empty() {
        return Ok(SendChannel::Email);
    }
    SendChannel::parse(s)
        .filter(|c| CHANNELS.contains(c))
        .ok_or(AppError::BadInput("channel"))
}

/// The participants chosen on an event's send panel; all until chosen.
pub fn audience(s: &str) -> AppResult<Audience> {
    if s.trim().is_empty() {
        return Ok(Audience::All);
    }
    Audience::parse(s).ok_or(AppError::BadInput("audience"))
}

/// Why a page send queued nothing (or stopped), told to the user as a
/// notice.
#[derive(Debug)]
pub enum Refusal {
    NoTemplate,
    Excluded(Exclusion),
    BadIdentity,
    Copies(CopiesError),
    SmsUnavailable,
    /// The credit cannot cover this many segments.
    SmsCredit(i64),
}

impl Refusal {
    /// The notice code the page shows (`person-msg-notice-…`,
    /// `event-notice-…`).
    pub fn notice(&self) -> String {
        match self {
            Refusal::NoTemplate => "no_template".into(),
            Refusal::Excluded(why) => format!("excluded:{}", why.as_str()),
            Refusal::BadIdentity => "bad_identity".into(),
            Refusal::Copies(e @ CopiesError::Invalid(a)) => format!("{}:{a}", e.key()),
            Refusal::Copies(e @ CopiesError::TooMany) => format!("{}:{MAX_COPIES}", e.key()),
            Refusal::SmsUnavailable => "sms_unavailable".into(),
            Refusal::SmsCredit(needed) => format!("sms_credit:{needed}"),
        }
    }
}

/// The identity an e-mail goes out as: the one posted if the user may use
/// it, none for SMS.
pub async fn sender(
    state: &AppState,
    user: &users::Model,
    channel: SendChannel,
    posted: &str,
) -> AppResult<Result<Option<i64>, Refusal>> {
    if !channel.is_email() {
        return Ok(Ok(None));
    }
    Ok(
        match amicale_delivery::identities::chosen(&state.db, user, posted).await? {
            Some(i) => Ok(Some(i.id)),
            None => Err(Refusal::BadIdentity),
        },
    )
}

/// The identities offered on a send form.
pub async fn identity_choices(
    state: &AppState,
    user: &users::Model,
) -> AppResult<Vec<TemplateChoice>> {
    Ok(amicale_delivery::identities::usable(&state.db, user)
        .await?
        .into_iter()
        .map(|i| TemplateChoice {
            id: i.id,
            name: format!("{} <{}>", i.label, i.address),
        })
        .collect())
}

/// SMS cannot be sent at all without an SMS account.
async fn sms_ready(state: &AppState, channel: SendChannel) -> AppResult<bool> {
    Ok(channel.is_email() || Pricer::new(state).await?.is_some())
}

/// The refusal of a send the SMS credit cannot cover; other errors go on.
fn credit(r: Result<Outcome, Halted>) -> AppResult<Result<Outcome, Refusal>> {
    match r {
        Ok(done) => Ok(Ok(done)),
        Err(Halted {
            error: AppError::SmsCredit { needed, .. },
            ..
        }) => Ok(Err(Refusal::SmsCredit(needed))),
        Err(h) => Err(h.error),
    }
}

pub struct TemplateChoice {
    pub id: i64,
    pub name: String,
}

/// The send form of a page, with "N of M will receive it".
pub struct SendPanel {
    pub channel: String,
    pub audience: String,
    pub templates: Vec<TemplateChoice>,
    pub summary: Summary,
    /// Names of the excluded, with the reason code.
    pub excluded: Vec<(String, &'static str)>,
    /// The sender identities the user may choose (e-mail only).
    pub identities: Vec<TemplateChoice>,
}

impl SendPanel {
    async fn new(
        state: &AppState,
        user: &users::Model,
        channel: SendChannel,
        offered: Vec<templates::Model>,
        decided: Vec<compose::Composed>,
    ) -> AppResult<SendPanel> {
        Ok(SendPanel {
            channel: channel.as_str().into(),
            audience: String::new(),
            templates: offered
                .into_iter()
                .map(|t| TemplateChoice {
                    id: t.id,
                    name: t.name,
                })
                .collect(),
            summary: eligibility::summarise(decided.iter().map(|c| &c.decision)),
            excluded: decided
                .into_iter()
                .filter_map(|c| c.decision.err().map(|e| (c.name, e.as_str())))
                .collect(),
            identities: if channel.is_email() {
                identity_choices(state, user).await?
            } else {
                Vec::new()
            },
        })
    }
}

/// Active templates of the channel's kind allowed for `mode` (and for the
/// recipient type, when one is given).
pub async fn allowed_templates(
    state: &AppState,
    channel: SendChannel,
    mode: SendingMode,
    audience: Option<RecipientType>,
) -> AppResult<Vec<templates::Model>> {
    Ok(tstore::list(
        &state.db,
        Some(amicale_delivery::templates::model::TemplateKind::from(
            channel,
        )),
        Some(true),
    )
    .await?
    .into_iter()
    .filter(|t| tmodel::split(&t.sending_modes, SendingMode::parse).contains(&mode))
    .filter(|t| {
        audience
            .is_none_or(|a| tmodel::split(&t.recipient_types, RecipientType::parse).contains(&a))
    })
    .collect())
}

/// The template ids posted, each checked against what the page offers.
fn picked(ids: &[i64], offered: Vec<templates::Model>) -> Vec<templates::Model> {
    offered
        .into_iter()
        .filter(|t| ids.contains(&t.id))
        .collect()
}

fn reached(a: Audience, p: &participations::Model) -> bool {
    match a {
        Audience::All => !p.waiting,
        Audience::Confirmed => !p.waiting && p.confirmed,
        Audience::Registered => !p.waiting,
        Audience::Waiting => p.waiting,
        Audience::Present => p.presence == "present",
        Audience::Absent => p.presence == "absent",
    }
}

async fn participants(
    state: &AppState,
    event: i64,
    audience: Audience,
) -> AppResult<Vec<participations::Model>> {
    Ok(store::participations(&state.db, event)
        .await?
        .into_iter()
        .filter(|p| reached(audience, p))
        .collect())
}

/// The send form of an event page.
pub async fn event_panel(
    state: &AppState,
    user: &users::Model,
    e: &events::Model,
    channel: &str,
    audience: &str,
) -> AppResult<SendPanel> {
    let channel = self::channel(channel)?;
    let audience = self::audience(audience)?;
    let parts = participants(state, e.id, audience).await?;
    let mut cache = EventCache::default();
    let mut reach = Participants::new(&mut cache, vec![e.clone()], parts);
    let decided = compose::preview(state, &mut reach, channel).await?;
    let offered = allowed_templates(state, channel, SendingMode::EventPage, None).await?;
    let mut panel = SendPanel::new(
        state,
        user,
        channel,
        offered,
        decided.into_iter().map(|(_, c)| c).collect(),
    )
    .await?;
    panel.audience = audience.as_str().into();
    Ok(panel)
}

/// A send from an event page, as posted.
pub struct EventSend {
    pub event: i64,
    pub channel: SendChannel,
    pub audience: Audience,
    pub templates: Vec<i64>,
    pub identity: String,
}

/// Sends the chosen templates to the chosen participants now: one send per
/// template, with its exclusions. Returns how many messages were queued.
pub async fn send_to_event(
    state: &AppState,
    user: &users::Model,
    cmd: EventSend,
) -> AppResult<Result<usize, Refusal>> {
    let e = crate::events::store::get(&state.db, cmd.event).await?;
    let offered = allowed_templates(state, cmd.channel, SendingMode::EventPage, None).await?;
    let picked = picked(&cmd.templates, offered);
    if picked.is_empty() {
        return Ok(Err(Refusal::NoTemplate));
    }
    let parts = participants(state, e.id, cmd.audience).await?;
    let identity_id = match sender(state, user, cmd.channel, &cmd.identity).await? {
        Ok(i) => i,
        Err(r) => return Ok(Err(r)),
    };
    if !sms_ready(state, cmd.channel).await? {
        return Ok(Err(Refusal::SmsUnavailable));
    }
    let mut cache = EventCache::default();
    let mut queued = 0;
    for t in &picked {
        let version = tstore::current_version(&state.db, t).await?;
        let mut letter = compose::Letter::new(
            format!("{} — {}", e.title, t.name),
            Origin::EventPage,
            Some(e.id),
            cmd.channel,
            t,
            &version,
        )
        .signed_by(Some(user));
        // No CC or BCC: with one message per participant, copies would
        // multiply.
        letter.identity_id = identity_id;
        let mut reach = Participants::new(&mut cache, vec![e.clone()], parts.clone());
        match credit(compose::send(state, &mut reach, &letter).await)? {
            Ok(done) => queued += done.queued,
            Err(r) => return Ok(Err(r)),
        }
    }
    Ok(Ok(queued))
}

/// The person a page is about.
pub async fn person(state: &AppState, id: i64) -> AppResult<persons::Model> {
    store::person(&state.db, id).await
}

/// What the person page shows before sending: whether they may receive a
/// message on `channel`, and what may be sent to them.
pub async fn person_panel(
    state: &AppState,
    user: &users::Model,
    person: &persons::Model,
    channel: SendChannel,
) -> AppResult<SendPanel> {
    let decided = compose::preview(
        state,
        &mut compose::Persons::new(vec![person.id], Category::FollowUp),
        channel,
    )
    .await?;
    let rtype = RecipientType::parse(&person.recipient_type);
    let offered = allowed_templates(state, channel, SendingMode::PersonPage, rtype).await?;
    SendPanel::new(
        state,
        user,
        channel,
        offered,
        decided.into_iter().map(|(_, c)| c).collect(),
    )
    .await
}

/// Whether one person may receive a message on `channel`, and at which
/// address.
async fn person_decision(
    state: &AppState,
    person: i64,
    channel: SendChannel,
) -> AppResult<Result<String, Exclusion>> {
    let mut one = compose::Persons::new(vec![person], Category::FollowUp);
    Ok(compose::preview(state, &mut one, channel)
        .await?
        .into_iter()
        .next()
        .map(|(_, c)| c.decision)
        .unwrap_or(Err(Exclusion::Deactivated)))
}

/// A send from a person page, as posted.
pub struct PersonSend {
    pub person: i64,
    pub channel: SendChannel,
    pub templates: Vec<i64>,
    /// With the nightly batch rather than now.
    pub tonight: bool,
    pub identity: String,
    pub cc: String,
    pub bcc: String,
    pub hide_all: bool,
}

/// Sends each chosen template to the person, one send each. Returns how
/// many were sent.
pub async fn send_to_person(
    state: &AppState,
    user: &users::Model,
    cmd: PersonSend,
) -> AppResult<Result<usize, Refusal>> {
    let person = store::person(&state.db, cmd.person).await?;
    let rtype = RecipientType::parse(&person.recipient_type);
    let offered = allowed_templates(state, cmd.channel, SendingMode::PersonPage, rtype).await?;
    let picked = picked(&cmd.templates, offered);
    if picked.is_empty() {
        return Ok(Err(Refusal::NoTemplate));
    }
    if let Err(why) = person_decision(state, person.id, cmd.channel).await? {
        return Ok(Err(Refusal::Excluded(why)));
    }
    let due = if cmd.tonight {
        next_batch(state, Utc::now())
    } else {
        Utc::now()
    };
    let identity_id = match sender(state, user, cmd.channel, &cmd.identity).await? {
        Ok(i) => i,
        Err(r) => return Ok(Err(r)),
    };
    let copies = if cmd.channel.is_email() {
        match Copies::parse(&cmd.cc, &cmd.bcc, cmd.hide_all) {
            Ok(c) => c.to_column(),
            Err(e) => return Ok(Err(Refusal::Copies(e))),
        }
    } else {
        None
    };
    if !sms_ready(state, cmd.channel).await? {
        return Ok(Err(Refusal::SmsUnavailable));
    }
    for t in &picked {
        let version = tstore::current_version(&state.db, t).await?;
        let mut letter = compose::Letter::new(
            format!("{} {} — {}", person.first_name, person.last_name, t.name),
            Origin::PersonPage,
            Some(person.id),
            cmd.channel,
            t,
            &version,
        )
        .signed_by(Some(user));
        letter.identity_id = identity_id;
        letter.copies = copies.clone();
        letter.due = due;
        let mut one = compose::Persons::new(vec![person.id], Category::FollowUp);
        if let Err(r) = credit(compose::send(state, &mut one, &letter).await)? {
            return Ok(Err(r));
        }
    }
    Ok(Ok(picked.len()))
}

/// One message of a history.
pub struct HistoryRow {
    pub when: String,
    pub template: String,
    pub origin: String,
    pub state: String,
    pub recipient: String,
    pub person_id: Option<i64>,
}

async fn history(state: &AppState, filter: Condition) -> AppResult<Vec<HistoryRow>> {
    Ok(store::messages(&state.db, filter)
        .await?
        .into_iter()
        .map(|(r, template)| HistoryRow {
            when: context::local(state, r.created_at),
            template: template.unwrap_or_else(|| r.subject.clone()),
            origin: r.origin.as_str().to_owned(),
            state: r.state.as_str().to_owned(),
            recipient: r.recipient,
            person_id: r.person_id,
        })
        .collect())
}

pub async fn event_history(state: &AppState, event: i64) -> AppResult<Vec<HistoryRow>> {
    use sea_orm::ColumnTrait;
    history(
        state,
        Condition::all().add(outbox::Column::EventId.eq(event)),
    )
    .await
}

pub async fn person_history(state: &AppState, person: i64) -> AppResult<Vec<HistoryRow>> {
    use sea_orm::ColumnTrait;
    history(
        state,
        Condition::all().add(outbox::Column::PersonId.eq(person)),
    )
    .await
}

/// The next nightly batch after `now`.
pub fn next_batch(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    state
        .config
        .batch_cron()
        .ok()
        .and_then(|c| c.parse::<croner::Cron>().ok())
        .and_then(|c| {
            // Whole seconds: croner keeps the fraction of its starting point.
            let from = chrono::Timelike::with_nanosecond(&now.with_timezone(&state.tz), 0)?;
            c.find_next_occurrence(&from, false).ok()
        })
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(now)
}
