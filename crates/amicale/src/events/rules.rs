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

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait, TryInsertResult,
};
use serde_json::Value;

use crate::app::AppState;
use crate::comms::context;
use crate::comms::eligibility::{self, Category, Exclusion};
use crate::comms::templates::store as templates;
use crate::error::{AppError, AppResult};
use crate::events::model::Offset;
use amicale_delivery::outbox::{Origin, State};
use amicale_delivery::templates::model::TemplateKind;
use amicale_kernel::Locale;
use amicale_kernel::SendChannel;
use amicale_kernel::crypto::random_token;
use amicale_store::entities::{
    event_facilitators, events, outbox, participations, programmes, rule_deliveries, rules,
    template_versions, templates as template_rows, users,
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
        cache.load_events(state, &all).await?;
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

/// What one rule would send on `day`, without writing anything. Events
/// whose start is before `now` are left out for offsets ≤ 0: a reminder is
/// not sent after the event it announces (after downtime, say).
#[allow(clippy::too_many_arguments)]
pub async fn plan_rule(
    state: &AppState,
    cache: &mut EventCache,
    cands: &Candidates,
    r: &rules::Model,
    t: &template_rows::Model,
    channel: SendChannel,
    day: NaiveDate,
    now: DateTime<Utc>,
    skip_done: bool,
) -> AppResult<(Vec<Planned>, usize)> {
    let db = &state.db;
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
    if evs.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut parts: Vec<participations::Model> = evs
        .iter()
        .flat_map(|e| cache.registered(e.id))
        .filter(|p| participation_matches(r, p))
        .cloned()
        .collect();
    let ev_ids: Vec<i64> = evs.iter().map(|e| e.id).collect();
    let mut done = std::collections::HashSet::new();
    for chunk in ev_ids.chunks(500) {
        done.extend(
            rule_deliveries::Entity::find()
                .select_only()
                .column(rule_deliveries::Column::ParticipationId)
                .filter(rule_deliveries::Column::RuleId.eq(r.id))
                .filter(rule_deliveries::Column::EventId.is_in(chunk.iter().copied()))
                .into_tuple::<i64>()
                .all(db)
                .await?,
        );
    }
    let before = parts.len();
    if skip_done {
        parts.retain(|p| !done.contains(&p.id));
    }
    let skipped = before - parts.len();
    let version = crate::comms::templates::store::current_version(&state.db, t).await?;
    let roots = context::roots_of(state, TemplateKind::of(t), &version);
    if parts.is_empty() {
        return Ok((Vec::new(), skipped));
    }
    let lists = roots.as_ref().is_none_or(|r| r.contains("participants"));
    cache.prepare(state, &evs, &parts, lists).await?;
    let mut by_event: HashMap<i64, Vec<participations::Model>> = HashMap::new();
    for p in parts {
        by_event.entry(p.event_id).or_default().push(p);
    }
    let mut out = Vec::new();
    for e in &evs {
        let Some(ps) = by_event.remove(&e.id) else {
            continue;
        };
        for b in cache.build(
            state,
            e,
            &ps,
            channel,
            Category::Events,
            None,
            roots.as_ref(),
        ) {
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
    Ok((out, skipped))
}

/// One participant's message of an event-triggered send: the decision
/// and the merge data of every namespace.
pub struct Built {
    pub participation: i64,
    pub person: i64,
    pub name: String,
    pub decision: Result<String, Exclusion>,
    pub merge_data: Value,
    pub locale: Locale,
}

/// What building event-triggered messages reads, loaded in bulk and kept
/// across the rules of one run (many rules look at the same events and
/// participants).
#[derive(Default)]
pub struct EventCache {
    programmes: Option<HashMap<i64, String>>,
    people: HashMap<i64, context::PersonData>,
    facts: HashMap<i64, eligibility::Facts>,
    /// Registered (not waiting) participations of each event.
    everyone: HashMap<i64, Vec<participations::Model>>,
    facilitator: HashMap<i64, Option<users::Model>>,
    event_maps: HashMap<(i64, Locale), serde_json::Map<String, Value>>,
    lists: HashMap<(i64, Locale), Vec<Value>>,
}

impl EventCache {
    /// Loads what [`EventCache::build`] needs for these events and persons;
    /// with `lists`, every registered participant too (for templates that
    /// loop over `participants`).
    pub async fn prepare(
        &mut self,
        state: &AppState,
        evs: &[events::Model],
        parts: &[participations::Model],
        lists: bool,
    ) -> AppResult<()> {
        let db = &state.db;
        if self.programmes.is_none() {
            self.programmes = Some(
                programmes::Entity::find()
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|p| (p.id, p.name))
                    .collect(),
            );
        }
        self.load_events(state, evs).await?;
        let everyone: Vec<&participations::Model> = if lists {
            evs.iter()
                .filter_map(|e| self.everyone.get(&e.id))
                .flatten()
                .collect()
        } else {
            Vec::new()
        };
        let mut need: Vec<i64> = everyone
            .into_iter()
            .chain(parts.iter())
            .map(|p| p.person_id)
            .filter(|id| !self.people.contains_key(id))
            .collect();
        need.sort_unstable();
        need.dedup();
        if !need.is_empty() {
            let data = context::people(db, &need).await?;
            self.facts.extend(eligibility::facts_of(db, &data).await?);
            self.people.extend(data);
        }
        Ok(())
    }

    /// The registered participations of an event loaded by
    /// [`EventCache::load_events`].
    pub fn registered(&self, event: i64) -> &[participations::Model] {
        self.everyone.get(&event).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Loads the registered participations and the facilitator of events
    /// not loaded yet.
    pub async fn load_events(&mut self, state: &AppState, evs: &[events::Model]) -> AppResult<()> {
        let db = &state.db;
        let fresh: Vec<i64> = evs
            .iter()
            .map(|e| e.id)
            .filter(|id| !self.everyone.contains_key(id))
            .collect();
        for chunk in fresh.chunks(500) {
            for id in chunk {
                self.everyone.insert(*id, Vec::new());
                self.facilitator.insert(*id, None);
            }
            for r in participations::Entity::find()
                .filter(participations::Column::EventId.is_in(chunk.iter().copied()))
                .filter(participations::Column::Waiting.eq(false))
                .order_by_asc(participations::Column::Id)
                .all(db)
                .await?
            {
                if let Some(v) = self.everyone.get_mut(&r.event_id) {
                    v.push(r);
                }
            }
            let links = event_facilitators::Entity::find()
                .filter(event_facilitators::Column::EventId.is_in(chunk.iter().copied()))
                .all(db)
                .await?;
            if !links.is_empty() {
                let ids: Vec<i64> = links.iter().map(|l| l.user_id).collect();
                let mut staff: Vec<users::Model> = users::Entity::find()
                    .filter(users::Column::Id.is_in(ids))
                    .all(db)
                    .await?;
                // The first by name, as the event page lists them.
                staff.sort_by(|a, b| a.display_name.cmp(&b.display_name));
                for u in staff {
                    for l in links.iter().filter(|l| l.user_id == u.id) {
                        let slot = self.facilitator.entry(l.event_id).or_insert(None);
                        if slot.is_none() {
                            *slot = Some(u.clone());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds the messages of `e` for `parts` (loaded by
    /// [`EventCache::prepare`]): `event.*`, `participant.*` (and `person.*`,
    /// the same person), the `participants` loop over everyone registered,
    /// the network, the sender and the signed unsubscribe link; only the
    /// names in `roots` are kept when given.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        &mut self,
        state: &AppState,
        e: &events::Model,
        parts: &[participations::Model],
        channel: SendChannel,
        category: Category,
        sender: Option<&users::Model>,
        roots: Option<&BTreeSet<String>>,
    ) -> Vec<Built> {
        let wants = |name: &str| roots.is_none_or(|r| r.contains(name));
        let mut out = Vec::with_capacity(parts.len());
        for p in parts {
            let Some(d) = self.people.get(&p.person_id) else {
                continue;
            };
            let l = d.locale.unwrap_or(state.default_locale);
            let decision = match self.facts.get(&p.person_id) {
                Some(f) => eligibility::decide(f, channel, category),
                None => Err(Exclusion::Deactivated),
            };
            let mut root = context::common(state, sender);
            if wants("event") {
                let programmes = self.programmes.get_or_insert_with(HashMap::new);
                let facilitator = self.facilitator.get(&e.id).cloned().flatten();
                let map = self.event_maps.entry((e.id, l)).or_insert_with(|| {
                    let programme = e
                        .programme_id
                        .and_then(|i| programmes.get(&i))
                        .map(String::as_str)
                        .unwrap_or("");
                    context::event_map(state, e, programme, facilitator.as_ref(), l)
                });
                root.insert("event".into(), Value::Object(map.clone()));
            }
            if wants("participants") {
                let (people, everyone) = (&self.people, &self.everyone);
                let list = self.lists.entry((e.id, l)).or_insert_with(|| {
                    everyone
                        .get(&e.id)
                        .into_iter()
                        .flatten()
                        .filter_map(|x| {
                            people
                                .get(&x.person_id)
                                .map(|od| Value::Object(context::participant_values(od, x, l)))
                        })
                        .collect()
                });
                root.insert("participants".into(), Value::Array(list.clone()));
            }
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
            context::prune(&mut root, roots);
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
        out
    }
}

/// The messages of one event for the given participations (the event page).
pub async fn build_for_event(
    state: &AppState,
    e: &events::Model,
    parts: &[participations::Model],
    channel: SendChannel,
    category: Category,
    sender: Option<&users::Model>,
) -> AppResult<Vec<Built>> {
    let mut cache = EventCache::default();
    cache
        .prepare(state, std::slice::from_ref(e), parts, true)
        .await?;
    Ok(cache.build(state, e, parts, channel, category, sender, None))
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
        match l.usable {
            Ok(ch) => out.extend(
                plan_rule(
                    state,
                    &mut cache,
                    &cands,
                    &l.rule,
                    &l.template,
                    ch,
                    day,
                    now,
                    false,
                )
                .await?
                .0,
            ),
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

/// Participations claimed and queued per transaction: large enough that
/// commits do not dominate (each one waits for the disk on PostgreSQL).
const CHUNK: usize = 2000;
/// Outbox rows per INSERT statement.
const INSERT_ROWS: usize = 500;

/// Runs every active rule for `day`: claims and messages commit together,
/// a chunk of participations at a time.
pub async fn run_day(
    state: &AppState,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<RunSummary> {
    let mut sum = RunSummary::default();
    let mail_domain = state.mail_from.email.domain().to_owned();
    let mut cache = EventCache::default();
    let loaded = load_all(&state.db, true).await?;
    let refs: Vec<&rules::Model> = loaded
        .iter()
        .filter(|l| l.usable.is_ok())
        .map(|l| &l.rule)
        .collect();
    let cands = Candidates::load(state, &mut cache, &refs, day).await?;
    for l in loaded {
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
        let (fresh, already) = plan_rule(
            state,
            &mut cache,
            &cands,
            &l.rule,
            &l.template,
            channel,
            day,
            now,
            true,
        )
        .await?;
        sum.already += already;
        if fresh.is_empty() {
            continue;
        }
        let version = templates::current_version(&state.db, &l.template).await?;
        let mut pricer = if channel.is_email() {
            None
        } else {
            amicale_delivery::sms::pricing::Pricer::new(state).await?
        };
        for chunk in fresh.chunks(CHUNK) {
            let done = commit_chunk(
                state,
                &l.rule,
                &version,
                channel,
                pricer.as_mut(),
                day,
                chunk,
                &mail_domain,
            )
            .await;
            match done {
                Ok((q, e)) => {
                    sum.queued += q;
                    sum.excluded += e;
                }
                // Nothing of this chunk was claimed: a run after a new
                // package can still send it.
                Err(AppError::SmsCredit { needed, remaining }) => {
                    tracing::warn!(
                        rule = l.rule.id,
                        reason = Skip::SmsCredit.as_str(),
                        needed,
                        remaining,
                        "automatic rule stopped"
                    );
                    sum.skipped_rules += 1;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    if sum.queued > 0 {
        state.outbox_wakeup.notify_waiters();
    }
    Ok(sum)
}

#[allow(clippy::too_many_arguments)]
async fn commit_chunk(
    state: &AppState,
    rule: &rules::Model,
    version: &template_versions::Model,
    channel: SendChannel,
    mut pricer: Option<&mut amicale_delivery::sms::pricing::Pricer>,
    day: NaiveDate,
    chunk: &[Planned],
    mail_domain: &str,
) -> AppResult<(usize, usize)> {
    // Segments are counted before the transaction: rendering is CPU work.
    let mut segments = HashMap::new();
    if let Some(p) = pricer.as_mut() {
        for pl in chunk
            .iter()
            .filter(|pl| pl.excluded.is_none() && !pl.already)
        {
            let n = p
                .segments(state, version.id, &pl.merge_data, pl.locale)
                .await?;
            segments.insert(pl.participation, n);
        }
    }
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
    if !channel.is_email() {
        let needed = mine
            .iter()
            .map(|p| segments.get(p).copied().unwrap_or(1) as i64)
            .sum();
        amicale_delivery::sms::credit::ensure(&txn, needed).await?;
    }
    let rows: Vec<outbox::ActiveModel> = chunk
        .iter()
        .filter(|p| mine.contains(&p.participation))
        .filter_map(|p| {
            Some(outbox::ActiveModel {
                channel: Set(channel.outbox().as_str().into()),
                segments: Set(segments.get(&p.participation).copied()),
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
        // Several statements: SQLite takes at most 32,766 parameters each.
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            outbox::Entity::insert_many(rows.by_ref().take(INSERT_ROWS))
                .exec_without_returning(&txn)
                .await?;
        }
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
