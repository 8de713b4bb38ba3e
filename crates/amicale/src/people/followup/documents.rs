//! Documents kept on a person's follow-up: checked by their content
//! like every upload, at most 5 MB, served only to staff who can see the
//! person, always as a download (never rendered by the browser).

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::scope::Persons;
use crate::uploads;
use crate::web::extract::InScope;
use crate::web::extract::{EditPeople, ViewPeople};
use amicale_store::entities::users;

pub const MAX_DOCUMENT: usize = 5 * 1024 * 1024;

pub struct DocView {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub date: String,
    pub by: String,
}

fn a(name: &str) -> Alias {
    Alias::new(name)
}

pub async fn list(state: &AppState, person: i64) -> AppResult<Vec<DocView>> {
    let mut q = Query::select();
    q.columns(["id", "name", "size", "uploaded_by", "created_at"].map(a))
        .from(a("person_documents"))
        .and_where(Expr::col(a("person_id")).eq(person))
        .order_by(a("id"), Order::Desc);
    let rows = state.db.query_all(&q).await?;
    let uploaders: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.try_get::<Option<i64>>("", "uploaded_by").ok().flatten())
        .collect();
    let names: std::collections::HashMap<i64, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(uploaders))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let mut out = Vec::new();
    for r in rows {
        let by = r
            .try_get::<Option<i64>>("", "uploaded_by")?
            .and_then(|u| names.get(&u).cloned())
            .unwrap_or_default();
        let size = r.try_get::<i64>("", "size")?;
        out.push(DocView {
            id: r.try_get("", "id")?,
            name: r.try_get("", "name")?,
            size: if size >= 1024 * 1024 {
                format!("{:.1} MB", size as f64 / (1024.0 * 1024.0))
            } else {
                format!("{} KB", (size + 1023) / 1024)
            },
            date: crate::comms::context::local(
                state,
                r.try_get::<DateTime<Utc>>("", "created_at")?,
            ),
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
                let mut q = Query::insert();
                q.into_table(a("person_documents"))
                    .columns(
                        [
                            "person_id",
                            "name",
                            "content_type",
                            "size",
                            "data",
                            "uploaded_by",
                            "created_at",
                        ]
                        .map(a),
                    )
                    .values_panic([
                        id.into(),
                        name.into(),
                        kind.mime.into(),
                        (bytes.len() as i64).into(),
                        bytes.to_vec().into(),
                        who.0.user.id.into(),
                        Utc::now().into(),
                    ]);
                state.db.execute(&q).await?;
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
    let mut q = Query::select();
    q.columns(["name", "content_type", "data"].map(a))
        .from(a("person_documents"))
        .and_where(Expr::col(a("id")).eq(doc))
        .and_where(Expr::col(a("person_id")).eq(id));
    let r = state.db.query_one(&q).await?.ok_or(AppError::NotFound)?;
    let name: String = r.try_get("", "name")?;
    let mime: String = r.try_get("", "content_type")?;
    let data: Vec<u8> = r.try_get("", "data")?;
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
    if !super::store::delete(&state.db, "person_documents", id, doc).await? {
        return Err(AppError::NotFound);
    }
    Ok(back(id, "doc-deleted"))
}
