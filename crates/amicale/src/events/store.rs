//! Events, facilitators and participations in the database.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::events::model::{Mode, Nature, Presence};
use crate::people::crm::{Opt, choices};
use crate::people::search::{self, Criteria, Scope, Sort};
use amicale_store::entities::{
    event_facilitators, events, participations, persons, programmes, rules, users,
};

/// An event as entered, every value parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInput {
    pub title: String,
    pub nature: Nature,
    pub event_type: String,
    pub programme_id: Option<i64>,
    pub step: String,
    pub phase: String,
    pub mode: Mode,
    pub video_link: String,
    pub site: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The start's day in the network zone.
    pub local_date: NaiveDate,
    pub capacity: Option<i32>,
    pub resource: String,
    pub open_registration: bool,
    pub facilitators: Vec<i64>,
}

fn row(e: &EventInput, by: Option<i64>, now: DateTime<Utc>) -> events::ActiveModel {
    events::ActiveModel {
        id: NotSet,
        title: Set(e.title.clone()),
        nature: Set(e.nature.as_str().into()),
        event_type: Set(e.event_type.clone()),
        programme_id: Set(e.programme_id),
        step: Set(e.step.clone()),
        phase: Set(e.phase.clone()),
        mode: Set(e.mode.as_str().into()),
        video_link: Set(e.video_link.clone()),
        site: Set(e.site.clone()),
        address: Set(e.address.clone()),
        postal_code: Set(e.postal_code.clone()),
        city: Set(e.city.clone()),
        starts_at: Set(e.starts_at),
        ends_at: Set(e.ends_at),
        local_date: Set(e.local_date.format("%Y-%m-%d").to_string()),
        capacity: Set(e.capacity),
        resource: Set(e.resource.clone()),
        open_registration: Set(e.open_registration),
        created_by: Set(by),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

async fn set_facilitators<C: ConnectionTrait>(db: &C, id: i64, users: &[i64]) -> AppResult<()> {
    event_facilitators::Entity::delete_many()
        .filter(event_facilitators::Column::EventId.eq(id))
        .exec(db)
        .await?;
    let mut users = users.to_vec();
    users.sort_unstable();
    users.dedup();
    if !users.is_empty() {
        event_facilitators::Entity::insert_many(users.into_iter().map(|u| {
            event_facilitators::ActiveModel {
                event_id: Set(id),
                user_id: Set(u),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

pub async fn create(db: &DatabaseConnection, e: &EventInput, by: Option<i64>) -> AppResult<i64> {
    let txn = db.begin().await?;
    let id = events::Entity::insert(row(e, by, Utc::now()))
        .exec(&txn)
        .await?
        .last_insert_id;
    set_facilitators(&txn, id, &e.facilitators).await?;
    txn.commit().await?;
    Ok(id)
}

pub async fn update(db: &DatabaseConnection, id: i64, e: &EventInput) -> AppResult<()> {
    let txn = db.begin().await?;
    let mut r = row(e, None, Utc::now());
    r.id = Set(id);
    r.created_by = NotSet;
    r.created_at = NotSet;
    events::Entity::update(r).exec(&txn).await?;
    set_facilitators(&txn, id, &e.facilitators).await?;
    // More places (or none): the waiting list moves up, first come first.
    let (registered, waiting) = fill(&txn, id).await?;
    let room = match e.capacity {
        None => waiting,
        Some(c) => (c.max(0) as u64).saturating_sub(registered).min(waiting),
    };
    if room > 0 {
        let next: Vec<i64> = participations::Entity::find()
            .filter(participations::Column::EventId.eq(id))
            .filter(participations::Column::Waiting.eq(true))
            .order_by_asc(participations::Column::RegisteredAt)
            .order_by_asc(participations::Column::Id)
            .limit(room)
            .all(&txn)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        participations::Entity::update_many()
            .col_expr(participations::Column::Waiting, Expr::value(false))
            .filter(participations::Column::Id.is_in(next))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

pub async fn delete(db: &DatabaseConnection, id: i64) -> AppResult<bool> {
    Ok(events::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// An event as stored.
pub type Event = events::Model;
/// A staff user (facilitator, author).
pub type User = users::Model;
/// A participation of a person in an event.
pub type Participation = participations::Model;

/// An automatic rule as stored.
pub type Rule = rules::Model;

/// Every automatic rule, by name.
pub async fn rules_by_name(db: &DatabaseConnection) -> AppResult<Vec<Rule>> {
    Ok(rules::Entity::find()
        .order_by_asc(rules::Column::Name)
        .all(db)
        .await?)
}

/// Deletes an automatic rule; what it already sent stays in the outbox.
pub async fn delete_rule(db: &DatabaseConnection, id: i64) -> AppResult<()> {
    rules::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// The event types in use, for suggestions.
pub async fn event_types(db: &DatabaseConnection) -> AppResult<Vec<String>> {
    distinct(db, events::Column::EventType).await
}

/// The steps in use, for suggestions.
pub async fn steps(db: &DatabaseConnection) -> AppResult<Vec<String>> {
    distinct(db, events::Column::Step).await
}

/// The programmes an event may belong to, for a select.
pub async fn programme_choices(state: &AppState) -> AppResult<Vec<Opt>> {
    choices::<programmes::Entity>(state, programmes::Column::Name).await
}

/// The name of a programme; empty for none or a deleted one.
pub async fn programme_name(db: &DatabaseConnection, id: Option<i64>) -> AppResult<String> {
    let Some(id) = id else {
        return Ok(String::new());
    };
    Ok(programmes::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|x| x.name)
        .unwrap_or_default())
}

/// Up to ten persons within `reach` whose record matches `words`, by name.
pub async fn people_matching(
    db: &DatabaseConnection,
    reach: Condition,
    words: &str,
) -> AppResult<Vec<persons::Model>> {
    let (cond, _) = Criteria {
        q: words.to_owned(),
        ..Default::default()
    }
    .condition(amicale_store::Backend::of(db), Scope::Crm);
    Ok(search::select(cond.add(reach), Sort::Name, false)
        .limit(10)
        .all(db)
        .await?)
}

/// The member's participations.
pub async fn participations_of(
    db: &DatabaseConnection,
    person: i64,
) -> AppResult<Vec<Participation>> {
    Ok(participations::Entity::find()
        .filter(participations::Column::PersonId.eq(person))
        .all(db)
        .await?)
}

/// What a member sees: events to come that are open to registration or
/// that they take part in (`theirs`), soonest first.
pub async fn upcoming_for_member(
    db: &DatabaseConnection,
    theirs: Vec<i64>,
) -> AppResult<Vec<Event>> {
    Ok(events::Entity::find()
        .filter(events::Column::StartsAt.gte(Utc::now()))
        .filter(
            Condition::any()
                .add(events::Column::OpenRegistration.eq(true))
                .add(events::Column::Id.is_in(theirs)),
        )
        .order_by_asc(events::Column::StartsAt)
        .limit(200)
        .all(db)
        .await?)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<events::Model> {
    events::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn facilitators<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Vec<users::Model>> {
    let ids: Vec<i64> = event_facilitators::Entity::find()
        .filter(event_facilitators::Column::EventId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.user_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .order_by_asc(users::Column::DisplayName)
        .all(db)
        .await?)
}

/// Staff who can facilitate: every user who is not a plain member.
pub async fn staff(db: &DatabaseConnection) -> AppResult<Vec<users::Model>> {
    Ok(users::Entity::find()
        .filter(
            Condition::any()
                .add(users::Column::IsAdmin.eq(true))
                .add(users::Column::ProfileId.is_not_null()),
        )
        .order_by_asc(users::Column::DisplayName)
        .all(db)
        .await?)
}

/// What an event search asks: words of the object, the place, a
/// facilitator, a period.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct EventQuery {
    pub q: String,
    pub place: String,
    pub facilitator: String,
    pub from: String,
    pub to: String,
    #[serde(deserialize_with = "amicale_kernel::fields::blank_as_none")]
    pub page: Option<u64>,
}

pub const PER_PAGE: u64 = 50;

pub fn condition(q: &EventQuery) -> Condition {
    let mut c = Condition::all();
    for word in q.q.split_whitespace() {
        c = c.add(
            Condition::any()
                .add(events::Column::Title.contains(word))
                .add(events::Column::EventType.contains(word))
                .add(events::Column::Step.contains(word)),
        );
    }
    for word in q.place.split_whitespace() {
        c = c.add(
            Condition::any()
                .add(events::Column::Site.contains(word))
                .add(events::Column::City.contains(word))
                .add(events::Column::Address.contains(word)),
        );
    }
    if let Ok(uid) = q.facilitator.parse::<i64>() {
        c = c.add(
            events::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(event_facilitators::Column::EventId)
                    .from(event_facilitators::Entity)
                    .and_where(sea_orm::sea_query::ExprTrait::eq(
                        Expr::col(event_facilitators::Column::UserId),
                        uid,
                    ))
                    .to_owned(),
            ),
        );
    }
    if let Some(d) = amicale_kernel::time::parse_date(&q.from) {
        c = c.add(events::Column::LocalDate.gte(d.format("%Y-%m-%d").to_string()));
    }
    if let Some(d) = amicale_kernel::time::parse_date(&q.to) {
        c = c.add(events::Column::LocalDate.lte(d.format("%Y-%m-%d").to_string()));
    }
    c
}

pub async fn search(
    db: &DatabaseConnection,
    q: &EventQuery,
    reach: Condition,
) -> AppResult<(Vec<events::Model>, u64)> {
    let page = q.page.unwrap_or(1).max(1);
    let select = events::Entity::find()
        .filter(condition(q))
        .filter(reach)
        .order_by_desc(events::Column::StartsAt);
    let total = select.clone().count(db).await?;
    let rows = select
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// The events of `user` (as facilitator, or all when `all`) between two instants.
pub async fn agenda(
    db: &DatabaseConnection,
    user: Option<i64>,
    reach: Condition,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<events::Model>> {
    let mut s = events::Entity::find()
        .filter(reach)
        .filter(events::Column::StartsAt.gte(from))
        .filter(events::Column::StartsAt.lt(to))
        .order_by_asc(events::Column::StartsAt);
    if let Some(uid) = user {
        s = s.filter(
            events::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(event_facilitators::Column::EventId)
                    .from(event_facilitators::Entity)
                    .and_where(sea_orm::sea_query::ExprTrait::eq(
                        Expr::col(event_facilitators::Column::UserId),
                        uid,
                    ))
                    .to_owned(),
            ),
        );
    }
    Ok(s.all(db).await?)
}

/// A participant line of the event page and the attendance sheet.
#[derive(Debug, Clone)]
pub struct Participant {
    pub participation: participations::Model,
    pub person: persons::Model,
}

pub async fn participants<C: ConnectionTrait>(db: &C, event: i64) -> AppResult<Vec<Participant>> {
    let rows = participations::Entity::find()
        .filter(participations::Column::EventId.eq(event))
        .order_by_asc(participations::Column::Waiting)
        .order_by_asc(participations::Column::RegisteredAt)
        .order_by_asc(participations::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.person_id).collect();
    let mut people: std::collections::HashMap<i64, persons::Model> = persons::Entity::find()
        .filter(persons::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut out: Vec<Participant> = rows
        .into_iter()
        .filter_map(|participation| {
            people
                .remove(&participation.person_id)
                .map(|person| Participant {
                    participation,
                    person,
                })
        })
        .collect();
    // Registered first, then the waiting list, each by name.
    out.sort_by(|a, b| {
        (a.participation.waiting, &a.person.sort_key)
            .cmp(&(b.participation.waiting, &b.person.sort_key))
    });
    Ok(out)
}

/// Registered and waiting-list counts.
pub async fn fill<C: ConnectionTrait>(db: &C, event: i64) -> AppResult<(u64, u64)> {
    let base = participations::Entity::find().filter(participations::Column::EventId.eq(event));
    let waiting = base
        .clone()
        .filter(participations::Column::Waiting.eq(true))
        .count(db)
        .await?;
    let all = base.count(db).await?;
    Ok((all - waiting, waiting))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// Registered within capacity.
    Registered,
    /// Beyond capacity: on the waiting list.
    Waiting,
    /// Already a participant: nothing changed.
    Already,
}

/// Serialises the changes to an event's places until the transaction ends.
/// PostgreSQL counts in read-committed snapshots, so two registrations for
/// the last place would both see it free; the event row's lock makes the
/// second wait and count again. SQLite's single writer already does this:
/// the transaction wrote before counting.
async fn lock_places(txn: &sea_orm::DatabaseTransaction, event: i64) -> AppResult<()> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        events::Entity::find_by_id(event)
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    Ok(())
}

/// Registers a person; beyond capacity, on the waiting list. The count and
/// the insert are one transaction, and the unique (event, person) key makes
/// a double click register once.
pub async fn register(
    db: &DatabaseConnection,
    event: &events::Model,
    person: i64,
    by: Option<i64>,
) -> AppResult<Registered> {
    let txn = db.begin().await?;
    lock_places(&txn, event.id).await?;
    // Write first (SQLite takes the write lock at once): the row goes in
    // as waiting, then moves up if there was room.
    let res = participations::Entity::insert(participations::ActiveModel {
        id: NotSet,
        event_id: Set(event.id),
        person_id: Set(person),
        waiting: Set(true),
        confirmed: Set(false),
        presence: Set(String::new()),
        registered_at: Set(Utc::now()),
        registered_by: Set(by),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&txn)
    .await?;
    if !matches!(res, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
        txn.rollback().await?;
        return Ok(Registered::Already);
    }
    let (registered, _) = fill(&txn, event.id).await?;
    let room = event.capacity.is_none_or(|c| registered < c.max(0) as u64);
    let outcome = if room {
        participations::Entity::update_many()
            .col_expr(participations::Column::Waiting, Expr::value(false))
            .filter(participations::Column::EventId.eq(event.id))
            .filter(participations::Column::PersonId.eq(person))
            .exec(&txn)
            .await?;
        Registered::Registered
    } else {
        Registered::Waiting
    };
    txn.commit().await?;
    Ok(outcome)
}

/// Removes a participant; the first on the waiting list takes the place.
pub async fn unregister(
    db: &DatabaseConnection,
    event: &events::Model,
    person: i64,
) -> AppResult<bool> {
    let txn = db.begin().await?;
    lock_places(&txn, event.id).await?;
    let gone = participations::Entity::delete_many()
        .filter(participations::Column::EventId.eq(event.id))
        .filter(participations::Column::PersonId.eq(person))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if gone {
        let (registered, _) = fill(&txn, event.id).await?;
        if event.capacity.is_none_or(|c| registered < c.max(0) as u64)
            && let Some(next) = participations::Entity::find()
                .filter(participations::Column::EventId.eq(event.id))
                .filter(participations::Column::Waiting.eq(true))
                .order_by_asc(participations::Column::RegisteredAt)
                .order_by_asc(participations::Column::Id)
                .one(&txn)
                .await?
        {
            participations::Entity::update_many()
                .col_expr(participations::Column::Waiting, Expr::value(false))
                .filter(participations::Column::Id.eq(next.id))
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(gone)
}

/// Saves the confirmed flags and presences posted by the attendance sheet.
pub async fn set_attendance(
    db: &DatabaseConnection,
    event: i64,
    rows: &[(i64, bool, Option<Presence>)],
) -> AppResult<()> {
    let txn = db.begin().await?;
    for (participation, confirmed, presence) in rows {
        participations::Entity::update_many()
            .col_expr(participations::Column::Confirmed, Expr::value(*confirmed))
            .col_expr(
                participations::Column::Presence,
                Expr::value(presence.map(|p| p.as_str()).unwrap_or("")),
            )
            .filter(participations::Column::Id.eq(*participation))
            .filter(participations::Column::EventId.eq(event))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The distinct event types and steps already used, offered as choices.
pub async fn distinct(db: &DatabaseConnection, col: events::Column) -> AppResult<Vec<String>> {
    let mut v: Vec<String> = events::Entity::find()
        .select_only()
        .column(col)
        .distinct()
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    Ok(v)
}
