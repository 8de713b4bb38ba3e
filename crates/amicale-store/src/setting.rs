//! Network settings stored as key → text in the `settings` table (tracking
//! on/off, sender domains, SMS threshold, the delivery generation…).

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use crate::entities::settings;
use amicale_kernel::crypto::{SecretKey, random_token};

use crate::error::{AppError, AppResult};

pub async fn get<C: ConnectionTrait>(db: &C, key: &str) -> AppResult<Option<String>> {
    Ok(settings::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .map(|s| s.value))
}

/// Sets `key`, whether or not it was set before.
pub async fn put<C: ConnectionTrait>(db: &C, key: &str, value: impl Into<String>) -> AppResult<()> {
    settings::Entity::insert(settings::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value.into()),
    })
    .on_conflict(
        OnConflict::column(settings::Column::Key)
            .update_column(settings::Column::Value)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// The network's secret key as stored in the database, storing a new random
/// one first when there is none. Several nodes starting at once agree: the
/// insert does nothing when another node won, and everyone reads the winner.
pub async fn secret_key(db: &sea_orm::DatabaseConnection) -> AppResult<SecretKey> {
    const SETTING: &str = "secret_key";
    let insert = settings::Entity::insert(settings::ActiveModel {
        key: Set(SETTING.into()),
        value: Set(random_token(32)),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    if matches!(insert, sea_orm::TryInsertResult::Inserted(_)) {
        tracing::info!("generated a secret key and stored it in the database");
    }
    let stored = get(db, SETTING)
        .await?
        .ok_or_else(|| AppError::Internal("secret key vanished".into()))?;
    SecretKey::from_config(&stored).map_err(|e| AppError::Config(e.into()))
}
