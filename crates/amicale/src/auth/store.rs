//! Queries of the accounts feature.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, TransactionTrait,
};

use crate::auth::model::{Email, NewPassword};
use crate::auth::password;
use crate::crypto::{random_token, sha256_hex};
use crate::db::entities::{login_throttle, password_resets, users};
use crate::error::{AppError, AppResult};
use crate::web::session;

/// Failures allowed within [`WINDOW`] before the account is locked for [`LOCK`].
pub const MAX_FAILURES: i32 = 5;
pub const WINDOW: Duration = Duration::minutes(15);
pub const LOCK: Duration = Duration::minutes(15);
/// A reset link is valid this long, once.
pub const RESET_VALIDITY: Duration = Duration::hours(1);

pub async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    email: &Email,
) -> AppResult<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await?)
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("an account with this e-mail already exists")]
    Exists,
    #[error(transparent)]
    App(#[from] AppError),
}

pub async fn create_user(
    db: &DatabaseConnection,
    email: &Email,
    password: &NewPassword,
    display_name: &str,
    is_admin: bool,
    locale: &str,
) -> Result<users::Model, CreateError> {
    if find_by_email(db, email).await?.is_some() {
        return Err(CreateError::Exists);
    }
    let hash = password::hash(password.expose().to_owned()).await?;
    let now = Utc::now();
    let user = users::ActiveModel {
        email: Set(email.as_str().to_owned()),
        password_hash: Set(hash),
        display_name: Set(display_name.to_owned()),
        is_admin: Set(is_admin),
        locale: Set(locale.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        // The check above and this insert are not atomic: the unique index
        // decides between two creations at once.
        if crate::error::is_unique_violation(&e) {
            CreateError::Exists
        } else {
            CreateError::App(e.into())
        }
    })?;
    Ok(user)
}

/// Sets a new password and ends the user's other sessions (all when `keep` is None).
pub async fn set_password<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    hash: String,
    keep_session: Option<&str>,
) -> AppResult<()> {
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash))
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    session::destroy_all_of(db, user_id, keep_session).await
}

pub async fn set_locale(db: &DatabaseConnection, user_id: i64, locale: &str) -> AppResult<()> {
    users::Entity::update_many()
        .col_expr(users::Column::Locale, Expr::value(locale))
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// When the key is locked, until when.
pub async fn locked_until(
    db: &DatabaseConnection,
    key: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<DateTime<Utc>>> {
    Ok(login_throttle::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .and_then(|t| t.locked_until)
        .filter(|until| *until > now))
}

/// The throttle key of logins to `email` from `client`: failures lock that
/// client out of that account only, so nobody can lock the owner out.
pub fn account_key(email: &str, client: &str) -> String {
    format!("{}|{client}", email.to_lowercase())
}

/// The throttle key of every login from `client`, whatever the account:
/// spraying one password across accounts counts here.
pub fn client_key(client: &str) -> String {
    format!("client|{client}")
}

/// Counts a failed login; returns the lock end when this failure locks the
/// key. A key locked again within a day waits twice as long each time.
pub async fn record_failure(
    db: &DatabaseConnection,
    key: &str,
    max_failures: i32,
    now: DateTime<Utc>,
) -> AppResult<Option<DateTime<Utc>>> {
    let txn = db.begin().await?;
    let current = login_throttle::Entity::find_by_id(key.to_owned())
        .one(&txn)
        .await?;
    let (failures, window_start) = match &current {
        Some(t) if now - t.window_start < WINDOW && t.locked_until.is_none_or(|u| u > now) => {
            (t.failures + 1, t.window_start)
        }
        // A lock that passed: the count goes on from where it was, so each
        // further failure locks again, for longer (backoff).
        Some(t)
            if t.locked_until.is_some_and(|u| u <= now)
                && now - t.window_start < Duration::days(1) =>
        {
            (t.failures + 1, t.window_start)
        }
        _ => (1, now),
    };
    let locked = (failures >= max_failures).then(|| {
        let rounds = (failures - max_failures).clamp(0, 6) as u32;
        now + LOCK * 2i32.pow(rounds)
    });
    let model = login_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(failures),
        window_start: Set(window_start),
        locked_until: Set(locked),
    };
    if current.is_some() {
        model.update(&txn).await?;
    } else {
        model.insert(&txn).await?;
    }
    txn.commit().await?;
    Ok(locked)
}

pub async fn clear_failures(db: &DatabaseConnection, key: &str) -> AppResult<()> {
    login_throttle::Entity::delete_by_id(key.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// Lifts every lock on logins to `email`, from any client (a reset proved
/// the owner holds the mailbox).
pub async fn clear_account<C: ConnectionTrait>(db: &C, email: &str) -> AppResult<()> {
    login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::Key.starts_with(format!("{}|", email.to_lowercase())))
        .exec(db)
        .await?;
    Ok(())
}

/// Creates a reset token for `user_id` inside the caller's transaction.
pub async fn create_reset<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let token = random_token(32);
    password_resets::Entity::insert(password_resets::ActiveModel {
        token_hash: Set(sha256_hex(&token)),
        user_id: Set(user_id),
        created_at: Set(now),
        expires_at: Set(now + RESET_VALIDITY),
        used_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(token)
}

/// A reset requested for this user in the last minutes, to refuse floods.
pub async fn recent_reset(
    db: &DatabaseConnection,
    user_id: i64,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    Ok(password_resets::Entity::find()
        .filter(password_resets::Column::UserId.eq(user_id))
        .filter(password_resets::Column::CreatedAt.gt(now - Duration::minutes(2)))
        .one(db)
        .await?
        .is_some())
}

/// The user a reset token opens, when it is unused and unexpired.
pub async fn valid_reset(
    db: &DatabaseConnection,
    token: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<i64>> {
    Ok(password_resets::Entity::find_by_id(sha256_hex(token))
        .filter(password_resets::Column::UsedAt.is_null())
        .filter(password_resets::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
        .map(|r| r.user_id))
}

/// Uses a reset token and sets the password, atomically: of two concurrent
/// submissions only one succeeds. Returns the user id, or None when the token
/// was already used or expired.
pub async fn consume_reset(
    db: &DatabaseConnection,
    token: &str,
    new_password: &NewPassword,
    now: DateTime<Utc>,
) -> AppResult<Option<i64>> {
    let Some(user_id) = valid_reset(db, token, now).await? else {
        return Ok(None);
    };
    let hash = password::hash(new_password.expose().to_owned()).await?;
    let txn = db.begin().await?;
    let used = password_resets::Entity::update_many()
        .col_expr(password_resets::Column::UsedAt, Expr::value(now))
        .filter(password_resets::Column::TokenHash.eq(sha256_hex(token)))
        .filter(password_resets::Column::UsedAt.is_null())
        .filter(password_resets::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    set_password(&txn, user_id, hash, None).await?;
    if let Some(u) = users::Entity::find_by_id(user_id).one(&txn).await? {
        clear_account(&txn, &u.email).await?;
    }
    txn.commit().await?;
    Ok(Some(user_id))
}
