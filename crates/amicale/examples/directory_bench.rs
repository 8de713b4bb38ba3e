//! Directory benchmark harness (run by `bench/directory.sh`) against a
//! running server and its database, filled by `amicale demo --people N`:
//!  1. 1,000 varied quick searches (names, "first last", prefixes such as
//!     "dup mar", cities, companies, skills; accented or not) and 200 CRM
//!     filters (city + promo + role, sorted by name, page 1), each run once
//!     in-process first: the cold-cache figures, and the pages they read
//!     come into the OS cache the server shares;
//!  2. each quick search through HTTP (`/directory?q=…`, logged in as the
//!     demo administrator, one client, sequential, keep-alive) and as raw
//!     SQL in-process, what the page runs (`search::collect` up to
//!     `directory::COUNT_CAP` matches, then the first page of `search::rows_of`), in
//!     alternating order; the ratio of the two is our overhead (routing,
//!     session, organisations, template);
//!  3. the same for the CRM page (`/admin/people?city=…&promo=…&role=…&sort=name`
//!     against `search::page` with 50 rows).
//!
//! Prints p50/p95/p99 per series, `ratio:` lines and the targets
//! (quick search p95 ≤ 50 ms, CRM page p95 ≤ 150 ms). HTTP counts are
//! checked against the raw counts.
//!
//! cargo run --release -p amicale --example directory_bench -- \
//!     <base-url> <database-url> <admin-email> <admin-password>

use std::time::{Duration, Instant};

use amicale::people::directory::{COUNT_CAP, PER_PAGE};
use amicale::people::search::{self, Criteria, Scope, Sort};
use amicale_store::Backend;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::DatabaseConnection;

const QUICK: usize = 1000;
const CRM: usize = 200;
const WARMUP: usize = 20;

// Copied from crates/amicale/src/demo/data.rs (a private module): the words
// demo persons are made of.
const FIRST_F: &[&str] = &[
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Sarah",
    "Julie",
    "Emma",
    "Hélène",
    "Claire",
    "Sophie",
    "Anaïs",
    "Pauline",
    "Marine",
    "Laura",
    "Élodie",
    "Mathilde",
    "Clémence",
    "Aïcha",
    "Fatou",
    "Nathalie",
    "Isabelle",
    "Céline",
    "Margaux",
    "Océane",
    "Lucie",
    "Amélie",
    "Yasmine",
    "Nadia",
    "Agathe",
];
const FIRST_M: &[&str] = &[
    "Lucas",
    "Hugo",
    "Thomas",
    "Nicolas",
    "Julien",
    "Maxime",
    "Antoine",
    "Alexandre",
    "Romain",
    "Mehdi",
    "Karim",
    "Olivier",
    "Sébastien",
    "François",
    "Guillaume",
    "Pierre",
    "Louis",
    "Théo",
    "Baptiste",
    "Mamadou",
    "Jérôme",
    "Clément",
    "Quentin",
    "Adrien",
    "Yanis",
    "Arthur",
    "Benoît",
    "Rémi",
    "Étienne",
    "Samuel",
];
const LAST: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Masson",
    "Dupré",
    "Le Goff",
    "N'Diaye",
    "Benali",
    "Nguyen",
    "Traoré",
    "Haddad",
    "Da Silva",
    "Kowalski",
    "Le Gall",
];
const CITIES: &[&str] = &[
    "Paris",
    "Lyon",
    "Marseille",
    "Toulouse",
    "Bordeaux",
    "Lille",
    "Nantes",
    "Rennes",
    "Strasbourg",
    "Montpellier",
    "Grenoble",
    "Nice",
    "Bruxelles",
    "Genève",
    "Montréal",
    "Dakar",
    "Casablanca",
    "Londres",
    "Berlin",
    "Singapour",
];
const COMPANIES: &[&str] = &[
    "Airbus",
    "Danone",
    "L'Oréal",
    "BNP Paribas",
    "Decathlon",
    "Michelin",
    "Capgemini",
    "SNCF Voyageurs",
    "Orange",
    "Schneider Electric",
    "Veolia",
    "Saint-Gobain",
    "Safran",
    "Thales",
    "Crédit Agricole",
    "La Poste",
    "Ubisoft",
    "Bpifrance",
    "CMA CGM",
    "Doctolib",
    "BlaBlaCar",
    "Groupe SEB",
    "Lactalis",
    "Atos",
    "Business France",
];
const SKILLS: &[&str] = &[
    "Gestion de projet",
    "Analyse de données",
    "Négociation",
    "Marketing digital",
    "Comptabilité",
    "Management",
    "Python",
    "SQL",
    "Prise de parole",
    "Commerce international",
    "Droit des affaires",
    "Supply chain",
    "Recrutement",
    "Design thinking",
    "Finance de marché",
];

fn pick<'a>(rng: &mut StdRng, xs: &[&'a str]) -> &'a str {
    xs[rng.gen_range(0..xs.len())]
}

fn first(rng: &mut StdRng) -> &'static str {
    if rng.gen_bool(0.5) {
        pick(rng, FIRST_F)
    } else {
        pick(rng, FIRST_M)
    }
}

/// The first `n` characters of a word (at least one).
fn prefix(s: &str, n: usize) -> String {
    s.chars().take(n.max(1)).collect()
}

/// Accented as written, or folded (lower case, no accents) as people type.
fn typed(rng: &mut StdRng, s: &str) -> String {
    if rng.gen_bool(0.5) {
        s.to_owned()
    } else {
        amicale_people::fold(s)
    }
}

/// 1,000 deterministic quick searches of ten kinds.
fn quick_queries() -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(20_260_101);
    (0..QUICK)
        .map(|i| match i % 10 {
            0 => pick(&mut rng, LAST).to_owned(),
            1 => amicale_people::fold(pick(&mut rng, LAST)),
            2 => {
                let (f, l) = (first(&mut rng), pick(&mut rng, LAST));
                typed(&mut rng, &format!("{f} {l}"))
            }
            3 => {
                // "dup mar": prefixes of a last and a first name.
                let (l, f) = (pick(&mut rng, LAST), first(&mut rng));
                let (a, b) = (rng.gen_range(2..=4), rng.gen_range(2..=4));
                typed(&mut rng, &format!("{} {}", prefix(l, a), prefix(f, b)))
            }
            4 => {
                let c = pick(&mut rng, CITIES);
                typed(&mut rng, c)
            }
            5 => {
                let c = pick(&mut rng, COMPANIES);
                typed(&mut rng, c)
            }
            6 => {
                let s = pick(&mut rng, SKILLS);
                typed(&mut rng, s)
            }
            7 => {
                let (l, c) = (pick(&mut rng, LAST), pick(&mut rng, CITIES));
                typed(&mut rng, &format!("{l} {c}"))
            }
            8 => {
                // A name being typed: 3 to 5 letters.
                let l = pick(&mut rng, LAST);
                let n = rng.gen_range(3..=5);
                typed(&mut rng, &prefix(l, n))
            }
            _ => {
                let (f, c) = (first(&mut rng), pick(&mut rng, COMPANIES));
                typed(&mut rng, &format!("{f} {c}"))
            }
        })
        .collect()
}

/// 200 deterministic CRM filters: city, promo and role.
fn crm_filters() -> Vec<Criteria> {
    let mut rng = StdRng::seed_from_u64(20_260_202);
    (0..CRM)
        .map(|_| {
            let promo: i32 = rng.gen_range(1995..=2027);
            let role = if rng.gen_bool(0.85) {
                "alumni"
            } else {
                "student"
            };
            Criteria {
                city: pick(&mut rng, CITIES).to_owned(),
                promo: promo.to_string(),
                role: role.to_owned(),
                ..Default::default()
            }
        })
        .collect()
}

/// The number in `<p class="result-count"…><strong>N results</strong>`.
fn result_count(html: &str) -> Option<u64> {
    let at = html.find("class=\"result-count\"")?;
    let rest = &html[at..];
    let start = rest.find("<strong>")? + "<strong>".len();
    let end = rest[start..].find("</strong>")? + start;
    let digits: String = rest[start..end]
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn extract_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

struct Series {
    label: String,
    samples: Vec<(Duration, String, u64)>,
}

impl Series {
    fn new(label: &str) -> Self {
        Series {
            label: label.to_owned(),
            samples: Vec::new(),
        }
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut d: Vec<Duration> = self.samples.iter().map(|s| s.0).collect();
        d.sort();
        d
    }

    /// Nearest-rank percentile, in milliseconds.
    fn pct(&self, p: f64) -> f64 {
        let d = self.sorted();
        if d.is_empty() {
            return 0.0;
        }
        let rank = ((p * d.len() as f64).ceil() as usize).clamp(1, d.len());
        d[rank - 1].as_secs_f64() * 1000.0
    }

    fn print(&self) {
        let d = self.sorted();
        let mean = d.iter().map(Duration::as_secs_f64).sum::<f64>() / d.len().max(1) as f64;
        println!(
            "{}: n={} p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms",
            self.label,
            d.len(),
            self.pct(0.50),
            self.pct(0.95),
            self.pct(0.99),
            d.last().map_or(0.0, |x| x.as_secs_f64() * 1000.0),
            mean * 1000.0
        );
        let mut worst: Vec<&(Duration, String, u64)> = self.samples.iter().collect();
        worst.sort_by_key(|w| std::cmp::Reverse(w.0));
        let list = worst
            .iter()
            .take(5)
            .map(|(d, q, n)| format!("{:.0} ms «{q}» ({n})", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join("; ");
        println!("  slowest: {list}");
    }
}

fn ratio(label: &str, http: &Series, raw: &Series) {
    println!(
        "ratio: {label} HTTP ÷ raw SQL: p50 {:.2}, p95 {:.2}, p99 {:.2}",
        http.pct(0.50) / raw.pct(0.50),
        http.pct(0.95) / raw.pct(0.95),
        http.pct(0.99) / raw.pct(0.99)
    );
}

fn target(label: &str, value: f64, limit: f64) {
    let verdict = if value <= limit { "met" } else { "missed" };
    println!("target: {label} {value:.1} ms (≤ {limit:.0} ms: {verdict})");
}

fn crm_label(c: &Criteria) -> String {
    format!("city={} promo={} role={}", c.city, c.promo, c.role)
}

/// One page through HTTP: time to the last byte, status, result count.
async fn http_get(
    client: &reqwest::Client,
    url: &str,
    query: &[(&str, String)],
) -> (Duration, reqwest::StatusCode, Option<u64>) {
    let start = Instant::now();
    let r = client.get(url).query(query).send().await.expect("GET");
    let status = r.status();
    let body = r.text().await.expect("body");
    (start.elapsed(), status, result_count(&body))
}

/// What `/directory?q=` runs against the database: the count, capped as
/// the page caps it, and the first page of cards.
async fn raw_quick(db: &DatabaseConnection, q: &str) -> (Duration, u64) {
    let start = Instant::now();
    let criteria = Criteria {
        q: q.to_owned(),
        ..Default::default()
    };
    let found = search::collect(db, &criteria, Scope::Directory, COUNT_CAP)
        .await
        .expect("search");
    let _rows = search::rows_of(db, &found.page(0, PER_PAGE))
        .await
        .expect("rows");
    let n = found.matches.len() as u64;
    (start.elapsed(), n)
}

/// What `/admin/people` runs for an administrator: count and first page.
async fn raw_crm(db: &DatabaseConnection, backend: Backend, c: &Criteria) -> (Duration, u64) {
    let start = Instant::now();
    let (cond, _) = c.condition(backend, Scope::Crm);
    let (n, _rows) = search::page(
        db,
        cond,
        Sort::Name,
        false,
        1,
        amicale::people::crm::PER_PAGE,
    )
    .await
    .expect("crm search");
    (start.elapsed(), n)
}

#[tokio::main]
async fn main() {
    amicale::install_crypto_provider();
    let args: Vec<String> = std::env::args().collect();
    let [_, base, db_url, email, password] = args.as_slice() else {
        eprintln!(
            "usage: directory_bench <base-url> <database-url> <admin-email> <admin-password>"
        );
        std::process::exit(2);
    };
    let base = base.trim_end_matches('/');

    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "accept-language",
        reqwest::header::HeaderValue::from_static("en"),
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");

    // Log in as a browser does: the form's token, its cookie, our Origin.
    let html = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("GET /login")
        .text()
        .await
        .expect("login page");
    let token = extract_csrf(&html).expect("no CSRF token on /login");
    let r = client
        .post(format!("{base}/login"))
        .header("origin", base)
        .form(&[
            ("email", email.as_str()),
            ("password", password.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("POST /login");
    if r.status() != reqwest::StatusCode::SEE_OTHER {
        eprintln!("login failed: {}", r.status());
        std::process::exit(1);
    }

    let db = amicale_store::connect(db_url).await.expect("database");
    let backend = Backend::of(&db);
    let persons = search::page(&db, sea_orm::Condition::all(), Sort::Name, false, 1, 1)
        .await
        .expect("count")
        .0;
    println!(
        "database: {}, persons: {persons}, cores: {}",
        backend.name(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let queries = quick_queries();
    let filters = crm_filters();
    // Pass 1, in-process, timed apart as the cold-cache figure: it also
    // brings the pages these searches read into the OS cache that the
    // server shares (on this VM cold pages can be paged out, and whichever
    // series ran first would otherwise pay for the disk alone).
    let mut cold_quick = Series::new("quick search, raw SQL, first pass (cold cache)");
    for q in &queries {
        let (took, n) = raw_quick(&db, q).await;
        cold_quick.samples.push((took, q.clone(), n));
    }
    // Warm-up (not measured): the HTTP connection, the server's pools.
    for q in queries.iter().take(WARMUP) {
        http_get(&client, &format!("{base}/directory"), &[("q", q.clone())]).await;
    }

    // Pass 2: each search through HTTP and in-process, in alternating order
    // so that neither series profits from the other's reads.
    let mut errors = 0;
    let mut http_quick = Series::new("quick search, HTTP /directory?q=");
    let mut sql_quick = Series::new(&format!(
        "quick search, raw SQL in-process (up to {COUNT_CAP} matches + {PER_PAGE} rows)"
    ));
    let url = format!("{base}/directory");
    for (i, q) in queries.iter().enumerate() {
        let query = [("q", q.clone())];
        let (h, r) = if i % 2 == 0 {
            let h = http_get(&client, &url, &query).await;
            (h, raw_quick(&db, q).await)
        } else {
            let r = raw_quick(&db, q).await;
            (http_get(&client, &url, &query).await, r)
        };
        if !h.1.is_success() {
            errors += 1;
            if errors <= 3 {
                eprintln!("/directory?q={q}: {}", h.1);
            }
        }
        http_quick
            .samples
            .push((h.0, q.clone(), h.2.unwrap_or(u64::MAX)));
        sql_quick.samples.push((r.0, q.clone(), r.1));
    }

    // CRM pages with three filters, sorted by name, page 1: a cold pass,
    // then the same alternation.
    let mut cold_crm = Series::new("CRM page, raw SQL, first pass (cold cache)");
    for c in &filters {
        let (took, n) = raw_crm(&db, backend, c).await;
        cold_crm.samples.push((took, crm_label(c), n));
    }
    let mut http_crm = Series::new("CRM page, HTTP /admin/people (city+promo+role, sort=name)");
    let mut sql_crm = Series::new(&format!(
        "CRM page, raw SQL in-process (search::page: count + {} rows)",
        amicale::people::crm::PER_PAGE
    ));
    let url = format!("{base}/admin/people");
    for (i, c) in filters.iter().enumerate() {
        let query = [
            ("city", c.city.clone()),
            ("promo", c.promo.clone()),
            ("role", c.role.clone()),
            ("sort", "name".to_owned()),
            ("page", "1".to_owned()),
        ];
        let (h, r) = if i % 2 == 0 {
            let h = http_get(&client, &url, &query).await;
            (h, raw_crm(&db, backend, c).await)
        } else {
            let r = raw_crm(&db, backend, c).await;
            (http_get(&client, &url, &query).await, r)
        };
        if !h.1.is_success() {
            errors += 1;
            if errors <= 3 {
                eprintln!("/admin/people {}: {}", crm_label(c), h.1);
            }
        }
        http_crm
            .samples
            .push((h.0, crm_label(c), h.2.unwrap_or(u64::MAX)));
        sql_crm.samples.push((r.0, crm_label(c), r.1));
    }

    // Every quick search's time, for study (query kind = index % 10, as in
    // `quick_queries`).
    if let Ok(path) = std::env::var("DIRECTORY_BENCH_DUMP") {
        let lines: String = http_quick
            .samples
            .iter()
            .zip(&sql_quick.samples)
            .enumerate()
            .map(|(i, (h, r))| {
                format!(
                    "{}\t{:.2}\t{:.2}\t{}\t{}\n",
                    i % 10,
                    h.0.as_secs_f64() * 1000.0,
                    r.0.as_secs_f64() * 1000.0,
                    r.2,
                    r.1
                )
            })
            .collect();
        std::fs::write(path, lines).expect("dump");
    }
    let hits: Vec<u64> = sql_quick.samples.iter().map(|s| s.2).collect();
    let empty = hits.iter().filter(|n| **n == 0).count();
    let mut sorted_hits = hits.clone();
    sorted_hits.sort_unstable();
    println!(
        "quick searches: {} ({} with no result; results per search, counted up to {COUNT_CAP}: median {}, max {})",
        hits.len(),
        empty,
        sorted_hits[sorted_hits.len() / 2],
        sorted_hits.last().copied().unwrap_or(0)
    );
    for (label, http, raw) in [
        ("quick search", &http_quick, &sql_quick),
        ("CRM page", &http_crm, &sql_crm),
    ] {
        let differ: Vec<String> = http
            .samples
            .iter()
            .zip(&raw.samples)
            .filter(|(h, r)| h.2 != r.2)
            .map(|(h, r)| {
                format!(
                    "«{}» HTTP {} raw {}",
                    h.1,
                    if h.2 == u64::MAX {
                        "?".to_owned()
                    } else {
                        h.2.to_string()
                    },
                    r.2
                )
            })
            .collect();
        if !differ.is_empty() {
            println!(
                "WARNING: {label}: {} HTTP counts differ from raw SQL, e.g. {}",
                differ.len(),
                differ
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
    if errors > 0 {
        println!("WARNING: {errors} HTTP requests did not answer 2xx");
    }
    cold_quick.print();
    http_quick.print();
    sql_quick.print();
    ratio("quick search", &http_quick, &sql_quick);
    cold_crm.print();
    http_crm.print();
    sql_crm.print();
    ratio("CRM page", &http_crm, &sql_crm);
    target("quick search HTTP p95", http_quick.pct(0.95), 50.0);
    target("CRM page HTTP p95", http_crm.pct(0.95), 150.0);
}
