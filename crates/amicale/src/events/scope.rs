//! Which events a staff user may see and act on: the scope of their
//! permission profile for the Events module, like persons in the CRM.
//! "Own site" and "own team" read the facilitators' site and team, since an
//! event belongs to the antenna whose staff run it; "assigned to me" is the
//! events one facilitates or created.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter};

use crate::app::AppState;
use crate::error::AppResult;
use crate::web::session::SessionUser;
use amicale_kernel::permissions::{Module, Scope};
use amicale_store::entities::{event_facilitators, events, users};

/// Events facilitated by a user matching `who`.
fn facilitated_by(who: Condition) -> Condition {
    let users_matching = Query::select()
        .column(users::Column::Id)
        .from(users::Entity)
        .cond_where(who)
        .to_owned();
    Condition::all().add(
        events::Column::Id.in_subquery(
            Query::select()
                .column(event_facilitators::Column::EventId)
                .from(event_facilitators::Entity)
                .and_where(
                    Expr::col(event_facilitators::Column::UserId).in_subquery(users_matching),
                )
                .to_owned(),
        ),
    )
}

pub fn condition(s: &SessionUser) -> Condition {
    let nobody = || Condition::all().add(Expr::cust("1 = 0"));
    if s.user.is_admin {
        return Condition::all();
    }
    let scope = s
        .profile
        .as_ref()
        .map(|m| m.get(Module::Events).scope)
        .unwrap_or_default();
    match scope {
        Scope::All => Condition::all(),
        Scope::Site => match &s.user.site {
            Some(site) => {
                facilitated_by(Condition::all().add(users::Column::Site.eq(site.clone())))
            }
            None => nobody(),
        },
        Scope::Team => match &s.user.team {
            Some(team) => {
                facilitated_by(Condition::all().add(users::Column::Team.eq(team.clone())))
            }
            None => nobody(),
        },
        Scope::Assigned => Condition::any()
            .add(facilitated_by(
                Condition::all().add(users::Column::Id.eq(s.user.id)),
            ))
            .add(events::Column::CreatedBy.eq(s.user.id)),
    }
}

/// An event outside the user's scope does not exist for them.
pub async fn check(state: &AppState, s: &SessionUser, id: i64) -> AppResult<()> {
    let n = events::Entity::find()
        .filter(condition(s))
        .filter(events::Column::Id.eq(id))
        .count(&state.db)
        .await?;
    crate::error::found(n == 1)
}

/// Events, as the `{id}` of a path: within the user's Events scope.
pub struct Events;

impl crate::web::extract::Scoped for Events {
    async fn visible(state: &AppState, who: &SessionUser, id: i64) -> AppResult<bool> {
        match check(state, who, id).await {
            Ok(()) => Ok(true),
            Err(crate::error::AppError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
