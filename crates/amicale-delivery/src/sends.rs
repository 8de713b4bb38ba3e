//! A send: the messages of one mailing, campaign or batch, which can be
//! paused, resumed and stopped together, and followed while it runs.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use crate::outbox::{Channel, Origin, State};
use amicale_kernel::crypto::random_token;
use amicale_store::entities::{outbox, send_exclusions, sends};
use amicale_store::error::{AppError, AppResult};

pub use amicale_store::entities::sends::SendState;

/// One recipient of a templated send: rendered at delivery from the frozen
/// template version and this data.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub address: String,
    pub merge_data: serde_json::Value,
    pub locale: &'static str,
    /// The person the message concerns, for their history.
    pub person_id: Option<i64>,
    /// The event it is about, for the event's history.
    pub event_id: Option<i64>,
    /// SMS only: segments the message will take, reserved on the credit.
    pub segments: Option<i32>,
}

const CHUNK: usize = 500;

/// Queues a templated e-mail send in one transaction: either every
/// recipient is queued or none is. The version is frozen: what was sent
/// stays viewable.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    db: &DatabaseConnection,
    label: &str,
    origin: Origin,
    origin_id: Option<i64>,
    template_version_id: i64,
    recipients: impl IntoIterator<Item = Recipient>,
    created_by: Option<i64>,
    mail_domain: &str,
) -> AppResult<i64> {
    create_with_exclusions(
        db,
        Spec {
            label,
            origin,
            origin_id,
            channel: Channel::Email,
            template_version_id,
            identity_id: None,
            copies: None,
            created_by,
            mail_domain,
            due: Utc::now(),
        },
        recipients,
        Vec::new(),
    )
    .await
}

/// What a new send is: where it comes from, its channel, template version
/// and sender identity, and when it may go.
pub struct Spec<'a> {
    pub label: &'a str,
    pub origin: Origin,
    pub origin_id: Option<i64>,
    pub channel: Channel,
    pub template_version_id: i64,
    pub identity_id: Option<i64>,
    /// Manual mails: CC and BCC, as stored ([`crate::copies::Copies`]).
    pub copies: Option<String>,
    pub created_by: Option<i64>,
    pub mail_domain: &'a str,
    /// Not delivered before this instant (the nightly batch).
    pub due: DateTime<Utc>,
}

/// Like [`create`], recording who was left out and why with the send.
pub async fn create_with_exclusions(
    db: &DatabaseConnection,
    spec: Spec<'_>,
    recipients: impl IntoIterator<Item = Recipient>,
    exclusions: Vec<(i64, &'static str)>,
) -> AppResult<i64> {
    let txn = db.begin().await?;
    let send = open(
        &txn,
        spec.label,
        spec.origin,
        spec.origin_id,
        spec.created_by,
    )
    .await?;
    let part = Part {
        send: Some(send),
        origin: spec.origin,
        origin_id: spec.origin_id,
        channel: spec.channel,
        template_version_id: spec.template_version_id,
        identity_id: spec.identity_id,
        copies: spec.copies,
        mail_domain: spec.mail_domain,
        due: spec.due,
    };
    append(&txn, &part, recipients, &exclusions).await?;
    txn.commit().await?;
    Ok(send)
}

/// Creates an empty running send; [`append`] adds its messages.
pub async fn open<C: ConnectionTrait>(
    db: &C,
    label: &str,
    origin: Origin,
    origin_id: Option<i64>,
    created_by: Option<i64>,
) -> AppResult<i64> {
    let now = Utc::now();
    Ok(sends::ActiveModel {
        label: Set(label.to_owned()),
        origin: Set(origin),
        origin_id: Set(origin_id),
        state: Set(SendState::Running),
        total: Set(0),
        created_by: Set(created_by),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?
    .id)
}

/// What every message appended to a send shares.
pub struct Part<'a> {
    /// `None`: messages that belong to no send (an automatic rule's, each
    /// claimed on its own); they record no exclusions and no total.
    pub send: Option<i64>,
    pub origin: Origin,
    pub origin_id: Option<i64>,
    pub channel: Channel,
    pub template_version_id: i64,
    pub identity_id: Option<i64>,
    pub copies: Option<String>,
    pub mail_domain: &'a str,
    /// Not delivered before this instant (the nightly batch).
    pub due: DateTime<Utc>,
}

/// Adds messages and exclusions to a send, on `db` (the caller's
/// transaction): a large send is queued a slice at a time, each slice
/// committed with what it records. SMS reserve their segments: a slice the
/// credit cannot cover is refused whole ([`AppError::SmsCredit`]).
pub async fn append<C: ConnectionTrait>(
    db: &C,
    part: &Part<'_>,
    recipients: impl IntoIterator<Item = Recipient>,
    exclusions: &[(i64, &'static str)],
) -> AppResult<i64> {
    let now = Utc::now();
    // Recipients are consumed a chunk at a time: a 100,000-recipient send is
    // never held in memory as rows.
    let mut total = 0i64;
    let mut iter = recipients.into_iter().peekable();
    while iter.peek().is_some() {
        let chunk: Vec<Recipient> = iter.by_ref().take(CHUNK).collect();
        total += chunk.len() as i64;
        if part.channel == Channel::Sms {
            let needed = chunk.iter().map(|r| r.segments.unwrap_or(1) as i64).sum();
            crate::sms::credit::ensure(db, needed).await?;
        }
        let rows = chunk.into_iter().map(|r| outbox::ActiveModel {
            channel: Set(part.channel),
            segments: Set(r.segments),
            identity_id: Set(part.identity_id),
            copies: Set(part.copies.clone()),
            recipient: Set(r.address),
            subject: Set(String::new()),
            body_text: Set(String::new()),
            body_html: Set(None),
            origin: Set(part.origin),
            origin_id: Set(part.origin_id),
            state: Set(State::Queued),
            attempts: Set(0),
            next_attempt_at: Set(Ord::max(part.due, now)),
            message_id: Set(format!("<{}@{}>", random_token(18), part.mail_domain)),
            created_at: Set(now),
            updated_at: Set(now),
            template_version_id: Set(Some(part.template_version_id)),
            send_id: Set(part.send),
            merge_data: Set(Some(r.merge_data.to_string())),
            locale: Set(Some(r.locale.to_owned())),
            person_id: Set(r.person_id),
            event_id: Set(r.event_id),
            ..Default::default()
        });
        outbox::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    if let Some(send) = part.send {
        for chunk in exclusions.chunks(CHUNK) {
            send_exclusions::Entity::insert_many(chunk.iter().map(|(person, reason)| {
                send_exclusions::ActiveModel {
                    send_id: Set(send),
                    person_id: Set(*person),
                    reason: Set((*reason).to_owned()),
                    ..Default::default()
                }
            }))
            .exec_without_returning(db)
            .await?;
        }
        sends::Entity::update_many()
            .col_expr(
                sends::Column::Total,
                Expr::col(sends::Column::Total).add(total),
            )
            .filter(sends::Column::Id.eq(send))
            .exec(db)
            .await?;
    }
    crate::templates::freeze(db, part.template_version_id).await?;
    Ok(total)
}

async fn set_state<C: ConnectionTrait>(
    db: &C,
    id: i64,
    from: &[SendState],
    to: SendState,
) -> AppResult<bool> {
    let res = sends::Entity::update_many()
        .col_expr(sends::Column::State, Expr::value(to.as_str()))
        .col_expr(sends::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(sends::Column::Id.eq(id))
        .filter(sends::Column::State.is_in(from.iter().map(|s| s.as_str())))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Workers stop taking this send's messages; those being sent finish.
pub async fn pause(db: &DatabaseConnection, id: i64) -> AppResult<bool> {
    set_state(db, id, &[SendState::Running], SendState::Paused).await
}

/// Workers take the remaining messages again, exactly where they stopped.
pub async fn resume(db: &DatabaseConnection, id: i64) -> AppResult<bool> {
    set_state(db, id, &[SendState::Paused], SendState::Running).await
}

/// Cancels what is still waiting; returns how many messages were cancelled.
pub async fn stop(db: &DatabaseConnection, id: i64) -> AppResult<u64> {
    let txn = db.begin().await?;
    if !set_state(
        &txn,
        id,
        &[SendState::Running, SendState::Paused],
        SendState::Stopped,
    )
    .await?
    {
        txn.rollback().await?;
        return Ok(0);
    }
    let res = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::State,
            Expr::value(State::Cancelled.as_str()),
        )
        .col_expr(outbox::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(outbox::Column::SendId.eq(id))
        .filter(outbox::Column::State.is_in([State::Queued.as_str(), State::Deferred.as_str()]))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(res.rows_affected)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Progress {
    pub id: i64,
    pub label: String,
    pub state: String,
    pub total: i64,
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub deferred: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub suppressed: i64,
    /// Messages delivered in the last minute.
    pub per_minute: i64,
    /// Seconds left at the current rate, when it can be told.
    pub eta_secs: Option<i64>,
    pub finished: bool,
}

impl Progress {
    /// What the send is, as told to people: a running (or paused) send
    /// with nothing left to deliver is done, whatever its switch says.
    pub fn phase(&self) -> &'static str {
        match (self.finished, self.state.as_str()) {
            (_, "stopped") => "stopped",
            (true, _) => "done",
            (false, "paused") => "paused",
            (false, _) => "running",
        }
    }
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct StateCount {
    state: String,
    n: i64,
}

pub async fn get(db: &DatabaseConnection, id: i64) -> AppResult<sends::Model> {
    sends::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn list(db: &DatabaseConnection, limit: u64) -> AppResult<Vec<sends::Model>> {
    Ok(sends::Entity::find()
        .order_by_desc(sends::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

const RATE_WINDOW_SECS: i64 = 10;

pub async fn progress(db: &DatabaseConnection, id: i64, now: DateTime<Utc>) -> AppResult<Progress> {
    let s = get(db, id).await?;
    let rows = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::State)
        .column_as(outbox::Column::Id.count(), "n")
        .filter(outbox::Column::SendId.eq(id))
        .group_by(outbox::Column::State)
        .into_model::<StateCount>()
        .all(db)
        .await?;
    let n = |st: State| {
        rows.iter()
            .find(|r| r.state == st.as_str())
            .map_or(0, |r| r.n)
    };
    // The last ten seconds: recent enough to follow a pause or a slow
    // server, and few index entries to count at thousands a second.
    let per_minute = outbox::Entity::find()
        .filter(outbox::Column::SendId.eq(id))
        .filter(outbox::Column::SentAt.gt(now - Duration::seconds(RATE_WINDOW_SECS)))
        .count(db)
        .await? as i64
        * (60 / RATE_WINDOW_SECS);
    let waiting = n(State::Queued) + n(State::Sending) + n(State::Deferred);
    let eta_secs = (per_minute > 0 && waiting > 0).then(|| waiting * 60 / per_minute);
    Ok(Progress {
        id,
        finished: waiting == 0 || s.state == SendState::Stopped && n(State::Sending) == 0,
        label: s.label,
        state: s.state.as_str().to_owned(),
        total: s.total,
        queued: n(State::Queued),
        sending: n(State::Sending),
        sent: n(State::Sent) + n(State::Caught),
        deferred: n(State::Deferred),
        failed: n(State::Failed),
        cancelled: n(State::Cancelled),
        suppressed: n(State::Suppressed),
        per_minute,
        eta_secs,
    })
}
