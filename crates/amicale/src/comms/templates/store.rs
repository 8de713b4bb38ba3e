//! Queries of the template library.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use crate::error::{AppError, AppResult};
use amicale_delivery::outbox::State;
use amicale_delivery::templates::model::{
    RecipientType, SendingMode, TemplateKind, Variant, join, split,
};
use amicale_store::entities::{
    outbox, persons, template_attachments, template_versions, templates, users,
};

/// A template as the form submits it, already checked.
#[derive(Debug, Clone)]
pub struct TemplateInput {
    pub name: String,
    pub active: bool,
    pub recipient_types: Vec<RecipientType>,
    pub modes: Vec<SendingMode>,
    pub fr: Variant,
    pub en: Option<Variant>,
    pub text_edited: bool,
}

pub type Template = templates::Model;
pub type Version = template_versions::Model;

impl TemplateInput {
    /// What the form shows for a template and its version.
    pub fn of(t: &Template, v: &Version) -> TemplateInput {
        TemplateInput {
            name: t.name.clone(),
            active: t.active,
            recipient_types: split(&t.recipient_types, RecipientType::parse),
            modes: split(&t.sending_modes, SendingMode::parse),
            fr: Variant {
                subject: v.subject_fr.clone(),
                body: v.body_fr.clone(),
                text: v.text_fr.clone(),
            },
            en: v.body_en.as_ref().map(|b| Variant {
                subject: v.subject_en.clone().unwrap_or_default(),
                body: b.clone(),
                text: v.text_en.clone().unwrap_or_default(),
            }),
            text_edited: v.text_edited,
        }
    }
}

pub async fn find(db: &DatabaseConnection, id: i64) -> AppResult<Option<Template>> {
    Ok(templates::Entity::find_by_id(id).one(db).await?)
}

/// Templates allowed for automatic sends, by name.
pub async fn automatic(db: &DatabaseConnection) -> AppResult<Vec<Template>> {
    Ok(templates::Entity::find()
        .order_by_asc(templates::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .filter(|t| split(&t.sending_modes, SendingMode::parse).contains(&SendingMode::Automatic))
        .collect())
}

/// The display name of the user who created or changed a template; a dash
/// for none or a deleted user.
pub async fn user_name(db: &DatabaseConnection, id: Option<i64>) -> AppResult<String> {
    Ok(match id {
        Some(id) => users::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|u| u.display_name)
            .unwrap_or_else(|| "—".into()),
        None => "—".into(),
    })
}

/// Messages of real sends (tests excluded) that used a template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub scheduled: u64,
    pub sent: u64,
}

const TEST_ORIGIN: &str = "test";

fn versions_of(template_id: i64) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(template_versions::Column::Id)
        .from(template_versions::Entity)
        .and_where(Expr::col(template_versions::Column::TemplateId).eq(template_id))
        .to_owned()
}

pub async fn counts<C: ConnectionTrait>(db: &C, template_id: i64) -> AppResult<Counts> {
    let base = || {
        outbox::Entity::find()
            .filter(outbox::Column::TemplateVersionId.in_subquery(versions_of(template_id)))
            .filter(outbox::Column::Origin.ne(TEST_ORIGIN))
    };
    let scheduled = base()
        .filter(outbox::Column::State.is_in([
            State::Queued.as_str(),
            State::Deferred.as_str(),
            State::Sending.as_str(),
        ]))
        .count(db)
        .await?;
    let sent = base()
        .filter(outbox::Column::State.is_in([State::Sent.as_str(), State::Caught.as_str()]))
        .count(db)
        .await?;
    Ok(Counts { scheduled, sent })
}

/// A template with scheduled sends, used by an automatic rule or by a
/// campaign not sent yet cannot be deleted (JUNGO2: inactivate it instead).
pub async fn deletable<C: ConnectionTrait>(db: &C, template_id: i64) -> AppResult<bool> {
    use amicale_store::entities::{campaigns, rules};
    let rules = rules::Entity::find()
        .filter(rules::Column::TemplateId.eq(template_id))
        .count(db)
        .await?;
    let campaigns = campaigns::Entity::find()
        .filter(campaigns::Column::TemplateId.eq(template_id))
        .filter(campaigns::Column::State.ne("sent"))
        .count(db)
        .await?;
    Ok(rules == 0 && campaigns == 0 && counts(db, template_id).await?.scheduled == 0)
}

/// Campaigns that use a template (the campaign form shows it when picking one).
pub async fn campaign_count<C: ConnectionTrait>(db: &C, template_id: i64) -> AppResult<u64> {
    use amicale_store::entities::campaigns;
    Ok(campaigns::Entity::find()
        .filter(campaigns::Column::TemplateId.eq(template_id))
        .count(db)
        .await?)
}

pub async fn list(
    db: &DatabaseConnection,
    kind: Option<TemplateKind>,
    active: Option<bool>,
) -> AppResult<Vec<templates::Model>> {
    let mut q = templates::Entity::find().order_by_asc(templates::Column::Name);
    if let Some(k) = kind {
        q = q.filter(templates::Column::Kind.eq(k.as_str()));
    }
    if let Some(a) = active {
        q = q.filter(templates::Column::Active.eq(a));
    }
    Ok(q.all(db).await?)
}

pub async fn get(
    db: &DatabaseConnection,
    id: i64,
) -> AppResult<(templates::Model, template_versions::Model)> {
    let t = templates::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let v = current_version(db, &t).await?;
    Ok((t, v))
}

pub async fn current_version<C: ConnectionTrait>(
    db: &C,
    t: &templates::Model,
) -> AppResult<template_versions::Model> {
    let vid = t
        .current_version_id
        .ok_or_else(|| AppError::Internal(format!("template {} has no version", t.id)))?;
    template_versions::Entity::find_by_id(vid)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(format!("version {vid} missing")))
}

pub async fn versions(
    db: &DatabaseConnection,
    template_id: i64,
) -> AppResult<Vec<template_versions::Model>> {
    Ok(template_versions::Entity::find()
        .filter(template_versions::Column::TemplateId.eq(template_id))
        .order_by_desc(template_versions::Column::Number)
        .all(db)
        .await?)
}

fn version_model(
    template_id: i64,
    number: i32,
    input: &TemplateInput,
    user: Option<i64>,
) -> template_versions::ActiveModel {
    let en = input.en.clone();
    template_versions::ActiveModel {
        template_id: Set(template_id),
        number: Set(number),
        subject_fr: Set(input.fr.subject.clone()),
        body_fr: Set(input.fr.body.clone()),
        text_fr: Set(input.fr.text.clone()),
        subject_en: Set(en.as_ref().map(|v| v.subject.clone())),
        body_en: Set(en.as_ref().map(|v| v.body.clone())),
        text_en: Set(en.map(|v| v.text)),
        text_edited: Set(input.text_edited),
        frozen: Set(false),
        created_by: Set(user),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
}

pub async fn create(
    db: &DatabaseConnection,
    kind: TemplateKind,
    input: &TemplateInput,
    user: Option<i64>,
) -> AppResult<i64> {
    let txn = db.begin().await?;
    let now = Utc::now();
    let t = templates::ActiveModel {
        kind: Set(kind.as_str().into()),
        name: Set(input.name.clone()),
        active: Set(input.active),
        recipient_types: Set(join(&input.recipient_types, RecipientType::as_str)),
        sending_modes: Set(join(&input.modes, SendingMode::as_str)),
        current_version_id: Set(None),
        created_by: Set(user),
        created_at: Set(now),
        updated_by: Set(user),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let v = version_model(t.id, 1, input, user).insert(&txn).await?;
    let mut t: templates::ActiveModel = t.into();
    t.current_version_id = Set(Some(v.id));
    let t = t.update(&txn).await?;
    txn.commit().await?;
    Ok(t.id)
}

/// Saves an edit. A version already used by a send is frozen: the edit
/// becomes a new version and the old one stays as it was sent.
pub async fn update(
    db: &DatabaseConnection,
    id: i64,
    input: &TemplateInput,
    user: Option<i64>,
) -> AppResult<i32> {
    let txn = db.begin().await?;
    let t = templates::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = current_version(&txn, &t).await?;
    let version_id = if current.frozen {
        version_model(id, current.number + 1, input, user)
            .insert(&txn)
            .await?
            .id
    } else {
        let mut v = version_model(id, current.number, input, user);
        v.id = Set(current.id);
        v.created_at = Set(current.created_at);
        v.created_by = Set(current.created_by);
        v.update(&txn).await?.id
    };
    let number = template_versions::Entity::find_by_id(version_id)
        .one(&txn)
        .await?
        .map_or(current.number, |v| v.number);
    let mut am: templates::ActiveModel = t.into();
    am.name = Set(input.name.clone());
    am.active = Set(input.active);
    am.recipient_types = Set(join(&input.recipient_types, RecipientType::as_str));
    am.sending_modes = Set(join(&input.modes, SendingMode::as_str));
    am.current_version_id = Set(Some(version_id));
    am.updated_by = Set(user);
    am.updated_at = Set(Utc::now());
    am.update(&txn).await?;
    txn.commit().await?;
    Ok(number)
}

pub use amicale_delivery::templates::{attachment_files, freeze, template_of_version};

pub async fn set_active(
    db: &DatabaseConnection,
    id: i64,
    active: bool,
    user: Option<i64>,
) -> AppResult<()> {
    let res = templates::Entity::update_many()
        .col_expr(templates::Column::Active, Expr::value(active))
        .col_expr(templates::Column::UpdatedBy, Expr::value(user))
        .col_expr(templates::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(templates::Column::Id.eq(id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Deletes a template unless a scheduled send uses it; returns false when refused.
pub async fn delete(db: &DatabaseConnection, id: i64) -> AppResult<bool> {
    let txn = db.begin().await?;
    templates::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if !deletable(&txn, id).await? {
        txn.rollback().await?;
        return Ok(false);
    }
    // Sent messages keep their rows; they only lose the link to the version.
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::TemplateVersionId,
            Expr::value(Option::<i64>::None),
        )
        .filter(outbox::Column::TemplateVersionId.in_subquery(versions_of(id)))
        .exec(&txn)
        .await?;
    templates::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(true)
}

/// Attachment metadata (without the bytes).
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct AttachmentInfo {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

pub async fn attachments<C: ConnectionTrait>(
    db: &C,
    template_id: i64,
) -> AppResult<Vec<AttachmentInfo>> {
    Ok(template_attachments::Entity::find()
        .select_only()
        .columns([
            template_attachments::Column::Id,
            template_attachments::Column::Filename,
            template_attachments::Column::ContentType,
            template_attachments::Column::Size,
        ])
        .filter(template_attachments::Column::TemplateId.eq(template_id))
        .order_by_asc(template_attachments::Column::Id)
        .into_model::<AttachmentInfo>()
        .all(db)
        .await?)
}

pub async fn add_attachment(
    db: &DatabaseConnection,
    template_id: i64,
    filename: &str,
    content_type: &str,
    data: Vec<u8>,
) -> AppResult<i64> {
    let sha = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(&data);
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let r = template_attachments::ActiveModel {
        template_id: Set(template_id),
        filename: Set(filename.to_owned()),
        content_type: Set(content_type.to_owned()),
        size: Set(data.len() as i64),
        sha256: Set(sha),
        data: Set(data),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(r.id)
}

pub async fn attachment(
    db: &DatabaseConnection,
    template_id: i64,
    id: i64,
) -> AppResult<template_attachments::Model> {
    template_attachments::Entity::find_by_id(id)
        .filter(template_attachments::Column::TemplateId.eq(template_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn delete_attachment(
    db: &DatabaseConnection,
    template_id: i64,
    id: i64,
) -> AppResult<()> {
    template_attachments::Entity::delete_many()
        .filter(template_attachments::Column::Id.eq(id))
        .filter(template_attachments::Column::TemplateId.eq(template_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Person `id` when it lies within `reach` (the author's People scope).
pub async fn person_within(
    db: &DatabaseConnection,
    reach: sea_orm::Condition,
    id: i64,
) -> AppResult<Option<i64>> {
    Ok(persons::Entity::find()
        .filter(reach)
        .filter(persons::Column::Id.eq(id))
        .one(db)
        .await?
        .map(|p| p.id))
}

/// The first person within `reach`.
pub async fn first_person_within(
    db: &DatabaseConnection,
    reach: sea_orm::Condition,
) -> AppResult<Option<i64>> {
    Ok(persons::Entity::find()
        .filter(reach)
        .order_by_asc(persons::Column::Id)
        .limit(1)
        .one(db)
        .await?
        .map(|p| p.id))
}

/// Up to ten persons within `reach` whose name or e-mail holds `q`, with
/// the name and city to choose them by.
pub async fn persons_matching(
    db: &DatabaseConnection,
    reach: sea_orm::Condition,
    q: &str,
) -> AppResult<Vec<(i64, String)>> {
    let like = format!("%{}%", q.replace(['%', '_'], ""));
    Ok(persons::Entity::find()
        .filter(reach)
        .filter(
            sea_orm::Condition::any()
                .add(persons::Column::FirstName.like(like.clone()))
                .add(persons::Column::LastName.like(like.clone()))
                .add(persons::Column::Email.like(like)),
        )
        .order_by_asc(persons::Column::LastName)
        .limit(10)
        .all(db)
        .await?
        .into_iter()
        .map(|p| {
            (
                p.id,
                format!("{} {} ({})", p.first_name, p.last_name, p.city),
            )
        })
        .collect())
}
