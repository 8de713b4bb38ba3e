//! Addresses we no longer send to: hard bounces, and later complaints and
//! manual blocks.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use amicale_store::entities::suppressions;
use amicale_store::error::AppResult;

pub const HARD_BOUNCE: &str = "hard_bounce";

pub fn normalise(address: &str) -> String {
    address.trim().to_lowercase()
}

/// Reasons of the suppressed addresses among `addresses`.
pub async fn among<C: ConnectionTrait>(
    db: &C,
    addresses: impl Iterator<Item = &str>,
) -> AppResult<HashMap<String, String>> {
    let list: Vec<String> = addresses.map(normalise).collect();
    if list.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(suppressions::Entity::find()
        .filter(suppressions::Column::Address.is_in(list))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.address, s.reason))
        .collect())
}

/// Adds an address (first reason wins).
pub async fn add<C: ConnectionTrait>(
    db: &C,
    address: &str,
    reason: &str,
    detail: Option<String>,
) -> AppResult<()> {
    suppressions::Entity::insert(suppressions::ActiveModel {
        address: Set(normalise(address)),
        reason: Set(reason.to_owned()),
        detail: Set(detail),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    Ok(())
}
