//! The operations of probable duplicates and their merge.

use sea_orm::{ConnectionTrait, TransactionTrait};

use super::store as dup_store;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::bulk;
use crate::people::model::Status;
use crate::people::store::{self, Names};
use crate::web::session::SessionUser;
use amicale_store::Backend;

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

/// One page of groups of probable duplicates within the user's scope.
pub async fn groups(
    state: &AppState,
    who: &SessionUser,
    all: bool,
    page: u64,
) -> AppResult<Vec<Group>> {
    let reach = crate::people::scope::condition(who, Backend::of(&state.db));
    let keys = dup_store::keys(&state.db, reach.clone(), all, page).await?;
    let rows = dup_store::with_keys(&state.db, reach, keys.clone()).await?;
    Ok(keys
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
        .collect())
}

/// How a merge of a group ended, when it was allowed.
pub enum Merged {
    /// The records do not share a name key: nothing was done.
    NotDuplicates,
    /// Two of them have a login: nothing was done.
    TwoAccounts,
    Done,
}

/// Merges every one of `members` (sorted, distinct, `keep` among them)
/// into `keep` in one transaction, with an audit entry.
pub async fn merge_group(
    state: &AppState,
    who: &SessionUser,
    keep: i64,
    members: &[i64],
) -> AppResult<Merged> {
    let reach = crate::people::scope::condition(who, Backend::of(&state.db));
    let visible = dup_store::within(&state.db, reach, members.to_vec()).await?;
    // One out of reach is as unknown as one that does not exist.
    if visible.len() != members.len() {
        return Err(AppError::NotFound);
    }
    if visible
        .iter()
        .any(|r| r.name_key.is_empty() || r.name_key != visible[0].name_key)
    {
        return Ok(Merged::NotDuplicates);
    }
    let names = Names::load(&state.db).await?;
    let txn = state.db.begin().await?;
    for drop in members.iter().copied().filter(|m| *m != keep) {
        match merge(&txn, keep, drop, &names).await {
            Ok(()) => {}
            Err(AppError::Rejected(_)) => return Ok(Merged::TwoAccounts),
            Err(e) => return Err(e),
        }
    }
    bulk::audit(
        &txn,
        Some(who.user.id),
        "merge",
        &format!("kept {keep}, merged {:?}", members),
        members.len() - 1,
    )
    .await?;
    txn.commit().await?;
    Ok(Merged::Done)
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
    dup_store::lock(db, keep).await?;
    let both = dup_store::by_ids(db, [keep, drop]).await?;
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
    dup_store::move_rows(db, keep, drop).await?;
    crate::people::followup::store::move_all(db, drop, keep).await?;
    dup_store::copy_keyed_rows(db, keep, drop).await?;
    dup_store::drop_pending(db, keep, drop).await?;
    // The dropped record goes first, so its unique values can move.
    store::delete_many(db, &[drop]).await?;
    dup_store::take_over(db, keep, &k, &d).await?;
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
