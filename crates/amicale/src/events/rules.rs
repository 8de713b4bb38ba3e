//! Automatic rules (C10): every day at the batch time, each active rule
//! sends its template to the participants of the matching events dated
//! today − offset.
//!
//! Exactly once per rule × participation: the claim is a row of
//! `rule_deliveries` under a unique key, inserted in the same transaction
//! as the message it allows (insert first, `ON CONFLICT DO NOTHING
//! RETURNING`: only the rows this run inserted get a message). A second
//! run, a second node or a restart mid-batch finds the claims and sends
//! nothing again; a crash before commit leaves neither claim nor message.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait, TryInsertResult,
};
use serde_json::Value;

use crate::app::AppState;
use crate::comms::context;
use crate::comms::eligibility::{self, Category, Exclusion};
use crate::comms::templates::model::TemplateKind;
use crate::comms::templates::store as templates;
use crate::crypto::random_token;
use crate::db::entities::{
    events, outbox, participations, rule_deliveries, rules, template_versions,
    templates as template_rows,
};
use crate::delivery::outbox::{Origin, State};
use crate::error::{AppError, AppResult};
use crate::events::model::{Offset, SendChannel};
use crate::web::i18n::Locale;

/// A rule as entered, every value parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInput {
    pub name: String,
    pub nature: Option<crate::events::model::Nature>,
    pub event_type: String,
    pub programme_id: Option<i64>,
    pub step: String,
    pub mode: Option<crate::events::model::Mode>,
    pub presence: Option<crate::events::model::Presence>,
    pub confirmed: Option<bool>,
    pub channel: SendChannel,
    pub template_id: i64,
    pub offset: Offset,
    pub active: bool,
}

impl RuleInput {
    pub fn of(r: &rules::Model) -> Option<Self> {
        use crate::events::model::{Mode, Nature, Presence};
        Some(RuleInput {
            name: r.name.clone(),
            nature: Nature::parse(&r.nature),
            event_type: r.event_type.clone(),
            programme_id: r.programme_id,
            step: r.step.clone(),
            mode: Mode::parse(&r.mode),
            presence: Presence::parse(&r.presence),
            confirmed: match r.confirmed.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            channel: SendChannel::parse(&r.channel)?,
            template_id: r.template_id,
            offset: Offset::new(r.offset_days)?,
            active: r.active,
        })
    }

    fn row(&self) -> rules::ActiveModel {
        let now = Utc::now();
        rules::ActiveModel {
            id: NotSet,
            name: Set(self.name.clone()),
            nature: Set(self.nature.map(|n| n.as_str()).unwrap_or("").into()),
            event_type: Set(self.event_type.clone()),
            programme_id: Set(self.programme_id),
            step: Set(self.step.clone()),
            mode: Set(self.mode.map(|n| n.as_str()).unwrap_or("").into()),
            presence: Set(self.presence.map(|n| n.as_str()).unwrap_or("").into()),
            confirmed: Set(match self.confirmed {
                Some(true) => "yes",
                Some(false) => "no",
                None => "",
            }
            .into()),
            channel: Set(self.channel.as_str().into()),
            template_id: Set(self.template_id),
            offset_days: Set(self.offset.days()),
            active: Set(self.active),
            created_by: NotSet,
            created_at: Set(now),
            updated_at: Set(now),
        }
    }
}

pub async fn create(db: &DatabaseConnection, r: &RuleInput, by: Option<i64>) -> AppResult<i64> {
    let mut row = r.row();
    row.created_by = Set(by);
    Ok(rules::Entity::insert(row).exec(db).await?.last_insert_id)
}

pub async fn update(db: &DatabaseConnection, id: i64, r: &RuleInput) -> AppResult<()> {
    let mut row = r.row();
    row.id = Set(id);
    row.created_at = NotSet;
    rules::Entity::update(row).exec(db).await?;
    Ok(())
}

pub async fn set_active(db: &DatabaseConnection, id: i64, active: bool) -> AppResult<()> {
    rules::Entity::update_many()
        .col_expr(
            rules::Column::Active,
            sea_orm::sea_query::Expr::value(active),
        )
        .filter(rules::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The events a rule looks at on `day`: dated `day − offset`, matching
/// every filter it sets.
fn event_condition(r: &rules::Model, day: NaiveDate) -> Condition {
    let event_day = day - Duration::days(r.offset_days as i64);
    let mut c = Condition::all()
        .add(events::Column::LocalDate.eq(event_day.format("%Y-%m-%d").to_string()));
    if !r.nature.is_empty() {
        c = c.add(events::Column::Nature.eq(r.nature.clone()));
    }
    if !r.event_type.is_empty() {
        c = c.add(events::Column::EventType.eq(r.event_type.clone()));
    }
    if let Some(p) = r.programme_id {
        c = c.add(events::Column::ProgrammeId.eq(p));
    }
    if !r.step.is_empty() {
        c = c.add(events::Column::Step.eq(r.step.clone()));
    }
    if !r.mode.is_empty() {
        c = c.add(events::Column::Mode.eq(r.mode.clone()));
    }
    c
}

fn participation_condition(r: &rules::Model) -> Condition {
    // The waiting list is not reached: those persons do not take part.
    let mut c = Condition::all().add(participations::Column::Waiting.eq(false));
    if !r.presence.is_empty() {
        c = c.add(participations::Column::Presence.eq(r.presence.clone()));
    }
    match r.confirmed.as_str() {
        "yes" => c = c.add(participations::Column::Confirmed.eq(true)),
        "no" => c = c.add(participations::Column::Confirmed.eq(false)),
        _ => {}
    }
    c
}

/// Why a whole rule is skipped on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    TemplateInactive,
    /// The template's kind does not match the rule's channel.
    WrongKind,
    /// No SMS provider is configured on this platform yet.
    SmsUnavailable,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::TemplateInactive => "template_inactive",
            Skip::WrongKind => "wrong_kind",
            Skip::SmsUnavailable => "sms_unavailable",
        }
    }
}

/// Whether a rule can send at all, and with which template version.
pub fn usable(r: &rules::Model, t: &template_rows::Model) -> Result<SendChannel, Skip> {
    let channel = SendChannel::parse(&r.channel).ok_or(Skip::WrongKind)?;
    if !t.active {
        return Err(Skip::TemplateInactive);
    }
    if TemplateKind::of(t) != channel.template_kind() {
        return Err(Skip::WrongKind);
    }
    if !channel.is_email() {
        return Err(Skip::SmsUnavailable);
    }
    Ok(channel)
}

/// One line of a dry run or of a real run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Planned {
    pub rule: i64,
    pub rule_name: String,
    pub template: i64,
    pub template_name: String,
    pub participation: i64,
    pub event: i64,
    pub event_title: String,
    pub person: i64,
    pub recipient: String,
    pub address: Option<String>,
    pub channel: String,
    pub excluded: Option<&'static str>,
    /// Already sent by an earlier run: a run sends it no more.
    pub already: bool,
    #[serde(skip)]
    pub merge_data: Value,
    #[serde(skip)]
    pub locale: Locale,
}

/// What one rule would send on `day`, without writing anything. Events
/// whose start is before `now` are left out for offsets ≤ 0: a reminder is
/// not sent after the event it announces (after downtime, say).
pub async fn plan_rule(
    state: &AppState,
    r: &rules::Model,
    t: &template_rows::Model,
    channel: SendChannel,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<Vec<Planned>> {
    let db = &state.db;
    let mut evs = events::Entity::find()
        .filter(event_condition(r, day))
        .order_by_asc(events::Column::StartsAt)
        .all(db)
        .await?;
    if r.offset_days <= 0 {
        evs.retain(|e| e.starts_at >= now);
    }
    if evs.is_empty() {
        return Ok(Vec::new());
    }
    let ev_ids: Vec<i64> = evs.iter().map(|e| e.id).collect();
    let mut parts: Vec<participations::Model> = Vec::new();
    for chunk in ev_ids.chunks(500) {
        parts.extend(
            participations::Entity::find()
                .filter(participations::Column::EventId.is_in(chunk.iter().copied()))
                .filter(participation_condition(r))
                .order_by_asc(participations::Column::Id)
                .all(db)
                .await?,
        );
    }
    let part_ids: Vec<i64> = parts.iter().map(|p| p.id).collect();
    let mut done = std::collections::HashSet::new();
    for chunk in part_ids.chunks(500) {
        done.extend(
            rule_deliveries::Entity::find()
                .filter(rule_deliveries::Column::RuleId.eq(r.id))
                .filter(rule_deliveries::Column::ParticipationId.is_in(chunk.iter().copied()))
                .all(db)
                .await?
                .into_iter()
                .map(|d| d.participation_id),
        );
    }
    let person_ids: Vec<i64> = {
        let mut v: Vec<i64> = parts.iter().map(|p| p.person_id).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut by_event: HashMap<i64, Vec<participations::Model>> = HashMap::new();
    for p in parts {
        by_event.entry(p.event_id).or_default().push(p);
    }
    let mut out = Vec::with_capacity(person_ids.len());
    for e in &evs {
        let Some(ps) = by_event.remove(&e.id) else {
            continue;
        };
        for b in build_for_event(state, e, &ps, channel, Category::Events, None).await? {
            out.push(Planned {
                rule: r.id,
                rule_name: r.name.clone(),
                template: t.id,
                template_name: t.name.clone(),
                participation: b.participation,
                event: e.id,
                event_title: e.title.clone(),
                person: b.person,
                recipient: b.name,
                address: b.decision.as_ref().ok().cloned(),
                channel: channel.as_str().into(),
                excluded: b.decision.err().map(|x| x.as_str()),
                already: done.contains(&b.participation),
                merge_data: b.merge_data,
                locale: b.locale,
            });
        }
    }
    Ok(out)
}

/// One participant's message of an event-triggered send: the decision
/// (C5) and the merge data of every namespace.
pub struct Built {
    pub participation: i64,
    pub person: i64,
    pub name: String,
    pub decision: Result<String, Exclusion>,
    pub merge_data: Value,
    pub locale: Locale,
}

/// Builds the messages of `event` for the given participations: `event.*`,
/// `participant.*` (and `person.*`, the same person), the `participants`
/// loop over everyone registered, the network, the sender and the signed
/// unsubscribe link.
pub async fn build_for_event(
    state: &AppState,
    e: &events::Model,
    parts: &[participations::Model],
    channel: SendChannel,
    category: Category,
    sender: Option<&crate::db::entities::users::Model>,
) -> AppResult<Vec<Built>> {
    let db = &state.db;
    let everyone = participations::Entity::find()
        .filter(participations::Column::EventId.eq(e.id))
        .filter(participations::Column::Waiting.eq(false))
        .order_by_asc(participations::Column::Id)
        .all(db)
        .await?;
    let mut ids: Vec<i64> = everyone
        .iter()
        .chain(parts.iter())
        .map(|p| p.person_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let facts = eligibility::facts(db, &ids).await?;
    let data = context::people(db, &ids).await?;
    let mut event_maps: HashMap<Locale, serde_json::Map<String, Value>> = HashMap::new();
    let mut lists: HashMap<Locale, Vec<Value>> = HashMap::new();
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        let Some(d) = data.get(&p.person_id) else {
            continue;
        };
        let l = d.locale.unwrap_or(state.default_locale);
        let decision = match facts.get(&p.person_id) {
            Some(f) => eligibility::decide(f, channel, category),
            None => Err(Exclusion::Deactivated),
        };
        if let Entry::Vacant(v) = event_maps.entry(l) {
            v.insert(context::event_values(db, state, e, l).await?);
        }
        let list = lists.entry(l).or_insert_with(|| {
            everyone
                .iter()
                .filter_map(|x| {
                    data.get(&x.person_id)
                        .map(|od| Value::Object(context::participant_values(od, x, l)))
                })
                .collect()
        });
        let mut root = context::common(state, sender);
        root.insert("event".into(), Value::Object(event_maps[&l].clone()));
        root.insert("participants".into(), Value::Array(list.clone()));
        if let Some(Value::Object(pn)) = root.get_mut("person") {
            d.fill(pn);
        }
        root.insert(
            "participant".into(),
            Value::Object(context::participant_values(d, p, l)),
        );
        if let Ok(address) = &decision {
            root.insert(
                "unsubscribe_url".into(),
                Value::from(context::unsubscribe_url(state, address, category)),
            );
        }
        out.push(Built {
            participation: p.id,
            person: p.person_id,
            name: d
                .person
                .as_ref()
                .map(|x| format!("{} {}", x.first_name, x.last_name))
                .unwrap_or_default(),
            decision,
            merge_data: Value::Object(root),
            locale: l,
        });
    }
    Ok(out)
}

/// A rule with its template, or why it cannot send.
pub struct Loaded {
    pub rule: rules::Model,
    pub template: template_rows::Model,
    pub usable: Result<SendChannel, Skip>,
}

pub async fn load_all(db: &DatabaseConnection, only_active: bool) -> AppResult<Vec<Loaded>> {
    let mut q = rules::Entity::find().order_by_asc(rules::Column::Id);
    if only_active {
        q = q.filter(rules::Column::Active.eq(true));
    }
    let rows = q.all(db).await?;
    let templates: HashMap<i64, template_rows::Model> = template_rows::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|rule| {
            let template = templates.get(&rule.template_id)?.clone();
            let usable = usable(&rule, &template);
            Some(Loaded {
                rule,
                template,
                usable,
            })
        })
        .collect())
}

/// The dry run of every active rule for `day` (C10 "Test"): who would
/// receive what, who is excluded and why. Writes nothing.
pub async fn dry_run(
    state: &AppState,
    day: NaiveDate,
    now: DateTime<Utc>,
    only_rule: Option<i64>,
) -> AppResult<(Vec<Planned>, Vec<(rules::Model, String, Skip)>)> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for l in load_all(&state.db, only_rule.is_none()).await? {
        if only_rule.is_some_and(|id| id != l.rule.id) {
            continue;
        }
        match l.usable {
            Ok(ch) => out.extend(plan_rule(state, &l.rule, &l.template, ch, day, now).await?),
            Err(why) => skipped.push((l.rule, l.template.name, why)),
        }
    }
    Ok((out, skipped))
}

/// What a real run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    pub rules: usize,
    pub queued: usize,
    pub excluded: usize,
    pub already: usize,
    pub skipped_rules: usize,
}

const CHUNK: usize = 500;

/// Runs every active rule for `day`: claims and messages commit together,
/// a chunk of participations at a time.
pub async fn run_day(
    state: &AppState,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<RunSummary> {
    let mut sum = RunSummary::default();
    let mail_domain = state.mail_from.email.domain().to_owned();
    for l in load_all(&state.db, true).await? {
        let channel = match l.usable {
            Ok(c) => c,
            Err(why) => {
                tracing::warn!(
                    rule = l.rule.id,
                    reason = why.as_str(),
                    "automatic rule skipped"
                );
                sum.skipped_rules += 1;
                continue;
            }
        };
        sum.rules += 1;
        let planned = plan_rule(state, &l.rule, &l.template, channel, day, now).await?;
        let fresh: Vec<Planned> = planned
            .into_iter()
            .filter(|p| {
                if p.already {
                    sum.already += 1;
                }
                !p.already
            })
            .collect();
        if fresh.is_empty() {
            continue;
        }
        let version = templates::current_version(&state.db, &l.template).await?;
        for chunk in fresh.chunks(CHUNK) {
            let (q, e) = commit_chunk(state, &l.rule, &version, day, chunk, &mail_domain).await?;
            sum.queued += q;
            sum.excluded += e;
        }
    }
    if sum.queued > 0 {
        state.outbox_wakeup.notify_waiters();
    }
    Ok(sum)
}

async fn commit_chunk(
    state: &AppState,
    rule: &rules::Model,
    version: &template_versions::Model,
    day: NaiveDate,
    chunk: &[Planned],
    mail_domain: &str,
) -> AppResult<(usize, usize)> {
    let now = Utc::now();
    let day_s = day.format("%Y-%m-%d").to_string();
    let txn = state.db.begin().await?;
    let claims = chunk.iter().map(|p| rule_deliveries::ActiveModel {
        id: NotSet,
        rule_id: Set(rule.id),
        participation_id: Set(p.participation),
        event_id: Set(p.event),
        person_id: Set(p.person),
        day: Set(day_s.clone()),
        excluded: Set(p.excluded.map(str::to_owned)),
        created_at: Set(now),
    });
    let claimed: Vec<rule_deliveries::Model> = match rule_deliveries::Entity::insert_many(claims)
        .on_conflict_do_nothing()
        .exec_with_returning_many(&txn)
        .await?
    {
        TryInsertResult::Inserted(rows) => rows,
        TryInsertResult::Conflicted | TryInsertResult::Empty => Vec::new(),
    };
    let mine: std::collections::HashSet<i64> = claimed
        .iter()
        .filter(|c| c.excluded.is_none())
        .map(|c| c.participation_id)
        .collect();
    let excluded = claimed.len() - mine.len();
    let rows: Vec<outbox::ActiveModel> = chunk
        .iter()
        .filter(|p| mine.contains(&p.participation))
        .filter_map(|p| {
            Some(outbox::ActiveModel {
                channel: Set(crate::delivery::outbox::Channel::Email.as_str().into()),
                recipient: Set(p.address.clone()?),
                subject: Set(String::new()),
                body_text: Set(String::new()),
                body_html: Set(None),
                origin: Set(Origin::Rule.as_str().into()),
                origin_id: Set(Some(rule.id)),
                state: Set(State::Queued.as_str().into()),
                attempts: Set(0),
                next_attempt_at: Set(now),
                message_id: Set(format!("<{}@{mail_domain}>", random_token(18))),
                created_at: Set(now),
                updated_at: Set(now),
                template_version_id: Set(Some(version.id)),
                merge_data: Set(Some(p.merge_data.to_string())),
                locale: Set(Some(p.locale.code().to_owned())),
                person_id: Set(Some(p.person)),
                event_id: Set(Some(p.event)),
                ..Default::default()
            })
        })
        .collect();
    let queued = rows.len();
    if !rows.is_empty() {
        outbox::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
        templates::freeze(&txn, version.id).await?;
    }
    txn.commit().await?;
    Ok((queued, excluded))
}

/// The scheduled task: the slot's day in the network zone.
pub async fn nightly(state: &AppState, slot: DateTime<Utc>) -> AppResult<String> {
    let day = slot.with_timezone(&state.tz).date_naive();
    let s = run_day(state, day, Utc::now()).await?;
    Ok(format!(
        "{day}: {} rules, {} queued, {} excluded, {} already sent, {} rules skipped",
        s.rules, s.queued, s.excluded, s.already, s.skipped_rules
    ))
}

pub async fn get(db: &DatabaseConnection, id: i64) -> AppResult<rules::Model> {
    rules::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}
