//! Delivery receipts: providers call the receipt URL (GET or POST, form or
//! JSON) with their id of a message and its status. The token is
//! an HMAC of the network's secret, so only the URL we gave them works.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use amicale_sms::provider::read_receipt;

use crate::state::Engine;
use amicale_store::entities::outbox;
use amicale_store::error::AppResult;

const PURPOSE: &str = "sms-receipt";

/// The receipt URL handed to providers.
pub fn url(state: &Engine) -> String {
    state.url(&format!("/hooks/sms/{}", state.secret.sign(PURPOSE, b"v1")))
}

/// Whether `token` is the one in the receipt URL we handed out.
pub fn token_matches(state: &Engine, token: &str) -> bool {
    state.secret.verify(PURPOSE, b"v1", token)
}

/// Applies a receipt given as the provider's fields (query string, form or
/// JSON); `None` when they hold no message id or status.
pub async fn apply(state: &Engine, fields: &[(String, String)]) -> AppResult<Option<u64>> {
    let Some(r) = read_receipt(fields) else {
        return Ok(None);
    };
    let res = outbox::Entity::update_many()
        .col_expr(outbox::Column::Receipt, Expr::value(r.status.as_str()))
        .col_expr(outbox::Column::ReceiptAt, Expr::value(Utc::now()))
        .filter(outbox::Column::Channel.eq("sms"))
        .filter(outbox::Column::ProviderId.eq(r.id.clone()))
        .exec(&state.db)
        .await?;
    tracing::info!(id = %r.id, status = r.status.as_str(), matched = res.rows_affected, "SMS receipt");
    Ok(Some(res.rows_affected))
}
