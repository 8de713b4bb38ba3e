//! Automatic rules: every day at the batch time, each active rule
//! sends its template to the participants of the matching events dated
//! today − offset.
//!
//! Exactly once per rule × participation: the claim is a row of
//! `rule_deliveries` under a unique key, inserted in the same transaction
//! as the message it allows (insert first, `ON CONFLICT DO NOTHING
//! RETURNING`: only the rows this run inserted get a message). A second
//! run, a second node or a restart mid-batch finds the claims and sends
//! nothing again; a crash before commit leaves neither claim nor message.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait, TryInsertResult,
};
use serde_json::Value;

use crate::app::AppState;
use crate::comms::eligibility::Category;
use crate::comms::templates::store as templates;
use crate::compose;
use crate::error::{AppError, AppResult};
use crate::events::audience::{EventCache, Participants};
use crate::events::model::Offset;
use crate::people::scope::visible_among;
use amicale_delivery::outbox::{self, NewMail, Origin};
use amicale_delivery::templates::model::TemplateKind;
use amicale_delivery::templates::render;
use amicale_kernel::Locale;
use amicale_kernel::SendChannel;
use amicale_store::entities::{
    events, participations, rule_deliveries, rules, template_versions, templates as template_rows,
    users,
};

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

/// The calendar day of the events a rule looks at when run on `day`.
fn event_day(r: &rules::Model, day: NaiveDate) -> String {
    (day - Duration::days(r.offset_days as i64))
        .format("%Y-%m-%d")
        .to_string()
}

/// Whether an event (of the rule's day) matches every filter the rule sets.
fn event_matches(r: &rules::Model, e: &events::Model) -> bool {
    (r.nature.is_empty() || r.nature == e.nature)
        && (r.event_type.is_empty() || r.event_type == e.event_type)
        && r.programme_id.is_none_or(|p| e.programme_id == Some(p))
        && (r.step.is_empty() || r.step == e.step)
        && (r.mode.is_empty() || r.mode == e.mode)
}

/// Whether a registered participation matches the rule's presence and
/// confirmation filters (the waiting list is never reached).
fn participation_matches(r: &rules::Model, p: &participations::Model) -> bool {
    !p.waiting
        && (r.presence.is_empty() || r.presence == p.presence)
        && match r.confirmed.as_str() {
            "yes" => p.confirmed,
            "no" => !p.confirmed,
            _ => true,
        }
}

/// The events of the days some rules look at, with their registered
/// participations: loaded once per run, each rule then filters in memory.
#[derive(Default)]
pub struct Candidates {
    by_day: HashMap<String, Vec<events::Model>>,
}

impl Candidates {
    pub async fn load(
        state: &AppState,
        cache: &mut EventCache,
        rules: &[&rules::Model],
        day: NaiveDate,
    ) -> AppResult<Self> {
        let mut days: Vec<String> = rules.iter().map(|r| event_day(r, day)).collect();
        days.sort();
        days.dedup();
        let mut by_day: HashMap<String, Vec<events::Model>> = HashMap::new();
        let mut all = Vec::new();
        for chunk in days.chunks(100) {
            for e in events::Entity::find()
                .filter(events::Column::LocalDate.is_in(chunk.to_vec()))
                .order_by_asc(events::Column::StartsAt)
                .all(&state.db)
                .await?
            {
                by_day
                    .entry(e.local_date.clone())
                    .or_default()
                    .push(e.clone());
                all.push(e);
            }
        }
        let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
        cache.load_events(state, &ids).await?;
        Ok(Candidates { by_day })
    }
}

/// Why a whole rule is skipped on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    TemplateInactive,
    /// The template's kind does not match the rule's channel.
    WrongKind,
    /// No SMS account is configured on this platform.
    SmsUnavailable,
    /// The SMS credit cannot cover the day's messages.
    SmsCredit,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::TemplateInactive => "template_inactive",
            Skip::WrongKind => "wrong_kind",
            Skip::SmsUnavailable => "sms_unavailable",
            Skip::SmsCredit => "sms_credit",
        }
    }
}

/// Whether a rule can send at all, and with which template version.
pub fn usable(
    r: &rules::Model,
    t: &template_rows::Model,
    sms_ready: bool,
) -> Result<SendChannel, Skip> {
    let channel = SendChannel::parse(&r.channel).ok_or(Skip::WrongKind)?;
    if !t.active {
        return Err(Skip::TemplateInactive);
    }
    if TemplateKind::of(t) != TemplateKind::from(channel) {
        return Err(Skip::WrongKind);
    }
    if !channel.is_email() && !sms_ready {
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

/// The events a rule looks at on `day`, their registered participations
/// the rule reaches, and those an earlier run already served. Events whose
/// start is before `now` are left out for offsets ≤ 0: a reminder is not
/// sent after the event it announces (after downtime, say).
async fn reach(
    state: &AppState,
    cache: &EventCache,
    cands: &Candidates,
    r: &rules::Model,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<(Vec<events::Model>, Vec<participations::Model>, HashSet<i64>)> {
    let mut evs: Vec<events::Model> = cands
        .by_day
        .get(&event_day(r, day))
        .into_iter()
        .flatten()
        .filter(|e| event_matches(r, e))
        .cloned()
        .collect();
    if r.offset_days <= 0 {
        evs.retain(|e| e.starts_at >= now);
    }
    let parts: Vec<participations::Model> = evs
        .iter()
        .flat_map(|e| cache.registered(e.id))
        .filter(|p| participation_matches(r, p))
        .cloned()
        .collect();
    let ev_ids: Vec<i64> = evs.iter().map(|e| e.id).collect();
    let mut done = HashSet::new();
    for chunk in ev_ids.chunks(500) {
        done.extend(
            rule_deliveries::Entity::find()
                .select_only()
                .column(rule_deliveries::Column::ParticipationId)
                .filter(rule_deliveries::Column::RuleId.eq(r.id))
                .filter(rule_deliveries::Column::EventId.is_in(chunk.iter().copied()))
                .into_tuple::<i64>()
                .all(&state.db)
                .await?,
        );
    }
    Ok((evs, parts, done))
}

/// The letter of a rule: its template's current version, signed by the
/// network, each message on its own (claimed, not part of a send).
fn letter<'a>(
    l: &Loaded,
    channel: SendChannel,
    version: &'a template_versions::Model,
) -> compose::Letter<'a> {
    let mut letter = compose::Letter::new(
        l.rule.name.clone(),
        Origin::Rule,
        Some(l.rule.id),
        channel,
        &l.template,
        version,
    );
    letter.row = compose::SendRow::Absent;
    letter
}

/// One rule's participants of one day, claimed as they are queued.
struct RuleRun<'a, 'c> {
    rule: &'a rules::Model,
    day: NaiveDate,
    participants: Participants<'c>,
}

impl compose::Audience for RuleRun<'_, '_> {
    type Member = participations::Model;

    /// Participations claimed and queued per transaction: large enough that
    /// commits do not dominate (each one waits for the disk on PostgreSQL).
    const SLICE: usize = 2000;

    fn category(&self) -> Category {
        Category::Events
    }

    async fn members(&mut self, state: &AppState) -> AppResult<Vec<participations::Model>> {
        self.participants.members(state).await
    }

    async fn prepare(
        &mut self,
        state: &AppState,
        slice: &[participations::Model],
        wants: compose::Wants<'_>,
    ) -> AppResult<()> {
        self.participants.prepare(state, slice, wants).await
    }

    fn recipient(&self, p: &participations::Model) -> Option<compose::Recipient<'_>> {
        self.participants.recipient(p)
    }

    fn fill(
        &self,
        state: &AppState,
        p: &participations::Model,
        l: Locale,
        root: &mut serde_json::Map<String, Value>,
        wants: compose::Wants<'_>,
    ) {
        self.participants.fill(state, p, l, root, wants)
    }

    /// Claims every participation of the slice, the excluded with their
    /// reason (`ON CONFLICT DO NOTHING RETURNING`): only those this run
    /// claimed are queued.
    async fn claim(
        &mut self,
        txn: &sea_orm::DatabaseTransaction,
        slice: &[(&participations::Model, compose::Composed)],
    ) -> AppResult<Vec<bool>> {
        if slice.is_empty() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let day = self.day.format("%Y-%m-%d").to_string();
        let claims = slice.iter().map(|(p, c)| rule_deliveries::ActiveModel {
            id: NotSet,
            rule_id: Set(self.rule.id),
            participation_id: Set(p.id),
            event_id: Set(p.event_id),
            person_id: Set(p.person_id),
            day: Set(day.clone()),
            excluded: Set(c.decision.as_ref().err().map(|e| e.as_str().to_owned())),
            created_at: Set(now),
        });
        let claimed: HashSet<i64> = match rule_deliveries::Entity::insert_many(claims)
            .on_conflict_do_nothing()
            .exec_with_returning_many(txn)
            .await?
        {
            TryInsertResult::Inserted(rows) => {
                rows.into_iter().map(|c| c.participation_id).collect()
            }
            TryInsertResult::Conflicted | TryInsertResult::Empty => HashSet::new(),
        };
        Ok(slice.iter().map(|(p, _)| claimed.contains(&p.id)).collect())
    }
}

/// A rule with its template, or why it cannot send.
pub struct Loaded {
    pub rule: rules::Model,
    pub template: template_rows::Model,
    pub usable: Result<SendChannel, Skip>,
}

pub async fn load_all(db: &DatabaseConnection, only_active: bool) -> AppResult<Vec<Loaded>> {
    let sms_ready = amicale_delivery::sms::account::configured(db).await?;
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
            let usable = usable(&rule, &template, sms_ready);
            Some(Loaded {
                rule,
                template,
                usable,
            })
        })
        .collect())
}

/// The dry run of every active rule for `day` (the "Test" button): who would
/// receive what, who is excluded and why. Writes nothing.
pub async fn dry_run(
    state: &AppState,
    day: NaiveDate,
    now: DateTime<Utc>,
    only_rule: Option<i64>,
) -> AppResult<(Vec<Planned>, Vec<(rules::Model, String, Skip)>)> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut cache = EventCache::default();
    let loaded: Vec<Loaded> = load_all(&state.db, only_rule.is_none())
        .await?
        .into_iter()
        .filter(|l| only_rule.is_none_or(|id| id == l.rule.id))
        .collect();
    let refs: Vec<&rules::Model> = loaded.iter().map(|l| &l.rule).collect();
    let cands = Candidates::load(state, &mut cache, &refs, day).await?;
    for l in loaded {
        let channel = match l.usable {
            Ok(ch) => ch,
            Err(why) => {
                skipped.push((l.rule, l.template.name, why));
                continue;
            }
        };
        let (evs, parts, done) = reach(state, &cache, &cands, &l.rule, day, now).await?;
        if parts.is_empty() {
            continue;
        }
        let titles: HashMap<i64, String> = evs.iter().map(|e| (e.id, e.title.clone())).collect();
        let version = templates::current_version(&state.db, &l.template).await?;
        let letter = letter(&l, channel, &version);
        let mut audience = Participants::new(&mut cache, evs, parts);
        for (p, c) in compose::plan(state, &mut audience, &letter).await? {
            out.push(Planned {
                rule: l.rule.id,
                rule_name: l.rule.name.clone(),
                template: l.template.id,
                template_name: l.template.name.clone(),
                participation: p.id,
                event: p.event_id,
                event_title: titles.get(&p.event_id).cloned().unwrap_or_default(),
                person: p.person_id,
                recipient: c.name,
                address: c.decision.as_ref().ok().cloned(),
                channel: channel.as_str().into(),
                excluded: c.decision.err().map(|x| x.as_str()),
                already: done.contains(&p.id),
                merge_data: c.merge_data,
                locale: c.locale,
            });
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

/// Runs every active rule for `day`: claims and messages commit together,
/// a slice of participations at a time.
pub async fn run_day(
    state: &AppState,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<RunSummary> {
    let mut sum = RunSummary::default();
    let mut cache = EventCache::default();
    let loaded = load_all(&state.db, true).await?;
    let refs: Vec<&rules::Model> = loaded
        .iter()
        .filter(|l| l.usable.is_ok())
        .map(|l| &l.rule)
        .collect();
    let cands = Candidates::load(state, &mut cache, &refs, day).await?;
    for l in &loaded {
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
        let (evs, parts, done) = reach(state, &cache, &cands, &l.rule, day, now).await?;
        let reached = parts.len();
        let fresh: Vec<participations::Model> = parts
            .into_iter()
            .filter(|p| !done.contains(&p.id))
            .collect();
        sum.already += reached - fresh.len();
        if fresh.is_empty() {
            continue;
        }
        let version = templates::current_version(&state.db, &l.template).await?;
        let letter = letter(l, channel, &version);
        let mut run = RuleRun {
            rule: &l.rule,
            day,
            participants: Participants::new(&mut cache, evs, fresh),
        };
        match compose::send(state, &mut run, &letter).await {
            Ok(done) => {
                sum.queued += done.queued;
                sum.excluded += done.excluded;
            }
            // The slice that could not be paid was not claimed: a run after
            // a new package can still send it.
            Err(compose::Halted {
                error: AppError::SmsCredit { needed, remaining },
                done,
            }) => {
                sum.queued += done.queued;
                sum.excluded += done.excluded;
                tracing::warn!(
                    rule = l.rule.id,
                    reason = Skip::SmsCredit.as_str(),
                    needed,
                    remaining,
                    "automatic rule stopped"
                );
                sum.skipped_rules += 1;
            }
            Err(halted) => return Err(halted.error),
        }
    }
    Ok(sum)
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

/// Every rule, by name.
pub async fn all_by_name(db: &DatabaseConnection) -> AppResult<Vec<rules::Model>> {
    Ok(rules::Entity::find()
        .order_by_asc(rules::Column::Name)
        .all(db)
        .await?)
}

pub async fn delete(db: &DatabaseConnection, id: i64) -> AppResult<()> {
    rules::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// The template a rule form names, if it exists.
pub async fn template(db: &DatabaseConnection, id: i64) -> AppResult<Option<template_rows::Model>> {
    Ok(template_rows::Entity::find_by_id(id).one(db).await?)
}

/// One recipient of the test page, with the message as they would get it.
pub struct TestRow {
    pub planned: Planned,
    pub subject: String,
    pub text: String,
    pub error: Option<String>,
}

/// The message a planned line would send, or why it does not render.
async fn rendered(
    state: &AppState,
    planned: &Planned,
) -> AppResult<Result<render::Rendered, String>> {
    let (t, v) = templates::get(&state.db, planned.template).await?;
    Ok(render::render(
        state,
        TemplateKind::of(&t),
        &render::variant_for(&v, planned.locale),
        &planned.merge_data,
        planned.locale,
    )
    .map_err(|e| e.to_string()))
}

/// The test page: the dry run of `day` (of one rule, or of every active
/// one) for the persons within `reach`, the first 200 messages rendered;
/// and the rules that cannot send.
pub async fn test(
    state: &AppState,
    day: NaiveDate,
    now: DateTime<Utc>,
    only_rule: Option<i64>,
    reach: &Condition,
) -> AppResult<(Vec<TestRow>, Vec<(rules::Model, String, Skip)>)> {
    let (planned, skipped) = dry_run(state, day, now, only_rule).await?;
    let seen = visible_among(&state.db, reach, planned.iter().map(|x| x.person)).await?;
    let mut rows = Vec::new();
    // A preview of the first 200 is enough to check the wording.
    for pl in planned
        .into_iter()
        .filter(|x| seen.contains(&x.person))
        .take(200)
    {
        rows.push(match rendered(state, &pl).await? {
            Ok(m) => TestRow {
                planned: pl,
                subject: m.subject,
                text: m.text,
                error: None,
            },
            Err(e) => TestRow {
                planned: pl,
                subject: String::new(),
                text: String::new(),
                error: Some(e),
            },
        });
    }
    Ok((rows, skipped))
}

/// Which line of a day's dry run to send as a test.
pub struct TestOf {
    pub day: NaiveDate,
    pub rule: i64,
    pub participation: i64,
}

/// "Send the test to me": the message one participant would get from a
/// rule, rendered with their data and sent to `to` only, marked as a test.
/// Testing never mails a real participant (unlike JUNGO2's test button).
/// Not found when the line is not planned or the participant is out of
/// `reach`; the render error when the message cannot be rendered.
pub async fn send_test(
    state: &AppState,
    to: &users::Model,
    reach: &Condition,
    test: TestOf,
) -> AppResult<Result<(), String>> {
    let (planned, _) = dry_run(state, test.day, Utc::now(), Some(test.rule)).await?;
    let pl = planned
        .into_iter()
        .find(|x| x.participation == test.participation)
        .ok_or(AppError::NotFound)?;
    if !visible_among(&state.db, reach, [pl.person])
        .await?
        .contains(&pl.person)
    {
        return Err(AppError::NotFound);
    }
    let m = match rendered(state, &pl).await? {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    let txn = state.db.begin().await?;
    outbox::enqueue(
        &txn,
        NewMail {
            recipient: to.email.clone(),
            subject: format!("[TEST] {}", m.subject),
            text: m.text,
            html: m.html,
            origin: Origin::Test,
            origin_id: Some(test.rule),
        },
        state.mail_from.email.domain(),
    )
    .await?;
    txn.commit().await?;
    state.outbox_wakeup.notify_waiters();
    Ok(Ok(()))
}
