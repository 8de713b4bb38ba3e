//! The reports' queries: per campaign, automatic rule, event-page and
//! person-page send over a period — targeted, excluded by reason, sent,
//! waiting, deferred, failed, bounced, delivered %, unsubscribed — and
//! their totals and averages.
//!
//! Opens and clicks come from the tracking pixel and links: the messages
//! opened or clicked at least once, as a share of those sent.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use amicale_delivery::outbox::State as MsgState;
use amicale_kernel::time::local_to_utc;
use amicale_kernel::time::parse_date;
use amicale_store::entities::{
    outbox, rule_deliveries, rules, send_exclusions, sends, suppressions, tracking_events,
};

/// One line of the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Line {
    pub origin: String,
    pub name: String,
    pub date: String,
    pub targeted: i64,
    pub excluded: i64,
    pub excluded_by: Vec<(String, i64)>,
    pub sent: i64,
    pub waiting: i64,
    pub deferred: i64,
    pub failed: i64,
    pub bounced: i64,
    pub unsubscribed: i64,
    /// Messages opened at least once.
    pub opened: i64,
    /// Messages with at least one link clicked.
    pub clicked: i64,
}

impl Line {
    /// Delivered among the messages that went out or failed for good.
    pub fn delivered_pct(&self) -> Option<f64> {
        let done = self.sent + self.failed;
        (done > 0).then(|| self.sent as f64 * 100.0 / done as f64)
    }

    pub fn delivered_label(&self) -> String {
        self.delivered_pct()
            .map(|p| format!("{p:.1} %"))
            .unwrap_or_else(|| "—".into())
    }

    fn pct_of_sent(&self, n: i64) -> String {
        if self.sent > 0 {
            format!("{:.1} %", n as f64 * 100.0 / self.sent as f64)
        } else {
            "—".into()
        }
    }

    pub fn opened_label(&self) -> String {
        self.pct_of_sent(self.opened)
    }

    pub fn clicked_label(&self) -> String {
        self.pct_of_sent(self.clicked)
    }

    fn add(&mut self, state: &str, n: i64) {
        self.targeted += n;
        match MsgState::parse(state) {
            Some(MsgState::Sent | MsgState::Caught) => self.sent += n,
            Some(MsgState::Queued | MsgState::Sending) => self.waiting += n,
            Some(MsgState::Deferred) => self.deferred += n,
            Some(MsgState::Failed | MsgState::Suppressed) => self.failed += n,
            Some(MsgState::Cancelled) | None => {}
        }
    }

    fn exclude(&mut self, reason: String, n: i64) {
        self.targeted += n;
        self.excluded += n;
        self.excluded_by.push((reason, n));
    }
}

#[derive(Debug, FromQueryResult)]
struct KeyState {
    key: Option<i64>,
    state: String,
    n: i64,
}

#[derive(Debug, FromQueryResult)]
struct KeyReason {
    key: i64,
    reason: Option<String>,
    n: i64,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Period {
    pub from: String,
    pub to: String,
    pub format: String,
}

impl Period {
    /// The days and instants of the period: to today and from thirty days
    /// before when left blank; a date that does not read is refused.
    pub fn bounds(
        &self,
        state: &AppState,
    ) -> AppResult<(NaiveDate, NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
        let day = |s: &str, field| match s.trim() {
            "" => Ok(None),
            d => parse_date(d).map(Some).ok_or(AppError::BadInput(field)),
        };
        let today = Utc::now().with_timezone(&state.tz).date_naive();
        let to = day(&self.to, "to")?.unwrap_or(today);
        let from = day(&self.from, "from")?.unwrap_or(to - Duration::days(30));
        let start = local_to_utc(state.tz, from, chrono::NaiveTime::MIN)
            .unwrap_or_else(|| from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
        let end = local_to_utc(state.tz, to + Duration::days(1), chrono::NaiveTime::MIN)
            .unwrap_or_else(|| Utc::now() + Duration::days(1));
        Ok((from, to, start, end))
    }
}

/// Failed messages whose address is now suppressed as a hard bounce, and
/// recipients who unsubscribed, per key.
async fn bounces_and_unsubs(
    state: &AppState,
    filter: sea_orm::Condition,
    key_of: fn(&outbox::Model) -> Option<i64>,
) -> AppResult<(HashMap<i64, i64>, HashMap<i64, i64>)> {
    let rows = outbox::Entity::find()
        .filter(filter)
        .filter(outbox::Column::State.is_in([
            MsgState::Failed.as_str(),
            MsgState::Sent.as_str(),
            MsgState::Caught.as_str(),
        ]))
        .all(&state.db)
        .await?;
    let addresses: Vec<String> = rows.iter().map(|r| r.recipient.to_lowercase()).collect();
    let mut bounced_set = std::collections::HashSet::new();
    let mut unsub_set = std::collections::HashSet::new();
    for chunk in addresses.chunks(500) {
        bounced_set.extend(
            suppressions::Entity::find()
                .filter(suppressions::Column::Address.is_in(chunk.to_vec()))
                .filter(
                    suppressions::Column::Reason.eq(amicale_delivery::suppressions::HARD_BOUNCE),
                )
                .all(&state.db)
                .await?
                .into_iter()
                .map(|s| s.address),
        );
        unsub_set.extend(
            amicale_store::entities::unsubscriptions::Entity::find()
                .filter(
                    amicale_store::entities::unsubscriptions::Column::Address.is_in(chunk.to_vec()),
                )
                .all(&state.db)
                .await?
                .into_iter()
                .map(|u| (u.address, u.created_at)),
        );
    }
    let mut bounced = HashMap::new();
    let mut unsub = HashMap::new();
    for r in &rows {
        let Some(k) = key_of(r) else { continue };
        let a = r.recipient.to_lowercase();
        if r.state == MsgState::Failed && bounced_set.contains(&a) {
            *bounced.entry(k).or_insert(0) += 1;
        }
        if unsub_set
            .iter()
            .any(|(addr, at)| *addr == a && *at >= r.created_at)
        {
            *unsub.entry(k).or_insert(0) += 1;
        }
    }
    Ok((bounced, unsub))
}

#[derive(Debug, FromQueryResult)]
struct KeyKind {
    key: Option<i64>,
    kind: String,
    n: i64,
}

/// Messages opened and clicked per key (send or rule), among `filter`.
async fn opens_and_clicks(
    state: &AppState,
    key: tracking_events::Column,
    filter: sea_orm::Condition,
) -> AppResult<HashMap<i64, (i64, i64)>> {
    let rows = tracking_events::Entity::find()
        .select_only()
        .column_as(key, "key")
        .column(tracking_events::Column::Kind)
        .column_as(
            sea_orm::sea_query::Expr::cust("COUNT(DISTINCT outbox_id)"),
            "n",
        )
        .filter(filter)
        .group_by(key)
        .group_by(tracking_events::Column::Kind)
        .into_model::<KeyKind>()
        .all(&state.db)
        .await?;
    let mut out: HashMap<i64, (i64, i64)> = HashMap::new();
    for r in rows {
        let Some(k) = r.key else { continue };
        let e = out.entry(k).or_default();
        match r.kind.as_str() {
            "open" => e.0 += r.n,
            "click" => e.1 += r.n,
            _ => {}
        }
    }
    Ok(out)
}

pub async fn lines(state: &AppState, p: &Period) -> AppResult<Vec<Line>> {
    let (_, _, start, end) = p.bounds(state)?;
    let db = &state.db;
    let mut out = Vec::new();
    // Sends: campaigns, event pages, person pages, mailings, batches.
    let list = sends::Entity::find()
        .filter(sends::Column::CreatedAt.gte(start))
        .filter(sends::Column::CreatedAt.lt(end))
        .order_by_desc(sends::Column::CreatedAt)
        .limit(2000)
        .all(db)
        .await?;
    let ids: Vec<i64> = list.iter().map(|s| s.id).collect();
    let mut by_send: HashMap<i64, Line> = HashMap::new();
    for s in &list {
        by_send.insert(
            s.id,
            Line {
                origin: s.origin.as_str().to_owned(),
                name: s.label.clone(),
                date: crate::comms::context::local(state, s.created_at),
                ..Default::default()
            },
        );
    }
    for chunk in ids.chunks(500) {
        for r in outbox::Entity::find()
            .select_only()
            .column_as(outbox::Column::SendId, "key")
            .column(outbox::Column::State)
            .column_as(outbox::Column::Id.count(), "n")
            .filter(outbox::Column::SendId.is_in(chunk.iter().copied()))
            .group_by(outbox::Column::SendId)
            .group_by(outbox::Column::State)
            .into_model::<KeyState>()
            .all(db)
            .await?
        {
            if let Some(l) = r.key.and_then(|k| by_send.get_mut(&k)) {
                l.add(&r.state, r.n);
            }
        }
        for r in send_exclusions::Entity::find()
            .select_only()
            .column_as(send_exclusions::Column::SendId, "key")
            .column_as(send_exclusions::Column::Reason, "reason")
            .column_as(send_exclusions::Column::Id.count(), "n")
            .filter(send_exclusions::Column::SendId.is_in(chunk.iter().copied()))
            .group_by(send_exclusions::Column::SendId)
            .group_by(send_exclusions::Column::Reason)
            .into_model::<KeyReason>()
            .all(db)
            .await?
        {
            if let Some(l) = by_send.get_mut(&r.key) {
                l.exclude(r.reason.unwrap_or_default(), r.n);
            }
        }
    }
    let (bounced, unsub) = bounces_and_unsubs(
        state,
        sea_orm::Condition::all()
            .add(outbox::Column::SendId.is_in(ids.clone()))
            .add(outbox::Column::Origin.ne("test")),
        |r| r.send_id,
    )
    .await?;
    let tracked = opens_and_clicks(
        state,
        tracking_events::Column::SendId,
        sea_orm::Condition::all().add(tracking_events::Column::SendId.is_in(ids.clone())),
    )
    .await?;
    for id in &ids {
        if let Some(mut l) = by_send.remove(id) {
            (l.opened, l.clicked) = tracked.get(id).copied().unwrap_or_default();
            l.bounced = bounced.get(id).copied().unwrap_or(0);
            l.unsubscribed = unsub.get(id).copied().unwrap_or(0);
            if l.origin != "test" {
                out.push(l);
            }
        }
    }
    // Automatic rules: their messages over the period, and their exclusions.
    let names: HashMap<i64, String> = rules::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let mut by_rule: HashMap<i64, Line> = HashMap::new();
    let rule_filter = sea_orm::Condition::all()
        .add(outbox::Column::Origin.eq("rule"))
        .add(outbox::Column::CreatedAt.gte(start))
        .add(outbox::Column::CreatedAt.lt(end));
    for r in outbox::Entity::find()
        .select_only()
        .column_as(outbox::Column::OriginId, "key")
        .column(outbox::Column::State)
        .column_as(outbox::Column::Id.count(), "n")
        .filter(rule_filter.clone())
        .group_by(outbox::Column::OriginId)
        .group_by(outbox::Column::State)
        .into_model::<KeyState>()
        .all(db)
        .await?
    {
        let Some(k) = r.key else { continue };
        by_rule.entry(k).or_default().add(&r.state, r.n);
    }
    for r in rule_deliveries::Entity::find()
        .select_only()
        .column_as(rule_deliveries::Column::RuleId, "key")
        .column_as(rule_deliveries::Column::Excluded, "reason")
        .column_as(rule_deliveries::Column::Id.count(), "n")
        .filter(rule_deliveries::Column::Excluded.is_not_null())
        .filter(rule_deliveries::Column::CreatedAt.gte(start))
        .filter(rule_deliveries::Column::CreatedAt.lt(end))
        .group_by(rule_deliveries::Column::RuleId)
        .group_by(rule_deliveries::Column::Excluded)
        .into_model::<KeyReason>()
        .all(db)
        .await?
    {
        by_rule
            .entry(r.key)
            .or_default()
            .exclude(r.reason.unwrap_or_default(), r.n);
    }
    let in_period = sea_orm::sea_query::Query::select()
        .column(outbox::Column::Id)
        .from(outbox::Entity)
        .cond_where(rule_filter.clone())
        .to_owned();
    let tracked = opens_and_clicks(
        state,
        tracking_events::Column::RuleId,
        sea_orm::Condition::all()
            .add(tracking_events::Column::RuleId.is_not_null())
            .add(tracking_events::Column::OutboxId.in_subquery(in_period)),
    )
    .await?;
    let (bounced, unsub) = bounces_and_unsubs(state, rule_filter, |r| r.origin_id).await?;
    let mut rule_lines: Vec<(i64, Line)> = by_rule.into_iter().collect();
    rule_lines.sort_by_key(|(k, _)| *k);
    for (k, mut l) in rule_lines {
        l.origin = "rule".into();
        l.name = names.get(&k).cloned().unwrap_or_else(|| format!("#{k}"));
        (l.opened, l.clicked) = tracked.get(&k).copied().unwrap_or_default();
        l.bounced = bounced.get(&k).copied().unwrap_or(0);
        l.unsubscribed = unsub.get(&k).copied().unwrap_or(0);
        out.push(l);
    }
    Ok(out)
}

/// Sums of every column, and the average delivered % over the lines that
/// have one.
pub fn totals(lines: &[Line]) -> (Line, String) {
    let mut t = Line::default();
    let mut reasons: HashMap<String, i64> = HashMap::new();
    for l in lines {
        t.targeted += l.targeted;
        t.excluded += l.excluded;
        t.sent += l.sent;
        t.waiting += l.waiting;
        t.deferred += l.deferred;
        t.failed += l.failed;
        t.bounced += l.bounced;
        t.unsubscribed += l.unsubscribed;
        t.opened += l.opened;
        t.clicked += l.clicked;
        for (r, n) in &l.excluded_by {
            *reasons.entry(r.clone()).or_default() += n;
        }
    }
    t.excluded_by = reasons.into_iter().collect();
    t.excluded_by.sort();
    let pcts: Vec<f64> = lines.iter().filter_map(Line::delivered_pct).collect();
    let avg = if pcts.is_empty() {
        "—".into()
    } else {
        format!("{:.1} %", pcts.iter().sum::<f64>() / pcts.len() as f64)
    };
    (t, avg)
}
