//! The CRM list: every person with a status dot, cumulative filters,
//! a remembered choice of columns, sorting, paging, selection of some, a
//! page or all matching, and bulk actions.

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::bulk::{self, Action, Outcome};
use crate::people::directory::{organisation_names, serde_urlencoded_criteria};
use crate::people::export::{self, Format};
use crate::people::model::Status;
use crate::people::search::{self, Criteria, Invalid, Scope, Sort};
use crate::web::extract::{EditPeople, Require, ViewPeople};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render};
use amicale_store::Backend;
use amicale_store::entities::{groups, jobs, person_roles, programmes, user_prefs};

pub const PER_PAGE: u64 = 50;
const PREF_COLUMNS: &str = "crm_columns";

/// Optional columns of the list; the name is always shown.
pub const COLUMNS: &[&str] = &[
    "status",
    "email",
    "phone",
    "roles",
    "promo",
    "programme",
    "company",
    "job_title",
    "city",
    "country",
    "site",
    "external_ref",
    "created",
];
const DEFAULT_COLUMNS: &[&str] = &["status", "email", "roles", "promo", "city", "company"];

#[derive(Deserialize, Default)]
pub struct CrmQuery {
    #[serde(flatten)]
    pub criteria: Criteria,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub desc: String,
    #[serde(default)]
    pub done: String,
}

pub struct Row {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "people/crm.html")]
struct CrmTpl<'a> {
    p: &'a Page,
    c: Criteria,
    total: u64,
    rows: Vec<Row>,
    columns: Vec<&'static str>,
    page: u64,
    pages: u64,
    sort: &'static str,
    desc: bool,
    query: String,
    invalid: Vec<Invalid>,
    programmes: Vec<Opt>,
    groups: Vec<Opt>,
    /// The user's static lists, which a selection can be added to.
    lists: Vec<Opt>,
    /// May send: offers "send a mailing".
    sends: bool,
    done: String,
}

impl CrmTpl<'_> {
    fn link(&self, page: &u64, sort: &str, desc: &bool) -> String {
        format!(
            "/admin/people?{}{}page={page}&sort={sort}&desc={}",
            self.query,
            if self.query.is_empty() { "" } else { "&" },
            if *desc { 1 } else { 0 }
        )
    }

    fn sort_link(&self, col: &str) -> String {
        let desc = self.sort == col && !self.desc;
        self.link(&1, col, &desc)
    }

    fn shown(&self, col: &str) -> bool {
        self.columns.contains(&col)
    }

    fn sortable(&self, col: &str) -> bool {
        Sort::ALL.iter().any(|s| s.as_str() == col)
    }

    fn is_invalid(&self, field: &str) -> bool {
        self.invalid.iter().any(|i| i.field == field)
    }
}

async fn chosen_columns(state: &AppState, user_id: i64) -> AppResult<Vec<&'static str>> {
    let pref = user_prefs::Entity::find_by_id((user_id, PREF_COLUMNS.to_owned()))
        .one(&state.db)
        .await?;
    Ok(match pref {
        Some(p) => COLUMNS
            .iter()
            .copied()
            .filter(|c| p.value.split(',').any(|v| v == *c))
            .collect(),
        None => DEFAULT_COLUMNS.to_vec(),
    })
}

/// Programmes, organisations and groups as choices of a select, by name.
pub async fn choices<E>(state: &AppState, name: E::Column) -> AppResult<Vec<Opt>>
where
    E: EntityTrait,
    E::Model: Named,
{
    Ok(E::find()
        .order_by_asc(name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| Opt {
            value: m.id().to_string(),
            label: m.name().to_owned(),
        })
        .collect())
}

/// A row that a select offers by id and name.
pub trait Named {
    fn id(&self) -> i64;
    fn name(&self) -> &str;
}

macro_rules! named {
    ($($m:path),*) => {$(
        impl Named for $m {
            fn id(&self) -> i64 {
                self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
        }
    )*};
}

named!(
    programmes::Model,
    groups::Model,
    amicale_store::entities::organisations::Model
);

pub async fn options(state: &AppState) -> AppResult<(Vec<Opt>, Vec<Opt>)> {
    Ok((
        choices::<programmes::Entity>(state, programmes::Column::Name).await?,
        choices::<groups::Entity>(state, groups::Column::Name).await?,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    who: Require<ViewPeople>,
    p: Page,
    Query(q): Query<CrmQuery>,
) -> AppResult<Response> {
    let columns = chosen_columns(&state, who.user().id).await?;
    let sort = Sort::parse(&q.sort);
    let desc = q.desc == "1";
    let page = q.page.parse::<u64>().unwrap_or(1).max(1);
    let backend = Backend::of(&state.db);
    let (cond, invalid) = q.criteria.condition(backend, Scope::Crm);
    let cond = cond.add(crate::people::scope::condition(&who.0, backend));
    let (total, persons) = if invalid.is_empty() {
        search::page(&state.db, cond, sort, desc, page, PER_PAGE).await?
    } else {
        (0, Vec::new())
    };
    let ids: Vec<i64> = persons.iter().map(|x| x.id).collect();
    let orgs = organisation_names(&state, persons.iter().filter_map(|x| x.organisation_id)).await?;
    let (programmes, groups) = options(&state).await?;
    let roles = person_roles::Entity::find()
        .filter(person_roles::Column::PersonId.is_in(ids.clone()))
        .all(&state.db)
        .await?;
    let phones = amicale_store::entities::person_phones::Entity::find()
        .filter(amicale_store::entities::person_phones::Column::PersonId.is_in(ids))
        .filter(amicale_store::entities::person_phones::Column::IsPrincipal.eq(true))
        .all(&state.db)
        .await?;
    let rows = persons
        .into_iter()
        .map(|x| {
            let cells = columns
                .iter()
                .map(|c| match *c {
                    "status" => p.t(&format!("status-{}", x.status)),
                    "email" => x.email.clone().unwrap_or_default(),
                    "phone" => phones
                        .iter()
                        .find(|ph| ph.person_id == x.id)
                        .map(|ph| ph.number.clone())
                        .unwrap_or_default(),
                    "roles" => roles
                        .iter()
                        .filter(|r| r.person_id == x.id)
                        .map(|r| p.t(&format!("role-{}", r.role)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    "promo" => x.promo_year.map(|y| y.to_string()).unwrap_or_default(),
                    "programme" => x
                        .programme_id
                        .and_then(|id| programmes.iter().find(|o| o.value == id.to_string()))
                        .map(|o| o.label.clone())
                        .unwrap_or_default(),
                    "company" => x
                        .organisation_id
                        .and_then(|id| orgs.get(&id).cloned())
                        .unwrap_or_default(),
                    "job_title" => x.job_title.clone().unwrap_or_default(),
                    "city" => x.city.clone(),
                    "country" => x.country.clone(),
                    "site" => x.site.clone().unwrap_or_default(),
                    "external_ref" => x.external_ref.clone().unwrap_or_default(),
                    "created" => x
                        .created_at
                        .with_timezone(&state.tz)
                        .format("%d/%m/%Y")
                        .to_string(),
                    _ => String::new(),
                })
                .collect();
            Row {
                id: x.id,
                name: format!("{} {}", x.last_name, x.first_name),
                active: x.status == Status::Active.as_str(),
                cells,
            }
        })
        .collect();
    render(&CrmTpl {
        p: &p,
        query: serde_urlencoded_criteria(&q.criteria),
        c: q.criteria,
        total,
        rows,
        columns,
        page,
        pages: total.div_ceil(PER_PAGE),
        sort: sort.as_str(),
        desc,
        invalid,
        programmes,
        groups,
        lists: crate::people::lists::static_lists(&state.db, who.user().id).await?,
        sends: <crate::web::extract::ManageSends as crate::web::extract::Permission>::allows(
            &who.0,
        ),
        done: q.done,
    })
}

/// Saves the visible columns for this user.
pub async fn save_columns(
    State(state): State<AppState>,
    who: Require<ViewPeople>,
    form: FormPairs,
) -> AppResult<Response> {
    let chosen: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| form.all("col").contains(c))
        .collect();
    user_prefs::Entity::insert(user_prefs::ActiveModel {
        user_id: Set(who.user().id),
        key: Set(PREF_COLUMNS.to_owned()),
        value: Set(chosen.join(",")),
    })
    .on_conflict(
        OnConflict::columns([user_prefs::Column::UserId, user_prefs::Column::Key])
            .update_column(user_prefs::Column::Value)
            .to_owned(),
    )
    .exec(&state.db)
    .await?;
    let back = crate::web::page::safe_next(Some(form.get("back")));
    Ok(Redirect::to(&back).into_response())
}

/// The criteria carried by the bulk form's hidden fields (`f_` prefix).
fn criteria_of(form: &FormPairs) -> Criteria {
    let mut map = serde_json::Map::new();
    for (k, v) in &form.0 {
        if let Some(name) = k.strip_prefix("f_") {
            map.insert(name.to_owned(), serde_json::Value::String(v.clone()));
        }
    }
    serde_json::from_value(serde_json::Value::Object(map)).unwrap_or_default()
}

pub async fn bulk(
    State(state): State<AppState>,
    who: Require<EditPeople>,
    p: Page,
    form: FormPairs,
) -> AppResult<Response> {
    let criteria = criteria_of(&form);
    let back = format!("/admin/people?{}", serde_urlencoded_criteria(&criteria));
    let backend = Backend::of(&state.db);
    let reach = crate::people::scope::condition(&who.0, backend);
    // Only persons within the user's scope are acted on, whatever was posted.
    let ids: Vec<i64> = if form.get("scope") == "all" {
        let (cond, invalid) = criteria.condition(backend, Scope::Crm);
        if !invalid.is_empty() {
            return Ok(Redirect::to(&back).into_response());
        }
        search::ids(&state.db, cond.add(reach.clone())).await?
    } else {
        let posted: Vec<i64> = form
            .all("id")
            .iter()
            .filter_map(|v| v.parse().ok())
            .collect();
        let mut kept = Vec::with_capacity(posted.len());
        for chunk in posted.chunks(500) {
            let cond = reach
                .clone()
                .add(amicale_store::entities::persons::Column::Id.is_in(chunk.to_vec()));
            kept.extend(search::ids(&state.db, cond).await?);
        }
        kept
    };
    let notice = |key: &str| {
        let sep = if back.ends_with('?') { "" } else { "&" };
        Redirect::to(&format!("{back}{sep}done={key}")).into_response()
    };
    if ids.is_empty() {
        return Ok(notice("none"));
    }
    let action = match form.get("action") {
        "export_csv" | "export_xlsx" => {
            let format = if form.get("action") == "export_csv" {
                Format::Csv
            } else {
                Format::Xlsx
            };
            bulk::audit(
                &state.db,
                Some(who.user().id),
                "export",
                format.extension(),
                ids.len(),
            )
            .await?;
            return export_response(&state, &p, format, Criteria::default(), reach, Some(ids))
                .await;
        }
        "add_role" => {
            let role = form.get("role");
            if amicale_people::CommunityRole::parse(role).is_err() {
                return Ok(notice("bad-role"));
            }
            Action::AddRole {
                role: role.to_owned(),
                programme_id: form.get("role_programme").parse().ok(),
            }
        }
        "invite" => {
            let txn = state.db.begin().await?;
            let (sent, skipped) =
                crate::people::accounts::invite(&state, &txn, &ids, Some(who.user().id), p.locale)
                    .await?;
            bulk::audit(
                &txn,
                Some(who.user().id),
                "invite",
                &format!("skipped {skipped}"),
                sent,
            )
            .await?;
            txn.commit().await?;
            state.outbox_wakeup.notify_one();
            return Ok(notice(if sent > 0 { "invited" } else { "none-invited" }));
        }
        "students_to_alumni" => Action::StudentsToAlumni,
        "add_to_group" => {
            let name = form.get("group_name").trim();
            let group_id = if !name.is_empty() {
                bulk::group_id(&state.db, name).await?
            } else if let Ok(id) = form.get("group").parse() {
                id
            } else {
                return Ok(notice("bad-group"));
            };
            Action::AddToGroup { group_id }
        }
        "add_to_list" => {
            let name = form.get("list_name").trim();
            let own = crate::people::lists::static_lists(&state.db, who.user().id).await?;
            let list_id = if !name.is_empty() && name.chars().count() <= 120 {
                crate::people::lists::create_static(&state.db, who.user().id, name).await?
            } else if let Some(o) = own.iter().find(|o| o.value == form.get("list")) {
                o.value.parse().unwrap_or_default()
            } else {
                return Ok(notice("bad-list"));
            };
            Action::AddToList { list_id }
        }
        "send_mailing" => {
            use crate::web::extract::{ManageSends, Permission};
            if !ManageSends::allows(&who.0) {
                return Err(AppError::Forbidden);
            }
            // The selection becomes a list of its own, which the campaign
            // then filters on; its recipients are counted at launch.
            let name = format!(
                "{} {}",
                p.t("crm-mailing-list"),
                chrono::Utc::now()
                    .with_timezone(&state.tz)
                    .format("%Y-%m-%d %H:%M")
            );
            let list_id =
                crate::people::lists::create_static(&state.db, who.user().id, &name).await?;
            let recipient_type = dominant_type(&state, &ids).await?;
            bulk::run(&state, who.user().id, Action::AddToList { list_id }, ids).await?;
            return Ok(Redirect::to(&format!(
                "/admin/campaigns/new?list={list_id}&recipient_type={recipient_type}"
            ))
            .into_response());
        }
        "delete" => {
            if form.get("confirm") != "1" {
                return Ok(notice("confirm"));
            }
            Action::Delete
        }
        _ => return Ok(notice("none")),
    };
    match bulk::run(&state, who.user().id, action, ids).await? {
        Outcome::Done(_) => Ok(notice("ok")),
        Outcome::Queued(job) => Ok(Redirect::to(&format!("/admin/jobs/{job}")).into_response()),
    }
}

/// The recipient type most of these persons have (a campaign addresses
/// one type).
async fn dominant_type(state: &AppState, ids: &[i64]) -> AppResult<String> {
    use amicale_store::entities::persons;
    use sea_orm::QuerySelect;
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let types: Vec<String> = persons::Entity::find()
            .select_only()
            .column(persons::Column::RecipientType)
            .filter(persons::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(&state.db)
            .await?;
        for t in types {
            *counts.entry(t).or_default() += 1;
        }
    }
    Ok(counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(t, _)| t)
        .unwrap_or_else(|| "member".into()))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(flatten)]
    criteria: Criteria,
    #[serde(default)]
    format: String,
}

/// Streams an export of the persons matching the filters.
pub async fn export(
    State(state): State<AppState>,
    who: Require<ViewPeople>,
    p: Page,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let format = Format::parse(&q.format).ok_or(AppError::NotFound)?;
    bulk::audit(
        &state.db,
        Some(who.user().id),
        "export",
        format.extension(),
        0,
    )
    .await?;
    let reach = crate::people::scope::condition(&who.0, Backend::of(&state.db));
    export_response(&state, &p, format, q.criteria, reach, None).await
}

/// The export is written to a temporary file by a background task while the
/// response streams it: memory stays flat whatever the size.
async fn export_response(
    state: &AppState,
    p: &Page,
    format: Format,
    criteria: Criteria,
    reach: sea_orm::Condition,
    ids: Option<Vec<i64>>,
) -> AppResult<Response> {
    let (cond, _) = criteria.condition(Backend::of(&state.db), Scope::Crm);
    // An unfiltered export can be read in one pass (see export::write).
    let cond = if reach.is_empty() {
        cond
    } else {
        cond.add(reach)
    };
    let path = std::env::temp_dir().join(format!(
        "amicale-export-{}.{}",
        amicale_kernel::crypto::random_token(12),
        format.extension()
    ));
    let file = std::fs::File::create(&path).map_err(|e| AppError::Internal(e.to_string()))?;
    let header = export::localized_header(p.locale);
    let buffered = std::io::BufWriter::new(file);
    match format {
        Format::Csv => {
            let mut sink = export::CsvSink(csv::Writer::from_writer(buffered));
            export::write(&state.db, cond, ids.as_deref(), &header, &mut sink).await?;
            sink.0
                .flush()
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
        Format::Xlsx => {
            let mut sink = crate::people::xlsx::XlsxWriter::new(buffered, &p.t("export-sheet"))?;
            export::write(&state.db, cond, ids.as_deref(), &header, &mut sink).await?;
            let mut w = sink.finish()?;
            std::io::Write::flush(&mut w).map_err(|e| AppError::Internal(e.to_string()))?;
        }
    }
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    // The open handle keeps the data readable; the name goes at once.
    let _ = std::fs::remove_file(&path);
    let stream = tokio_util::io::ReaderStream::new(file);
    let name = format!(
        "personnes-{}.{}",
        Utc::now().with_timezone(&state.tz).format("%Y%m%d-%H%M"),
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "people/job.html")]
struct JobTpl<'a> {
    p: &'a Page,
    job: jobs::Model,
    percent: i64,
    /// An import's outcome, in words.
    summary: Option<String>,
}

/// The progress of a background bulk action; refreshes itself while running.
pub async fn job(
    State(state): State<AppState>,
    who: Require<ViewPeople>,
    p: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    // A job's payload and result are its author's: nobody else's to read
    // but the administrator's.
    let job = jobs::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|j| who.user().is_admin || j.created_by == Some(who.user().id))
        .ok_or(AppError::NotFound)?;
    let percent = (job.done * 100).checked_div(job.total).unwrap_or(100);
    let summary = (job.kind == "people-import" && job.state == "done")
        .then_some(job.result.as_deref())
        .flatten()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
        .map(|r| {
            let n = |k: &str| r[k].as_u64().unwrap_or(0).to_string();
            p.locale.t_args(
                "people-import-summary",
                &[
                    ("created", n("created")),
                    ("updated", n("updated")),
                    ("unchanged", n("unchanged")),
                    (
                        "rejected",
                        r["rejected"].as_array().map_or(0, Vec::len).to_string(),
                    ),
                ],
            )
        });
    render(&JobTpl {
        p: &p,
        job,
        percent,
        summary,
    })
}

/// The current filters as (name, value) pairs for the bulk form, so "all
/// matching" acts on exactly what the list shows.
pub fn hidden_criteria(c: &Criteria) -> Vec<(String, String)> {
    form_urlencoded::parse(serde_urlencoded_criteria(c).as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
