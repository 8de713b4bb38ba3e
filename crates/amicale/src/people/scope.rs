//! Which persons a staff user may see and act on: the scope of their
//! permission profile for the People module (everyone, their site, their
//! team's referents, or the persons assigned to them); administrators see
//! everyone. One concept, one name: lists, searches, exports, imports and
//! previews add [`condition`]; a path's `{id}` goes through
//! [`InScope`](crate::web::extract::InScope)`<Persons, _>`.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::search::cust;
use crate::web::session::SessionUser;
use amicale_store::Backend;
use amicale_store::entities::persons;

/// The persons a staff user may see in the CRM: their profile's scope for
/// the People module; administrators see everyone.
pub fn condition(s: &SessionUser, backend: Backend) -> Condition {
    use amicale_kernel::permissions::{Module, Scope as Reach};
    let nobody = || Condition::all().add(Expr::cust("1 = 0"));
    if s.user.is_admin {
        return Condition::all();
    }
    let right = s
        .profile
        .as_ref()
        .map(|m| m.get(Module::People))
        .unwrap_or_default();
    match right.scope {
        Reach::All => Condition::all(),
        Reach::Site => match &s.user.site {
            Some(site) => Condition::all().add(persons::Column::Site.eq(site.clone())),
            None => nobody(),
        },
        Reach::Team => match &s.user.team {
            Some(team) => Condition::all().add(cust(
                backend,
                "\"persons\".\"referent_user_id\" IN (SELECT id FROM users WHERE team = ?)",
                [team.clone()],
            )),
            None => nobody(),
        },
        Reach::Assigned => Condition::all().add(persons::Column::ReferentUserId.eq(s.user.id)),
    }
}

/// Whether person `id` lies within `who`'s scope (an unknown id does not).
pub async fn visible(state: &AppState, who: &SessionUser, id: i64) -> AppResult<bool> {
    let n = persons::Entity::find()
        .filter(condition(who, Backend::of(&state.db)))
        .filter(persons::Column::Id.eq(id))
        .count(&state.db)
        .await?;
    Ok(n == 1)
}

/// Which of `ids` lie within `reach` (a [`condition`]); every id when the
/// condition is empty (a scope of everyone).
pub async fn visible_among<C: ConnectionTrait>(
    db: &C,
    reach: &Condition,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<std::collections::HashSet<i64>> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if reach.is_empty() {
        return Ok(ids.into_iter().collect());
    }
    let mut visible = std::collections::HashSet::new();
    for chunk in ids.chunks(1000) {
        visible.extend(
            persons::Entity::find()
                .select_only()
                .column(persons::Column::Id)
                .filter(reach.clone())
                .filter(persons::Column::Id.is_in(chunk.to_vec()))
                .into_tuple::<i64>()
                .all(db)
                .await?,
        );
    }
    Ok(visible)
}

/// A person outside the user's scope does not exist for them: 404.
pub async fn check(state: &AppState, who: &SessionUser, id: i64) -> AppResult<()> {
    if visible(state, who, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Person records, as the `{id}` of a path: within the user's People scope.
pub struct Persons;

impl crate::web::extract::Scoped for Persons {
    async fn visible(state: &AppState, who: &SessionUser, id: i64) -> AppResult<bool> {
        visible(state, who, id).await
    }
}
