//! Campaigns: a recipient type, a channel and a template, filters on
//! the person and on the events they took part in, a selection (some
//! persons or all matching, across pages), and a schedule (the nightly
//! batch or a chosen time). Launching computes the recipients then, so a
//! campaign scheduled for tonight reaches who matches tonight; the number
//! of recipients is never capped.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::app::AppState;
use crate::comms::eligibility::Category;
use crate::comms::templates::store as tstore;
use crate::compose;
use crate::error::{AppError, AppResult};
use amicale_delivery::outbox::Origin;
use amicale_delivery::templates::model::RecipientType;
use amicale_kernel::SendChannel;
use amicale_kernel::time::parse_date;
use amicale_store::entities::{campaigns, outbox, persons, send_exclusions, templates};

pub use super::campaign_filters::{CODED, Criteria, Filters};

/// Which of the matching persons the campaign goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every person matching the filters when the campaign is launched.
    All,
    Some(Vec<i64>),
}

impl Selection {
    pub fn parse(s: &str) -> Selection {
        match s {
            "all" => Selection::All,
            s => Selection::Some(serde_json::from_str(s).unwrap_or_default()),
        }
    }

    pub fn store(&self) -> String {
        match self {
            Selection::All => "all".into(),
            Selection::Some(ids) => serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Selection::Some(v) if v.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignState {
    Draft,
    Scheduled,
    Sending,
    Sent,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Scheduled => "scheduled",
            CampaignState::Sending => "sending",
            CampaignState::Sent => "sent",
        }
    }
}

pub async fn create(
    db: &DatabaseConnection,
    name: &str,
    recipient_type: RecipientType,
    channel: SendChannel,
    template: i64,
    by: i64,
    identity: Option<i64>,
) -> AppResult<i64> {
    let now = Utc::now();
    Ok(campaigns::Entity::insert(campaigns::ActiveModel {
        id: NotSet,
        name: Set(name.to_owned()),
        recipient_type: Set(recipient_type.as_str().into()),
        channel: Set(channel.as_str().into()),
        template_id: Set(template),
        filters: Set(serde_json::to_string(&Filters::default()).unwrap_or_default()),
        // Everyone matching, until the user narrows it: a campaign is
        // written for its filters, not for a hand-picked few.
        selection: Set(Selection::All.store()),
        state: Set(CampaignState::Draft.as_str().into()),
        scheduled_at: Set(None),
        send_id: Set(None),
        created_by: Set(Some(by)),
        created_at: Set(now),
        updated_at: Set(now),
        identity_id: Set(identity),
    })
    .exec(db)
    .await?
    .last_insert_id)
}

pub async fn get(db: &DatabaseConnection, id: i64) -> AppResult<campaigns::Model> {
    campaigns::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The filters as the user last saved them. A record that does not read
/// is an error: read as "no filter", it would reach everyone.
pub fn filters_of(c: &campaigns::Model) -> AppResult<Filters> {
    serde_json::from_str(&c.filters)
        .map_err(|e| AppError::Internal(format!("campaign {}: stored filters: {e}", c.id)))
}

/// The saved filters read into criteria. Filters are only saved once they
/// read, so an error here means a record from before that rule: the
/// campaign is refused rather than sent to a wider audience than chosen.
pub fn criteria_of(c: &campaigns::Model) -> AppResult<Criteria> {
    Criteria::parse(&filters_of(c)?).map_err(|bad| {
        AppError::Rejected(format!(
            "campaign {}: unreadable filters {}",
            c.id,
            bad.join(", ")
        ))
    })
}

pub fn recipient_type_of(c: &campaigns::Model) -> RecipientType {
    RecipientType::parse(&c.recipient_type).unwrap_or(RecipientType::Member)
}

/// Saves the filters and the selection, while the campaign is not sent.
pub async fn save(
    db: &DatabaseConnection,
    id: i64,
    filters: &Filters,
    selection: &Selection,
) -> AppResult<bool> {
    let res = campaigns::Entity::update_many()
        .col_expr(
            campaigns::Column::Filters,
            Expr::value(serde_json::to_string(filters).unwrap_or_default()),
        )
        .col_expr(campaigns::Column::Selection, Expr::value(selection.store()))
        .col_expr(campaigns::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(campaigns::Column::Id.eq(id))
        .filter(campaigns::Column::State.is_in(["draft", "scheduled"]))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Schedules (or reschedules) a draft or scheduled campaign.
pub async fn schedule(db: &DatabaseConnection, id: i64, at: DateTime<Utc>) -> AppResult<bool> {
    let res = campaigns::Entity::update_many()
        .col_expr(campaigns::Column::State, Expr::value("scheduled"))
        .col_expr(campaigns::Column::ScheduledAt, Expr::value(at))
        .col_expr(campaigns::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(campaigns::Column::Id.eq(id))
        .filter(campaigns::Column::State.is_in(["draft", "scheduled"]))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Back to draft: the schedule is cancelled.
pub async fn unschedule(db: &DatabaseConnection, id: i64) -> AppResult<bool> {
    let res = campaigns::Entity::update_many()
        .col_expr(campaigns::Column::State, Expr::value("draft"))
        .col_expr(
            campaigns::Column::ScheduledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(campaigns::Column::Id.eq(id))
        .filter(campaigns::Column::State.eq("scheduled"))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The ids of the persons the campaign would reach now (before eligibility).
pub async fn targets(
    db: &DatabaseConnection,
    c: &campaigns::Model,
    today: NaiveDate,
) -> AppResult<Vec<i64>> {
    let cond = criteria_of(c)?.condition(recipient_type_of(c), today);
    let all: Vec<i64> = persons::Entity::find()
        .select_only()
        .column(persons::Column::Id)
        .filter(cond)
        .order_by_asc(persons::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(match Selection::parse(&c.selection) {
        Selection::All => all,
        Selection::Some(ids) => {
            let chosen: std::collections::HashSet<i64> = ids.into_iter().collect();
            all.into_iter().filter(|i| chosen.contains(i)).collect()
        }
    })
}

/// Persons who already received this campaign.
pub async fn sent_to(
    db: &DatabaseConnection,
    id: i64,
) -> AppResult<std::collections::HashSet<i64>> {
    Ok(outbox::Entity::find()
        .select_only()
        .column(outbox::Column::PersonId)
        .filter(outbox::Column::Origin.eq(Origin::Campaign.as_str()))
        .filter(outbox::Column::OriginId.eq(id))
        .into_tuple::<Option<i64>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Launches one campaign: claims it (scheduled → sending, so two nodes
/// cannot both launch it), then queues its messages a thousand persons at
/// a time, each slice in its own transaction. A crash halfway leaves the
/// campaign "sending"; the next pass resumes it and reaches only the
/// persons without a message or an exclusion yet, so nobody gets it twice.
pub async fn launch(state: &AppState, id: i64) -> AppResult<Option<i64>> {
    let db = &state.db;
    let claimed = campaigns::Entity::update_many()
        .col_expr(
            campaigns::Column::State,
            Expr::value(CampaignState::Sending.as_str()),
        )
        .col_expr(campaigns::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(campaigns::Column::Id.eq(id))
        .filter(campaigns::Column::State.eq(CampaignState::Scheduled.as_str()))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    if !claimed {
        return Ok(None);
    }
    let c = get(db, id).await?;
    resume(state, &c).await.map(Some)
}

/// Queues what a "sending" campaign has not queued yet, then marks it sent.
pub async fn resume(state: &AppState, c: &campaigns::Model) -> AppResult<i64> {
    let db = &state.db;
    let channel = SendChannel::parse(&c.channel).unwrap_or(SendChannel::Email);
    let t = templates::Entity::find_by_id(c.template_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let version = tstore::current_version(db, &t).await?;
    let sender = match c.created_by {
        Some(u) => {
            amicale_store::entities::users::Entity::find_by_id(u)
                .one(db)
                .await?
        }
        None => None,
    };
    let mut letter = compose::Letter::new(
        c.name.clone(),
        Origin::Campaign,
        Some(c.id),
        channel,
        &t,
        &version,
    )
    .signed_by(sender.as_ref());
    letter.identity_id = c.identity_id;
    letter.created_by = c.created_by;
    let send = match c.send_id {
        Some(s) => s,
        None => {
            let s = compose::open(db, &letter).await?;
            campaigns::Entity::update_many()
                .col_expr(campaigns::Column::SendId, Expr::value(s))
                .filter(campaigns::Column::Id.eq(c.id))
                .exec(db)
                .await?;
            s
        }
    };
    letter.row = compose::SendRow::Existing(send);
    let mut done = sent_to(db, c.id).await?;
    done.extend(
        send_exclusions::Entity::find()
            .select_only()
            .column(send_exclusions::Column::PersonId)
            .filter(send_exclusions::Column::SendId.eq(send))
            .into_tuple::<i64>()
            .all(db)
            .await?,
    );
    let ids: Vec<i64> = targets(db, c, Utc::now().with_timezone(&state.tz).date_naive())
        .await?
        .into_iter()
        .filter(|i| !done.contains(i))
        .collect();
    let mut audience = Launch {
        campaign: c.id,
        persons: compose::Persons::new(ids, Category::Campaigns),
    };
    compose::send(state, &mut audience, &letter).await?;
    campaigns::Entity::update_many()
        .col_expr(
            campaigns::Column::State,
            Expr::value(CampaignState::Sent.as_str()),
        )
        .col_expr(campaigns::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(campaigns::Column::Id.eq(c.id))
        .exec(db)
        .await?;
    Ok(send)
}

/// The persons a launch reaches, a thousand per transaction.
struct Launch {
    campaign: i64,
    persons: compose::Persons,
}

impl compose::Audience for Launch {
    type Member = i64;

    fn category(&self) -> Category {
        Category::Campaigns
    }

    async fn members(&mut self, state: &AppState) -> AppResult<Vec<i64>> {
        self.persons.members(state).await
    }

    async fn prepare(
        &mut self,
        state: &AppState,
        slice: &[i64],
        wants: compose::Wants<'_>,
    ) -> AppResult<()> {
        self.persons.prepare(state, slice, wants).await
    }

    fn recipient(&self, id: &i64) -> Option<compose::Recipient<'_>> {
        self.persons.recipient(id)
    }

    /// A live launch keeps the campaign fresh: only one idle for ten
    /// minutes counts as interrupted.
    async fn claim(
        &mut self,
        txn: &sea_orm::DatabaseTransaction,
        slice: &[(&i64, compose::Composed)],
    ) -> AppResult<Vec<bool>> {
        campaigns::Entity::update_many()
            .col_expr(campaigns::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(campaigns::Column::Id.eq(self.campaign))
            .exec(txn)
            .await?;
        Ok(vec![true; slice.len()])
    }
}

/// The scheduled task: launches every campaign whose time has come.
pub async fn launch_due(state: &AppState, now: DateTime<Utc>) -> AppResult<String> {
    let due: Vec<i64> = campaigns::Entity::find()
        .select_only()
        .column(campaigns::Column::Id)
        .filter(campaigns::Column::State.eq(CampaignState::Scheduled.as_str()))
        .filter(campaigns::Column::ScheduledAt.lte(now))
        .into_tuple()
        .all(&state.db)
        .await?;
    // A campaign left "sending" by a crash resumes once it has been idle
    // for a while (a live launch touches it with every slice of a
    // thousand persons).
    let stale: Vec<campaigns::Model> = campaigns::Entity::find()
        .filter(campaigns::Column::State.eq(CampaignState::Sending.as_str()))
        .filter(campaigns::Column::UpdatedAt.lt(now - chrono::Duration::minutes(10)))
        .all(&state.db)
        .await?;
    // One campaign that cannot go on (SMS credit exhausted: it resumes where
    // it stopped once a package is added) does not hold the others back.
    let mut held = 0;
    for c in &stale {
        campaigns::Entity::update_many()
            .col_expr(campaigns::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(campaigns::Column::Id.eq(c.id))
            .exec(&state.db)
            .await?;
        if let Err(e) = resume(state, c).await {
            tracing::warn!(campaign = c.id, error = %e, "campaign held");
            held += 1;
        }
    }
    let mut launched = 0;
    for id in due {
        match launch(state, id).await {
            Ok(Some(_)) => launched += 1,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(campaign = id, error = %e, "campaign held");
                held += 1;
            }
        }
    }
    Ok(format!("{launched} campaigns launched, {held} held"))
}

/// The day a "nightly" campaign goes: the next batch.
pub fn nightly_at(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    crate::comms::direct::next_batch(state, now)
}

/// A local date and time typed in the form, in the network zone.
pub fn parse_when(state: &AppState, date: &str, time: &str) -> Option<DateTime<Utc>> {
    let d: NaiveDate = parse_date(date)?;
    let t = amicale_kernel::time::parse_time(time)?;
    amicale_kernel::time::local_to_utc(state.tz, d, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_round_trip() {
        assert_eq!(Selection::parse("all"), Selection::All);
        let s = Selection::Some(vec![3, 1]);
        assert_eq!(Selection::parse(&s.store()), s);
        assert!(Selection::parse("garbage").is_empty());
    }
}
