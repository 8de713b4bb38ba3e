//! The scheduler: exactly once per slot across nodes, catch-up policies,
//! the network time zone, and the housekeeping task.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use amicale::schedule::{CatchUp, Scheduler, Task, TaskFn};
use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait};

use crate::support::{TestDb, on_each_backend};

type Log = Arc<Mutex<BTreeMap<(String, DateTime<Utc>), u32>>>;

fn recording(name: &'static str, log: &Log) -> TaskFn {
    let log = log.clone();
    Arc::new(move |slot| {
        let log = log.clone();
        Box::pin(async move {
            *log.lock()
                .unwrap()
                .entry((name.to_owned(), slot))
                .or_default() += 1;
            // Yield so the other node gets a chance to race for the same slot.
            tokio::task::yield_now().await;
            Ok(String::new())
        })
    })
}

async fn node(url: &str, tasks: Vec<Task>) -> Scheduler {
    let db = amicale_store::connect(url).await.unwrap();
    amicale_store::migrate(&db).await.unwrap();
    Scheduler::new(db, chrono_tz::Europe::Paris, tasks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_run_each_slot_exactly_once() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let log: Log = Arc::default();
        let tasks = || {
            vec![
                Task::new(
                    "every-minute",
                    "* * * * *",
                    CatchUp::RunEach,
                    recording("every-minute", &log),
                )
                .unwrap(),
                Task::new(
                    "every-5",
                    "*/5 * * * *",
                    CatchUp::RunOnce,
                    recording("every-5", &log),
                )
                .unwrap(),
            ]
        };
        let a = Arc::new(node(&db.url, tasks()).await);
        let b2 = Arc::new(node(&db.url, tasks()).await);
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        a.register(t0).await.unwrap();
        b2.register(t0).await.unwrap();

        let mut ran_by = [0usize; 2];
        for minute in 1..=60 {
            let now = t0 + Duration::minutes(minute) + Duration::seconds(1);
            let (x, y) = (a.clone(), b2.clone());
            let ha = tokio::spawn(async move { x.tick(now).await.unwrap() });
            let hb = tokio::spawn(async move { y.tick(now).await.unwrap() });
            ran_by[0] += ha.await.unwrap().len();
            ran_by[1] += hb.await.unwrap().len();
        }
        let log = log.lock().unwrap().clone();
        let minutes = log.keys().filter(|(n, _)| n == "every-minute").count();
        let fives = log.keys().filter(|(n, _)| n == "every-5").count();
        assert_eq!(minutes, 60);
        assert_eq!(fives, 12);
        assert!(log.values().all(|&n| n == 1), "a slot ran twice: {log:?}");
        assert_eq!(ran_by[0] + ran_by[1], 72);
        let rows = amicale_store::entities::schedule_slots::Entity::find()
            .count(&amicale_store::connect(&db.url).await.unwrap())
            .await
            .unwrap();
        assert_eq!(rows, 72);
        eprintln!(
            "slots run by node A: {}, by node B: {}",
            ran_by[0], ran_by[1]
        );
    })
    .await;
}

#[tokio::test]
async fn missed_slots_follow_each_tasks_catch_up_policy() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let log: Log = Arc::default();
        let s = node(
            &db.url,
            vec![
                Task::new(
                    "each",
                    "0 * * * *",
                    CatchUp::RunEach,
                    recording("each", &log),
                )
                .unwrap(),
                Task::new(
                    "once",
                    "0 * * * *",
                    CatchUp::RunOnce,
                    recording("once", &log),
                )
                .unwrap(),
                Task::new("skip", "0 * * * *", CatchUp::Skip, recording("skip", &log)).unwrap(),
            ],
        )
        .await;
        let t0 = Utc.with_ymd_and_hms(2026, 6, 1, 10, 30, 0).unwrap();
        s.register(t0).await.unwrap();
        // Down for five hours: slots 11:00 … 15:00 (UTC) were missed.
        let back = t0 + Duration::hours(5);
        s.tick(back).await.unwrap();
        let count = |name: &str| {
            log.lock()
                .unwrap()
                .keys()
                .filter(|(n, _)| n == name)
                .count()
        };
        assert_eq!(count("each"), 5);
        assert_eq!(count("once"), 1);
        assert_eq!(count("skip"), 0);
        let latest = Utc.with_ymd_and_hms(2026, 6, 1, 15, 0, 0).unwrap();
        assert!(
            log.lock()
                .unwrap()
                .contains_key(&("once".to_owned(), latest))
        );
        // Ticking again at the same time runs nothing more.
        assert!(s.tick(back).await.unwrap().is_empty());
        // The next slot, reached on time, runs for every policy.
        s.tick(Utc.with_ymd_and_hms(2026, 6, 1, 16, 0, 5).unwrap())
            .await
            .unwrap();
        assert_eq!((count("each"), count("once"), count("skip")), (6, 2, 1));
    })
    .await;
}

#[tokio::test]
async fn slots_follow_the_network_time_zone() {
    let db = TestDb::new(crate::support::Backend::Sqlite).await;
    let log: Log = Arc::default();
    let s = node(
        &db.url,
        vec![
            Task::new(
                "batch",
                "0 19 * * *",
                CatchUp::RunEach,
                recording("batch", &log),
            )
            .unwrap(),
        ],
    )
    .await;
    // 19:00 in Paris is 18:00 UTC in winter and 17:00 UTC in summer.
    let t0 = Utc.with_ymd_and_hms(2026, 3, 27, 12, 0, 0).unwrap();
    s.register(t0).await.unwrap();
    s.tick(Utc.with_ymd_and_hms(2026, 3, 30, 12, 0, 0).unwrap())
        .await
        .unwrap();
    let slots: Vec<_> = log.lock().unwrap().keys().map(|(_, t)| *t).collect();
    assert_eq!(
        slots,
        vec![
            Utc.with_ymd_and_hms(2026, 3, 27, 18, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 28, 18, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 29, 17, 0, 0).unwrap(),
        ]
    );
}

#[tokio::test]
async fn a_failing_task_is_recorded_and_not_rerun() {
    let db = TestDb::new(crate::support::Backend::Sqlite).await;
    let calls = Arc::new(Mutex::new(0));
    let c = calls.clone();
    let failing: TaskFn = Arc::new(move |_| {
        let c = c.clone();
        Box::pin(async move {
            *c.lock().unwrap() += 1;
            Err(amicale::error::AppError::Internal("boom".into()))
        })
    });
    let s = node(
        &db.url,
        vec![Task::new("fails", "0 * * * *", CatchUp::RunEach, failing).unwrap()],
    )
    .await;
    let t0 = Utc.with_ymd_and_hms(2026, 6, 1, 10, 30, 0).unwrap();
    s.register(t0).await.unwrap();
    let ran = s.tick(t0 + Duration::hours(1)).await.unwrap();
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].outcome, "error");
    s.tick(t0 + Duration::hours(1)).await.unwrap();
    assert_eq!(*calls.lock().unwrap(), 1);
}

#[tokio::test]
async fn housekeeping_gives_up_on_messages_deferred_too_long() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = crate::support::spawn_app(b).await;
        let now = Utc::now();
        let old = now - Duration::days(6);
        let mut ids = Vec::new();
        for created in [old, now] {
            let r = amicale_store::entities::outbox::Entity::insert(
                amicale_store::entities::outbox::ActiveModel {
                    channel: Set(amicale_kernel::Channel::Email),
                    recipient: Set("x@example.org".into()),
                    subject: Set("s".into()),
                    body_text: Set("t".into()),
                    origin: Set(amicale_delivery::outbox::Origin::System),
                    state: Set(amicale_delivery::outbox::State::Deferred),
                    attempts: Set(3),
                    // Not due, so the running worker leaves them alone.
                    next_attempt_at: Set(now + Duration::hours(1)),
                    message_id: Set(format!("<{}@x>", created.timestamp())),
                    created_at: Set(created),
                    updated_at: Set(created),
                    ..Default::default()
                },
            )
            .exec(&app.state.db)
            .await
            .unwrap();
            ids.push(r.last_insert_id);
        }
        let summary = amicale::schedule::tasks::outbox_housekeeping(&app.state, now)
            .await
            .unwrap();
        assert!(summary.starts_with('1'), "{summary}");
        let get = |id| amicale_store::entities::outbox::Entity::find_by_id(id).one(&app.state.db);
        assert_eq!(get(ids[0]).await.unwrap().unwrap().state.as_str(), "failed");
        assert_eq!(
            get(ids[1]).await.unwrap().unwrap().state.as_str(),
            "deferred"
        );
        app.stop().await;
    })
    .await;
}
