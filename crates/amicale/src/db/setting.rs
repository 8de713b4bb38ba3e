//! Network settings stored as key → text in the `settings` table (tracking
//! on/off, sender domains, SMS threshold, the delivery generation…).

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use crate::db::entities::settings;
use crate::error::AppResult;

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
