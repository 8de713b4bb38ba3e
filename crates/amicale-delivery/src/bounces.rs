//! Bounce intake: a raw bounce e-mail (RFC 3464 delivery status
//! notification, or a plain-text bounce) from a provider's webhook or the
//! bounce-mailbox poller. Hard bounces suppress the address and
//! the returned message is marked failed with the reason.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use amicale_mailkit::dsn::{Action, Bounce, Severity};

use crate::outbox::State as MsgState;
use crate::state::Engine;
use crate::suppressions;
use amicale_store::entities::outbox;
use amicale_store::error::AppResult;

/// Whether `given` is the configured webhook token; `None` when no token
/// is configured (the webhook is off).
pub fn webhook_token_matches(state: &Engine, given: &str) -> Option<bool> {
    let expected = state.config.bounce_webhook_token.as_deref()?;
    // Compare MACs so the comparison takes the same time whatever matches.
    let mac = |s: &str| state.secret.sign("bounce-token", s.as_bytes());
    Some(mac(given) == mac(expected))
}

/// Applies a bounce, from the webhook or the bounce mailbox: hard bounces
/// suppress the address, the returned message is marked failed. Applying
/// the same bounce twice changes nothing more. Returns how many addresses
/// were suppressed and how many messages matched.
pub async fn record(state: &Engine, bounce: &Bounce) -> AppResult<(u64, u64)> {
    let txn = state.db.begin().await?;
    let (mut suppressed, mut matched) = (0, 0);
    for r in bounce
        .recipients
        .iter()
        .filter(|r| r.action == Action::Failed)
    {
        let reason = format!(
            "bounce {}: {}",
            r.status,
            r.diagnostic.as_deref().unwrap_or("")
        );
        if r.severity == Severity::Hard {
            suppressions::add(
                &txn,
                &r.address,
                suppressions::HARD_BOUNCE,
                Some(reason.clone()),
            )
            .await?;
            suppressed += 1;
        }
        if let Some(mid) = &bounce.original_message_id {
            matched += outbox::Entity::update_many()
                .col_expr(
                    outbox::Column::State,
                    Expr::value(MsgState::Failed.as_str()),
                )
                .col_expr(
                    outbox::Column::LastAnswer,
                    Expr::value(reason.trim_end_matches([' ', ':']).to_owned()),
                )
                .col_expr(outbox::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(outbox::Column::MessageId.eq(mid.as_str()))
                .exec(&txn)
                .await?
                .rows_affected;
        }
    }
    txn.commit().await?;
    tracing::info!(
        recipients = bounce.recipients.len(),
        suppressed,
        matched,
        "bounce received"
    );
    Ok((suppressed, matched))
}
