//! The scheduler: named periodic tasks on cron expressions in the network
//! time zone. Each slot is claimed through the `(task, slot_at)` primary key,
//! so it runs once however many nodes tick; missed slots are caught up after
//! downtime according to each task's policy.

pub mod tasks;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TryInsertResult,
};

use crate::app::Shutdown;
use crate::error::{AppError, AppResult};
use amicale_kernel::crypto::random_token;
use amicale_store::entities::{schedule_slots, schedule_tasks};

/// The latest `n` slots of a task, newest first.
pub async fn last_slots(
    db: &DatabaseConnection,
    task: &str,
    n: u64,
) -> AppResult<Vec<schedule_slots::Model>> {
    Ok(schedule_slots::Entity::find()
        .filter(schedule_slots::Column::Task.eq(task))
        .order_by_desc(schedule_slots::Column::SlotAt)
        .paginate(db, n)
        .fetch_page(0)
        .await?)
}

/// What to do with the slots that passed while no node was running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Run the latest missed slot once (housekeeping, digests).
    RunOnce,
    /// Run every missed slot in order (each one matters: daily sends).
    RunEach,
    /// Run none; only a slot reached on time runs.
    Skip,
}

/// A slot this late or less still counts as on time for [`CatchUp::Skip`].
const ON_TIME: Duration = Duration::minutes(2);
/// At most this many missed slots are run by [`CatchUp::RunEach`] in one tick.
const MAX_CATCH_UP: usize = 1000;

/// A task body: receives its slot time, returns a short summary for the log.
pub type TaskFn = Arc<dyn Fn(DateTime<Utc>) -> BoxFuture<'static, AppResult<String>> + Send + Sync>;

#[derive(Clone)]
pub struct Task {
    pub name: &'static str,
    pub cron: Cron,
    pub expr: String,
    pub catch_up: CatchUp,
    pub run: TaskFn,
}

impl Task {
    pub fn new(
        name: &'static str,
        expr: impl Into<String>,
        catch_up: CatchUp,
        run: TaskFn,
    ) -> AppResult<Self> {
        let expr = expr.into();
        let cron = expr
            .parse::<Cron>()
            .map_err(|e| AppError::Config(format!("task {name}: bad cron `{expr}`: {e}")))?;
        Ok(Task {
            name,
            cron,
            expr,
            catch_up,
            run,
        })
    }

    /// Slots after `after` up to and including `now`, in the network time zone.
    fn slots_between(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        // Whole seconds: croner keeps the fraction of its starting point,
        // and a slot must be the same instant whoever computes it (it is
        // the claim key).
        let mut cursor = whole_seconds(after).with_timezone(&tz);
        while let Ok(next) = self.cron.find_next_occurrence(&cursor, false) {
            let utc = next.with_timezone(&Utc);
            if utc > now {
                break;
            }
            out.push(utc);
            cursor = next;
            if out.len() > MAX_CATCH_UP {
                out.remove(0);
            }
        }
        out
    }

    pub fn next_after(&self, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&whole_seconds(now).with_timezone(&tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }
}

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    chrono::Timelike::with_nanosecond(&t, 0).unwrap_or(t)
}

/// A slot this node claimed during a tick, with what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub task: &'static str,
    pub slot: DateTime<Utc>,
    pub outcome: &'static str,
}

pub struct Scheduler {
    db: DatabaseConnection,
    tz: Tz,
    node: String,
    tasks: Vec<Task>,
}

impl Scheduler {
    pub fn new(db: DatabaseConnection, tz: Tz, tasks: Vec<Task>) -> Self {
        Scheduler {
            db,
            tz,
            node: format!("{}-{}", std::process::id(), random_token(6)),
            tasks,
        }
    }

    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// Records when each task was first seen, the start of its catch-up window.
    pub async fn register(&self, now: DateTime<Utc>) -> AppResult<()> {
        for t in &self.tasks {
            schedule_tasks::Entity::insert(schedule_tasks::ActiveModel {
                name: Set(t.name.into()),
                registered_at: Set(now),
            })
            .on_conflict_do_nothing()
            .exec(&self.db)
            .await?;
        }
        Ok(())
    }

    /// Runs every slot due at `now` that no node has claimed yet.
    pub async fn tick(&self, now: DateTime<Utc>) -> AppResult<Vec<Ran>> {
        let mut ran = Vec::new();
        for task in &self.tasks {
            let cursor = self.cursor(task).await?;
            let missed = task.slots_between(self.tz, cursor, now);
            let Some(&latest) = missed.last() else {
                continue;
            };
            let to_run: Vec<DateTime<Utc>> = match task.catch_up {
                CatchUp::RunEach => missed,
                CatchUp::RunOnce => vec![latest],
                CatchUp::Skip if now - latest <= ON_TIME => vec![latest],
                CatchUp::Skip => {
                    // Move the cursor past the missed slots without running them.
                    self.claim(task, latest, now, "skipped").await?;
                    continue;
                }
            };
            for slot in to_run {
                if self.claim(task, slot, now, "running").await? {
                    let outcome = self.execute(task, slot).await?;
                    ran.push(Ran {
                        task: task.name,
                        slot,
                        outcome,
                    });
                }
            }
        }
        Ok(ran)
    }

    /// Runs the latest slot of `name` due at `now`, unless some node
    /// already ran it: `amicale schedule run`, idempotent like the
    /// scheduler's own runs. `None` when the task does not exist.
    pub async fn run_now(
        &self,
        name: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Option<(DateTime<Utc>, &'static str)>> {
        let Some(task) = self.tasks.iter().find(|t| t.name == name) else {
            return Ok(None);
        };
        self.register(now).await?;
        let Some(slot) = task
            .slots_between(self.tz, now - Duration::days(32), now)
            .last()
            .copied()
        else {
            return Ok(Some((now, "no slot")));
        };
        if self.claim(task, slot, now, "running").await? {
            Ok(Some((slot, self.execute(task, slot).await?)))
        } else {
            Ok(Some((slot, "already ran")))
        }
    }

    /// Each task with its latest slot (time, outcome, summary) and its next one.
    pub async fn overview(
        &self,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<(&Task, Option<schedule_slots::Model>, Option<DateTime<Utc>>)>> {
        let mut out = Vec::new();
        for t in &self.tasks {
            let last = schedule_slots::Entity::find()
                .filter(schedule_slots::Column::Task.eq(t.name))
                .order_by_desc(schedule_slots::Column::SlotAt)
                .limit(1)
                .one(&self.db)
                .await?;
            out.push((t, last, t.next_after(self.tz, now)));
        }
        Ok(out)
    }

    async fn cursor(&self, task: &Task) -> AppResult<DateTime<Utc>> {
        let last = schedule_slots::Entity::find()
            .filter(schedule_slots::Column::Task.eq(task.name))
            .order_by_desc(schedule_slots::Column::SlotAt)
            .limit(1)
            .one(&self.db)
            .await?;
        if let Some(l) = last {
            return Ok(l.slot_at);
        }
        let reg = schedule_tasks::Entity::find_by_id(task.name.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::Internal(format!("task {} is not registered", task.name)))?;
        Ok(reg.registered_at)
    }

    /// True when this node won the slot.
    async fn claim(
        &self,
        task: &Task,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
        outcome: &str,
    ) -> AppResult<bool> {
        let res = schedule_slots::Entity::insert(schedule_slots::ActiveModel {
            task: Set(task.name.into()),
            slot_at: Set(slot),
            claimed_by: Set(self.node.clone()),
            claimed_at: Set(now),
            finished_at: Set(None),
            outcome: Set(outcome.into()),
            detail: Set(None),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&self.db)
        .await?;
        Ok(matches!(res, TryInsertResult::Inserted(n) if n > 0))
    }

    async fn execute(&self, task: &Task, slot: DateTime<Utc>) -> AppResult<&'static str> {
        let result = (task.run)(slot).await;
        let (outcome, detail) = match result {
            Ok(summary) => {
                tracing::info!(task = task.name, %slot, %summary, "scheduled task done");
                ("ok", summary)
            }
            Err(e) => {
                tracing::error!(task = task.name, %slot, error = %e, "scheduled task failed");
                ("error", e.to_string())
            }
        };
        schedule_slots::Entity::update_many()
            .col_expr(schedule_slots::Column::Outcome, Expr::value(outcome))
            .col_expr(schedule_slots::Column::Detail, Expr::value(detail))
            .col_expr(schedule_slots::Column::FinishedAt, Expr::value(Utc::now()))
            .filter(schedule_slots::Column::Task.eq(task.name))
            .filter(schedule_slots::Column::SlotAt.eq(slot))
            .exec(&self.db)
            .await?;
        Ok(outcome)
    }

    /// Ticks until shutdown, sleeping until the next slot of any task.
    pub async fn run(self, mut shutdown: Shutdown) {
        if let Err(e) = self.register(Utc::now()).await {
            tracing::error!(error = %e, "scheduler cannot register its tasks");
        }
        tracing::info!(node = %self.node, tasks = self.tasks.len(), "scheduler started");
        while !shutdown.is_set() {
            let now = Utc::now();
            if let Err(e) = self.tick(now).await {
                tracing::error!(error = %e, "scheduler tick failed");
            }
            let now = Utc::now();
            let next = self
                .tasks
                .iter()
                .filter_map(|t| t.next_after(self.tz, now))
                .min()
                .map(|n| (n - now).to_std().unwrap_or_default())
                .unwrap_or(StdDuration::from_secs(60))
                .min(StdDuration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep(next + StdDuration::from_millis(50)) => {}
                _ = shutdown.wait() => {}
            }
        }
        tracing::info!("scheduler stopped");
    }
}
