//! Groups and saved lists. Groups are named sets that members belong
//! to (promo, programme, chapter, interest). A saved list is made from a
//! directory or CRM search: "static" keeps the persons found when it was
//! saved, "re-evaluated" keeps the criteria and runs them again each time.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::bulk;
use crate::people::search::{self, Criteria, Scope, Sort};
use crate::web::extract::{EditPeople, Member, Require};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render};
use amicale_store::Backend;
use amicale_store::entities::{group_members, groups, saved_list_members, saved_lists};

pub const GROUP_KINDS: [&str; 5] = ["promo", "programme", "chapter", "interest", "custom"];

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
    let mut rows = Vec::new();
    for g in groups::Entity::find()
        .order_by_asc(groups::Column::Name)
        .all(&state.db)
        .await?
    {
        rows.push(GroupRow {
            members: group_members::Entity::find()
                .filter(group_members::Column::GroupId.eq(g.id))
                .count(&state.db)
                .await?,
            id: g.id,
            name: g.name,
            kind: g.kind,
        });
    }
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
    let kind = if GROUP_KINDS.contains(&f.get("kind")) {
        f.get("kind")
    } else {
        "custom"
    };
    if name.is_empty() || name.chars().count() > 120 {
        return groups_page(&state, &p, Some(p.t("err-required")), name).await;
    }
    let exists = groups::Entity::find()
        .filter(groups::Column::Name.eq(name.clone()))
        .one(&state.db)
        .await?
        .is_some();
    if exists {
        return groups_page(&state, &p, Some(p.t("groups-exists")), name).await;
    }
    groups::ActiveModel {
        name: Set(name.clone()),
        kind: Set(kind.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    bulk::audit(&state.db, Some(who.user().id), "group_create", &name, 0).await?;
    Ok(Redirect::to("/admin/groups").into_response())
}

pub async fn group_delete(
    State(state): State<AppState>,
    who: Require<EditPeople>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let txn = state.db.begin().await?;
    group_members::Entity::delete_many()
        .filter(group_members::Column::GroupId.eq(id))
        .exec(&txn)
        .await?;
    let n = groups::Entity::delete_by_id(id)
        .exec(&txn)
        .await?
        .rows_affected;
    if n != 1 {
        return Err(AppError::NotFound);
    }
    bulk::audit(
        &txn,
        Some(who.user().id),
        "group_delete",
        &id.to_string(),
        0,
    )
    .await?;
    txn.commit().await?;
    Ok(Redirect::to("/admin/groups").into_response())
}

/// Members save lists from the directory, staff from the CRM: the scope of
/// a list is that of the page it came from.
fn scope_of(kind: &str) -> Scope {
    if kind == "crm" {
        Scope::Crm
    } else {
        Scope::Directory
    }
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

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    scope: String,
    criteria: Criteria,
}

pub async fn list_create(
    State(state): State<AppState>,
    who: Require<Member>,
    f: FormPairs,
) -> AppResult<Response> {
    let from = if f.get("from") == "crm" && who.user().is_admin {
        "crm"
    } else {
        "directory"
    };
    let criteria = criteria_of(&f);
    let name = f.get("name").trim().to_owned();
    let back = format!(
        "{}?{}",
        if from == "crm" {
            "/admin/people"
        } else {
            "/directory"
        },
        crate::people::directory::serde_urlencoded_criteria(&criteria)
    );
    if name.is_empty() || name.chars().count() > 120 {
        return Ok(Redirect::to(&format!("{back}&done=list-name")).into_response());
    }
    let (cond, invalid) = criteria.condition(Backend::of(&state.db), scope_of(from));
    if !invalid.is_empty() {
        return Ok(Redirect::to(&back).into_response());
    }
    let dynamic = f.get("dynamic") == "1";
    let ids = if dynamic {
        Vec::new()
    } else {
        search::ids(&state.db, cond).await?
    };
    let txn = state.db.begin().await?;
    let list = saved_lists::ActiveModel {
        name: Set(name),
        owner_user_id: Set(Some(who.user().id)),
        criteria: Set(serde_json::to_string(&Stored {
            scope: from.to_owned(),
            criteria,
        })
        .map_err(|e| AppError::Internal(e.to_string()))?),
        dynamic: Set(dynamic),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for chunk in ids.chunks(300) {
        saved_list_members::Entity::insert_many(chunk.iter().map(|id| {
            saved_list_members::ActiveModel {
                list_id: Set(list.id),
                person_id: Set(*id),
            }
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(Redirect::to(&format!("/lists/{}", list.id)).into_response())
}

/// A new static list owned by `owner`, empty; members are added by the
/// bulk action that asked for it.
pub async fn create_static<C: sea_orm::ConnectionTrait>(
    db: &C,
    owner: i64,
    name: &str,
) -> AppResult<i64> {
    Ok(saved_lists::ActiveModel {
        name: Set(name.to_owned()),
        owner_user_id: Set(Some(owner)),
        criteria: Set(serde_json::to_string(&Stored {
            scope: "crm".into(),
            criteria: Criteria::default(),
        })
        .map_err(|e| AppError::Internal(e.to_string()))?),
        dynamic: Set(false),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .id)
}

/// The static lists of a user, which a selection can be added to.
pub async fn static_lists<C: sea_orm::ConnectionTrait>(
    db: &C,
    owner: i64,
) -> AppResult<Vec<crate::people::crm::Opt>> {
    Ok(saved_lists::Entity::find()
        .filter(saved_lists::Column::OwnerUserId.eq(owner))
        .filter(saved_lists::Column::Dynamic.eq(false))
        .order_by_asc(saved_lists::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|l| crate::people::crm::Opt {
            value: l.id.to_string(),
            label: l.name,
        })
        .collect())
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
    let rows = saved_lists::Entity::find()
        .filter(saved_lists::Column::OwnerUserId.eq(who.user().id))
        .order_by_desc(saved_lists::Column::CreatedAt)
        .all(&state.db)
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

/// The condition selecting a list's members now. A member's list never
/// shows someone who has since left the directory.
pub fn members_condition(list: &saved_lists::Model, backend: Backend) -> AppResult<Condition> {
    let stored: Stored = serde_json::from_str(&list.criteria)
        .map_err(|e| AppError::Internal(format!("list {}: {e}", list.id)))?;
    let scope = scope_of(&stored.scope);
    if list.dynamic {
        return Ok(stored.criteria.condition(backend, scope).0);
    }
    let mut c = Condition::all().add(search::cust(
        backend,
        "\"persons\".\"id\" IN (SELECT person_id FROM saved_list_members WHERE list_id = ?)",
        [list.id],
    ));
    if scope == Scope::Directory {
        c = c.add(
            amicale_store::entities::persons::Column::Status
                .eq(crate::people::model::Status::Active.as_str()),
        );
    }
    Ok(c)
}

#[derive(Template)]
#[template(path = "people/list.html")]
struct ListTpl<'a> {
    p: &'a Page,
    list: saved_lists::Model,
    total: u64,
    rows: Vec<(i64, String, String)>,
}

pub async fn list_show(
    State(state): State<AppState>,
    who: Require<Member>,
    p: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let list = saved_lists::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|l| l.owner_user_id == Some(who.user().id))
        .ok_or(AppError::NotFound)?;
    let cond = members_condition(&list, Backend::of(&state.db))?;
    let (total, persons) = search::page(&state.db, cond, Sort::Name, false, 1, 500).await?;
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
