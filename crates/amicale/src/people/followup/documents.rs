//! Documents kept on a person's follow-up: checked by their content
//! like every upload, at most 5 MB, served only to staff who can see the
//! person, always as a download (never rendered by the browser).

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::store;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::scope::Persons;
use crate::uploads;
use crate::web::extract::InScope;
use crate::web::extract::{EditPeople, ViewPeople};

pub const MAX_DOCUMENT: usize = 5 * 1024 * 1024;

pub struct DocView {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub date: String,
    pub by: String,
}

pub async fn list(state: &AppState, person: i64) -> AppResult<Vec<DocView>> {
    let rows = store::documents(&state.db, person).await?;
    let uploaders: Vec<i64> = rows.iter().filter_map(|r| r.uploaded_by).collect();
    let names = store::user_names(&state.db, uploaders).await?;
    let mut out = Vec::new();
    for r in rows {
        let by = r
            .uploaded_by
            .and_then(|u| names.get(&u).cloned())
            .unwrap_or_default();
        let size = r.size;
        out.push(DocView {
            id: r.id,
            name: r.name,
            size: if size >= 1024 * 1024 {
                format!("{:.1} MB", size as f64 / (1024.0 * 1024.0))
            } else {
                format!("{} KB", (size + 1023) / 1024)
            },
            date: crate::comms::context::local(state, r.created_at),
            by,
        });
    }
    Ok(out)
}

fn back(id: i64, notice: &str) -> Response {
    Redirect::to(&format!(
        "/admin/people/{id}/followup?notice={notice}#fu-documents"
    ))
    .into_response()
}

pub async fn upload(
    State(state): State<AppState>,
    InScope { id, who, .. }: InScope<Persons, EditPeople>,
    mut mp: Multipart,
) -> AppResult<Response> {
    let mut outcome = "doc-missing";
    if let Some((name, bytes)) = uploads::file_field(&mut mp, "document").await? {
        let name = uploads::clean_filename(&name);
        outcome = match uploads::check(&name, &bytes, MAX_DOCUMENT) {
            Ok(kind) => {
                store::insert_document(&state.db, id, name, kind.mime, &bytes, who.0.user.id)
                    .await?;
                "doc-saved"
            }
            Err(uploads::Refusal::TooLarge) => "doc-too-large",
            Err(uploads::Refusal::Empty) => "doc-missing",
            Err(_) => "doc-refused",
        };
    }
    Ok(back(id, outcome))
}

pub async fn download(
    State(state): State<AppState>,
    InScope { .. }: InScope<Persons, ViewPeople>,
    Path((id, doc)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let (name, mime, data) = store::document(&state.db, id, doc)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut res = data.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!(
            "attachment; filename*=UTF-8''{}",
            encoded.replace('+', "%20")
        ))
        .unwrap_or(HeaderValue::from_static("attachment")),
    );
    // nosniff and no-store come from the security headers of every response.
    Ok(res)
}

pub async fn remove(
    State(state): State<AppState>,
    InScope { .. }: InScope<Persons, EditPeople>,
    Path((id, doc)): Path<(i64, i64)>,
) -> AppResult<Response> {
    if !store::delete(&state.db, "person_documents", id, doc).await? {
        return Err(AppError::NotFound);
    }
    Ok(back(id, "doc-deleted"))
}
