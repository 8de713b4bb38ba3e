//! Mails to third parties (registration links, "account exists" notices,
//! address confirmations) are counted per address and per client in hourly
//! windows, so nobody can use the network to flood a mailbox.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use amicale_store::entities::mail_throttle;
use amicale_store::error::AppResult;

const WINDOW: Duration = Duration::hours(1);

/// What a mail to a third party is for; each has its own allowances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Registration,
    AddressChange,
    PasswordReset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Registration => "register",
            Purpose::AddressChange => "address",
            Purpose::PasswordReset => "reset",
        }
    }
}

/// Counts one mail to `address` caused by `client`; false, counting nothing
/// more, when either has reached its cap for the hour.
pub async fn allow<C: ConnectionTrait>(
    db: &C,
    purpose: Purpose,
    address: &str,
    client: &str,
    per_address: u32,
    per_client: u32,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    // The client first: one over its allowance uses up nobody's. Each
    // purpose has its own allowance per address, so registrations asked in
    // someone's name cannot stop their password resets.
    let p = purpose.as_str();
    let keys = [
        (format!("client:{p}:{client}"), per_client),
        (format!("to:{p}:{}", address.to_lowercase()), per_address),
    ];
    for (key, cap) in &keys {
        if !take(db, key, *cap, now).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One unit of `key`'s allowance. Each statement is atomic on its own, so
/// two requests at once cannot both take the last unit, and nothing reads
/// before it writes (which SQLite would refuse in a busy transaction).
async fn take<C: ConnectionTrait>(
    db: &C,
    key: &str,
    cap: u32,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    mail_throttle::Entity::update_many()
        .col_expr(mail_throttle::Column::Count, Expr::value(0))
        .col_expr(mail_throttle::Column::WindowStart, Expr::value(now))
        .filter(mail_throttle::Column::Key.eq(key))
        .filter(mail_throttle::Column::WindowStart.lte(now - WINDOW))
        .exec(db)
        .await?;
    mail_throttle::Entity::insert(mail_throttle::ActiveModel {
        key: sea_orm::Set(key.to_owned()),
        count: sea_orm::Set(0),
        window_start: sea_orm::Set(now),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    let taken = mail_throttle::Entity::update_many()
        .col_expr(
            mail_throttle::Column::Count,
            Expr::col(mail_throttle::Column::Count).add(Expr::value(1)),
        )
        .filter(mail_throttle::Column::Key.eq(key))
        .filter(mail_throttle::Column::Count.lt(cap as i32))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Forgets windows that ended (the daily clean-up).
pub async fn purge<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> AppResult<u64> {
    Ok(mail_throttle::Entity::delete_many()
        .filter(mail_throttle::Column::WindowStart.lte(now - WINDOW))
        .exec(db)
        .await?
        .rows_affected)
}
