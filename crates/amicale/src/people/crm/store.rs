//! The queries of the CRM list: choices for its selects, the columns a
//! user chose, the child rows its cells show, background jobs.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::app::AppState;
use crate::error::AppResult;
use amicale_store::entities::{
    groups, jobs, person_phones, person_roles, persons, programmes, user_prefs,
};

#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
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

/// The programmes and the groups, as choices.
pub async fn options(state: &AppState) -> AppResult<(Vec<Opt>, Vec<Opt>)> {
    Ok((
        choices::<programmes::Entity>(state, programmes::Column::Name).await?,
        choices::<groups::Entity>(state, groups::Column::Name).await?,
    ))
}

/// A user's stored preference.
pub async fn pref<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    key: &str,
) -> AppResult<Option<String>> {
    Ok(user_prefs::Entity::find_by_id((user_id, key.to_owned()))
        .one(db)
        .await?
        .map(|p| p.value))
}

pub async fn save_pref<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    key: &str,
    value: String,
) -> AppResult<()> {
    user_prefs::Entity::insert(user_prefs::ActiveModel {
        user_id: Set(user_id),
        key: Set(key.to_owned()),
        value: Set(value),
    })
    .on_conflict(
        OnConflict::columns([user_prefs::Column::UserId, user_prefs::Column::Key])
            .update_column(user_prefs::Column::Value)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

pub async fn roles_of<C: ConnectionTrait>(
    db: &C,
    ids: Vec<i64>,
) -> AppResult<Vec<person_roles::Model>> {
    Ok(person_roles::Entity::find()
        .filter(person_roles::Column::PersonId.is_in(ids))
        .all(db)
        .await?)
}

pub async fn principal_phones<C: ConnectionTrait>(
    db: &C,
    ids: Vec<i64>,
) -> AppResult<Vec<person_phones::Model>> {
    Ok(person_phones::Entity::find()
        .filter(person_phones::Column::PersonId.is_in(ids))
        .filter(person_phones::Column::IsPrincipal.eq(true))
        .all(db)
        .await?)
}

pub async fn recipient_types<C: ConnectionTrait>(db: &C, ids: Vec<i64>) -> AppResult<Vec<String>> {
    Ok(persons::Entity::find()
        .select_only()
        .column(persons::Column::RecipientType)
        .filter(persons::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn job<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Option<jobs::Model>> {
    Ok(jobs::Entity::find_by_id(id).one(db).await?)
}
