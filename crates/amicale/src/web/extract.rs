//! Authorisation extractors: a handler that takes one of these cannot run for
//! someone who lacks the right.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::AppState;
use crate::error::AppError;
use crate::web::session::SessionUser;
use amicale_kernel::permissions::{Level, Module};
use amicale_store::entities::users;

/// A signed-in user; visitors are sent to the login page and come back after.
pub struct CurrentUser(pub SessionUser);

impl CurrentUser {
    pub fn user(&self) -> &users::Model {
        &self.0.user
    }
}

fn login_redirect(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let encoded: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    Redirect::to(&format!("/login?next={encoded}")).into_response()
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SessionUser>()
            .cloned()
            .map(CurrentUser)
            .ok_or_else(|| login_redirect(parts))
    }
}

/// A right that a user may hold. The permission-profile issue adds profiles
/// and scopes; every check already goes through this trait.
pub trait Permission: Send + Sync + 'static {
    fn allows(s: &SessionUser) -> bool;
}

/// The network administrator.
pub struct Admin;

impl Permission for Admin {
    fn allows(s: &SessionUser) -> bool {
        s.user.is_admin
    }
}

/// True when the user's profile grants `level` on `module`; administrators
/// hold every right.
pub fn grants(s: &SessionUser, module: Module, level: Level) -> bool {
    s.user.is_admin || s.profile.as_ref().is_some_and(|m| m.allows(module, level))
}

/// Uses the directory and profiles: members, staff whose profile shows the
/// directory, administrators; never recruiters, partners or visitors.
pub struct Member;

impl Permission for Member {
    fn allows(s: &SessionUser) -> bool {
        s.member || grants(s, Module::Directory, Level::Consult)
    }
}

/// Consults the person records of the CRM, within the profile's scope.
pub struct ViewPeople;

impl Permission for ViewPeople {
    fn allows(s: &SessionUser) -> bool {
        grants(s, Module::People, Level::Consult)
    }
}

/// Edits person records, runs bulk actions and imports, within the scope.
pub struct EditPeople;

impl Permission for EditPeople {
    fn allows(s: &SessionUser) -> bool {
        grants(s, Module::People, Level::Modify)
    }
}

/// Creates person records.
pub struct CreatePeople;

impl Permission for CreatePeople {
    fn allows(s: &SessionUser) -> bool {
        grants(s, Module::People, Level::Create)
    }
}

/// Accepts or refuses self-registrations.
pub struct Moderate;

impl Permission for Moderate {
    fn allows(s: &SessionUser) -> bool {
        grants(s, Module::Registrations, Level::Modify)
    }
}

/// Writes and manages message templates: communication managers and
/// administrators.
pub struct ManageTemplates;

impl Permission for ManageTemplates {
    fn allows(s: &SessionUser) -> bool {
        grants(s, Module::Templates, Level::Modify)
    }
}

/// Consults events, the agenda and participants.
pub struct ViewEvents;

impl Permission for ViewEvents {
    fn allows(s: &SessionUser) -> bool {
        grants(s, Module::Events, Level::Consult)
    }
}

/// Creates and edits events, registers participants, takes attendance.
pub struct EditEvents;

impl Permission for EditEvents {
    fn allows(s: &SessionUser) -> bool {
        grants(s, Module::Events, Level::Modify)
    }
}

/// Reads the sends' reports.
pub struct ViewSends;

impl Permission for ViewSends {
    fn allows(s: &SessionUser) -> bool {
        grants(s, Module::Sends, Level::Consult)
    }
}

/// Sends templates from a person page or an event page.
pub struct SendMessages;

impl Permission for SendMessages {
    fn allows(s: &SessionUser) -> bool {
        grants(s, Module::Sends, Level::Modify)
    }
}

/// Sets up campaigns and automatic rules.
pub struct ManageSends;

impl Permission for ManageSends {
    fn allows(s: &SessionUser) -> bool {
        grants(s, Module::Sends, Level::Create)
    }
}

/// A signed-in user holding `P`; others get 403 (or the login page when not signed in).
pub struct Require<P: Permission>(pub SessionUser, PhantomData<P>);

impl<P: Permission> Require<P> {
    pub fn user(&self) -> &users::Model {
        &self.0.user
    }
}

impl<P: Permission> FromRequestParts<AppState> for Require<P> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(s) = CurrentUser::from_request_parts(parts, state).await?;
        if P::allows(&s) {
            Ok(Require(s, PhantomData))
        } else {
            Err(AppError::Forbidden.into_response())
        }
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<SessionUser>()
            .cloned()
            .map(CurrentUser))
    }
}

/// A kind of record whose id comes in paths and that a staff user's scope
/// limits. Each feature implements it for its records, so the shell knows
/// none of them.
pub trait Scoped: Send + Sync + 'static {
    /// Whether `who` may see record `id` (an unknown id is not visible).
    fn visible(
        state: &AppState,
        who: &SessionUser,
        id: i64,
    ) -> impl std::future::Future<Output = crate::error::AppResult<bool>> + Send;
}

/// The `{id}` of the path: a record of kind `S` within the scope of a user
/// holding `P`. A record out of scope answers 404, as an unknown one does,
/// so a handler that takes this cannot forget the check.
pub struct InScope<S: Scoped, P: Permission> {
    pub id: i64,
    pub who: Require<P>,
    _kind: PhantomData<S>,
}

impl<S: Scoped, P: Permission> FromRequestParts<AppState> for InScope<S, P> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = Require::<P>::from_request_parts(parts, state).await?;
        let axum::extract::Path(params) = axum::extract::Path::<
            std::collections::HashMap<String, String>,
        >::from_request_parts(parts, state)
        .await
        .map_err(|_| AppError::NotFound.into_response())?;
        let id = params
            .get("id")
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| AppError::NotFound.into_response())?;
        match S::visible(state, &who.0, id).await {
            Ok(true) => Ok(InScope {
                id,
                who,
                _kind: PhantomData,
            }),
            Ok(false) => Err(AppError::NotFound.into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}
