//! Probable duplicates: persons with the same name once folded (case,
//! accents and word order ignored), and a merge that keeps one record —
//! the active account by default — and moves everything of the other to it.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::bulk;
use crate::people::model::Status;
use crate::people::store::{self, Names};
use crate::web::extract::{CreatePeople, EditPeople, Require};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render};
use amicale_store::Backend;
use amicale_store::entities::{
    invitations, person_addresses, person_education, person_emails, person_experiences,
    person_phones, persons, registrations,
};

const GROUPS_PER_PAGE: u64 = 50;

#[derive(Debug, FromQueryResult)]
struct KeyRow {
    name_key: String,
}

pub struct Member {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub status: String,
    pub active: bool,
    pub has_account: bool,
    pub promo: String,
    pub city: String,
}

pub struct Group {
    pub key: String,
    pub members: Vec<Member>,
    /// The record kept by default: the one with an account, else the active one.
    pub keep: i64,
}

#[derive(Template)]
#[template(path = "people/duplicates.html")]
struct DuplicatesTpl<'a> {
    p: &'a Page,
    groups: Vec<Group>,
    all: bool,
    page: u64,
    done: String,
}

#[derive(Deserialize, Default)]
pub struct DupQuery {
    #[serde(default)]
    all: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    done: String,
}

/// Names shared by several persons within `reach` (the user's scope); by
/// default only where one is active and another is not (DL: an old account
/// and a new one).
async fn keys<C: ConnectionTrait>(
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

pub async fn list(
    State(state): State<AppState>,
    who: Require<EditPeople>,
    p: Page,
    Query(q): Query<DupQuery>,
) -> AppResult<Response> {
    let all = q.all == "1";
    let page = q.page.parse::<u64>().unwrap_or(1).max(1);
    let reach = crate::people::scope::condition(&who.0, Backend::of(&state.db));
    let keys = keys(&state.db, reach.clone(), all, page).await?;
    let rows = persons::Entity::find()
        .filter(reach)
        .filter(persons::Column::NameKey.is_in(keys.clone()))
        .all(&state.db)
        .await?;
    let groups = keys
        .into_iter()
        .map(|key| {
            let mut members: Vec<Member> = rows
                .iter()
                .filter(|r| r.name_key == key)
                .map(|r| Member {
                    id: r.id,
                    name: format!("{} {}", r.first_name, r.last_name),
                    email: r.email.clone().unwrap_or_default(),
                    active: r.status == Status::Active.as_str(),
                    status: r.status.clone(),
                    has_account: r.user_id.is_some(),
                    promo: r.promo_year.map(|y| y.to_string()).unwrap_or_default(),
                    city: r.city.clone(),
                })
                .collect();
            members.sort_by_key(|m| (!m.has_account, !m.active, m.id));
            let keep = members.first().map_or(0, |m| m.id);
            Group { key, members, keep }
        })
        .collect();
    render(&DuplicatesTpl {
        p: &p,
        groups,
        all,
        page,
        done: q.done,
    })
}

/// Merges `drop` into `keep` in one transaction; every statement writes.
pub async fn merge<C: ConnectionTrait>(
    db: &C,
    keep: i64,
    drop: i64,
    names: &Names,
) -> AppResult<()> {
    if keep == drop {
        return Err(AppError::NotFound);
    }
    // Write first: on SQLite a transaction that reads, then writes after
    // another writer, fails; this takes the write lock at once.
    persons::Entity::update_many()
        .col_expr(
            persons::Column::UpdatedAt,
            Expr::col(persons::Column::UpdatedAt),
        )
        .filter(persons::Column::Id.eq(keep))
        .exec(db)
        .await?;
    let both = persons::Entity::find()
        .filter(persons::Column::Id.is_in([keep, drop]))
        .all(db)
        .await?;
    let (Some(k), Some(d)) = (
        both.iter().find(|p| p.id == keep).cloned(),
        both.iter().find(|p| p.id == drop).cloned(),
    ) else {
        return Err(AppError::NotFound);
    };
    if k.user_id.is_some() && d.user_id.is_some() {
        // Two logins cannot become one without losing a password.
        return Err(AppError::Rejected("both have an account".into()));
    }
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
    crate::people::followup::store::move_all(db, drop, keep).await?;
    // Rows whose key includes the person: copy what the kept one lacks.
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
    // The dropped record goes first, so its unique values can move.
    store::delete_many(db, &[drop]).await?;
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
    // Refill the summary and the searchable text from the merged record.
    let rec = store::load(db, keep).await?;
    let mut input = store::input_of(&rec)?;
    for (slot, other) in [
        (&mut input.nationality, &d.nationality),
        (&mut input.job_title, &d.job_title),
        (&mut input.site, &d.site),
        (&mut input.notes, &d.notes),
    ] {
        if slot.is_none() {
            slot.clone_from(other);
        }
    }
    if input.city.is_empty() {
        input.city.clone_from(&d.city);
    }
    if input.country.is_empty() {
        input.country.clone_from(&d.country);
    }
    input.promo_year = input.promo_year.or(d
        .promo_year
        .and_then(|y| amicale_people::PromoYear::new(y).ok()));
    input.programme_id = input.programme_id.or(d.programme_id);
    input.organisation_id = input.organisation_id.or(d.organisation_id);
    input.birth_date = input.birth_date.or(d.birth_date);
    store::update(db, keep, &input, names).await
}

/// Merging deletes a record and moves a login: it needs the create level,
/// every record within the user's scope, and records that really are
/// duplicates (the same name key).
pub async fn merge_page(
    State(state): State<AppState>,
    who: Require<CreatePeople>,
    f: FormPairs,
) -> AppResult<Response> {
    let keep: i64 = f.get("keep").parse().map_err(|_| AppError::NotFound)?;
    let mut members: Vec<i64> = f
        .all("member")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    members.sort_unstable();
    members.dedup();
    if !members.contains(&keep) || members.len() < 2 {
        return Ok(Redirect::to("/admin/people/duplicates?done=none").into_response());
    }
    let reach = crate::people::scope::condition(&who.0, Backend::of(&state.db));
    let visible = persons::Entity::find()
        .filter(reach)
        .filter(persons::Column::Id.is_in(members.clone()))
        .all(&state.db)
        .await?;
    // One out of reach is as unknown as one that does not exist.
    if visible.len() != members.len() {
        return Err(AppError::NotFound);
    }
    if visible
        .iter()
        .any(|r| r.name_key.is_empty() || r.name_key != visible[0].name_key)
    {
        return Ok(Redirect::to("/admin/people/duplicates?done=not-duplicates").into_response());
    }
    let names = Names::load(&state.db).await?;
    let txn = state.db.begin().await?;
    for drop in members.iter().copied().filter(|m| *m != keep) {
        match merge(&txn, keep, drop, &names).await {
            Ok(()) => {}
            Err(AppError::Rejected(_)) => {
                return Ok(
                    Redirect::to("/admin/people/duplicates?done=two-accounts").into_response()
                );
            }
            Err(e) => return Err(e),
        }
    }
    bulk::audit(
        &txn,
        Some(who.user().id),
        "merge",
        &format!("kept {keep}, merged {:?}", members),
        members.len() - 1,
    )
    .await?;
    txn.commit().await?;
    Ok(Redirect::to("/admin/people/duplicates?done=merged").into_response())
}
