//! The CRM pages: the list, its columns, bulk actions, exports and the
//! progress of a background job.

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use super::service::{self, Command, Done, GroupChoice, Job, Listing, PER_PAGE, Selection};
use super::store::Opt;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::bulk::Action;
use crate::people::directory::serde_urlencoded_criteria;
use crate::people::export::Format;
use crate::people::model::Status;
use crate::people::search::{Criteria, Invalid, Sort};
use crate::web::extract::{EditPeople, ManageSends, Permission, Require, ViewPeople};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render};
use crate::web::session::SessionUser;

#[derive(Deserialize, Default)]
pub struct CrmQuery {
    #[serde(flatten)]
    pub criteria: Criteria,
    #[serde(default)]
    #[serde(deserialize_with = "amicale_kernel::fields::blank_as_none")]
    pub page: Option<u64>,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub desc: String,
    #[serde(default)]
    pub done: String,
    /// With `done=changed`: how many persons the action changed.
    #[serde(default)]
    #[serde(deserialize_with = "amicale_kernel::fields::blank_as_none")]
    pub n: Option<u64>,
}

pub struct Row {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub cells: Vec<String>,
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
    changed: u64,
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

/// The rows of the list, each with the cells of the chosen columns.
fn rows(state: &AppState, p: &Page, l: &Listing) -> Vec<Row> {
    l.persons
        .iter()
        .map(|x| {
            let cells = l
                .columns
                .iter()
                .map(|c| match *c {
                    "status" => p.t(&format!("status-{}", x.status)),
                    "email" => x.email.clone().unwrap_or_default(),
                    "phone" => l
                        .phones
                        .iter()
                        .find(|ph| ph.person_id == x.id)
                        .map(|ph| ph.number.clone())
                        .unwrap_or_default(),
                    "roles" => l
                        .roles
                        .iter()
                        .filter(|r| r.person_id == x.id)
                        .map(|r| p.t(&format!("role-{}", r.role)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    "promo" => x.promo_year.map(|y| y.to_string()).unwrap_or_default(),
                    "programme" => x
                        .programme_id
                        .and_then(|id| l.programmes.iter().find(|o| o.value == id.to_string()))
                        .map(|o| o.label.clone())
                        .unwrap_or_default(),
                    "company" => x
                        .organisation_id
                        .and_then(|id| l.organisations.get(&id).cloned())
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
        .collect()
}

pub async fn list(
    State(state): State<AppState>,
    who: Require<ViewPeople>,
    p: Page,
    Query(q): Query<CrmQuery>,
) -> AppResult<Response> {
    let sort = Sort::parse(&q.sort);
    let desc = q.desc == "1";
    let page = q.page.unwrap_or(1).max(1);
    let listing = service::list(&state, &who.0, &q.criteria, sort, desc, page).await?;
    let rows = rows(&state, &p, &listing);
    render(&CrmTpl {
        p: &p,
        query: serde_urlencoded_criteria(&q.criteria),
        c: q.criteria,
        total: listing.total,
        rows,
        columns: listing.columns,
        page,
        pages: listing.total.div_ceil(PER_PAGE),
        sort: sort.as_str(),
        desc,
        invalid: listing.invalid,
        programmes: listing.programmes,
        groups: listing.groups,
        lists: listing.lists,
        sends: ManageSends::allows(&who.0),
        done: q.done,
        changed: q.n.unwrap_or(0),
    })
}

/// Saves the visible columns for this user.
pub async fn save_columns(
    State(state): State<AppState>,
    who: Require<ViewPeople>,
    form: FormPairs,
) -> AppResult<Response> {
    service::save_columns(&state, who.user().id, &form.all("col")).await?;
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

/// What the bulk form asks for: an export, or a command; else the key of
/// the notice that says why nothing was done.
enum Asked {
    Export(Format),
    Do(Command),
}

fn asked(state: &AppState, p: &Page, form: &FormPairs) -> Result<Asked, &'static str> {
    Ok(Asked::Do(match form.get("action") {
        "export_csv" => return Ok(Asked::Export(Format::Csv)),
        "export_xlsx" => return Ok(Asked::Export(Format::Xlsx)),
        "add_role" => {
            let role = form.get("role");
            if amicale_people::CommunityRole::parse(role).is_err() {
                return Err("bad-role");
            }
            Command::Act(Action::AddRole {
                role: role.to_owned(),
                programme_id: form.get("role_programme").parse().ok(),
            })
        }
        "invite" => Command::Invite,
        "students_to_alumni" => Command::Act(Action::StudentsToAlumni),
        "add_to_group" => {
            let name = form.get("group_name").trim();
            if !name.is_empty() {
                Command::AddToGroup(GroupChoice::Named(name.to_owned()))
            } else if let Ok(id) = form.get("group").parse() {
                Command::AddToGroup(GroupChoice::Id(id))
            } else {
                return Err("bad-group");
            }
        }
        "add_to_list" => Command::AddToList {
            name: form.get("list_name").trim().to_owned(),
            chosen: form.get("list").to_owned(),
        },
        "send_mailing" => Command::SendMailing {
            list_name: format!(
                "{} {}",
                p.t("crm-mailing-list"),
                Utc::now().with_timezone(&state.tz).format("%Y-%m-%d %H:%M")
            ),
        },
        "delete" if form.get("confirm") != "1" => return Err("confirm"),
        "delete" => Command::Act(Action::Delete),
        _ => return Err("none"),
    }))
}

/// The persons the bulk form names: all matching, or those ticked.
fn selection_of(form: &FormPairs) -> Selection {
    match form.get("scope") {
        "all" => Selection::All,
        _ => Selection::Posted(
            form.all("id")
                .iter()
                .filter_map(|v| v.parse().ok())
                .collect(),
        ),
    }
}

pub async fn bulk(
    State(state): State<AppState>,
    who: Require<EditPeople>,
    p: Page,
    form: FormPairs,
) -> AppResult<Response> {
    let criteria = criteria_of(&form);
    let back = format!("/admin/people?{}", serde_urlencoded_criteria(&criteria));
    let selection = selection_of(&form);
    let Some(ids) = service::targets(&state, &who.0, &criteria, selection).await? else {
        return Ok(Redirect::to(&back).into_response());
    };
    let notice = |key: &str| {
        let sep = if back.ends_with('?') { "" } else { "&" };
        Redirect::to(&format!("{back}{sep}done={key}")).into_response()
    };
    if ids.is_empty() {
        return Ok(notice("none"));
    }
    let command = match asked(&state, &p, &form) {
        Ok(Asked::Export(format)) => {
            return export_response(&state, &p, &who.0, format, Criteria::default(), Some(ids))
                .await;
        }
        Ok(Asked::Do(Command::SendMailing { .. })) if !ManageSends::allows(&who.0) => {
            return Err(AppError::Forbidden);
        }
        Ok(Asked::Do(command)) => command,
        Err(key) => return Ok(notice(key)),
    };
    Ok(
        match service::apply(&state, who.user().id, p.locale, ids, command).await? {
            Done::Notice(key) => notice(key),
            Done::Changed(n) => notice(&format!("changed&n={n}")),
            Done::Job(job) => Redirect::to(&format!("/admin/jobs/{job}")).into_response(),
            Done::Campaign {
                list_id,
                recipient_type,
            } => Redirect::to(&format!(
                "/admin/campaigns/new?list={list_id}&recipient_type={recipient_type}"
            ))
            .into_response(),
        },
    )
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
    export_response(&state, &p, &who.0, format, q.criteria, None).await
}

/// The export is written to a temporary file by the service while the
/// response streams it.
async fn export_response(
    state: &AppState,
    p: &Page,
    who: &SessionUser,
    format: Format,
    criteria: Criteria,
    ids: Option<Vec<i64>>,
) -> AppResult<Response> {
    let sheet = p.t("export-sheet");
    let file = service::export_file(state, who, p.locale, &sheet, format, criteria, ids).await?;
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
    job: Job,
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
    let job = service::job(&state, &who.0, id).await?;
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
