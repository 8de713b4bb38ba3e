//! The queries of the person and event page sends.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::error::{AppError, AppResult};
use amicale_delivery::outbox::Origin;
use amicale_store::entities::{outbox, participations, persons, template_versions, templates};

pub async fn person(db: &DatabaseConnection, id: i64) -> AppResult<persons::Model> {
    persons::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Every participation of an event, waiting list included, in order.
pub async fn participations(
    db: &DatabaseConnection,
    event: i64,
) -> AppResult<Vec<participations::Model>> {
    Ok(participations::Entity::find()
        .filter(participations::Column::EventId.eq(event))
        .order_by_asc(participations::Column::Id)
        .all(db)
        .await?)
}

/// The latest 500 messages matching `filter` (tests left out), newest
/// first, with the name of the template each was sent from.
pub async fn messages(
    db: &DatabaseConnection,
    filter: Condition,
) -> AppResult<Vec<(outbox::Model, Option<String>)>> {
    let rows = outbox::Entity::find()
        .filter(filter)
        .filter(outbox::Column::Origin.ne(Origin::Test.as_str()))
        .order_by_desc(outbox::Column::CreatedAt)
        .order_by_desc(outbox::Column::Id)
        .limit(500)
        .all(db)
        .await?;
    let vids: Vec<i64> = rows.iter().filter_map(|r| r.template_version_id).collect();
    let versions: HashMap<i64, i64> = if vids.is_empty() {
        HashMap::new()
    } else {
        template_versions::Entity::find()
            .filter(template_versions::Column::Id.is_in(vids))
            .all(db)
            .await?
            .into_iter()
            .map(|v| (v.id, v.template_id))
            .collect()
    };
    let names: HashMap<i64, String> = templates::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let name = r
                .template_version_id
                .and_then(|v| versions.get(&v))
                .and_then(|t| names.get(t))
                .cloned();
            (r, name)
        })
        .collect())
}
