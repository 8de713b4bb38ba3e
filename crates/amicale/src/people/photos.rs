//! Person photos: uploaded by staff, at most 1 MB, PNG, JPEG or GIF as
//! told by the bytes (not the name), served to those who may see the person.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::model::Status;
use crate::people::scope::Persons;
use crate::uploads;
use crate::web::extract::InScope;
use crate::web::extract::{EditPeople, Member, Require};
use amicale_store::entities::{person_photos, persons};

pub const MAX_PHOTO: usize = 1024 * 1024;

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

pub async fn upload(
    State(state): State<AppState>,
    InScope { id, .. }: InScope<Persons, EditPeople>,
    mut mp: Multipart,
) -> AppResult<Response> {
    let mut outcome = "photo-missing";
    if let Some((name, bytes)) = uploads::file_field(&mut mp, "photo").await? {
        outcome = match uploads::check(&name, &bytes, MAX_PHOTO) {
            Ok(kind) if kind.mime.starts_with("image/") => {
                person_photos::Entity::insert(person_photos::ActiveModel {
                    person_id: Set(id),
                    content_type: Set(kind.mime.to_owned()),
                    data: Set(bytes.to_vec()),
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
                .exec(&state.db)
                .await?;
                "photo-saved"
            }
            Ok(_) => "photo-not-image",
            Err(uploads::Refusal::TooLarge) => "photo-too-large",
            Err(_) => "photo-not-image",
        };
    }
    Ok(Redirect::to(&format!("/admin/people/{id}?{outcome}")).into_response())
}

pub async fn remove(
    State(state): State<AppState>,
    InScope { id, .. }: InScope<Persons, EditPeople>,
) -> AppResult<Response> {
    person_photos::Entity::delete_by_id(id)
        .exec(&state.db)
        .await?;
    Ok(Redirect::to(&format!("/admin/people/{id}")).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    who: Require<Member>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let person = persons::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let staff =
        <crate::web::extract::ViewPeople as crate::web::extract::Permission>::allows(&who.0);
    if person.status != Status::Active.as_str() && !staff {
        return Err(AppError::NotFound);
    }
    let photo = person_photos::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut res = photo.data.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&photo.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(res)
}
