//! Templates as the engine sees them: kinds and modes, and the rendering of
//! a frozen version for one recipient (merge, layout, sanitising, the plain
//! text part). The template library's editing lives in the application.

pub mod layout;
pub mod model;
pub mod plaintext;
pub mod render;
pub mod sanitize;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use amicale_store::entities::{template_attachments, template_versions};
use amicale_store::error::AppResult;

/// Marks a version as used by a send, in the caller's transaction: from
/// then on it cannot change, so "view as received" renders what was sent.
pub async fn freeze<C: ConnectionTrait>(db: &C, version_id: i64) -> AppResult<()> {
    template_versions::Entity::update_many()
        .col_expr(template_versions::Column::Frozen, Expr::value(true))
        .filter(template_versions::Column::Id.eq(version_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The files attached to a template, in the order they were added.
pub async fn attachment_files<C: ConnectionTrait>(
    db: &C,
    template_id: i64,
) -> AppResult<Vec<template_attachments::Model>> {
    Ok(template_attachments::Entity::find()
        .filter(template_attachments::Column::TemplateId.eq(template_id))
        .order_by_asc(template_attachments::Column::Id)
        .all(db)
        .await?)
}

/// The template a version belongs to.
pub async fn template_of_version<C: ConnectionTrait>(
    db: &C,
    version_id: i64,
) -> AppResult<Option<i64>> {
    Ok(template_versions::Entity::find_by_id(version_id)
        .one(db)
        .await?
        .map(|v| v.template_id))
}
