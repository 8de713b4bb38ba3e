//! The periodic tasks of the product, registered in one list.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::app::AppState;
use crate::error::AppResult;
use crate::schedule::{CatchUp, Task};
use crate::web::session;
use amicale_delivery::outbox;
use amicale_store::entities::{login_throttle, password_resets};

pub fn all(state: AppState) -> Vec<Task> {
    let s1 = state.clone();
    let s2 = state.clone();
    let s3 = state.clone();
    let s4 = state.clone();
    let s5 = state.clone();
    let s6 = state.clone();
    // Validated when the configuration was read.
    let batch = state
        .config
        .batch_cron()
        .unwrap_or_else(|_| "0 19 * * *".into());
    vec![
        Task::new(
            "outbox-housekeeping",
            "*/15 * * * *",
            CatchUp::RunOnce,
            Arc::new(move |slot| {
                let s = s1.clone();
                Box::pin(async move { outbox_housekeeping(&s, slot).await })
            }),
        )
        .expect("valid cron"),
        Task::new(
            "session-cleanup",
            "17 * * * *",
            CatchUp::RunOnce,
            Arc::new(move |slot| {
                let s = s2.clone();
                Box::pin(async move { session_cleanup(&s, slot).await })
            }),
        )
        .expect("valid cron"),
        // Once a day; after downtime one run catches up, since a reminder's
        // stage is computed from the invitation's age, not from the slot.
        Task::new(
            "invitation-reminders",
            "0 10 * * *",
            CatchUp::RunOnce,
            Arc::new(move |slot| {
                let s = s3.clone();
                Box::pin(async move { crate::people::accounts::remind(&s, slot).await })
            }),
        )
        .expect("valid cron"),
        // Each missed day runs after downtime: a rule's day is the slot's
        // day, and reminders for events already past are not sent late.
        Task::new(
            "automatic-rules",
            batch,
            CatchUp::RunEach,
            Arc::new(move |slot| {
                let s = s4.clone();
                Box::pin(async move { crate::events::rules::nightly(&s, slot).await })
            }),
        )
        .expect("valid cron"),
        // Scheduled campaigns go when their time comes; one pass catches up
        // everything overdue after downtime.
        Task::new(
            "campaigns",
            "* * * * *",
            CatchUp::RunOnce,
            Arc::new(move |slot| {
                let s = s5.clone();
                Box::pin(async move { crate::comms::campaigns::launch_due(&s, slot).await })
            }),
        )
        .expect("valid cron"),
        Task::new(
            "database-statistics",
            "41 * * * *",
            CatchUp::RunOnce,
            Arc::new(move |_| {
                let s = s6.clone();
                Box::pin(async move {
                    amicale_store::refresh_statistics(&s.db).await?;
                    Ok("statistics refreshed".to_owned())
                })
            }),
        )
        .expect("valid cron"),
    ]
}

/// Deferred messages past the give-up age become failed, so nothing waits forever.
pub async fn outbox_housekeeping(state: &AppState, now: DateTime<Utc>) -> AppResult<String> {
    let give_up = Duration::seconds(state.config.outbox_give_up_secs as i64);
    let n = outbox::give_up_stale(&state.db, now, give_up).await?;
    Ok(format!("{n} deferred messages given up"))
}

/// Expired sessions, reset links and lockouts. Slot records are kept: the
/// latest one of each task is its catch-up cursor.
pub async fn session_cleanup(state: &AppState, now: DateTime<Utc>) -> AppResult<String> {
    let db = &state.db;
    let sessions = session::purge_expired(db, now).await?;
    let resets = password_resets::Entity::delete_many()
        .filter(password_resets::Column::ExpiresAt.lt(now - Duration::days(1)))
        .exec(db)
        .await?
        .rows_affected;
    let throttles = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::WindowStart.lt(now - Duration::days(1)))
        .exec(db)
        .await?
        .rows_affected;
    let mails = amicale_delivery::throttle::purge(db, now).await?;
    let requests = crate::people::registration::purge_expired(db, now).await?;
    Ok(format!(
        "{sessions} sessions, {resets} reset links, {throttles} lockouts, \
         {mails} mail counters, {requests} unconfirmed registrations removed"
    ))
}
