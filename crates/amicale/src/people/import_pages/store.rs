//! The queries of the import: its job rows, and the creator it runs for.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::AppResult;
use amicale_store::entities::{jobs, permission_profiles, users};

/// Stores a preview: the job waits, with its file, for its creator to
/// confirm it.
pub async fn insert_preview<C: ConnectionTrait>(
    db: &C,
    total: i64,
    payload: String,
    by: i64,
    now: DateTime<Utc>,
) -> AppResult<jobs::Model> {
    Ok(jobs::ActiveModel {
        kind: Set("people-import".into()),
        state: Set("preview".into()),
        total: Set(total),
        done: Set(0),
        payload: Set(payload),
        created_by: Set(Some(by)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Queues preview `id` if `by` made it; the number of jobs queued.
pub async fn queue_preview<C: ConnectionTrait>(db: &C, id: i64, by: i64) -> AppResult<u64> {
    Ok(jobs::Entity::update_many()
        .col_expr(jobs::Column::State, Expr::value("queued"))
        .col_expr(jobs::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(jobs::Column::Id.eq(id))
        .filter(jobs::Column::Kind.eq("people-import"))
        .filter(jobs::Column::State.eq("preview"))
        .filter(jobs::Column::CreatedBy.eq(by))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes the previews made before `before`.
pub async fn delete_previews<C: ConnectionTrait>(db: &C, before: DateTime<Utc>) -> AppResult<u64> {
    Ok(jobs::Entity::delete_many()
        .filter(jobs::Column::Kind.eq("people-import"))
        .filter(jobs::Column::State.eq("preview"))
        .filter(jobs::Column::CreatedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn user<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Option<users::Model>> {
    Ok(users::Entity::find_by_id(id).one(db).await?)
}

pub async fn profile<C: ConnectionTrait>(
    db: &C,
    id: i64,
) -> AppResult<Option<permission_profiles::Model>> {
    Ok(permission_profiles::Entity::find_by_id(id).one(db).await?)
}
