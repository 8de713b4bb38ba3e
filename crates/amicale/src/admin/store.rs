//! Administration's queries: permission profiles and the staff users they
//! are given to.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use crate::error::{AppError, AppResult};
use amicale_kernel::permissions::Matrix;
use amicale_store::entities::{permission_profiles, users};

pub type Profile = permission_profiles::Model;
pub type User = users::Model;

/// Every profile, in the order they were made.
pub async fn profiles(db: &DatabaseConnection) -> AppResult<Vec<Profile>> {
    Ok(permission_profiles::Entity::find()
        .order_by_asc(permission_profiles::Column::Id)
        .all(db)
        .await?)
}

pub async fn profile(db: &DatabaseConnection, id: i64) -> AppResult<Profile> {
    permission_profiles::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn name_taken(db: &DatabaseConnection, name: &str) -> AppResult<bool> {
    Ok(permission_profiles::Entity::find()
        .filter(permission_profiles::Column::Name.eq(name))
        .one(db)
        .await?
        .is_some())
}

/// A new profile that grants nothing yet.
pub async fn create_profile(db: &DatabaseConnection, name: &str) -> AppResult<Profile> {
    Ok(permission_profiles::ActiveModel {
        name: Set(name.to_owned()),
        builtin: Set(false),
        matrix: Set(serde_json::to_string(&Matrix::default())
            .map_err(|e| AppError::Internal(e.to_string()))?),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Stores the matrix and returns it as stored (JSON), for the audit log.
pub async fn save_matrix(db: &DatabaseConnection, id: i64, m: &Matrix) -> AppResult<String> {
    let json = serde_json::to_string(m).map_err(|e| AppError::Internal(e.to_string()))?;
    permission_profiles::Entity::update_many()
        .col_expr(
            permission_profiles::Column::Matrix,
            Expr::value(json.clone()),
        )
        .filter(permission_profiles::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(json)
}

/// Every user, by name.
pub async fn users(db: &DatabaseConnection) -> AppResult<Vec<User>> {
    Ok(users::Entity::find()
        .order_by_asc(users::Column::DisplayName)
        .all(db)
        .await?)
}

/// Gives user `id` a profile, a site and a team; not found when there is
/// no such user.
pub async fn set_user_rights(
    db: &DatabaseConnection,
    id: i64,
    profile: Option<i64>,
    site: Option<String>,
    team: Option<String>,
) -> AppResult<()> {
    let n = users::Entity::update_many()
        .col_expr(users::Column::ProfileId, Expr::value(profile))
        .col_expr(users::Column::Site, Expr::value(site))
        .col_expr(users::Column::Team, Expr::value(team))
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await?
        .rows_affected;
    if n != 1 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
