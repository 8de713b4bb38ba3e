//! SMS packages: segments bought, each segment handed to the provider
//! counted, the remaining balance, an e-mail to administrators when it runs
//! low, and a refusal with a clear error when a send would exceed it.
//!
//! Queued messages reserve their segments, so two sends cannot both spend
//! the last credit; the worker checks again before handing each SMS over,
//! so the provider is never asked for more than was bought.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    Statement, TransactionTrait,
};

use crate::outbox::{self, NewMail, Origin};
use crate::state::Engine;
use amicale_kernel::Locale;
use amicale_store::entities::{settings, sms_packages, users};
use amicale_store::error::{AppError, AppResult};
use amicale_store::setting;

/// A credit package as bought.
pub type Package = sms_packages::Model;

const THRESHOLD: &str = "sms_low_threshold";
const ALERTED: &str = "sms_low_alerted";
pub const DEFAULT_THRESHOLD: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Balance {
    /// Segments bought, all packages together.
    pub purchased: i64,
    /// Segments handed to the provider (or the catcher).
    pub used: i64,
    /// Segments of SMS waiting in the outbox.
    pub reserved: i64,
}

impl Balance {
    pub fn remaining(&self) -> i64 {
        self.purchased - self.used - self.reserved
    }
}

async fn sum<C: ConnectionTrait>(db: &C, sql: &str) -> AppResult<i64> {
    let stmt = Statement::from_string(db.get_database_backend(), sql.to_owned());
    let row = db.query_one_raw(stmt).await?;
    Ok(match row {
        Some(r) => r.try_get::<i64>("", "n")?,
        None => 0,
    })
}

pub async fn balance<C: ConnectionTrait>(db: &C) -> AppResult<Balance> {
    Ok(Balance {
        purchased: sum(
            db,
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS n FROM sms_packages",
        )
        .await?,
        used: sum(
            db,
            "SELECT CAST(COALESCE(SUM(segments), 0) AS BIGINT) AS n FROM outbox \
             WHERE channel = 'sms' AND state IN ('sent', 'caught')",
        )
        .await?,
        reserved: sum(
            db,
            "SELECT CAST(COALESCE(SUM(segments), 0) AS BIGINT) AS n FROM outbox \
             WHERE channel = 'sms' AND state IN ('queued', 'sending', 'deferred')",
        )
        .await?,
    })
}

/// Refuses a send of `needed` segments that the balance cannot cover. Call
/// it in the transaction that queues the messages.
pub async fn ensure<C: ConnectionTrait>(db: &C, needed: i64) -> AppResult<()> {
    if needed <= 0 {
        return Ok(());
    }
    let remaining = balance(db).await?.remaining();
    if needed > remaining {
        return Err(AppError::SmsCredit {
            needed,
            remaining: remaining.max(0),
        });
    }
    Ok(())
}

pub async fn packages(db: &DatabaseConnection) -> AppResult<Vec<sms_packages::Model>> {
    Ok(sms_packages::Entity::find()
        .order_by_desc(sms_packages::Column::PurchasedOn)
        .order_by_desc(sms_packages::Column::Id)
        .all(db)
        .await?)
}

/// Records a purchase; the low-balance alert may fire again afterwards.
pub async fn add_package(
    db: &DatabaseConnection,
    purchased_on: NaiveDate,
    quantity: i64,
    note: &str,
    by: Option<i64>,
) -> AppResult<()> {
    let txn = db.begin().await?;
    sms_packages::Entity::insert(sms_packages::ActiveModel {
        purchased_on: Set(purchased_on.format("%Y-%m-%d").to_string()),
        quantity: Set(quantity),
        note: Set(note.to_owned()),
        created_by: Set(by),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    settings::Entity::delete_by_id(ALERTED.to_owned())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Below this many segments left, administrators are told once.
pub async fn threshold(db: &DatabaseConnection) -> AppResult<i64> {
    Ok(setting::get(db, THRESHOLD)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_THRESHOLD))
}

pub async fn set_threshold(db: &DatabaseConnection, n: i64) -> AppResult<()> {
    setting::put(db, THRESHOLD, n.to_string()).await
}

/// Mails every administrator once when the balance falls below the
/// threshold; a new package re-arms the alert. The marker and the mails
/// commit together, and the marker's insert decides between nodes.
pub async fn alert_if_low(state: &Engine) -> AppResult<bool> {
    let left = balance(&state.db).await?.remaining();
    if left >= threshold(&state.db).await? {
        return Ok(false);
    }
    let txn = state.db.begin().await?;
    let won = settings::Entity::insert(settings::ActiveModel {
        key: Set(ALERTED.to_owned()),
        value: Set(Utc::now().to_rfc3339()),
    })
    .on_conflict_do_nothing()
    .exec(&txn)
    .await?;
    if !matches!(won, sea_orm::TryInsertResult::Inserted(_)) {
        return Ok(false);
    }
    let admins = users::Entity::find()
        .filter(sea_orm::ColumnTrait::eq(&users::Column::IsAdmin, true))
        .all(&txn)
        .await?;
    for a in admins {
        let l = Locale::parse(&a.locale).unwrap_or(state.default_locale);
        let text = l.t_args(
            "sms-low-mail-text",
            &[
                ("left", left.max(0).to_string()),
                ("url", state.url("/admin/sms")),
            ],
        );
        outbox::enqueue(
            &txn,
            NewMail {
                recipient: a.email,
                subject: l.t1("sms-low-mail-subject", "n", left.max(0)),
                text,
                html: None,
                origin: Origin::System,
                origin_id: None,
            },
            state.mail_from.email.domain(),
        )
        .await?;
    }
    txn.commit().await?;
    state.outbox_wakeup.notify_waiters();
    Ok(true)
}
