//! Delivery benchmark harness (run by `bench/delivery.sh`): queues one
//! templated send of N personalised ~5 KB HTML+text e-mails through the
//! product's real path (send → outbox → workers → SMTP) and measures it.
//!
//! cargo run --release -p amicale --example delivery_bench -- \
//!     <database-url> <smtp-url> <recipients> <workers> [ed25519|rsa]

use std::time::{Duration, Instant};

use amicale::app::{AppState, shutdown_pair};
use amicale::comms::templates::store::{self, TemplateInput};
use amicale::runtime::spawn_background;
use amicale_delivery::config::Config;
use amicale_delivery::outbox::Origin;
use amicale_delivery::sends::{self, Recipient};
use amicale_delivery::templates::model::{RecipientType, SendingMode, TemplateKind, Variant};
use amicale_store::entities::outbox;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

// The allocator the `amicale` binary runs with.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn body() -> String {
    let mut html = String::from(
        "<h2>Bonjour {{ person.civility }} {{ person.first_name }} {{ person.last_name }},</h2>\
         <p>Promo {{ person.promo_year }}, {{ person.programme }} — {{ person.company }}, {{ person.city }}.</p>\
         <p>Rendez-vous le {{ event.start | date(\"l j F Y à H:i\") }} à {{ event.place }}, {{ event.city }}.</p>\
         <p><a href=\"https://amicale.example/events/42\">Je m'inscris</a> · \
         <a href=\"https://jobs.example.org/offres?promo={{ person.promo_year }}&amp;ville={{ person.city }}\">Les offres</a></p>",
    );
    // Realistic newsletter filler to reach ~5 KB.
    while html.len() < 4800 {
        html.push_str(
            "<p>Le réseau des diplômés vous propose ce mois-ci des ateliers, des offres d'emploi et des \
             rencontres avec les entreprises partenaires. Inscrivez-vous depuis votre espace membre.</p>",
        );
    }
    html.push_str(
        "<p>{{ sender.name }} — <a href=\"{{ unsubscribe_url }}\">désinscription</a></p>",
    );
    html
}

fn recipient(i: usize) -> Recipient {
    Recipient {
        address: format!("member{i}@bench.example"),
        merge_data: serde_json::json!({
            "person": {
                "civility": if i.is_multiple_of(2) { "Mme" } else { "M." },
                "first_name": format!("Prénom{i}"), "last_name": format!("Nom{i}"),
                "promo_year": 1995 + (i % 30), "programme": "Master Management international",
                "company": "Airbus", "city": "Toulouse",
            },
            "event": {"start": "2026-03-12 14:30", "place": "Maison des associations", "city": "Lyon"},
            "sender": {"name": "Service Alumni"},
            "unsubscribe_url": format!("https://amicale.example/u/{i}"),
        }),
        locale: "fr",
        person_id: None,
        event_id: None,
        segments: None,
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("amicale-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    amicale::disable_huge_pages();
    amicale::install_crypto_provider();
    let args: Vec<String> = std::env::args().collect();
    let (db_url, smtp_url, n, workers, dkim) = match args.as_slice() {
        [_, d, s, n, w] => (d, s, n, w, None),
        [_, d, s, n, w, k] => (d, s, n, w, Some(k.as_str())),
        _ => {
            eprintln!(
                "usage: delivery_bench <database-url> <smtp-url> <recipients> <workers> [ed25519|rsa]"
            );
            std::process::exit(2);
        }
    };
    // A fresh signing key for the run, as `amicale dkim generate` makes one.
    let key_dir = tempfile_dir();
    let dkim_key = dkim.map(|alg| {
        use amicale_mailkit::dkim::{Algorithm, SigningKey};
        let alg = if alg == "rsa" {
            Algorithm::RsaSha256
        } else {
            Algorithm::Ed25519Sha256
        };
        let path = key_dir.join("dkim.pem");
        std::fs::write(
            &path,
            SigningKey::generate(alg).expect("key").to_pkcs8_pem(),
        )
        .expect("key file");
        path
    });
    let n: usize = n.parse().expect("recipients");
    let config = Config {
        database_url: db_url.clone(),
        // "catcher" measures everything but SMTP.
        smtp_url: (smtp_url != "catcher").then(|| smtp_url.clone()),
        workers: workers.parse().expect("workers"),
        outbox_poll_secs: 1,
        // As the product reads it (bench/delivery.sh's BATCH).
        outbox_batch: std::env::var("AMICALE_OUTBOX_BATCH")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(Config::default().outbox_batch),
        secret_key: Some("benchmark-secret-key-0123456789abcdef".into()),
        dkim_domain: dkim_key.as_ref().map(|_| "bench.example".to_owned()),
        dkim_selector: dkim_key.as_ref().map(|_| "bench".to_owned()),
        dkim_key_file: dkim_key,
        ..Config::default()
    };
    let state = AppState::new(config, "https://amicale.example".into(), false)
        .await
        .expect("state");
    let input = TemplateInput {
        name: "Bench".into(),
        active: true,
        recipient_types: vec![RecipientType::Member],
        modes: vec![SendingMode::EventPage],
        fr: Variant {
            subject: "{{ person.first_name }}, rendez-vous le {{ event.start | date(\"j F\") }}"
                .into(),
            text: amicale_delivery::templates::plaintext::from_html(&body()),
            // As saving a template from its page stores it: cleaned.
            body: amicale_delivery::templates::sanitize::clean(&body(), false),
        },
        en: None,
        text_edited: false,
    };
    let tid = store::create(&state.db, TemplateKind::Email, &input, None)
        .await
        .expect("template");
    let version = store::get(&state.db, tid).await.expect("template").1.id;

    let start = Instant::now();
    let send = sends::create(
        &state.db,
        "bench",
        Origin::Batch,
        None,
        version,
        (0..n).map(recipient),
        None,
        "bench.example",
    )
    .await
    .expect("send");
    let enqueued = start.elapsed();
    let (trigger, shutdown) = shutdown_pair();
    let mut background = spawn_background(&state, &shutdown);
    loop {
        let p = sends::progress(&state.db, send, Utc::now())
            .await
            .expect("progress");
        if p.finished {
            if p.sent as usize != n {
                eprintln!("only {} of {n} sent: {p:?}", p.sent);
                std::process::exit(1);
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let total = start.elapsed();
    trigger.fire();
    while background.join_next().await.is_some() {}

    let rows: Vec<(chrono::DateTime<Utc>, Option<chrono::DateTime<Utc>>)> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::CreatedAt)
        .column(outbox::Column::SentAt)
        .filter(outbox::Column::SendId.eq(send))
        .into_tuple()
        .all(&state.db)
        .await
        .expect("latencies");
    let mut lat: Vec<f64> = rows
        .iter()
        .filter_map(|(c, s)| s.map(|s| (s - *c).num_milliseconds() as f64 / 1000.0))
        .collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "recipients: {n}, workers: {workers}, claim batch: {}, database: {}",
        state.config.outbox_batch,
        state.backend.name()
    );
    println!(
        "enqueue: {:.2} s ({:.0} messages/s)",
        enqueued.as_secs_f64(),
        n as f64 / enqueued.as_secs_f64()
    );
    println!("messages/s: {:.0}", n as f64 / total.as_secs_f64());
    println!(
        "enqueue→accepted p50: {:.2} s, p99: {:.2} s",
        pct(0.50),
        pct(0.99)
    );
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}
