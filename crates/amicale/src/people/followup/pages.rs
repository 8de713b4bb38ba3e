//! The follow-up page of a person: situations, projects, enrolments,
//! tasks and documents, each listed newest first with a form to add or
//! correct a row. Staff who may consult the CRM see it for the persons in
//! their scope; only those who may edit persons change it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;

use super::documents::{self, DocView};
use super::kinds::{Input, KINDS, Kind};
use super::store::{self, Allowed, Value};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::crm::Opt;
use crate::people::scope::Persons;
use crate::web::extract::InScope;
use crate::web::extract::{EditPeople, Permission, Require, ViewPeople};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render_status};

pub struct FieldView {
    pub name: &'static str,
    pub label: String,
    /// date, text, flag or select.
    pub input: &'static str,
    pub options: Vec<Opt>,
    pub value: String,
    pub error: String,
    pub required: bool,
}

pub struct RowView {
    pub id: i64,
    pub cells: Vec<String>,
}

pub struct SectionView {
    pub slug: &'static str,
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<RowView>,
    /// The row the form corrects; none: the form adds one.
    pub editing: Option<i64>,
    pub fields: Vec<FieldView>,
    pub has_errors: bool,
}

#[derive(Template)]
#[template(path = "people/followup.html")]
struct FollowupTpl<'a> {
    p: &'a Page,
    id: i64,
    name: String,
    sections: Vec<SectionView>,
    documents: Vec<DocView>,
    can_edit: bool,
    notice: Option<String>,
}

/// The names that fields referring to other records show, and the ids a
/// form may pick.
pub struct Choices {
    programmes: Vec<Opt>,
    staff: Vec<Opt>,
}

impl Choices {
    pub async fn load(state: &AppState) -> AppResult<Choices> {
        let programmes = store::programmes(&state.db)
            .await?
            .into_iter()
            .map(|p| Opt {
                value: p.id.to_string(),
                label: p.name,
            })
            .collect();
        let staff = crate::events::store::staff(&state.db)
            .await?
            .into_iter()
            .map(|u| Opt {
                value: u.id.to_string(),
                label: u.display_name,
            })
            .collect();
        Ok(Choices { programmes, staff })
    }

    fn ids(opts: &[Opt]) -> Vec<i64> {
        opts.iter().filter_map(|o| o.value.parse().ok()).collect()
    }

    fn name(opts: &[Opt], id: i64) -> String {
        opts.iter()
            .find(|o| o.value == id.to_string())
            .map(|o| o.label.clone())
            .unwrap_or_else(|| format!("#{id}"))
    }
}

pub fn show_date(p: &Page, d: NaiveDate) -> String {
    if p.lang() == "fr" {
        d.format("%d/%m/%Y").to_string()
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

fn cell(p: &Page, c: &Choices, input: Input, name: &str, v: &Value) -> String {
    match (input, v) {
        (_, Value::Date(Some(d))) => show_date(p, *d),
        (_, Value::Flag(true)) => "✓".into(),
        (Input::Choice(_), Value::Text(Some(code))) => p.t(&format!("fu-{name}-{code}")),
        (_, Value::Text(Some(t))) => t.clone(),
        (Input::Programme, Value::Id(Some(i))) => Choices::name(&c.programmes, *i),
        (Input::Staff, Value::Id(Some(i))) => Choices::name(&c.staff, *i),
        _ => String::new(),
    }
}

fn fields(
    p: &Page,
    c: &Choices,
    kind: &Kind,
    f: &FormPairs,
    errors: &[(String, &str)],
) -> Vec<FieldView> {
    kind.fields
        .iter()
        .map(|field| {
            let (input, options) = match field.input {
                Input::Date => ("date", Vec::new()),
                Input::Text => ("text", Vec::new()),
                Input::Flag => ("flag", Vec::new()),
                Input::Choice(codes) => (
                    "select",
                    codes
                        .iter()
                        .map(|code| Opt {
                            value: (*code).into(),
                            label: p.t(&format!("fu-{}-{code}", field.name)),
                        })
                        .collect(),
                ),
                Input::Programme => ("select", c.programmes.clone()),
                Input::Staff => ("select", c.staff.clone()),
            };
            FieldView {
                name: field.name,
                label: p.t(&format!("fu-field-{}", field.name)),
                input,
                options,
                value: f.get(field.name).to_owned(),
                error: errors
                    .iter()
                    .find(|(n, _)| n == field.name)
                    .map(|(_, k)| p.t(k))
                    .unwrap_or_default(),
                required: field.required,
            }
        })
        .collect()
}

fn pairs_of(kind: &Kind, values: &[Value]) -> FormPairs {
    FormPairs(
        kind.fields
            .iter()
            .zip(values)
            .map(|(f, v)| (f.name.to_owned(), v.form_text()))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
    )
}

/// One section's form as it should show: what was typed with its errors,
/// the row being corrected, or an empty form.
pub struct FormState {
    pub slug: &'static str,
    pub editing: Option<i64>,
    pub f: FormPairs,
    pub errors: Vec<(String, &'static str)>,
}

impl FormState {
    /// The form of `kind` as typed, refused with `errors`; only the kind's
    /// own fields are shown again.
    fn typed(
        kind: &'static Kind,
        editing: Option<i64>,
        f: FormPairs,
        errors: Vec<(String, &'static str)>,
    ) -> FormState {
        let typed = FormPairs(
            f.0.into_iter()
                .filter(|(k, _)| kind.field(k).is_some())
                .collect(),
        );
        FormState {
            slug: kind.slug,
            editing,
            f: typed,
            errors,
        }
    }
}

/// One section: the person's rows of `kind` and its form, as typed in
/// `own` when that form is this section's.
fn section(
    p: &Page,
    c: &Choices,
    kind: &'static Kind,
    rows: &[store::Row],
    own: Option<&FormState>,
) -> SectionView {
    let (editing, f, errors) = match own {
        Some(s) => (s.editing, FormPairs(s.f.0.clone()), s.errors.clone()),
        None => (None, FormPairs(Vec::new()), Vec::new()),
    };
    SectionView {
        slug: kind.slug,
        title: p.t(&format!("fu-{}-title", kind.slug)),
        headers: kind
            .fields
            .iter()
            .map(|f| p.t(&format!("fu-field-{}", f.name)))
            .collect(),
        rows: rows
            .iter()
            .map(|r| RowView {
                id: r.id,
                cells: kind
                    .fields
                    .iter()
                    .zip(&r.values)
                    .map(|(f, v)| cell(p, c, f.input, f.name, v))
                    .collect(),
            })
            .collect(),
        editing,
        has_errors: !errors.is_empty(),
        fields: fields(p, c, kind, &f, &errors),
    }
}

#[allow(clippy::too_many_arguments)]
async fn show(
    state: &AppState,
    p: &Page,
    who: &crate::web::session::SessionUser,
    id: i64,
    form: Option<FormState>,
    notice: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let name = store::person_name(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let c = Choices::load(state).await?;
    let mut sections = Vec::new();
    for kind in KINDS {
        let rows = store::list(&state.db, kind, id).await?;
        let own = form.as_ref().filter(|s| s.slug == kind.slug);
        sections.push(section(p, &c, kind, &rows, own));
    }
    let documents = documents::list(state, id).await?;
    render_status(
        status,
        &FollowupTpl {
            p,
            id,
            name,
            sections,
            documents,
            can_edit: EditPeople::allows(who),
            notice,
        },
    )
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PageQuery {
    /// `slug:row id` to correct a row.
    pub edit: String,
    /// A notice key (`fu-saved`, `fu-deleted`, a document outcome).
    pub notice: String,
}

pub async fn page(
    State(state): State<AppState>,
    InScope { id, who, .. }: InScope<Persons, ViewPeople>,
    p: Page,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    let mut form = None;
    if let Some((slug, rid)) = q.edit.split_once(':')
        && let (Some(kind), Ok(rid)) = (Kind::by_slug(slug), rid.parse::<i64>())
    {
        let row = store::get(&state.db, kind, id, rid)
            .await?
            .ok_or(AppError::NotFound)?;
        form = Some(FormState {
            slug: kind.slug,
            editing: Some(rid),
            f: pairs_of(kind, &row.values),
            errors: Vec::new(),
        });
    }
    let notice = match q.notice.as_str() {
        k @ ("fu-saved" | "fu-deleted") => Some(p.t(k)),
        k if k.starts_with("doc-") => Some(p.t(k)),
        _ => None,
    };
    show(&state, &p, &who.0, id, form, notice, StatusCode::OK).await
}

/// Saves a follow-up entry of person `id`, whom the caller's extractor
/// found within the user's scope.
async fn write(
    state: AppState,
    who: Require<EditPeople>,
    p: Page,
    id: i64,
    slug: String,
    row: Option<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let kind = Kind::by_slug(&slug).ok_or(AppError::NotFound)?;
    let c = Choices::load(&state).await?;
    let allowed = Allowed {
        programmes: &Choices::ids(&c.programmes),
        staff: &Choices::ids(&c.staff),
    };
    match store::parse(kind, &f, &allowed) {
        Err(errors) => {
            let form = FormState::typed(kind, row, f, errors);
            show(
                &state,
                &p,
                &who.0,
                id,
                Some(form),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Ok(values) => {
            if !store::save(&state.db, kind, id, row, &values).await? {
                return Err(AppError::NotFound);
            }
            Ok(Redirect::to(&format!(
                "/admin/people/{id}/followup?notice=fu-saved#fu-{}",
                kind.slug
            ))
            .into_response())
        }
    }
}

pub async fn add(
    State(state): State<AppState>,
    InScope { who, .. }: InScope<Persons, EditPeople>,
    p: Page,
    Path((id, slug)): Path<(i64, String)>,
    f: FormPairs,
) -> AppResult<Response> {
    write(state, who, p, id, slug, None, f).await
}

pub async fn correct(
    State(state): State<AppState>,
    InScope { who, .. }: InScope<Persons, EditPeople>,
    p: Page,
    Path((id, slug, row)): Path<(i64, String, i64)>,
    f: FormPairs,
) -> AppResult<Response> {
    write(state, who, p, id, slug, Some(row), f).await
}

pub async fn remove(
    State(state): State<AppState>,
    InScope { .. }: InScope<Persons, EditPeople>,
    Path((id, slug, row)): Path<(i64, String, i64)>,
) -> AppResult<Response> {
    let kind = Kind::by_slug(&slug).ok_or(AppError::NotFound)?;
    if !store::delete(&state.db, kind.table, id, row).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to(&format!(
        "/admin/people/{id}/followup?notice=fu-deleted#fu-{}",
        kind.slug
    ))
    .into_response())
}
