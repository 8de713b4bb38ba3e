//! Renders a realistic ~5 KB HTML invitation (≈25 merge fields, a date
//! filter, a loop over 5 participants) for many recipients on one thread,
//! compiled once, and prints renders per second. `bench/merge.sh` runs it
//! next to the same template rendered by Python's Jinja2
//! (`bench/merge_jinja2.py`, which builds the same data).
//!
//! ```text
//! cargo run --release -p amicale-merge --example merge_bench [RECIPIENTS]
//! ```

use std::hint::black_box;
use std::time::Instant;

use amicale_merge::{Engine, Kind, Locale, Value, record};

const TEMPLATE: &str = include_str!("merge_bench.html");

// Keep these lists identical to bench/merge_jinja2.py.
const FIRST: [&str; 20] = [
    "Hélène", "Karim", "Sophie", "Julien", "Amina", "Thomas", "Léa", "Mehdi", "Camille", "Nicolas",
    "Inès", "Antoine", "Chloé", "Youssef", "Manon", "Pierre", "Sarah", "Lucas", "Fatou", "Hugo",
];
const LAST: [&str; 16] = [
    "Dupré", "Benali", "Laurent", "Moreau", "Diallo", "Lefèvre", "Garcia", "Roux", "Fournier",
    "Girard", "Bonnet", "Mercier", "Nguyen", "Faure", "André", "Blanc",
];
const CITIES: [&str; 8] = [
    "Paris",
    "Lyon",
    "Marseille",
    "Toulouse",
    "Nantes",
    "Lille",
    "Bordeaux",
    "Rennes",
];
const PROGRAMMES: [&str; 3] = ["Activ'Créa", "Master Entrepreneuriat", "Créa'Jeunes"];
const PARTICIPANTS: [(&str, &str, &str); 5] = [
    ("Hélène", "Dupré", "Fournil Dupré SARL"),
    ("Karim", "Benali", "Benali Transports"),
    ("Sophie", "Laurent", "Atelier Laurent & Fils"),
    ("Julien", "Moreau", "Moreau Conseil"),
    ("Amina", "Diallo", "Diallo <Design>"),
];

fn map<const N: usize>(pairs: [(&'static str, Value); N]) -> Value {
    record(pairs)
}

/// The parts every recipient of the mailing shares, built once.
struct Shared {
    event: Value,
    participants: Value,
    network: Value,
    sender: Value,
}

fn shared() -> Shared {
    Shared {
        event: map([
            ("title", Value::from("Atelier « Cartes en main »")),
            ("start", Value::from("2026-03-12 14:30")),
            ("end", Value::from("2026-03-12 16:30")),
            ("place", Value::from("Maison des entrepreneurs")),
            ("address", Value::from("168 rue Raymond Losserand")),
            ("city", Value::from("Paris")),
            ("facilitator_first_name", Value::from("Paul")),
            ("facilitator_last_name", Value::from("Martin")),
            (
                "video_link",
                Value::from("https://visio.example.org/cartes-en-main"),
            ),
        ]),
        participants: PARTICIPANTS
            .iter()
            .map(|&(first, last, company)| {
                map([
                    ("first_name", Value::from(first)),
                    ("last_name", Value::from(last)),
                    ("company", Value::from(company)),
                ])
            })
            .collect(),
        network: map([
            ("name", Value::from("BGE Paris")),
            ("url", Value::from("https://amicale.example.org")),
            ("contact_email", Value::from("contact@amicale.example.org")),
        ]),
        sender: map([
            ("name", Value::from("Claire Lefèvre")),
            ("email", Value::from("claire.lefevre@amicale.example.org")),
        ]),
    }
}

/// The context of recipient `i`: only `person` and the unsubscribe link
/// are built per message.
fn context(shared: &Shared, i: usize) -> Value {
    let last = LAST[(i / 20) % 16];
    let person = map([
        (
            "civility",
            Value::from(if i.is_multiple_of(2) { "Mme" } else { "M." }),
        ),
        ("first_name", Value::from(FIRST[i % 20])),
        ("last_name", Value::from(last)),
        ("email", Value::from(format!("membre{i}@example.org"))),
        ("city", Value::from(CITIES[i % 8])),
        ("promo_year", Value::from(2000 + i % 25)),
        ("programme", Value::from(PROGRAMMES[i % 3])),
        ("company", Value::from(format!("{last} & Associés"))),
        ("mobile", Value::from(format!("+336{:08}", i % 100_000_000))),
    ]);
    map([
        ("person", person),
        ("event", shared.event.clone()),
        ("participants", shared.participants.clone()),
        ("network", shared.network.clone()),
        ("sender", shared.sender.clone()),
        (
            "unsubscribe_url",
            Value::from(format!(
                "https://amicale.example.org/desinscription/{i:08x}"
            )),
        ),
    ])
}

fn main() {
    let recipients: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let engine = Engine::new();
    let compiled = match engine.compile(TEMPLATE, Kind::Html) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("template: {e}");
            std::process::exit(1);
        }
    };
    let shared = shared();

    let first = match compiled.render_value(Locale::Fr, &context(&shared, 0)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("render: {e}");
            std::process::exit(1);
        }
    };
    assert!(first.contains("Bonjour Mme Hélène Dupré,"));
    assert!(first.contains("jeudi 12 mars 2026 à 14:30 – 16:30"));
    assert!(first.contains("06 00 00 00 00"));
    if let Ok(path) = std::env::var("MERGE_BENCH_SAMPLE") {
        let _ = std::fs::write(path, &first);
    }

    for i in 0..1_000 {
        black_box(compiled.render_value(Locale::Fr, &context(&shared, i)).ok());
    }

    let start = Instant::now();
    let mut bytes = 0usize;
    for i in 0..recipients {
        match compiled.render_value(Locale::Fr, &context(&shared, i)) {
            Ok(out) => bytes += black_box(out).len(),
            Err(e) => {
                eprintln!("recipient {i}: {e}");
                std::process::exit(1);
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let rate = recipients as f64 / elapsed;

    // The same through the serde_json entry point, for reference.
    let json_n = (recipients / 5).max(1);
    let json_ctx: Vec<serde_json::Value> = (0..json_n)
        .map(|i| serde_json::to_value(context(&shared, i)).unwrap_or_default())
        .collect();
    let start = Instant::now();
    for ctx in &json_ctx {
        black_box(compiled.render(Locale::Fr, ctx).ok());
    }
    let json_rate = json_n as f64 / start.elapsed().as_secs_f64();

    // The one-shot `Engine::render` (serde_json context, compiled form taken
    // from the engine's cache), for reference.
    let once_n = (recipients / 50).max(1);
    let start = Instant::now();
    for ctx in json_ctx.iter().cycle().take(once_n) {
        black_box(engine.render(TEMPLATE, Kind::Html, Locale::Fr, ctx).ok());
    }
    let once_rate = once_n as f64 / start.elapsed().as_secs_f64();

    println!(
        "template: {} bytes, output: {} bytes/render, recipients: {recipients}",
        TEMPLATE.len(),
        bytes / recipients.max(1)
    );
    println!("amicale-merge renders/s: {rate:.0}");
    println!("amicale-merge renders/s from serde_json contexts: {json_rate:.0}");
    println!("amicale-merge renders/s with the one-shot Engine::render: {once_rate:.0}");
}
