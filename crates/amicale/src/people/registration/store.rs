//! The queries of self-registration: requests waiting for their link, and
//! registrations waiting for a moderator.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::crm::Opt;
use amicale_store::entities::{persons, programmes, registration_requests, registrations};

/// A request whose link has not expired.
pub async fn live_request<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<registration_requests::Model>> {
    Ok(
        registration_requests::Entity::find_by_id(token_hash.to_owned())
            .filter(registration_requests::Column::ExpiresAt.gt(now))
            .one(db)
            .await?,
    )
}

pub async fn insert_request<C: ConnectionTrait>(
    db: &C,
    token_hash: String,
    email: &str,
    data: String,
    now: DateTime<Utc>,
    life: Duration,
) -> AppResult<()> {
    registration_requests::ActiveModel {
        token_hash: Set(token_hash),
        email: Set(email.to_owned()),
        data: Set(data),
        created_at: Set(now),
        expires_at: Set(now + life),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Deletes a request; how many rows went (one for the first of two
/// clicks at once, none for the other).
pub async fn take_request<C: ConnectionTrait>(db: &C, token_hash: String) -> AppResult<u64> {
    Ok(registration_requests::Entity::delete_by_id(token_hash)
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn purge_requests<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> AppResult<u64> {
    Ok(registration_requests::Entity::delete_many()
        .filter(registration_requests::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn person<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Option<persons::Model>> {
    Ok(persons::Entity::find_by_id(id).one(db).await?)
}

pub async fn person_or_404<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<persons::Model> {
    person(db, id).await?.ok_or(AppError::NotFound)
}

pub async fn registration<C: ConnectionTrait>(
    db: &C,
    person_id: i64,
) -> AppResult<Option<registrations::Model>> {
    Ok(registrations::Entity::find_by_id(person_id).one(db).await?)
}

pub async fn insert_registration<C: ConnectionTrait>(
    db: &C,
    reg: registrations::ActiveModel,
) -> AppResult<registrations::Model> {
    Ok(reg.insert(db).await?)
}

/// Deletes a registration; how many rows went (of two moderators at once,
/// one gets 1).
pub async fn take_registration<C: ConnectionTrait>(db: &C, person_id: i64) -> AppResult<u64> {
    Ok(registrations::Entity::delete_by_id(person_id)
        .exec(db)
        .await?
        .rows_affected)
}

/// The moderation queue, oldest first.
pub async fn queue<C: ConnectionTrait>(db: &C) -> AppResult<Vec<registrations::Model>> {
    Ok(registrations::Entity::find()
        .order_by_asc(registrations::Column::CreatedAt)
        .all(db)
        .await?)
}

/// How many registrations wait for an answer (a count, not the rows).
pub async fn pending<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    Ok(registrations::Entity::find().count(db).await?)
}

/// The programmes a visitor may choose from.
pub async fn programme_options(state: &AppState) -> AppResult<Vec<Opt>> {
    crate::people::crm::choices::<programmes::Entity>(state, programmes::Column::Name).await
}
