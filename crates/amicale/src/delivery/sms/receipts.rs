//! Delivery receipts: providers call `/hooks/sms/{token}` (GET or POST,
//! form or JSON) with their id of a message and its status. The token is
//! an HMAC of the network's secret, so only the URL we gave them works.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use amicale_sms::provider::{json_fields, read_receipt};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use amicale_store::entities::outbox;

const PURPOSE: &str = "sms-receipt";

/// The receipt URL handed to providers.
pub fn url(state: &AppState) -> String {
    state.url(&format!("/hooks/sms/{}", state.secret.sign(PURPOSE, b"v1")))
}

pub async fn intake(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    if !state.secret.verify(PURPOSE, b"v1", &token) {
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
    let text = String::from_utf8_lossy(&body);
    if is_json {
        fields.extend(json_fields(&text));
    } else {
        fields.extend(form_urlencoded::parse(&body).into_owned());
    }
    let Some(r) = read_receipt(&fields) else {
        return Ok((StatusCode::BAD_REQUEST, "no message id or status").into_response());
    };
    let res = outbox::Entity::update_many()
        .col_expr(outbox::Column::Receipt, Expr::value(r.status.as_str()))
        .col_expr(outbox::Column::ReceiptAt, Expr::value(Utc::now()))
        .filter(outbox::Column::Channel.eq("sms"))
        .filter(outbox::Column::ProviderId.eq(r.id.clone()))
        .exec(&state.db)
        .await?;
    tracing::info!(id = %r.id, status = r.status.as_str(), matched = res.rows_affected, "SMS receipt");
    Ok((StatusCode::OK, "ok").into_response())
}
