//! The directory's queries: names of organisations and programmes.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::app::AppState;
use crate::error::AppResult;
use amicale_store::entities::{organisations, programmes};

pub async fn organisation_names(
    state: &AppState,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<HashMap<i64, String>> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(organisations::Entity::find()
        .filter(organisations::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect())
}

pub async fn programme_names(state: &AppState) -> AppResult<HashMap<i64, String>> {
    Ok(programmes::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}
