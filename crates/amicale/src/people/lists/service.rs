//! The operations of groups and saved lists.

use sea_orm::{ColumnTrait, Condition, TransactionTrait};

use super::store;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::bulk;
use crate::people::crm::Opt;
use crate::people::search::{self, Criteria, Scope, Sort};
use amicale_store::Backend;
use amicale_store::entities::{groups, persons, saved_lists};

/// A saved list as stored.
pub type SavedList = saved_lists::Model;

pub const GROUP_KINDS: [&str; 5] = ["promo", "programme", "chapter", "interest", "custom"];

/// Every group by name, with its number of members.
pub async fn groups(state: &AppState) -> AppResult<Vec<(groups::Model, u64)>> {
    store::groups_with_counts(&state.db).await
}

/// Why a group was not created.
pub enum GroupRefused {
    /// Empty or longer than 120 characters.
    Name,
    /// A group has this name.
    Exists,
}

/// Creates a group; an unknown kind becomes "custom".
pub async fn create_group(
    state: &AppState,
    by: i64,
    name: &str,
    kind: &str,
) -> AppResult<Result<(), GroupRefused>> {
    let kind = if GROUP_KINDS.contains(&kind) {
        kind
    } else {
        "custom"
    };
    if name.is_empty() || name.chars().count() > 120 {
        return Ok(Err(GroupRefused::Name));
    }
    if store::group_exists(&state.db, name).await? {
        return Ok(Err(GroupRefused::Exists));
    }
    store::insert_group(&state.db, name, kind).await?;
    bulk::audit(&state.db, Some(by), "group_create", name, 0).await?;
    Ok(Ok(()))
}

/// Deletes a group and its memberships (404 when there is none).
pub async fn delete_group(state: &AppState, by: i64, id: i64) -> AppResult<()> {
    let txn = state.db.begin().await?;
    if store::delete_group(&txn, id).await? != 1 {
        return Err(AppError::NotFound);
    }
    bulk::audit(&txn, Some(by), "group_delete", &id.to_string(), 0).await?;
    txn.commit().await?;
    Ok(())
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

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    scope: String,
    criteria: Criteria,
}

fn stored(scope: &str, criteria: Criteria) -> AppResult<String> {
    serde_json::to_string(&Stored {
        scope: scope.to_owned(),
        criteria,
    })
    .map_err(|e| AppError::Internal(e.to_string()))
}

/// Where a list comes from, which sets its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Crm,
    Directory,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Crm => "crm",
            Source::Directory => "directory",
        }
    }
}

/// Saves a search as a list of `owner`: its criteria when `dynamic`, else
/// the persons it finds now. `None` when the criteria do not parse.
pub async fn create_list(
    state: &AppState,
    owner: i64,
    name: String,
    from: Source,
    criteria: Criteria,
    dynamic: bool,
) -> AppResult<Option<i64>> {
    let (cond, invalid) = criteria.condition(Backend::of(&state.db), scope_of(from.as_str()));
    if !invalid.is_empty() {
        return Ok(None);
    }
    let ids = if dynamic {
        Vec::new()
    } else {
        search::ids(&state.db, cond).await?
    };
    let txn = state.db.begin().await?;
    let list =
        store::insert_list(&txn, owner, name, stored(from.as_str(), criteria)?, dynamic).await?;
    store::add_members(&txn, list.id, &ids).await?;
    txn.commit().await?;
    Ok(Some(list.id))
}

/// A new static list owned by `owner`, empty; members are added by the
/// bulk action that asked for it.
pub async fn create_static<C: sea_orm::ConnectionTrait>(
    db: &C,
    owner: i64,
    name: &str,
) -> AppResult<i64> {
    let criteria = stored("crm", Criteria::default())?;
    Ok(
        store::insert_list(db, owner, name.to_owned(), criteria, false)
            .await?
            .id,
    )
}

/// The static lists of a user, which a selection can be added to.
pub async fn static_lists<C: sea_orm::ConnectionTrait>(db: &C, owner: i64) -> AppResult<Vec<Opt>> {
    Ok(store::static_lists(db, owner)
        .await?
        .into_iter()
        .map(|l| Opt {
            value: l.id.to_string(),
            label: l.name,
        })
        .collect())
}

/// Every list of a user, newest first.
pub async fn lists_of(state: &AppState, owner: i64) -> AppResult<Vec<saved_lists::Model>> {
    store::lists_of(&state.db, owner).await
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
        c = c.add(persons::Column::Status.eq(crate::people::model::Status::Active.as_str()));
    }
    Ok(c)
}

/// A list of `owner` (404 for anyone else's) with its first 500 members
/// by name and their number.
pub async fn show(
    state: &AppState,
    owner: i64,
    id: i64,
) -> AppResult<(saved_lists::Model, u64, Vec<persons::Model>)> {
    let list = store::list(&state.db, id)
        .await?
        .filter(|l| l.owner_user_id == Some(owner))
        .ok_or(AppError::NotFound)?;
    let cond = members_condition(&list, Backend::of(&state.db))?;
    let (total, persons) = search::page(&state.db, cond, Sort::Name, false, 1, 500).await?;
    Ok((list, total, persons))
}
