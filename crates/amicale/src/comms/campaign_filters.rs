//! A campaign's filters, in two forms: [`Filters`], what the user typed
//! (kept as typed, so a form with a mistake comes back as it was sent), and
//! [`Criteria`], the same read once into typed values. Only criteria build
//! a query, so a value that cannot be read never silently widens one: it
//! is an error on its field.

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement, SimpleExpr};
use sea_orm::{ColumnTrait, Condition};
use serde::{Deserialize, Serialize};

use crate::people::followup::kinds;
use amicale_delivery::templates::model::RecipientType;
use amicale_kernel::time::parse_date;
use amicale_store::entities::{events, participations, persons};

/// The campaign filters as typed, all combinable; empty means "any".
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
    /// Of the person's latest situation (the current one is what advisers
    /// filter on); several codes mean any of them.
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
    /// Reads the filters from posted fields: `values(name)` gives every
    /// value posted under `name` (the form layer's business, not ours).
    pub fn read(values: impl Fn(&str) -> Vec<String>) -> Self {
        let one = |k: &str| {
            values(k)
                .into_iter()
                .next()
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let many = |k: &str| {
            values(k)
                .into_iter()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
        };
        Filters {
            created_from: one("created_from"),
            created_to: one("created_to"),
            born_from: one("born_from"),
            born_to: one("born_to"),
            status: one("status"),
            referent: one("referent"),
            programme: one("programme"),
            city: one("city"),
            promo: one("promo"),
            site: one("site"),
            event_type: one("event_type"),
            event_programme: one("event_programme"),
            event_step: one("event_step"),
            event_place: one("event_place"),
            event_from: one("event_from"),
            event_to: one("event_to"),
            event_days_from: one("event_days_from"),
            event_days_to: one("event_days_to"),
            employment_status: many("employment_status"),
            socio_category: many("socio_category"),
            education_level: many("education_level"),
            disability: one("disability"),
            minimum_income: one("minimum_income"),
            priority_area: one("priority_area"),
            situation_from: one("situation_from"),
            situation_to: one("situation_to"),
            project_state: many("project_state"),
            sector: one("sector"),
            enrolment_step: one("enrolment_step"),
            resource: one("resource"),
            prescription_channel: many("prescription_channel"),
            enrolment_end_from: one("enrolment_end_from"),
            enrolment_end_to: one("enrolment_end_to"),
            saved_list: one("saved_list"),
        }
    }

    /// The fields whose value cannot be read (a date that is not one…).
    pub fn invalid(&self) -> Vec<&'static str> {
        Criteria::parse(self).err().unwrap_or_default()
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
}

/// From one day to another, both included; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Period {
    fn is_open(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }
}

/// The filters read into typed values: only these build a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Criteria {
    pub created: Period,
    pub born: Period,
    pub status: Option<String>,
    pub referent: Option<i64>,
    pub programme: Option<i64>,
    pub city: Option<String>,
    pub promo: Option<i32>,
    pub site: Option<String>,
    pub saved_list: Option<i64>,
    pub event: EventCriteria,
    pub situation: SituationCriteria,
    pub project: ProjectCriteria,
    pub enrolment: EnrolmentCriteria,
}

/// Took part in an event matching all of these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventCriteria {
    pub kind: Option<String>,
    pub programme: Option<i64>,
    pub step: Option<String>,
    /// Contained in the event's site or city.
    pub place: Option<String>,
    pub dates: Period,
    /// Days relative to the day the query runs (negative: before).
    pub days_from: Option<i64>,
    pub days_to: Option<i64>,
}

/// Of the person's latest situation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SituationCriteria {
    pub employment_status: Vec<&'static str>,
    pub socio_category: Vec<&'static str>,
    pub education_level: Vec<&'static str>,
    pub disability: Option<bool>,
    pub minimum_income: Option<bool>,
    pub priority_area: Option<bool>,
    pub dates: Period,
}

/// Has a project matching all of these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectCriteria {
    pub states: Vec<&'static str>,
    pub sector: Option<String>,
}

/// Has an enrolment matching all of these (in the chosen programme).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrolmentCriteria {
    pub step: Option<String>,
    pub resource: Option<String>,
    pub channels: Vec<&'static str>,
    pub end: Period,
}

/// Reads fields one by one and remembers which could not be read.
#[derive(Default)]
struct Reader {
    bad: Vec<&'static str>,
}

impl Reader {
    fn refuse<T>(&mut self, name: &'static str) -> Option<T> {
        self.bad.push(name);
        None
    }

    fn text(v: &str) -> Option<String> {
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    fn date(&mut self, name: &'static str, v: &str) -> Option<NaiveDate> {
        if v.trim().is_empty() {
            return None;
        }
        parse_date(v).or_else(|| self.refuse(name))
    }

    fn period(&mut self, names: [&'static str; 2], from: &str, to: &str) -> Period {
        Period {
            from: self.date(names[0], from),
            to: self.date(names[1], to),
        }
    }

    fn number<T: std::str::FromStr>(&mut self, name: &'static str, v: &str) -> Option<T> {
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        v.parse::<T>().ok().or_else(|| self.refuse(name))
    }

    fn flag(&mut self, name: &'static str, v: &str) -> Option<bool> {
        match v.trim() {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            _ => self.refuse(name),
        }
    }

    fn days(&mut self, name: &'static str, v: &str) -> Option<i64> {
        if v.trim().is_empty() {
            return None;
        }
        days(v).or_else(|| self.refuse(name))
    }

    /// The chosen codes, each one of the filter's [`CODED`] list.
    fn codes(&mut self, name: &'static str, chosen: &[String]) -> Vec<&'static str> {
        let list = CODED
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or(&[][..], |(_, _, codes)| *codes);
        let mut out = Vec::new();
        for c in chosen {
            match list.iter().find(|known| **known == c.as_str()) {
                Some(known) => out.push(*known),
                None => {
                    self.bad.push(name);
                    return Vec::new();
                }
            }
        }
        out
    }
}

/// A number of days relative to today, within ten years ("J-7", "+3", "0").
fn days(s: &str) -> Option<i64> {
    let s = s.trim().trim_start_matches(['J', 'j', 'D', 'd']);
    s.trim_start_matches('+')
        .parse::<i64>()
        .ok()
        .filter(|n| n.abs() <= 3650)
}

impl Criteria {
    /// Reads every filter; the error names each field that cannot be read.
    pub fn parse(f: &Filters) -> Result<Criteria, Vec<&'static str>> {
        let mut r = Reader::default();
        let c = Criteria {
            created: r.period(
                ["created_from", "created_to"],
                &f.created_from,
                &f.created_to,
            ),
            born: r.period(["born_from", "born_to"], &f.born_from, &f.born_to),
            status: Reader::text(&f.status),
            referent: r.number("referent", &f.referent),
            programme: r.number("programme", &f.programme),
            city: Reader::text(&f.city),
            promo: r.number("promo", &f.promo),
            site: Reader::text(&f.site),
            saved_list: r.number("saved_list", &f.saved_list),
            event: EventCriteria {
                kind: Reader::text(&f.event_type),
                programme: r.number("event_programme", &f.event_programme),
                step: Reader::text(&f.event_step),
                place: Reader::text(&f.event_place),
                dates: r.period(["event_from", "event_to"], &f.event_from, &f.event_to),
                days_from: r.days("event_days_from", &f.event_days_from),
                days_to: r.days("event_days_to", &f.event_days_to),
            },
            situation: SituationCriteria {
                employment_status: r.codes("employment_status", &f.employment_status),
                socio_category: r.codes("socio_category", &f.socio_category),
                education_level: r.codes("education_level", &f.education_level),
                disability: r.flag("disability", &f.disability),
                minimum_income: r.flag("minimum_income", &f.minimum_income),
                priority_area: r.flag("priority_area", &f.priority_area),
                dates: r.period(
                    ["situation_from", "situation_to"],
                    &f.situation_from,
                    &f.situation_to,
                ),
            },
            project: ProjectCriteria {
                states: r.codes("project_state", &f.project_state),
                sector: Reader::text(&f.sector),
            },
            enrolment: EnrolmentCriteria {
                step: Reader::text(&f.enrolment_step),
                resource: Reader::text(&f.resource),
                channels: r.codes("prescription_channel", &f.prescription_channel),
                end: r.period(
                    ["enrolment_end_from", "enrolment_end_to"],
                    &f.enrolment_end_from,
                    &f.enrolment_end_to,
                ),
            },
        };
        if r.bad.is_empty() { Ok(c) } else { Err(r.bad) }
    }

    /// The condition on `persons` for a campaign to this recipient type,
    /// with relative event days counted from `today`.
    pub fn condition(&self, recipient_type: RecipientType, today: NaiveDate) -> Condition {
        let mut c =
            Condition::all().add(persons::Column::RecipientType.eq(recipient_type.as_str()));
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        if let Some(d) = self.created.from {
            c = c.add(persons::Column::CreatedAt.gte(midnight(d)));
        }
        if let Some(d) = self.created.to {
            c = c.add(persons::Column::CreatedAt.lt(midnight(d + chrono::Duration::days(1))));
        }
        if let Some(d) = self.born.from {
            c = c.add(persons::Column::BirthDate.gte(d));
        }
        if let Some(d) = self.born.to {
            c = c.add(persons::Column::BirthDate.lte(d));
        }
        if let Some(s) = &self.status {
            c = c.add(persons::Column::Status.eq(s.clone()));
        }
        if let Some(r) = self.referent {
            c = c.add(persons::Column::ReferentUserId.eq(r));
        }
        match (self.programme, self.enrolment.condition()) {
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
        if let Some(list) = self.saved_list {
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
        if let Some(s) = self.situation.condition() {
            c = c.add(persons::Column::Id.in_subquery(latest_situations(s)));
        }
        if let Some(pr) = self.project.condition() {
            c = c.add(persons::Column::Id.in_subquery(person_ids("person_projects", pr)));
        }
        if let Some(y) = self.promo {
            c = c.add(persons::Column::PromoYear.eq(y));
        }
        if let Some(city) = &self.city {
            c = c.add(persons::Column::City.eq(city.clone()));
        }
        if let Some(site) = &self.site {
            c = c.add(persons::Column::Site.eq(site.clone()));
        }
        if let Some(ev) = self.event.condition(today) {
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

impl EventCriteria {
    /// The condition on `events`, or none when no event filter is set.
    fn condition(&self, today: NaiveDate) -> Option<Condition> {
        if *self == EventCriteria::default() {
            return None;
        }
        let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        let mut ev = Condition::all();
        if let Some(k) = &self.kind {
            ev = ev.add(events::Column::EventType.eq(k.clone()));
        }
        if let Some(p) = self.programme {
            ev = ev.add(events::Column::ProgrammeId.eq(p));
        }
        if let Some(s) = &self.step {
            ev = ev.add(events::Column::Step.eq(s.clone()));
        }
        if let Some(place) = &self.place {
            ev = ev.add(
                Condition::any()
                    .add(events::Column::Site.contains(place))
                    .add(events::Column::City.contains(place)),
            );
        }
        if let Some(d) = self.dates.from {
            ev = ev.add(events::Column::LocalDate.gte(day(d)));
        }
        if let Some(d) = self.dates.to {
            ev = ev.add(events::Column::LocalDate.lte(day(d)));
        }
        if let Some(n) = self.days_from {
            ev = ev.add(events::Column::LocalDate.gte(day(today + chrono::Duration::days(n))));
        }
        if let Some(n) = self.days_to {
            ev = ev.add(events::Column::LocalDate.lte(day(today + chrono::Duration::days(n))));
        }
        Some(ev)
    }
}

impl SituationCriteria {
    fn condition(&self) -> Option<Condition> {
        all_of(
            [
                any_of("s.employment_status", &self.employment_status),
                any_of("s.socio_category", &self.socio_category),
                any_of("s.education_level", &self.education_level),
                flag("s.disability", self.disability),
                flag("s.minimum_income", self.minimum_income),
                flag("s.priority_area", self.priority_area),
            ]
            .into_iter()
            .flatten()
            .chain(date_range("s.situation_date", self.dates)),
        )
    }
}

impl ProjectCriteria {
    fn condition(&self) -> Option<Condition> {
        all_of(
            [
                any_of("state", &self.states),
                contains("sector", self.sector.as_deref()),
            ]
            .into_iter()
            .flatten(),
        )
    }
}

impl EnrolmentCriteria {
    fn condition(&self) -> Option<Condition> {
        all_of(
            [
                contains("step", self.step.as_deref()),
                contains("resource", self.resource.as_deref()),
                any_of("prescription_channel", &self.channels),
            ]
            .into_iter()
            .flatten()
            .chain(date_range("end_date", self.end)),
        )
    }
}

/// A table or column name in SQL built by hand.
fn name(text: &str) -> Alias {
    Alias::new(text)
}

/// `SELECT person_id FROM table WHERE cond`.
fn person_ids(table: &str, cond: Condition) -> SelectStatement {
    Query::select()
        .column(name("person_id"))
        .from(name(table))
        .cond_where(cond)
        .to_owned()
}

/// The persons whose latest situation (by date, then by entry) matches.
fn latest_situations(cond: Condition) -> SelectStatement {
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

fn any_of(col: &str, codes: &[&'static str]) -> Option<SimpleExpr> {
    (!codes.is_empty()).then(|| column(col).is_in(codes.iter().copied()))
}

fn flag(col: &str, v: Option<bool>) -> Option<SimpleExpr> {
    v.map(|v| column(col).eq(v))
}

fn contains(col: &str, v: Option<&str>) -> Option<SimpleExpr> {
    v.map(|v| {
        Expr::expr(Func::lower(column(col)))
            .like(format!("%{}%", v.to_lowercase().replace(['%', '_'], "")))
    })
}

fn date_range(col: &str, p: Period) -> Vec<SimpleExpr> {
    if p.is_open() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(d) = p.from {
        out.push(column(col).gte(d));
    }
    if let Some(d) = p.to {
        out.push(column(col).lte(d));
    }
    out
}

/// All of the parts, or none when no part is set.
fn all_of(parts: impl IntoIterator<Item = SimpleExpr>) -> Option<Condition> {
    let mut c = Condition::all();
    let mut any = false;
    for p in parts {
        c = c.add(p);
        any = true;
    }
    any.then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn every_unreadable_kind_is_refused_not_ignored() {
        for (field, f) in [
            (
                "disability",
                Filters {
                    disability: "maybe".into(),
                    ..Default::default()
                },
            ),
            (
                "employment_status",
                Filters {
                    employment_status: vec!["astronaut".into()],
                    ..Default::default()
                },
            ),
            (
                "event_days_to",
                Filters {
                    event_days_to: "J+99999".into(),
                    ..Default::default()
                },
            ),
            (
                "promo",
                Filters {
                    promo: "3000000000".into(),
                    ..Default::default()
                },
            ),
            (
                "saved_list",
                Filters {
                    saved_list: "mine".into(),
                    ..Default::default()
                },
            ),
        ] {
            assert_eq!(Criteria::parse(&f).err(), Some(vec![field]), "{field}");
        }
    }

    #[test]
    fn readable_filters_become_typed_values() {
        let f = Filters {
            born_from: "01/02/1990".into(),
            promo: " 2019 ".into(),
            disability: "no".into(),
            event_days_from: "J-7".into(),
            project_state: vec![kinds::PROJECT_STATE[0].into()],
            ..Default::default()
        };
        let c = Criteria::parse(&f).unwrap();
        assert_eq!(c.born.from, NaiveDate::from_ymd_opt(1990, 2, 1));
        assert_eq!(c.promo, Some(2019));
        assert_eq!(c.situation.disability, Some(false));
        assert_eq!(c.event.days_from, Some(-7));
        assert_eq!(c.project.states, vec![kinds::PROJECT_STATE[0]]);
    }

    #[test]
    fn posted_fields_are_trimmed_and_empty_codes_dropped() {
        let f = Filters::read(|k| match k {
            "city" => vec!["  Lyon ".into()],
            "socio_category" => vec!["".into(), " x ".into()],
            _ => Vec::new(),
        });
        assert_eq!(f.city, "Lyon");
        assert_eq!(f.socio_category, vec!["x".to_owned()]);
    }
}
