//! The photo pages: upload, removal, and the photo itself.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::store;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::model::Status;
use crate::people::scope::Persons;
use crate::uploads;
use crate::web::extract::InScope;
use crate::web::extract::{EditPeople, Member, Require};

pub const MAX_PHOTO: usize = 1024 * 1024;

pub async fn upload(
    State(state): State<AppState>,
    InScope { id, .. }: InScope<Persons, EditPeople>,
    mut mp: Multipart,
) -> AppResult<Response> {
    let mut outcome = "photo-missing";
    if let Some((name, bytes)) = uploads::file_field(&mut mp, "photo").await? {
        outcome = match uploads::check(&name, &bytes, MAX_PHOTO) {
            Ok(kind) if kind.mime.starts_with("image/") => {
                store::save(&state.db, id, kind.mime, bytes.to_vec()).await?;
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
    store::delete(&state.db, id).await?;
    Ok(Redirect::to(&format!("/admin/people/{id}")).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    who: Require<Member>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let person = store::person(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let staff =
        <crate::web::extract::ViewPeople as crate::web::extract::Permission>::allows(&who.0);
    if person.status != Status::Active.as_str() && !staff {
        return Err(AppError::NotFound);
    }
    let photo = store::photo(&state.db, id)
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
