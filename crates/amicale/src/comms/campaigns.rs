//! Campaigns: a recipient type, a channel and a template, filters on
//! the person and on the events they took part in, a selection (some
//! persons or all matching, across pages), and a schedule (the nightly
//! batch or a chosen time). Launching computes the recipients then, so a
//! campaign scheduled for tonight reaches who matches tonight; the number
//! of recipients is never capped.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::comms::eligibility::Category;
use crate::comms::templates::store as tstore;
use crate::compose;
use crate::error::{AppError, AppResult};
use crate::people::followup::kinds;
use amicale_delivery::outbox::Origin;
use amicale_delivery::templates::model::RecipientType;
use amicale_kernel::SendChannel;
use amicale_kernel::time::parse_date;
use amicale_store::entities::{
    campaigns, events, outbox, participations, persons, send_exclusions, templates,
};

/// The campaign filters that the record holds today, all combinable; empty
/// means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filters {
    pub created_from: String,
    pub created_to: String,
    pub born_from: String,
    pub born_to: String,
    pub status: String,
    pub referent: String,
    pub programme: String,
    pub city: String,
    pub promo: String,
    pub site: String,
    /// Took part in an event of this type / programme / step / place, or
    /// dated within the period.
    pub event_type: String,
    pub event_programme: String,
    pub event_step: String,
    pub event_place: String,
    pub event_from: String,
    pub event_to: String,
    /// Event dated from … to … days after the day the campaign is looked
    /// at or launched (negative: before), e.g. -7 and 0 for "last week".
    pub event_days_from: String,
    pub event_days_to: String,
    /// Of the person's latest situation (JUNGO2 filters on the current
    /// one); several codes mean any of them.
    pub employment_status: Vec<String>,
    pub socio_category: Vec<String>,
    pub education_level: Vec<String>,
    /// "yes", "no", or empty for either.
    pub disability: String,
    pub minimum_income: String,
    pub priority_area: String,
    pub situation_from: String,
    pub situation_to: String,
    /// Has a project in one of these states, of a sector containing this.
    pub project_state: Vec<String>,
    pub sector: String,
    /// Of one enrolment, in the chosen programme when there is one.
    pub enrolment_step: String,
    pub resource: String,
    pub prescription_channel: Vec<String>,
    pub enrolment_end_from: String,
    pub enrolment_end_to: String,
    /// In this static saved list, e.g. a CRM selection.
    pub saved_list: String,
}

/// The follow-up filters chosen among fixed codes: (filter, prefix of the
/// codes' labels, codes).
pub const CODED: [(&str, &str, &[&str]); 5] = [
    (
        "employment_status",
        "fu-employment_status",
        kinds::EMPLOYMENT_STATUS,
    ),
    ("socio_category", "fu-socio_category", kinds::SOCIO_CATEGORY),
    (
        "education_level",
        "fu-education_level",
        kinds::EDUCATION_LEVEL,
    ),
    ("project_state", "fu-state", kinds::PROJECT_STATE),
    (
        "prescription_channel",
        "fu-prescription_channel",
        kinds::PRESCRIPTION_CHANNEL,
    ),
];

impl Filters {
    pub fn from_pairs(f: &crate::web::form::FormPairs) -> Self {
        let g = |k: &str| f.get(k).trim().to_owned();
        let many = |k: &str| {
            f.all(k)
                .into_iter()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
        };
        Filters {
            created_from: g("created_from"),
            created_to: g("created_to"),
            born_from: g("born_from"),
            born_to: g("born_to"),
            status: g("status"),
            referent: g("referent"),
            programme: g("programme"),
            city: g("city"),
            promo: g("promo"),
            site: g("site"),
            event_type: g("event_type"),
            event_programme: g("event_programme"),
            event_step: g("event_step"),
            event_place: g("event_place"),
            event_from: g("event_from"),
            event_to: g("event_to"),
            event_days_from: g("event_days_from"),
            event_days_to: g("event_days_to"),
            employment_status: many("employment_status"),
            socio_category: many("socio_category"),
            education_level: many("education_level"),
            disability: g("disability"),
            minimum_income: g("minimum_income"),
            priority_area: g("priority_area"),
            situation_from: g("situation_from"),
            situation_to: g("situation_to"),
            project_state: many("project_state"),
            sector: g("sector"),
            enrolment_step: g("enrolment_step"),
            resource: g("resource"),
            prescription_channel: many("prescription_channel"),
            enrolment_end_from: g("enrolment_end_from"),
            enrolment_end_to: g("enrolment_end_to"),
            saved_list: g("saved_list"),
        }
    }

    /// The fields whose value cannot be read (a date that is not one…).
    pub fn invalid(&self) -> Vec<&'static str> {
        let mut bad = Vec::new();
        for (name, v) in [
            ("created_from", &self.created_from),
            ("created_to", &self.created_to),
            ("born_from", &self.born_from),
            ("born_to", &self.born_to),
            ("event_from", &self.event_from),
            ("event_to", &self.event_to),
            ("situation_from", &self.situation_from),
            ("situation_to", &self.situation_to),
            ("enrolment_end_from", &self.enrolment_end_from),
            ("enrolment_end_to", &self.enrolment_end_to),
        ] {
            if !v.is_empty() && parse_date(v).is_none() {
                bad.push(name);
            }
        }
        for (name, _, codes) in CODED {
            if self
                .codes(name)
                .iter()
                .any(|c| !codes.contains(&c.as_str()))
            {
                bad.push(name);
            }
        }
        for (name, v) in [
            ("disability", &self.disability),
            ("minimum_income", &self.minimum_income),
            ("priority_area", &self.priority_area),
        ] {
            if !matches!(v.as_str(), "" | "yes" | "no") {
                bad.push(name);
            }
        }
        for (name, v) in [
            ("referent", &self.referent),
            ("programme", &self.programme),
            ("promo", &self.promo),
            ("event_programme", &self.event_programme),
            ("saved_list", &self.saved_list),
        ] {
            if !v.is_empty() && v.parse::<i64>().is_err() {
                bad.push(name);
            }
        }
        for (name, v) in [
            ("event_days_from", &self.event_days_from),
            ("event_days_to", &self.event_days_to),
        ] {
            if !v.is_empty() && days(v).is_none() {
                bad.push(name);
            }
        }
        bad
    }

    /// The codes chosen for one of the [`CODED`] filters.
    pub fn codes(&self, name: &str) -> &[String] {
        match name {
            "employment_status" => &self.employment_status,
            "socio_category" => &self.socio_category,
            "education_level" => &self.education_level,
            "project_state" => &self.project_state,
            "prescription_channel" => &self.prescription_channel,
            _ => &[],
        }
    }

    fn has_event_filter(&self) -> bool {
        [
            &self.event_type,
            &self.event_programme,
            &self.event_step,
            &self.event_place,
            &self.event_from,
            &self.event_to,
            &self.event_days_from,
            &self.event_days_to,
        ]
        .iter()
        .any(|v| !v.is_empty())
    }

    /// The condition on `persons` (invalid values are ignored: the page
    /// reports them and does not launch).
    pub fn condition(&self, recipient_type: RecipientType, today: NaiveDate) -> Condition {
        let mut c =
            Condition::all().add(persons::Column::RecipientType.eq(recipient_type.as_str()));
        let day = |s: &str| parse_date(s);
        if let Some(d) = day(&self.created_from) {
            c = c.add(persons::Column::CreatedAt.gte(d.and_hms_opt(0, 0, 0).unwrap().and_utc()));
        }
        if let Some(d) = day(&self.created_to) {
            c = c.add(
                persons::Column::CreatedAt.lt((d + chrono::Duration::days(1))
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()),
            );
        }
        if let Some(d) = day(&self.born_from) {
            c = c.add(persons::Column::BirthDate.gte(d));
        }
        if let Some(d) = day(&self.born_to) {
            c = c.add(persons::Column::BirthDate.lte(d));
        }
        if !self.status.is_empty() {
            c = c.add(persons::Column::Status.eq(self.status.clone()));
        }
        if let Ok(r) = self.referent.parse::<i64>() {
            c = c.add(persons::Column::ReferentUserId.eq(r));
        }
        let programme = self.programme.parse::<i64>().ok();
        match (programme, self.enrolment()) {
            (programme, Some(mut enrolment)) => {
                if let Some(p) = programme {
                    enrolment = enrolment.add(Expr::col(name("programme_id")).eq(p));
                }
                c = c.add(
                    persons::Column::Id.in_subquery(person_ids("person_enrolments", enrolment)),
                );
            }
            (Some(p), None) => {
                c = c.add(
                    Condition::any()
                        .add(persons::Column::ProgrammeId.eq(p))
                        .add(persons::Column::Id.in_subquery(person_ids(
                            "person_enrolments",
                            Condition::all().add(Expr::col(name("programme_id")).eq(p)),
                        ))),
                );
            }
            (None, None) => {}
        }
        if let Ok(list) = self.saved_list.parse::<i64>() {
            c = c.add(
                persons::Column::Id.in_subquery(
                    Query::select()
                        .column(name("person_id"))
                        .from(name("saved_list_members"))
                        .and_where(Expr::col(name("list_id")).eq(list))
                        .to_owned(),
                ),
            );
        }
        if let Some(s) = self.situation() {
            c = c.add(persons::Column::Id.in_subquery(latest_situations(s)));
        }
        if let Some(pr) = self.project() {
            c = c.add(persons::Column::Id.in_subquery(person_ids("person_projects", pr)));
        }
        if let Ok(y) = self.promo.parse::<i32>() {
            c = c.add(persons::Column::PromoYear.eq(y));
        }
        if !self.city.is_empty() {
            c = c.add(persons::Column::City.eq(self.city.clone()));
        }
        if !self.site.is_empty() {
            c = c.add(persons::Column::Site.eq(self.site.clone()));
        }
        if self.has_event_filter() {
            let mut ev = Condition::all();
            if !self.event_type.is_empty() {
                ev = ev.add(events::Column::EventType.eq(self.event_type.clone()));
            }
            if let Ok(p) = self.event_programme.parse::<i64>() {
                ev = ev.add(events::Column::ProgrammeId.eq(p));
            }
            if !self.event_step.is_empty() {
                ev = ev.add(events::Column::Step.eq(self.event_step.clone()));
            }
            if !self.event_place.is_empty() {
                ev = ev.add(
                    Condition::any()
                        .add(events::Column::Site.contains(&self.event_place))
                        .add(events::Column::City.contains(&self.event_place)),
                );
            }
            if let Some(d) = day(&self.event_from) {
                ev = ev.add(events::Column::LocalDate.gte(d.format("%Y-%m-%d").to_string()));
            }
            if let Some(d) = day(&self.event_to) {
                ev = ev.add(events::Column::LocalDate.lte(d.format("%Y-%m-%d").to_string()));
            }
            if let Some(n) = days(&self.event_days_from) {
                let d = today + chrono::Duration::days(n);
                ev = ev.add(events::Column::LocalDate.gte(d.format("%Y-%m-%d").to_string()));
            }
            if let Some(n) = days(&self.event_days_to) {
                let d = today + chrono::Duration::days(n);
                ev = ev.add(events::Column::LocalDate.lte(d.format("%Y-%m-%d").to_string()));
            }
            let sub = Query::select()
                .column((participations::Entity, participations::Column::PersonId))
                .from(participations::Entity)
                .inner_join(
                    events::Entity,
                    Expr::col((events::Entity, events::Column::Id))
                        .equals((participations::Entity, participations::Column::EventId)),
                )
                .cond_where(ev)
                .to_owned();
            c = c.add(persons::Column::Id.in_subquery(sub));
        }
        c
    }
}

/// A table or column name in SQL built by hand.
fn name(text: &str) -> Alias {
    Alias::new(text)
}

/// `SELECT person_id FROM table WHERE cond`.
fn person_ids(table: &str, cond: Condition) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(name("person_id"))
        .from(name(table))
        .cond_where(cond)
        .to_owned()
}

/// The persons whose latest situation (by date, then by entry) matches.
fn latest_situations(cond: Condition) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column((name("s"), name("person_id")))
        .from_as(name("person_situations"), name("s"))
        .cond_where(cond)
        .and_where(Expr::cust(
            "NOT EXISTS (SELECT 1 FROM person_situations n WHERE n.person_id = s.person_id \
             AND (n.situation_date > s.situation_date \
             OR (n.situation_date = s.situation_date AND n.id > s.id)))",
        ))
        .to_owned()
}

/// A column, qualified by its table when written `table.column`.
fn column(qualified: &str) -> Expr {
    match qualified.split_once('.') {
        Some((t, col)) => Expr::col((name(t), name(col))),
        None => Expr::col(name(qualified)),
    }
}

fn any_of(col: &str, codes: &[String]) -> Option<sea_orm::sea_query::SimpleExpr> {
    (!codes.is_empty()).then(|| column(col).is_in(codes.iter().cloned()))
}

fn flag(col: &str, v: &str) -> Option<sea_orm::sea_query::SimpleExpr> {
    match v {
        "yes" => Some(column(col).eq(true)),
        "no" => Some(column(col).eq(false)),
        _ => None,
    }
}

fn contains(col: &str, v: &str) -> Option<sea_orm::sea_query::SimpleExpr> {
    (!v.is_empty()).then(|| {
        Expr::expr(Func::lower(column(col)))
            .like(format!("%{}%", v.to_lowercase().replace(['%', '_'], "")))
    })
}

fn date_range(col: &str, from: &str, to: &str) -> Vec<sea_orm::sea_query::SimpleExpr> {
    let mut out = Vec::new();
    if let Some(d) = parse_date(from) {
        out.push(column(col).gte(d));
    }
    if let Some(d) = parse_date(to) {
        out.push(column(col).lte(d));
    }
    out
}

/// All of the parts, or none when no part is set.
fn all_of(parts: impl IntoIterator<Item = sea_orm::sea_query::SimpleExpr>) -> Option<Condition> {
    let mut c = Condition::all();
    let mut any = false;
    for p in parts {
        c = c.add(p);
        any = true;
    }
    any.then_some(c)
}

impl Filters {
    fn situation(&self) -> Option<Condition> {
        all_of(
            [
                any_of("s.employment_status", &self.employment_status),
                any_of("s.socio_category", &self.socio_category),
                any_of("s.education_level", &self.education_level),
                flag("s.disability", &self.disability),
                flag("s.minimum_income", &self.minimum_income),
                flag("s.priority_area", &self.priority_area),
            ]
            .into_iter()
            .flatten()
            .chain(date_range(
                "s.situation_date",
                &self.situation_from,
                &self.situation_to,
            )),
        )
    }

    fn project(&self) -> Option<Condition> {
        all_of(
            [
                any_of("state", &self.project_state),
                contains("sector", &self.sector),
            ]
            .into_iter()
            .flatten(),
        )
    }

    fn enrolment(&self) -> Option<Condition> {
        all_of(
            [
                contains("step", &self.enrolment_step),
                contains("resource", &self.resource),
                any_of("prescription_channel", &self.prescription_channel),
            ]
            .into_iter()
            .flatten()
            .chain(date_range(
                "end_date",
                &self.enrolment_end_from,
                &self.enrolment_end_to,
            )),
        )
    }
}

/// A number of days relative to today, within ten years.
fn days(s: &str) -> Option<i64> {
    let s = s.trim().trim_start_matches(['J', 'j', 'D', 'd']);
    s.trim_start_matches('+')
        .parse::<i64>()
        .ok()
        .filter(|n| n.abs() <= 3650)
}

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
        selection: Set(Selection::Some(Vec::new()).store()),
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

pub fn filters_of(c: &campaigns::Model) -> Filters {
    serde_json::from_str(&c.filters).unwrap_or_default()
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
    let cond = filters_of(c).condition(recipient_type_of(c), today);
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

    #[test]
    fn unreadable_filters_are_named() {
        let f = Filters {
            born_from: "31/02/1990".into(),
            promo: "twenty".into(),
            city: "Lyon".into(),
            ..Default::default()
        };
        assert_eq!(f.invalid(), vec!["born_from", "promo"]);
        assert!(Filters::default().invalid().is_empty());
    }
}
