//! The queries of person photos.

use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::app::AppState;
use crate::error::AppResult;
use amicale_store::entities::{person_photos, persons};

/// Which of these persons have a photo.
pub async fn with_photo(state: &AppState, ids: &[i64]) -> AppResult<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(person_photos::Entity::find()
        .select_only()
        .column(person_photos::Column::PersonId)
        .filter(person_photos::Column::PersonId.is_in(ids.to_vec()))
        .into_tuple()
        .all(&state.db)
        .await?)
}

/// Sets the photo of person `id`, replacing the one it had.
pub async fn save<C: ConnectionTrait>(db: &C, id: i64, mime: &str, data: Vec<u8>) -> AppResult<()> {
    person_photos::Entity::insert(person_photos::ActiveModel {
        person_id: Set(id),
        content_type: Set(mime.to_owned()),
        data: Set(data),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(person_photos::Column::PersonId)
            .update_columns([
                person_photos::Column::ContentType,
                person_photos::Column::Data,
                person_photos::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<()> {
    person_photos::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

pub async fn person<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Option<persons::Model>> {
    Ok(persons::Entity::find_by_id(id).one(db).await?)
}

pub async fn photo<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Option<person_photos::Model>> {
    Ok(person_photos::Entity::find_by_id(id).one(db).await?)
}
