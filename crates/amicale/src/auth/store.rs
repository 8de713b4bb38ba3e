//! Queries of the accounts feature.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, TransactionTrait,
};

use crate::auth::model::NewPassword;
use crate::auth::password;
use crate::error::{AppError, AppResult};
use crate::web::session;
use amicale_kernel::Login;
use amicale_kernel::crypto::{random_token, sha256_hex};
use amicale_store::entities::{login_throttle, password_resets, users};

/// Failures allowed within [`WINDOW`] before the account is locked for [`LOCK`].
pub const MAX_FAILURES: i32 = 5;
pub const WINDOW: Duration = Duration::minutes(15);
pub const LOCK: Duration = Duration::minutes(15);
/// A reset link is valid this long, once.
pub const RESET_VALIDITY: Duration = Duration::hours(1);

pub async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    email: &Login,
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
    email: &Login,
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

/// Takes one attempt of `key` before the password is checked, in single
/// statements: parallel guesses get no more tries than `max` between them.
/// `Err(until)` when the key is locked.
pub async fn take_attempt(
    db: &DatabaseConnection,
    key: &str,
    max: i32,
    now: DateTime<Utc>,
) -> AppResult<Result<(), DateTime<Utc>>> {
    use sea_orm::sea_query::ExprTrait;
    login_throttle::Entity::insert(login_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(0),
        window_start: Set(now),
        locked_until: Set(None),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    // A window that ended without a lock, or a lock long past, starts again.
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::Failures, Expr::value(0))
        .col_expr(login_throttle::Column::WindowStart, Expr::value(now))
        .col_expr(
            login_throttle::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(login_throttle::Column::Key.eq(key))
        .filter(
            sea_orm::Condition::any()
                .add(
                    sea_orm::Condition::all()
                        .add(login_throttle::Column::LockedUntil.is_null())
                        .add(login_throttle::Column::WindowStart.lte(now - WINDOW)),
                )
                .add(login_throttle::Column::LockedUntil.lte(now - Duration::days(1))),
        )
        .exec(db)
        .await?;
    // Free below the limit; once a lock has passed, one try at a time (the
    // try clears the lock, so the others wait for its outcome).
    let taken = login_throttle::Entity::update_many()
        .col_expr(
            login_throttle::Column::Failures,
            Expr::col(login_throttle::Column::Failures).add(Expr::value(1)),
        )
        .col_expr(
            login_throttle::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(login_throttle::Column::Key.eq(key))
        .filter(
            sea_orm::Condition::any()
                .add(
                    sea_orm::Condition::all()
                        .add(login_throttle::Column::LockedUntil.is_null())
                        .add(login_throttle::Column::Failures.lt(max)),
                )
                .add(login_throttle::Column::LockedUntil.lte(now)),
        )
        .exec(db)
        .await?
        .rows_affected;
    if taken == 1 {
        return Ok(Ok(()));
    }
    let until = login_throttle::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .and_then(|t| t.locked_until)
        .filter(|u| *u > now)
        .unwrap_or(now + LOCK);
    Ok(Err(until))
}

/// The attempt failed: when it was the last one allowed, `key` is locked,
/// for twice as long each time it is locked again within a day (backoff).
pub async fn attempt_failed(
    db: &DatabaseConnection,
    key: &str,
    max: i32,
    now: DateTime<Utc>,
) -> AppResult<Option<DateTime<Utc>>> {
    let Some(t) = login_throttle::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if t.failures < max {
        return Ok(None);
    }
    let rounds = (t.failures - max).clamp(0, 6) as u32;
    let until = now + LOCK * 2i32.pow(rounds);
    login_throttle::Entity::update_many()
        .col_expr(
            login_throttle::Column::LockedUntil,
            Expr::value(Some(until)),
        )
        .filter(login_throttle::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(Some(until))
}

/// A try that was not a failure (the password was right, or another limit
/// refused it first) gives its attempt back.
pub async fn give_back(db: &DatabaseConnection, key: &str, max: i32) -> AppResult<()> {
    use sea_orm::sea_query::ExprTrait;
    login_throttle::Entity::update_many()
        .col_expr(
            login_throttle::Column::Failures,
            Expr::col(login_throttle::Column::Failures).sub(Expr::value(1)),
        )
        .filter(login_throttle::Column::Key.eq(key))
        .filter(login_throttle::Column::Failures.gt(0))
        .exec(db)
        .await?;
    // After a lock that passed, the count stays at the limit: one failure
    // locks again, but a success must not leave the key shut.
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::Failures, Expr::value(max - 1))
        .filter(login_throttle::Column::Key.eq(key))
        .filter(login_throttle::Column::LockedUntil.is_null())
        .filter(login_throttle::Column::Failures.gte(max))
        .exec(db)
        .await?;
    Ok(())
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
    // A range, not LIKE: `_` and `%` are valid in addresses. '|' + 1 is '}'.
    let email = email.to_lowercase();
    login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::Key.gte(format!("{email}|")))
        .filter(login_throttle::Column::Key.lt(format!("{email}}}")))
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
