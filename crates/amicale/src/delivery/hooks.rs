//! The delivery engine's doors on the web: the open pixel and click
//! redirect of tracked mails, the bounce webhook and SMS delivery receipts.
//! Each parses the request and hands it to the engine.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use amicale_delivery::sms::receipts;
use amicale_delivery::{bounces, tracking};
use amicale_mailkit::dsn;
use amicale_sms::provider::json_fields;

use crate::app::AppState;
use crate::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/o/{id}/{sig}", get(open))
        .route("/t/c/{id}/{target}/{sig}", get(click))
        .route("/hooks/bounces", post(bounce))
        .route("/hooks/sms/{token}", get(receipt).post(receipt))
}

async fn open(State(state): State<AppState>, Path((id, sig)): Path<(i64, String)>) -> Response {
    tracking::opened(&state, id, &sig).await;
    // The image is served whatever happens: a mail client shows no error.
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store, private"),
        ],
        tracking::PIXEL.to_vec(),
    )
        .into_response()
}

async fn click(
    State(state): State<AppState>,
    Path((id, target, sig)): Path<(i64, String, String)>,
) -> AppResult<Response> {
    let url = tracking::clicked(&state, id, &target, &sig).await?;
    let mut res = Redirect::to(&url).into_response();
    *res.status_mut() = StatusCode::FOUND;
    Ok(res)
}

/// `POST /hooks/bounces`: a raw bounce e-mail, with the configured bearer
/// token; not found while no token is configured.
async fn bounce(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    match bounces::webhook_token_matches(&state, given) {
        None => return Err(AppError::NotFound),
        Some(false) => return Ok(StatusCode::UNAUTHORIZED.into_response()),
        Some(true) => {}
    }
    let Some(bounce) = dsn::parse(&body) else {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, "not a bounce").into_response());
    };
    let (suppressed, matched) = bounces::record(&state, &bounce).await?;
    Ok(Json(serde_json::json!({
        "recipients": bounce.recipients.len(),
        "suppressed": suppressed,
        "matched": matched,
    }))
    .into_response())
}

/// `/hooks/sms/{token}`: a provider's delivery receipt, in the query
/// string, a form or JSON.
async fn receipt(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    if !receipts::token_matches(&state, &token) {
        return Err(AppError::NotFound);
    }
    let mut fields: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        fields.extend(json_fields(&String::from_utf8_lossy(&body)));
    } else {
        fields.extend(form_urlencoded::parse(&body).into_owned());
    }
    match receipts::apply(&state, &fields).await? {
        Some(_) => Ok((StatusCode::OK, "ok").into_response()),
        None => Ok((StatusCode::BAD_REQUEST, "no message id or status").into_response()),
    }
}
