//! The queries of probable duplicates and their merge.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

use crate::error::AppResult;
use amicale_store::entities::{
    invitations, person_addresses, person_education, person_emails, person_experiences,
    person_phones, persons, registrations,
};

const GROUPS_PER_PAGE: u64 = 50;

#[derive(Debug, FromQueryResult)]
struct KeyRow {
    name_key: String,
}

/// Names shared by several persons within `reach` (the user's scope); by
/// default only where one is active and another is not (DL: an old account
/// and a new one).
pub async fn keys<C: ConnectionTrait>(
    db: &C,
    reach: Condition,
    all: bool,
    page: u64,
) -> AppResult<Vec<String>> {
    let mixed = if all {
        ""
    } else {
        " AND SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) BETWEEN 1 AND COUNT(*) - 1"
    };
    Ok(persons::Entity::find()
        .select_only()
        .column(persons::Column::NameKey)
        .filter(reach)
        .filter(persons::Column::NameKey.ne(""))
        .group_by(persons::Column::NameKey)
        .having(Expr::cust(format!(
            "COUNT(*) > 1 AND COUNT(DISTINCT email) > 1{mixed}"
        )))
        .order_by_asc(persons::Column::NameKey)
        .limit(GROUPS_PER_PAGE)
        .offset(page.saturating_sub(1) * GROUPS_PER_PAGE)
        .into_model::<KeyRow>()
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.name_key)
        .collect())
}

/// The persons within `reach` whose name key is one of `keys`.
pub async fn with_keys<C: ConnectionTrait>(
    db: &C,
    reach: Condition,
    keys: Vec<String>,
) -> AppResult<Vec<persons::Model>> {
    Ok(persons::Entity::find()
        .filter(reach)
        .filter(persons::Column::NameKey.is_in(keys))
        .all(db)
        .await?)
}

/// The persons within `reach` among `ids`.
pub async fn within<C: ConnectionTrait>(
    db: &C,
    reach: Condition,
    ids: Vec<i64>,
) -> AppResult<Vec<persons::Model>> {
    Ok(persons::Entity::find()
        .filter(reach)
        .filter(persons::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// Writes the kept record unchanged, to take the write lock.
pub async fn lock<C: ConnectionTrait>(db: &C, keep: i64) -> AppResult<()> {
    persons::Entity::update_many()
        .col_expr(
            persons::Column::UpdatedAt,
            Expr::col(persons::Column::UpdatedAt),
        )
        .filter(persons::Column::Id.eq(keep))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn by_ids<C: ConnectionTrait>(db: &C, ids: [i64; 2]) -> AppResult<Vec<persons::Model>> {
    Ok(persons::Entity::find()
        .filter(persons::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// Moves the rows that belong to `drop` alone to `keep`; the moved ones
/// lose their "reference" or "principal" mark, which the kept record has.
pub async fn move_rows<C: ConnectionTrait>(db: &C, keep: i64, drop: i64) -> AppResult<()> {
    macro_rules! move_rows {
        ($entity:ident, $extra:expr) => {
            let mut q = $entity::Entity::update_many()
                .col_expr($entity::Column::PersonId, Expr::value(keep));
            q = $extra(q);
            q.filter($entity::Column::PersonId.eq(drop))
                .exec(db)
                .await?;
        };
    }
    move_rows!(person_emails, |q: sea_orm::UpdateMany<
        person_emails::Entity,
    >| q
        .col_expr(person_emails::Column::IsReference, Expr::value(false)));
    move_rows!(person_phones, |q: sea_orm::UpdateMany<
        person_phones::Entity,
    >| q
        .col_expr(person_phones::Column::IsPrincipal, Expr::value(false)));
    move_rows!(person_addresses, |q: sea_orm::UpdateMany<
        person_addresses::Entity,
    >| q.col_expr(
        person_addresses::Column::IsReference,
        Expr::value(false)
    ));
    move_rows!(person_education, |q| q);
    move_rows!(person_experiences, |q| q);
    Ok(())
}

/// Rows whose key includes the person: copy what the kept one lacks.
pub async fn copy_keyed_rows<C: ConnectionTrait>(db: &C, keep: i64, drop: i64) -> AppResult<()> {
    let backend = db.get_database_backend();
    for sql in [
        "INSERT INTO person_roles (person_id, role, programme_id) SELECT $1, role, programme_id \
         FROM person_roles d WHERE d.person_id = $2 AND NOT EXISTS (SELECT 1 FROM person_roles k \
         WHERE k.person_id = $1 AND k.role = d.role AND k.programme_id = d.programme_id)",
        "INSERT INTO person_tags (person_id, kind, value, value_key) SELECT $1, kind, value, value_key \
         FROM person_tags d WHERE d.person_id = $2 AND NOT EXISTS (SELECT 1 FROM person_tags k \
         WHERE k.person_id = $1 AND k.kind = d.kind AND k.value_key = d.value_key)",
        "INSERT INTO group_members (group_id, person_id) SELECT group_id, $1 FROM group_members d \
         WHERE d.person_id = $2 AND NOT EXISTS (SELECT 1 FROM group_members k \
         WHERE k.person_id = $1 AND k.group_id = d.group_id)",
        "INSERT INTO saved_list_members (list_id, person_id) SELECT list_id, $1 FROM saved_list_members d \
         WHERE d.person_id = $2 AND NOT EXISTS (SELECT 1 FROM saved_list_members k \
         WHERE k.person_id = $1 AND k.list_id = d.list_id)",
    ] {
        let sql = match backend {
            sea_orm::DbBackend::Postgres => sql.to_owned(),
            _ => sql.replace("$1", "?1").replace("$2", "?2"),
        };
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [keep.into(), drop.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Deletes the invitations of `drop`, and the pending self-registrations
/// of both records.
pub async fn drop_pending<C: ConnectionTrait>(db: &C, keep: i64, drop: i64) -> AppResult<()> {
    invitations::Entity::delete_many()
        .filter(invitations::Column::PersonId.eq(drop))
        .exec(db)
        .await?;
    // A pending self-registration of either record would open a login on
    // data its requester never proved: the merge cancels it.
    registrations::Entity::delete_many()
        .filter(registrations::Column::PersonId.is_in([drop, keep]))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives the kept record `k` the login and the external reference of the
/// dropped one `d` where it has none.
pub async fn take_over<C: ConnectionTrait>(
    db: &C,
    keep: i64,
    k: &persons::Model,
    d: &persons::Model,
) -> AppResult<()> {
    let mut upd = persons::Entity::update_many().filter(persons::Column::Id.eq(keep));
    if k.user_id.is_none() && d.user_id.is_some() {
        upd = upd
            .col_expr(persons::Column::UserId, Expr::value(d.user_id))
            .col_expr(persons::Column::Status, Expr::value(d.status.clone()));
    }
    if k.external_ref.is_none() && d.external_ref.is_some() {
        upd = upd.col_expr(
            persons::Column::ExternalRef,
            Expr::value(d.external_ref.clone()),
        );
    }
    upd.exec(db).await?;
    Ok(())
}
