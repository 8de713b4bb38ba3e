//! The pages of groups and saved lists.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::service::{self, GroupRefused, SavedList, Source};
use crate::app::AppState;
use crate::error::AppResult;
use crate::people::search::Criteria;
use crate::web::extract::{EditPeople, Member, Require};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render};

pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub members: u64,
}

#[derive(Template)]
#[template(path = "people/groups.html")]
struct GroupsTpl<'a> {
    p: &'a Page,
    rows: Vec<GroupRow>,
    error: Option<String>,
    name: String,
}

async fn groups_page(
    state: &AppState,
    p: &Page,
    error: Option<String>,
    name: String,
) -> AppResult<Response> {
    let rows = service::groups(state)
        .await?
        .into_iter()
        .map(|(g, members)| GroupRow {
            members,
            id: g.id,
            name: g.name,
            kind: g.kind,
        })
        .collect();
    render(&GroupsTpl {
        p,
        rows,
        error,
        name,
    })
}

pub async fn groups_list(
    State(state): State<AppState>,
    _: Require<EditPeople>,
    p: Page,
) -> AppResult<Response> {
    groups_page(&state, &p, None, String::new()).await
}

pub async fn group_create(
    State(state): State<AppState>,
    who: Require<EditPeople>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let name = f.get("name").trim().to_owned();
    match service::create_group(&state, who.user().id, &name, f.get("kind")).await? {
        Ok(()) => Ok(Redirect::to("/admin/groups").into_response()),
        Err(GroupRefused::Name) => groups_page(&state, &p, Some(p.t("err-required")), name).await,
        Err(GroupRefused::Exists) => {
            groups_page(&state, &p, Some(p.t("groups-exists")), name).await
        }
    }
}

pub async fn group_delete(
    State(state): State<AppState>,
    who: Require<EditPeople>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    service::delete_group(&state, who.user().id, id).await?;
    Ok(Redirect::to("/admin/groups").into_response())
}

fn criteria_of(f: &FormPairs) -> Criteria {
    let mut map = serde_json::Map::new();
    for (k, v) in &f.0 {
        if let Some(name) = k.strip_prefix("f_") {
            map.insert(name.to_owned(), serde_json::Value::String(v.clone()));
        }
    }
    serde_json::from_value(serde_json::Value::Object(map)).unwrap_or_default()
}

pub async fn list_create(
    State(state): State<AppState>,
    who: Require<Member>,
    f: FormPairs,
) -> AppResult<Response> {
    // Only staff save from the CRM; anyone else's list has the directory's scope.
    let from = if f.get("from") == "crm" && who.user().is_admin {
        Source::Crm
    } else {
        Source::Directory
    };
    let criteria = criteria_of(&f);
    let name = f.get("name").trim().to_owned();
    let back = format!(
        "{}?{}",
        match from {
            Source::Crm => "/admin/people",
            Source::Directory => "/directory",
        },
        crate::people::directory::serde_urlencoded_criteria(&criteria)
    );
    if name.is_empty() || name.chars().count() > 120 {
        return Ok(Redirect::to(&format!("{back}&done=list-name")).into_response());
    }
    let dynamic = f.get("dynamic") == "1";
    match service::create_list(&state, who.user().id, name, from, criteria, dynamic).await? {
        Some(id) => Ok(Redirect::to(&format!("/lists/{id}")).into_response()),
        None => Ok(Redirect::to(&back).into_response()),
    }
}

pub struct ListRow {
    pub id: i64,
    pub name: String,
    pub dynamic: bool,
}

#[derive(Template)]
#[template(path = "people/lists.html")]
struct ListsTpl<'a> {
    p: &'a Page,
    rows: Vec<ListRow>,
}

pub async fn lists(
    State(state): State<AppState>,
    who: Require<Member>,
    p: Page,
) -> AppResult<Response> {
    let rows = service::lists_of(&state, who.user().id)
        .await?
        .into_iter()
        .map(|l| ListRow {
            id: l.id,
            name: l.name,
            dynamic: l.dynamic,
        })
        .collect();
    render(&ListsTpl { p: &p, rows })
}

#[derive(Template)]
#[template(path = "people/list.html")]
struct ListTpl<'a> {
    p: &'a Page,
    list: SavedList,
    total: u64,
    rows: Vec<(i64, String, String)>,
}

pub async fn list_show(
    State(state): State<AppState>,
    who: Require<Member>,
    p: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (list, total, persons) = service::show(&state, who.user().id, id).await?;
    let rows = persons
        .into_iter()
        .map(|x| (x.id, format!("{} {}", x.first_name, x.last_name), x.city))
        .collect();
    render(&ListTpl {
        p: &p,
        list,
        total,
        rows,
    })
}
