//! Bulk actions on persons: change roles, switch students to alumni,
//! add to a group, delete. A small selection is applied in the request; a
//! large one becomes a job that a background task applies a chunk per
//! transaction, with its progress in the `jobs` row. Every action is
//! written to the audit log.

use std::time::Duration;

use amicale_people::CommunityRole;
use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::app::{AppState, Shutdown};
use crate::error::{AppError, AppResult};
use crate::people::store;
use amicale_kernel::crypto::random_token;
use amicale_store::entities::{
    audit_log, group_members, groups, jobs, person_roles, saved_list_members,
};

/// Selections up to this size are applied at once; larger ones in the background.
pub const INLINE_LIMIT: usize = 1000;
const CHUNK: usize = 500;
const LEASE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    AddRole {
        role: String,
        programme_id: Option<i64>,
    },
    StudentsToAlumni,
    AddToGroup {
        group_id: i64,
    },
    AddToList {
        list_id: i64,
    },
    Delete,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::AddRole { .. } => "add_role",
            Action::StudentsToAlumni => "students_to_alumni",
            Action::AddToGroup { .. } => "add_to_group",
            Action::AddToList { .. } => "add_to_list",
            Action::Delete => "delete",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    #[serde(flatten)]
    action: Action,
    ids: Vec<i64>,
}

/// Adds persons to a membership table (a group's or a saved list's),
/// keyed by (owner, person); those already in it stay as they are.
macro_rules! add_members {
    ($db:expr, $ids:expr, $table:ident, $field:ident, $column:ident, $owner:expr) => {
        let rows: Vec<_> = $ids
            .iter()
            .map(|person| $table::ActiveModel {
                $field: Set($owner),
                person_id: Set(*person),
            })
            .collect();
        for chunk in rows.chunks(300) {
            $table::Entity::insert_many(chunk.to_vec())
                .on_conflict_do_nothing_on([$table::Column::$column, $table::Column::PersonId])
                .exec($db)
                .await?;
        }
    };
}

/// Applies an action to some persons inside the caller's transaction.
pub async fn apply<C: ConnectionTrait>(db: &C, action: &Action, ids: &[i64]) -> AppResult<()> {
    match action {
        Action::AddRole { role, programme_id } => {
            let role = CommunityRole::parse(role)
                .map_err(|_| AppError::Internal(format!("unknown role {role}")))?;
            let rows: Vec<_> = ids
                .iter()
                .map(|id| person_roles::ActiveModel {
                    person_id: Set(*id),
                    role: Set(role.as_str().to_owned()),
                    programme_id: Set(programme_id.unwrap_or(0)),
                })
                .collect();
            for chunk in rows.chunks(300) {
                person_roles::Entity::insert_many(chunk.to_vec())
                    .on_conflict_do_nothing_on([
                        person_roles::Column::PersonId,
                        person_roles::Column::Role,
                        person_roles::Column::ProgrammeId,
                    ])
                    .exec(db)
                    .await?;
            }
        }
        Action::StudentsToAlumni => {
            // A person already alumni of the same programme keeps one role.
            db.execute_raw(sea_orm::Statement::from_sql_and_values(
                db.get_database_backend(),
                format!(
                    "DELETE FROM person_roles WHERE role = 'student' AND person_id IN ({}) \
                     AND EXISTS (SELECT 1 FROM person_roles a WHERE a.person_id = person_roles.person_id \
                     AND a.role = 'alumni' AND a.programme_id = person_roles.programme_id)",
                    placeholders(db, ids.len())
                ),
                ids.iter().map(|i| sea_orm::Value::from(*i)).collect::<Vec<_>>(),
            ))
            .await?;
            person_roles::Entity::update_many()
                .col_expr(person_roles::Column::Role, Expr::value("alumni"))
                .filter(person_roles::Column::Role.eq("student"))
                .filter(person_roles::Column::PersonId.is_in(ids.to_vec()))
                .exec(db)
                .await?;
        }
        Action::AddToGroup { group_id } => {
            add_members!(db, ids, group_members, group_id, GroupId, *group_id);
        }
        Action::AddToList { list_id } => {
            add_members!(db, ids, saved_list_members, list_id, ListId, *list_id);
        }
        Action::Delete => {
            store::delete_many(db, ids).await?;
        }
    }
    Ok(())
}

fn placeholders<C: ConnectionTrait>(db: &C, n: usize) -> String {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => (1..=n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => vec!["?"; n].join(", "),
    }
}

pub async fn audit<C: ConnectionTrait>(
    db: &C,
    user_id: Option<i64>,
    action: &str,
    detail: &str,
    count: usize,
) -> AppResult<()> {
    audit_log::ActiveModel {
        user_id: Set(user_id),
        action: Set(action.to_owned()),
        detail: Set(detail.to_owned()),
        count: Set(count as i64),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// What became of a bulk request.
pub enum Outcome {
    Done(usize),
    Queued(i64),
}

/// Applies now when small, else queues a job; audited either way.
pub async fn run(
    state: &AppState,
    user_id: i64,
    action: Action,
    ids: Vec<i64>,
) -> AppResult<Outcome> {
    let detail = serde_json::to_string(&action).unwrap_or_default();
    let n = ids.len();
    let txn = state.db.begin().await?;
    let outcome = if n <= INLINE_LIMIT {
        for chunk in ids.chunks(CHUNK) {
            apply(&txn, &action, chunk).await?;
        }
        Outcome::Done(n)
    } else {
        let now = Utc::now();
        let job = jobs::ActiveModel {
            kind: Set("people-bulk".into()),
            state: Set("queued".into()),
            total: Set(n as i64),
            done: Set(0),
            payload: Set(serde_json::to_string(&Payload {
                action: action.clone(),
                ids,
            })
            .map_err(|e| AppError::Internal(e.to_string()))?),
            created_by: Set(Some(user_id)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        Outcome::Queued(job.id)
    };
    audit(&txn, Some(user_id), action.name(), &detail, n).await?;
    txn.commit().await?;
    if let Outcome::Queued(_) = outcome {
        state.jobs_wakeup.notify_one();
    }
    Ok(outcome)
}

/// Finds or creates a group by name.
pub async fn group_id<C: ConnectionTrait>(db: &C, name: &str) -> AppResult<i64> {
    let name = name.trim();
    if let Some(g) = groups::Entity::find()
        .filter(groups::Column::Name.eq(name))
        .one(db)
        .await?
    {
        return Ok(g.id);
    }
    Ok(groups::ActiveModel {
        name: Set(name.to_owned()),
        kind: Set("custom".into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .id)
}

/// Takes the oldest job that is queued or whose runner's lease ran out.
async fn claim(db: &DatabaseConnection, owner: &str) -> AppResult<Option<jobs::Model>> {
    let now = Utc::now();
    let candidate = jobs::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(jobs::Column::State.eq("queued"))
                .add(
                    sea_orm::Condition::all()
                        .add(jobs::Column::State.eq("running"))
                        .add(jobs::Column::LeaseUntil.lt(now)),
                ),
        )
        .order_by_asc(jobs::Column::Id)
        .one(db)
        .await?;
    let Some(job) = candidate else {
        return Ok(None);
    };
    // Compare-and-set on the state and lease seen: two runners never both win.
    let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    let mut upd = jobs::Entity::update_many()
        .col_expr(jobs::Column::State, Expr::value("running"))
        .col_expr(jobs::Column::LeaseOwner, Expr::value(owner))
        .col_expr(jobs::Column::LeaseUntil, Expr::value(until))
        .filter(jobs::Column::Id.eq(job.id))
        .filter(jobs::Column::State.eq(job.state.clone()));
    upd = match job.lease_until {
        Some(l) => upd.filter(jobs::Column::LeaseUntil.eq(l)),
        None => upd.filter(jobs::Column::LeaseUntil.is_null()),
    };
    if upd.exec(db).await?.rows_affected == 1 {
        Ok(Some(job))
    } else {
        Ok(None)
    }
}

/// Applies a job from where it stopped, a chunk per transaction that also
/// advances `done`, so a crash resumes without redoing a chunk.
async fn execute(db: &DatabaseConnection, job: &jobs::Model, owner: &str) -> AppResult<()> {
    let payload: Payload = serde_json::from_str(&job.payload)
        .map_err(|e| AppError::Internal(format!("job {}: {e}", job.id)))?;
    let mut done = job.done as usize;
    while done < payload.ids.len() {
        let end = (done + CHUNK).min(payload.ids.len());
        let txn = db.begin().await?;
        apply(&txn, &payload.action, &payload.ids[done..end]).await?;
        let until = Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let moved = jobs::Entity::update_many()
            .col_expr(jobs::Column::Done, Expr::value(end as i64))
            .col_expr(jobs::Column::LeaseUntil, Expr::value(until))
            .col_expr(jobs::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(jobs::Column::Id.eq(job.id))
            .filter(jobs::Column::LeaseOwner.eq(owner))
            .exec(&txn)
            .await?
            .rows_affected;
        if moved != 1 {
            // Another runner took the job over: leave it to them.
            return Ok(());
        }
        txn.commit().await?;
        done = end;
    }
    jobs::Entity::update_many()
        .col_expr(jobs::Column::State, Expr::value("done"))
        .col_expr(jobs::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(jobs::Column::Id.eq(job.id))
        .filter(jobs::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(())
}

/// The background runner of bulk jobs.
pub async fn runner(state: AppState, mut shutdown: Shutdown) {
    let owner = format!("jobs-{}", random_token(8));
    loop {
        if shutdown.is_set() {
            return;
        }
        match claim(&state.db, &owner).await {
            Ok(Some(job)) => {
                let outcome = if job.kind == "people-import" {
                    crate::people::import_pages::execute(&state, &job)
                        .await
                        .map(Some)
                } else {
                    execute(&state.db, &job, &owner).await.map(|_| None)
                };
                let update = match outcome {
                    // An import is an upsert: if this node dies before this
                    // line, running it again changes nothing more.
                    Ok(Some(report)) => jobs::Entity::update_many()
                        .col_expr(jobs::Column::State, Expr::value("done"))
                        .col_expr(jobs::Column::Done, Expr::col(jobs::Column::Total))
                        .col_expr(jobs::Column::Result, Expr::value(report))
                        .col_expr(jobs::Column::Payload, Expr::value(""))
                        .col_expr(jobs::Column::UpdatedAt, Expr::value(Utc::now())),
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::error!(job = job.id, error = %e, "background job failed");
                        jobs::Entity::update_many()
                            .col_expr(jobs::Column::State, Expr::value("failed"))
                            .col_expr(jobs::Column::Result, Expr::value(e.to_string()))
                    }
                };
                if let Err(e) = update
                    .filter(jobs::Column::Id.eq(job.id))
                    .exec(&state.db)
                    .await
                {
                    tracing::error!(job = job.id, error = %e, "recording a job's end failed");
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "claiming a bulk job failed"),
        }
        tokio::select! {
            _ = state.jobs_wakeup.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.wait() => return,
        }
    }
}
