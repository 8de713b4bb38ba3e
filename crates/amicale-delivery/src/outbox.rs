//! The outbox: one row per message and recipient. A request writes rows in
//! its own transaction; workers claim them with a lease and acknowledge them.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};

use amicale_kernel::crypto::random_token;
use amicale_store::Backend;
use amicale_store::entities::{outbox, sends};
use amicale_store::error::{AppError, AppResult};

pub use amicale_store::entities::outbox::{Channel, Origin, State};

/// A system e-mail, rendered before it is queued.
pub struct NewMail {
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub origin: Origin,
    pub origin_id: Option<i64>,
}

/// Queues a message on `db`, which is normally the caller's transaction:
/// the message exists if and only if the business change commits.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    mail: NewMail,
    mail_domain: &str,
) -> AppResult<i64> {
    enqueue_version(db, mail, mail_domain, None).await
}

/// Like [`enqueue`], recording the template version the message was rendered
/// from (its attachments go with it).
pub async fn enqueue_version<C: ConnectionTrait>(
    db: &C,
    mail: NewMail,
    mail_domain: &str,
    template_version_id: Option<i64>,
) -> AppResult<i64> {
    let now = Utc::now();
    let res = outbox::Entity::insert(outbox::ActiveModel {
        channel: Set(Channel::Email),
        recipient: Set(mail.recipient),
        subject: Set(mail.subject),
        body_text: Set(mail.text),
        body_html: Set(mail.html),
        origin: Set(mail.origin),
        origin_id: Set(mail.origin_id),
        state: Set(State::Queued),
        attempts: Set(0),
        next_attempt_at: Set(now),
        message_id: Set(format!("<{}@{mail_domain}>", random_token(18))),
        created_at: Set(now),
        updated_at: Set(now),
        template_version_id: Set(template_version_id),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(res.last_insert_id)
}

/// Takes up to `limit` due messages for `owner` until `now + lease`. Messages
/// whose lease ran out (their worker died) are due again. On PostgreSQL,
/// concurrent workers skip each other's rows instead of waiting.
///
/// Each kind of due message is looked for by its own indexed query (state,
/// then time): one query with an OR would scan the whole outbox per batch.
pub async fn claim(
    db: &DatabaseConnection,
    channel: Channel,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> AppResult<Vec<outbox::Model>> {
    let mut claimed = Vec::new();
    for (state, time_col) in [
        (State::Queued, outbox::Column::NextAttemptAt),
        (State::Deferred, outbox::Column::NextAttemptAt),
        (State::Sending, outbox::Column::LeaseUntil),
    ] {
        let want = limit.saturating_sub(claimed.len() as u64);
        if want == 0 {
            break;
        }
        claimed.extend(claim_state(db, channel, owner, now, lease, want, state, time_col).await?);
    }
    claimed.sort_by_key(|m| m.id);
    Ok(claimed)
}

#[allow(clippy::too_many_arguments)]
async fn claim_state(
    db: &DatabaseConnection,
    channel: Channel,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
    state: State,
    time_col: outbox::Column,
) -> AppResult<Vec<outbox::Model>> {
    // A paused send keeps its messages where they are.
    let running = Query::select()
        .column(sends::Column::Id)
        .from(sends::Entity)
        .and_where(Expr::col(sends::Column::State).eq("running"))
        .to_owned();
    let not_paused = Expr::col(outbox::Column::SendId)
        .is_null()
        .or(Expr::col(outbox::Column::SendId).in_subquery(running));
    if Backend::of(db) == Backend::Postgres {
        return claim_state_pg(db, channel, owner, now, lease, limit, state, time_col).await;
    }
    // Queued and deferred rows are due once their time has come; a leased
    // row only once its lease has run out.
    let due = if state == State::Sending {
        Expr::col(time_col).lt(now)
    } else {
        Expr::col(time_col).lte(now)
    };
    let mut pick = Query::select();
    pick.column(outbox::Column::Id)
        .from(outbox::Entity)
        .and_where(Expr::col(outbox::Column::Channel).eq(channel.as_str()))
        .and_where(Expr::col(outbox::Column::State).eq(state.as_str()))
        .and_where(due)
        .and_where(not_paused)
        .order_by(time_col, sea_orm::Order::Asc)
        .limit(limit);
    Ok(outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(State::Sending.as_str()))
        .col_expr(outbox::Column::LeaseOwner, Expr::value(owner))
        .col_expr(outbox::Column::LeaseUntil, Expr::value(now + lease))
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .filter(outbox::Column::Id.in_subquery(pick))
        // Re-checked in the update: on SQLite no row lock protects the pick.
        .filter(outbox::Column::State.eq(state.as_str()))
        .exec_with_returning(db)
        .await?)
}

/// PostgreSQL: the pick runs once, in a CTE. As `id IN (SELECT … LIMIT n
/// FOR UPDATE SKIP LOCKED)` the planner may run the subquery again and take
/// more than `n` rows.
#[allow(clippy::too_many_arguments)]
async fn claim_state_pg(
    db: &DatabaseConnection,
    channel: Channel,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
    state: State,
    time_col: outbox::Column,
) -> AppResult<Vec<outbox::Model>> {
    let (col, cmp) = match time_col {
        outbox::Column::LeaseUntil => ("lease_until", "<"),
        _ => ("next_attempt_at", "<="),
    };
    let sql = format!(
        "WITH picked AS (
            SELECT id FROM outbox
            WHERE channel = $6 AND state = $1 AND {col} {cmp} $2
              AND (send_id IS NULL OR send_id IN (SELECT id FROM sends WHERE state = 'running'))
            ORDER BY {col} LIMIT $3
            FOR UPDATE SKIP LOCKED)
         UPDATE outbox AS o
            SET state = 'sending', lease_owner = $4, lease_until = $5,
                attempts = o.attempts + 1, updated_at = $2
           FROM picked WHERE o.id = picked.id
         RETURNING o.*"
    );
    let stmt = sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        sql,
        [
            state.as_str().into(),
            now.into(),
            (limit as i64).into(),
            owner.into(),
            (now + lease).into(),
            channel.as_str().into(),
        ],
    );
    Ok(outbox::Model::find_by_statement(stmt).all(db).await?)
}

/// What a delivery adds to its outcome: for an SMS the segments billed
/// and the provider's id (which its receipts quote); for a templated
/// e-mail its rendered subject, kept for the sender's archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    pub segments: Option<i32>,
    pub provider_id: Option<String>,
    pub subject: Option<String>,
}

/// The outcome of one claimed message, for [`finish_many`].
#[derive(Debug, Clone)]
pub struct Finished {
    pub id: i64,
    pub state: State,
    pub answer: Option<String>,
    pub next_attempt: Option<DateTime<Utc>>,
    pub extras: Extras,
}

/// Records the outcomes of a batch in one statement (a row of values per
/// message, joined on the id): one round trip to the database instead of
/// one per message. Only rows `owner` still holds are
/// updated: a worker that lost its lease to another cannot overwrite the
/// newer result. Returns how many were.
pub async fn finish_many<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    done: Vec<Finished>,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    if done.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let pg = backend == sea_orm::DbBackend::Postgres;
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(done.len() * 8 + 3);
    let mut n = 0usize;
    let mut ph = |values: &mut Vec<sea_orm::Value>, v: sea_orm::Value| {
        values.push(v);
        n += 1;
        if pg { format!("${n}") } else { "?".to_owned() }
    };
    let mut rows = Vec::with_capacity(done.len());
    for f in done {
        let delivered = matches!(f.state, State::Sent | State::Caught);
        let cols = [
            ph(&mut values, f.id.into()),
            ph(&mut values, f.state.as_str().into()),
            ph(&mut values, f.answer.into()),
            ph(&mut values, f.next_attempt.into()),
            ph(&mut values, delivered.then_some(now).into()),
            ph(&mut values, f.extras.segments.filter(|_| delivered).into()),
            ph(
                &mut values,
                f.extras.provider_id.filter(|_| delivered).into(),
            ),
            ph(&mut values, f.extras.subject.filter(|_| delivered).into()),
        ];
        rows.push(format!("({})", cols.join(", ")));
    }
    // SQLite's `?` are bound in the order they appear in the text.
    let now_ph = ph(&mut values, now.into());
    let owner_ph = ph(&mut values, owner.into());
    // The first row's casts type the columns of VALUES on PostgreSQL, where
    // a NULL parameter would otherwise be of unknown type.
    if pg && let Some(first) = rows.first_mut() {
        let casts = [
            "::bigint",
            "::text",
            "::text",
            "::timestamptz",
            "::timestamptz",
            "::integer",
            "::text",
            "::text",
        ];
        let inner = first
            .trim_start_matches('(')
            .trim_end_matches(')')
            .to_owned();
        let typed: Vec<String> = inner
            .split(", ")
            .zip(casts)
            .map(|(p, c)| format!("{p}{c}"))
            .collect();
        *first = format!("({})", typed.join(", "));
    }
    let sql = format!(
        "WITH v(id, state, answer, next_at, sent_at, segments, provider_id, subject) AS (VALUES {rows})
         UPDATE outbox SET
            state = v.state,
            last_answer = v.answer,
            next_attempt_at = COALESCE(v.next_at, outbox.next_attempt_at),
            sent_at = COALESCE(v.sent_at, outbox.sent_at),
            segments = COALESCE(v.segments, outbox.segments),
            provider_id = COALESCE(v.provider_id, outbox.provider_id),
            subject = COALESCE(v.subject, outbox.subject),
            lease_owner = NULL,
            lease_until = NULL,
            updated_at = {now_ph}
         FROM v
         WHERE outbox.id = v.id AND outbox.lease_owner = {owner_ph} AND outbox.state = 'sending'",
        rows = rows.join(", ")
    );
    let res = db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?;
    Ok(res.rows_affected())
}

/// An update of the messages `ids` that `owner` still holds, moving them to
/// `state` and ending the lease. Whoever lost the lease updates nothing.
fn leased_by(ids: Vec<i64>, owner: &str, state: State) -> sea_orm::UpdateMany<outbox::Entity> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(state.as_str()))
        .col_expr(
            outbox::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            outbox::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::Id.is_in(ids))
        .filter(outbox::Column::LeaseOwner.eq(owner))
        .filter(outbox::Column::State.eq(State::Sending.as_str()))
}

/// Hands claimed but unsent messages back (graceful shutdown), without
/// counting the attempt that never happened.
pub async fn release(db: &DatabaseConnection, ids: &[i64], owner: &str) -> AppResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let res = leased_by(ids.to_vec(), owner, State::Queued)
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).sub(1),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Next try after `attempts` failures: `base` doubled each time, at most `max`.
pub fn backoff(attempts: i32, base: Duration, max: Duration) -> Duration {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let secs = base.num_seconds().saturating_mul(1i64 << exp);
    Duration::seconds(secs).min(max)
}

/// Deferred messages older than `give_up` become failed; returns how many.
pub async fn give_up_stale(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    give_up: Duration,
) -> AppResult<u64> {
    let res = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(State::Failed.as_str()))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        // Every channel named: the due index starts with the channel.
        .filter(outbox::Column::Channel.is_in(Channel::ALL.map(Channel::as_str)))
        .filter(outbox::Column::State.eq(State::Deferred.as_str()))
        .filter(outbox::Column::CreatedAt.lt(now - give_up))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

#[derive(Debug, FromQueryResult)]
struct StateCount {
    state: String,
    n: i64,
}

/// Number of messages in each state, every state listed (zeros included).
pub async fn counts(db: &DatabaseConnection) -> AppResult<Vec<(State, i64)>> {
    let rows = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::State)
        .column_as(outbox::Column::Id.count(), "n")
        .group_by(outbox::Column::State)
        .into_model::<StateCount>()
        .all(db)
        .await?;
    Ok(State::ALL
        .iter()
        .copied()
        .map(|s| {
            let n = rows
                .iter()
                .find(|r| r.state == s.as_str())
                .map_or(0, |r| r.n);
            (s, n)
        })
        .collect())
}

pub async fn list(
    db: &DatabaseConnection,
    before: Option<i64>,
    limit: u64,
) -> AppResult<Vec<outbox::Model>> {
    let mut q = outbox::Entity::find()
        .order_by_desc(outbox::Column::Id)
        .limit(limit);
    if let Some(b) = before {
        q = q.filter(outbox::Column::Id.lt(b));
    }
    Ok(q.all(db).await?)
}

pub async fn get(db: &DatabaseConnection, id: i64) -> AppResult<outbox::Model> {
    outbox::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let base = Duration::minutes(5);
        let max = Duration::hours(1);
        assert_eq!(backoff(1, base, max), Duration::minutes(5));
        assert_eq!(backoff(2, base, max), Duration::minutes(10));
        assert_eq!(backoff(4, base, max), Duration::minutes(40));
        assert_eq!(backoff(5, base, max), Duration::hours(1));
        assert_eq!(backoff(500, base, max), Duration::hours(1));
    }

    #[test]
    fn states_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(*s));
        }
    }
}
