//! The queries of groups and saved lists.

use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use crate::error::AppResult;
use amicale_store::entities::{group_members, groups, saved_list_members, saved_lists};

/// Every group by name, with its number of members.
pub async fn groups_with_counts<C: ConnectionTrait>(
    db: &C,
) -> AppResult<Vec<(groups::Model, u64)>> {
    let mut rows = Vec::new();
    for g in groups::Entity::find()
        .order_by_asc(groups::Column::Name)
        .all(db)
        .await?
    {
        let members = group_members::Entity::find()
            .filter(group_members::Column::GroupId.eq(g.id))
            .count(db)
            .await?;
        rows.push((g, members));
    }
    Ok(rows)
}

pub async fn group_exists<C: ConnectionTrait>(db: &C, name: &str) -> AppResult<bool> {
    Ok(groups::Entity::find()
        .filter(groups::Column::Name.eq(name.to_owned()))
        .one(db)
        .await?
        .is_some())
}

pub async fn insert_group<C: ConnectionTrait>(db: &C, name: &str, kind: &str) -> AppResult<()> {
    groups::ActiveModel {
        name: Set(name.to_owned()),
        kind: Set(kind.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Deletes a group and its memberships; how many groups went.
pub async fn delete_group<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<u64> {
    group_members::Entity::delete_many()
        .filter(group_members::Column::GroupId.eq(id))
        .exec(db)
        .await?;
    Ok(groups::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn insert_list<C: ConnectionTrait>(
    db: &C,
    owner: i64,
    name: String,
    criteria: String,
    dynamic: bool,
) -> AppResult<saved_lists::Model> {
    Ok(saved_lists::ActiveModel {
        name: Set(name),
        owner_user_id: Set(Some(owner)),
        criteria: Set(criteria),
        dynamic: Set(dynamic),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn add_members<C: ConnectionTrait>(db: &C, list_id: i64, ids: &[i64]) -> AppResult<()> {
    for chunk in ids.chunks(300) {
        saved_list_members::Entity::insert_many(chunk.iter().map(|id| {
            saved_list_members::ActiveModel {
                list_id: Set(list_id),
                person_id: Set(*id),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// The static lists of a user, by name.
pub async fn static_lists<C: ConnectionTrait>(
    db: &C,
    owner: i64,
) -> AppResult<Vec<saved_lists::Model>> {
    Ok(saved_lists::Entity::find()
        .filter(saved_lists::Column::OwnerUserId.eq(owner))
        .filter(saved_lists::Column::Dynamic.eq(false))
        .order_by_asc(saved_lists::Column::Name)
        .all(db)
        .await?)
}

/// Every list of a user, newest first.
pub async fn lists_of<C: ConnectionTrait>(
    db: &C,
    owner: i64,
) -> AppResult<Vec<saved_lists::Model>> {
    Ok(saved_lists::Entity::find()
        .filter(saved_lists::Column::OwnerUserId.eq(owner))
        .order_by_desc(saved_lists::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn list<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Option<saved_lists::Model>> {
    Ok(saved_lists::Entity::find_by_id(id).one(db).await?)
}
