//! Sessions kept in the database: the cookie holds a random token, the table
//! only its SHA-256, so a copy of the database opens no session.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::app::AppState;
use crate::error::AppResult;
use crate::web::cookies;
use amicale_kernel::crypto::{random_token, sha256_hex};
use amicale_store::entities::{sessions, users};

pub const COOKIE: &str = "amicale_session";
/// "Remember me" keeps the session for 30 days; otherwise it ends with the
/// browser and, at the latest, after 12 hours.
pub const REMEMBER: Duration = Duration::days(30);
pub const SHORT: Duration = Duration::hours(12);

/// The signed-in user of a request, put in its extensions by [`load`].
#[derive(Clone, Debug)]
pub struct SessionUser {
    pub user: users::Model,
    pub token_hash: String,
    /// Holds a member role (student, alumni, teacher, staff) on their own
    /// person record: may use the directory. Recruiters and partners don't.
    pub member: bool,
    /// The staff user's permission profile, if any.
    pub profile: Option<amicale_kernel::permissions::Matrix>,
}

pub async fn load(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if let Some(token) = cookies::read(req.headers(), COOKIE) {
        match find(&state, &token, Utc::now()).await {
            Ok(Some(s)) => {
                req.extensions_mut().insert(s);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "session lookup failed"),
        }
    }
    next.run(req).await
}

async fn find(state: &AppState, token: &str, now: DateTime<Utc>) -> AppResult<Option<SessionUser>> {
    let hash = sha256_hex(token);
    let found = sessions::Entity::find_by_id(hash.clone())
        .filter(sessions::Column::ExpiresAt.gt(now))
        .find_also_related(users::Entity)
        .one(&state.db)
        .await?;
    let Some(user) = found.and_then(|(_, user)| user) else {
        return Ok(None);
    };
    let member = is_member(&state.db, user.id).await?;
    let profile = match user.profile_id {
        Some(id) => amicale_store::entities::permission_profiles::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .and_then(|p| serde_json::from_str(&p.matrix).ok()),
        None => None,
    };
    Ok(Some(SessionUser {
        user,
        token_hash: hash,
        member,
        profile,
    }))
}

async fn is_member<C: ConnectionTrait>(db: &C, user_id: i64) -> AppResult<bool> {
    use sea_orm::{QuerySelect, sea_query::Expr};
    let n = amicale_store::entities::persons::Entity::find()
        .select_only()
        .column(amicale_store::entities::persons::Column::Id)
        .filter(amicale_store::entities::persons::Column::UserId.eq(user_id))
        .filter(Expr::cust(
            "EXISTS (SELECT 1 FROM person_roles r WHERE r.person_id = \"persons\".\"id\" \
             AND r.role IN ('student', 'alumni', 'teacher', 'staff'))",
        ))
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(n.is_some())
}

/// Opens a session and returns the cookie to set.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    remember: bool,
    secure: bool,
) -> AppResult<axum::http::HeaderValue> {
    let token = random_token(32);
    let now = Utc::now();
    let life = if remember { REMEMBER } else { SHORT };
    sessions::Entity::insert(sessions::ActiveModel {
        token_hash: Set(sha256_hex(&token)),
        user_id: Set(user_id),
        remember: Set(remember),
        created_at: Set(now),
        expires_at: Set(now + life),
    })
    .exec_without_returning(db)
    .await?;
    let max_age = remember.then(|| life.num_seconds());
    Ok(cookies::build(COOKIE, &token, max_age, secure))
}

pub async fn destroy<C: ConnectionTrait>(db: &C, token_hash: &str) -> AppResult<()> {
    sessions::Entity::delete_by_id(token_hash.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of a user but `keep` (after a password change or reset).
pub async fn destroy_all_of<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    keep: Option<&str>,
) -> AppResult<()> {
    let mut q = sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(user_id));
    if let Some(k) = keep {
        q = q.filter(sessions::Column::TokenHash.ne(k));
    }
    q.exec(db).await?;
    Ok(())
}

pub async fn purge_expired<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> AppResult<u64> {
    Ok(sessions::Entity::delete_many()
        .filter(sessions::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}
