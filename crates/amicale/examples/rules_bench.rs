//! Automatic rules and campaigns at scale (run by `bench/rules.sh`):
//!  1. fills the database: `PEOPLE` demo persons (default 100,000), `EVENTS`
//!     events (default 100,000) spread over a year around today, `PER_EVENT`
//!     participants each (default 10, so 1,000,000 participations), `RULES`
//!     active rules (default 200) with varied filters and offsets −3…+3;
//!  2. times one nightly evaluation of every rule for today (select, decide,
//!     build the merge data, claim and enqueue), then a second one (which
//!     finds everything claimed and enqueues nothing);
//!  3. a campaign to every demo person: the time the request spends
//!     (scheduling) and the time of the background launch.
//!
//! cargo run --release -p amicale --example rules_bench -- <database-url>

use std::time::Instant;

use amicale::comms::campaigns;
use amicale::comms::templates::store::{self, TemplateInput};
use amicale_delivery::config::Config;
use amicale_delivery::templates::model::{RecipientType, SendingMode, TemplateKind, Variant};
use amicale_kernel::SendChannel;
use amicale_store::entities::{events, outbox, participations, persons, rules};
use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};

const TYPES: [&str; 10] = [
    "Atelier",
    "Diagnostic",
    "Entretien",
    "Réunion d'information",
    "Formation",
    "Permanence",
    "Visite",
    "Conférence",
    "Jury",
    "Afterwork",
];
const STEPS: [&str; 8] = [
    "Accueil",
    "Diagnostic",
    "Émergence",
    "Montage",
    "Financement",
    "Lancement",
    "Suivi",
    "Bilan",
];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    amicale::install_crypto_provider();
    let url = std::env::args()
        .nth(1)
        .expect("usage: rules_bench <database-url>");
    let (people, n_events, per_event, n_rules) = (
        env("PEOPLE", 100_000),
        env("EVENTS", 100_000),
        env("PER_EVENT", 10),
        env("RULES", 200),
    );
    let config = Config {
        database_url: url.clone(),
        secret_key: Some("bench-secret-key-that-is-long-enough-0123456789".into()),
        workers: 0,
        ..Config::default()
    };
    let db = amicale_store::connect(&url).await.expect("connect");
    amicale_store::migrate(&db).await.expect("migrate");
    let t = Instant::now();
    amicale::demo::load(&db, people).await.expect("demo");
    let person_ids: Vec<i64> = persons::Entity::find()
        .select_only()
        .column(persons::Column::Id)
        .into_tuple()
        .all(&db)
        .await
        .unwrap();
    println!(
        "persons: {} ({:.1} s)",
        person_ids.len(),
        t.elapsed().as_secs_f64()
    );
    let state = amicale::app::AppState::new(config, "http://bench.localhost".into(), false)
        .await
        .expect("state");
    let tz = state.tz;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let mut rng = StdRng::seed_from_u64(2026);

    // The demo has a few dozen events and rules of its own; the bench adds
    // its volume next to them once.
    let bench_events = events::Entity::find()
        .filter(events::Column::Title.contains(" n°"))
        .count(&db)
        .await
        .unwrap();
    if bench_events == 0 {
        let t = Instant::now();
        let now = Utc::now();
        for chunk_start in (0..n_events).step_by(1000) {
            let rows: Vec<events::ActiveModel> = (chunk_start..(chunk_start + 1000).min(n_events))
                .map(|i| {
                    let day = today + Duration::days((i % 365) as i64 - 182);
                    let start = day.and_hms_opt(9 + (i % 9) as u32, 0, 0).unwrap().and_utc();
                    events::ActiveModel {
                        id: NotSet,
                        title: Set(format!("{} n°{i}", TYPES[i % TYPES.len()])),
                        nature: Set(if i % 2 == 0 {
                            "collective"
                        } else {
                            "individual"
                        }
                        .into()),
                        event_type: Set(TYPES[(i / 2) % TYPES.len()].into()),
                        programme_id: Set(None),
                        step: Set(STEPS[(i / 3) % STEPS.len()].into()),
                        phase: Set(String::new()),
                        mode: Set(if i % 3 == 0 { "remote" } else { "onsite" }.into()),
                        video_link: Set(String::new()),
                        site: Set("Maison des entreprises".into()),
                        address: Set("12 rue de la République".into()),
                        postal_code: Set("69002".into()),
                        city: Set("Lyon".into()),
                        starts_at: Set(start),
                        ends_at: Set(start + Duration::hours(2)),
                        local_date: Set(day.format("%Y-%m-%d").to_string()),
                        capacity: Set(Some(per_event as i32 + 5)),
                        resource: Set(String::new()),
                        open_registration: Set(false),
                        created_by: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                    }
                })
                .collect();
            events::Entity::insert_many(rows)
                .exec_without_returning(&db)
                .await
                .unwrap();
        }
        let event_ids: Vec<i64> = events::Entity::find()
            .select_only()
            .column(events::Column::Id)
            .into_tuple()
            .all(&db)
            .await
            .unwrap();
        let mut batch = Vec::with_capacity(5000);
        for e in &event_ids {
            let mut chosen = std::collections::HashSet::new();
            while chosen.len() < per_event.min(person_ids.len()) {
                chosen.insert(person_ids[rng.gen_range(0..person_ids.len())]);
            }
            for p in chosen {
                batch.push(participations::ActiveModel {
                    id: NotSet,
                    event_id: Set(*e),
                    person_id: Set(p),
                    waiting: Set(false),
                    confirmed: Set(rng.gen_bool(0.7)),
                    presence: Set(String::new()),
                    registered_at: Set(now),
                    registered_by: Set(None),
                });
            }
            if batch.len() >= 4000 {
                participations::Entity::insert_many(std::mem::take(&mut batch))
                    .exec_without_returning(&db)
                    .await
                    .unwrap();
            }
        }
        if !batch.is_empty() {
            participations::Entity::insert_many(batch)
                .exec_without_returning(&db)
                .await
                .unwrap();
        }
        println!(
            "events: {} with {} participations ({:.1} s)",
            event_ids.len(),
            participations::Entity::find().count(&db).await.unwrap(),
            t.elapsed().as_secs_f64()
        );
    }

    let template = |name: &str, mode: SendingMode| {
        TemplateInput {
        name: name.into(),
        active: true,
        recipient_types: RecipientType::ALL.to_vec(),
        modes: vec![mode],
        fr: Variant {
            subject: "Rappel : {{ event.title }}".into(),
            body: "<p>Bonjour {{ participant.first_name }},</p><p>{{ event.title }} le {{ event.start | date(\"l j F Y à H:i\") }}, {{ event.place }}.</p>".into(),
            text: "Bonjour {{ participant.first_name }}, {{ event.title }} le {{ event.start | date(\"l j F Y à H:i\") }}.".into(),
        },
        en: None,
        text_edited: true,
    }
    };
    let bench_rules = rules::Entity::find()
        .filter(rules::Column::Name.starts_with("Règle "))
        .count(&db)
        .await
        .unwrap();
    if bench_rules == 0 {
        let tid = store::create(
            &db,
            TemplateKind::Email,
            &template("Rappel", SendingMode::Automatic),
            None,
        )
        .await
        .unwrap();
        for i in 0..n_rules {
            let input = amicale::events::rules::RuleInput {
                name: format!("Règle {i}"),
                nature: match i % 3 {
                    0 => Some(amicale::events::model::Nature::Collective),
                    1 => Some(amicale::events::model::Nature::Individual),
                    _ => None,
                },
                event_type: TYPES[i % TYPES.len()].into(),
                programme_id: None,
                step: if i % 4 == 0 {
                    STEPS[i % STEPS.len()].into()
                } else {
                    String::new()
                },
                mode: None,
                presence: None,
                confirmed: (i % 5 == 0).then_some(true),
                channel: SendChannel::Email,
                template_id: tid,
                offset: amicale::events::model::Offset::new((i % 7) as i32 - 3).unwrap(),
                active: true,
            };
            amicale::events::rules::create(&db, &input, None)
                .await
                .unwrap();
        }
    }

    // Events earlier today are not "past" for this measure.
    let now = Utc::now() - Duration::days(1);
    let t = Instant::now();
    let first = amicale::events::rules::run_day(&state, today, now)
        .await
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "nightly evaluation: {} rules, {} messages queued, {} excluded in {secs:.2} s",
        first.rules, first.queued, first.excluded
    );
    println!(
        "target: nightly evaluation <= 10 s: {}",
        if secs <= 10.0 { "met" } else { "missed" }
    );
    let t = Instant::now();
    let second = amicale::events::rules::run_day(&state, today, now)
        .await
        .unwrap();
    println!(
        "second run the same day: {} queued, {} already sent, in {:.2} s",
        second.queued,
        second.already,
        t.elapsed().as_secs_f64()
    );

    let ctid = store::create(
        &db,
        TemplateKind::Email,
        &template("Lettre", SendingMode::Campaign),
        None,
    )
    .await
    .unwrap();
    let admin = amicale_store::entities::users::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .map(|u| u.id)
        .unwrap_or(1);
    let id = campaigns::create(
        &db,
        "Bench",
        RecipientType::Member,
        SendChannel::Email,
        ctid,
        admin,
        None,
    )
    .await
    .unwrap();
    campaigns::save(
        &db,
        id,
        &campaigns::Filters::default(),
        &campaigns::Selection::All,
    )
    .await
    .unwrap();
    let t = Instant::now();
    campaigns::schedule(&db, id, Utc::now()).await.unwrap();
    let request = t.elapsed().as_secs_f64();
    let t = Instant::now();
    campaigns::launch(&state, id).await.unwrap();
    let launch = t.elapsed().as_secs_f64();
    let queued = outbox::Entity::find()
        .filter(outbox::Column::Origin.eq("campaign"))
        .count(&db)
        .await
        .unwrap();
    println!(
        "campaign to {} persons: the request returns in {:.3} s ({}), the background launch queued {queued} messages in {launch:.1} s",
        person_ids.len(),
        request,
        if request <= 2.0 { "met" } else { "missed" }
    );
}
