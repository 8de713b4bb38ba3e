//! The queries of the account lifecycle: invitations, logins, and the
//! status a person's record takes with them.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use crate::error::AppResult;
use crate::people::model::Status;
use amicale_kernel::crypto::{random_token, sha256_hex};
use amicale_store::entities::{invitations, persons, sessions, users};

pub async fn persons_in<C: ConnectionTrait>(db: &C, ids: &[i64]) -> AppResult<Vec<persons::Model>> {
    Ok(persons::Entity::find()
        .filter(persons::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?)
}

pub async fn person<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Option<persons::Model>> {
    Ok(persons::Entity::find_by_id(id).one(db).await?)
}

pub async fn person_of_user<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
) -> AppResult<Option<persons::Model>> {
    Ok(persons::Entity::find()
        .filter(persons::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// A new invitation replaces the open one: only the latest link works.
pub async fn replace_invitation<C: ConnectionTrait>(
    db: &C,
    person_id: i64,
    now: DateTime<Utc>,
    by: Option<i64>,
) -> AppResult<invitations::Model> {
    invitations::Entity::delete_many()
        .filter(invitations::Column::PersonId.eq(person_id))
        .filter(invitations::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(invitations::ActiveModel {
        person_id: Set(person_id),
        // Replaced by the caller, once the id the link is derived from exists.
        token_hash: Set(sha256_hex(&random_token(16))),
        reminders: Set(0),
        created_at: Set(now),
        last_sent_at: Set(now),
        used_at: Set(None),
        created_by: Set(by),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn set_token_hash<C: ConnectionTrait>(db: &C, id: i64, hash: String) -> AppResult<()> {
    invitations::Entity::update_many()
        .col_expr(invitations::Column::TokenHash, Expr::value(hash))
        .filter(invitations::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The record shows it was invited, unless its owner deactivated it.
pub async fn mark_invited<C: ConnectionTrait>(db: &C, person_id: i64) -> AppResult<()> {
    persons::Entity::update_many()
        .col_expr(
            persons::Column::Status,
            Expr::value(Status::Invited.as_str()),
        )
        .filter(persons::Column::Id.eq(person_id))
        .filter(persons::Column::Status.ne(Status::Deactivated.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Open invitations below `stages` reminders, created at or before `by`.
pub async fn due_invitations<C: ConnectionTrait>(
    db: &C,
    stages: i32,
    by: DateTime<Utc>,
) -> AppResult<Vec<invitations::Model>> {
    Ok(invitations::Entity::find()
        .filter(invitations::Column::UsedAt.is_null())
        .filter(invitations::Column::Reminders.lt(stages))
        .filter(invitations::Column::CreatedAt.lte(by))
        .order_by_asc(invitations::Column::Id)
        .all(db)
        .await?)
}

/// Moves an invitation to stage `reached` if it is still at the stage it
/// was read at; how many rows moved.
pub async fn advance_reminder<C: ConnectionTrait>(
    db: &C,
    inv: &invitations::Model,
    reached: i32,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    Ok(invitations::Entity::update_many()
        .col_expr(invitations::Column::Reminders, Expr::value(reached))
        .col_expr(invitations::Column::LastSentAt, Expr::value(now))
        .filter(invitations::Column::Id.eq(inv.id))
        .filter(invitations::Column::Reminders.eq(inv.reminders))
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn unused_invitation<C: ConnectionTrait>(
    db: &C,
    token_hash: String,
) -> AppResult<Option<invitations::Model>> {
    Ok(invitations::Entity::find()
        .filter(invitations::Column::TokenHash.eq(token_hash))
        .filter(invitations::Column::UsedAt.is_null())
        .one(db)
        .await?)
}

/// Marks an invitation used if nobody did; how many rows changed.
pub async fn spend_invitation<C: ConnectionTrait>(
    db: &C,
    id: i64,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    Ok(invitations::Entity::update_many()
        .col_expr(invitations::Column::UsedAt, Expr::value(now))
        .filter(invitations::Column::Id.eq(id))
        .filter(invitations::Column::UsedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// The person asked never to be invited again; the invitation goes.
pub async fn stop_invitations<C: ConnectionTrait>(
    db: &C,
    person_id: i64,
    invitation_id: i64,
) -> AppResult<()> {
    persons::Entity::update_many()
        .col_expr(persons::Column::InvitationsStop, Expr::value(true))
        .filter(persons::Column::Id.eq(person_id))
        .exec(db)
        .await?;
    invitations::Entity::delete_by_id(invitation_id)
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_user<C: ConnectionTrait>(
    db: &C,
    user: users::ActiveModel,
) -> AppResult<users::Model> {
    Ok(user.insert(db).await?)
}

/// The record gets its login and becomes active.
pub async fn link_user<C: ConnectionTrait>(db: &C, person_id: i64, user_id: i64) -> AppResult<()> {
    persons::Entity::update_many()
        .col_expr(persons::Column::UserId, Expr::value(user_id))
        .col_expr(
            persons::Column::Status,
            Expr::value(Status::Active.as_str()),
        )
        .filter(persons::Column::Id.eq(person_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A deactivated record of this login becomes active; how many changed.
pub async fn reactivate<C: ConnectionTrait>(db: &C, user_id: i64) -> AppResult<u64> {
    Ok(persons::Entity::update_many()
        .col_expr(
            persons::Column::Status,
            Expr::value(Status::Active.as_str()),
        )
        .filter(persons::Column::UserId.eq(user_id))
        .filter(persons::Column::Status.eq(Status::Deactivated.as_str()))
        .exec(db)
        .await?
        .rows_affected)
}

/// The login's record is deactivated and every session of the login ends.
pub async fn deactivate<C: ConnectionTrait>(db: &C, user_id: i64) -> AppResult<()> {
    persons::Entity::update_many()
        .col_expr(
            persons::Column::Status,
            Expr::value(Status::Deactivated.as_str()),
        )
        .filter(persons::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Changes a login's address; how many logins changed.
pub async fn set_login_email<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    email: &str,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    Ok(users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(email))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?
        .rows_affected)
}
