//! The test harness: an application on port 0 with a fresh database, an SMTP
//! sink, an HTTP client with cookies, and a Chromium driver.

pub mod browser;
pub mod imap;
pub mod pg;
pub mod smtp;

use std::future::Future;

use amicale::app::{AppState, ShutdownTrigger, shutdown_pair};
use amicale::runtime::Application;
use amicale_delivery::config::Config;
use reqwest::redirect::Policy;
use tokio::task::JoinHandle;

pub use smtp::SmtpSink;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends this machine can test: SQLite always, PostgreSQL when
/// `AMICALE_TEST_POSTGRES_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if pg::admin_url().is_some() {
        v.push(Backend::Postgres);
    } else if strict() {
        panic!("AMICALE_TEST_STRICT is set but AMICALE_TEST_POSTGRES_URL is not");
    } else {
        eprintln!("AMICALE_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped");
    }
    v
}

/// CI sets `AMICALE_TEST_STRICT=1`: there, a test that would be skipped for a
/// missing PostgreSQL or Chromium fails instead.
pub fn strict() -> bool {
    std::env::var("AMICALE_TEST_STRICT").is_ok_and(|v| v == "1")
}

/// Runs a scenario once per available backend.
pub async fn on_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for b in backends() {
        eprintln!("--- backend {b:?}");
        scenario(b).await;
    }
}

/// A fresh, empty database that lives as long as this value.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<pg::PgDb>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("amicale.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    _pg: None,
                }
            }
            Backend::Postgres => {
                let db = pg::PgDb::create().await;
                TestDb {
                    url: db.url.clone(),
                    _dir: None,
                    _pg: Some(db),
                }
            }
        }
    }
}

pub fn test_config(db_url: &str, smtp_url: Option<String>) -> Config {
    Config {
        database_url: db_url.to_owned(),
        bind: "127.0.0.1:0".into(),
        smtp_url,
        // Retries a second apart so tests about failures do not wait minutes.
        outbox_retry_base_secs: 1,
        outbox_retry_max_secs: 2,
        outbox_poll_secs: 1,
        smtp_timeout_secs: 5,
        secret_key: Some("test-secret-key-that-is-long-enough-0123456789".into()),
        // Fake SMS providers listen on loopback; the refusal of private
        // targets has its own test.
        sms_allow_private_urls: true,
        ..Config::default()
    }
}

/// A second node on the same database that serves pages but delivers nothing,
/// so it cannot take messages meant for the first node's SMTP sink.
pub fn web_only_config(db_url: &str) -> Config {
    Config {
        workers: 0,
        ..test_config(db_url, None)
    }
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    trigger: ShutdownTrigger,
    handle: JoinHandle<()>,
}

impl TestApp {
    pub async fn start(config: Config) -> TestApp {
        amicale::install_crypto_provider();
        // AMICALE_TEST_LOG=1 shows the server's logs when a test fails.
        if std::env::var("AMICALE_TEST_LOG").is_ok() {
            amicale::cli::init_logs(&config);
        }
        let app = Application::build(config, false)
            .await
            .expect("application builds");
        let base = format!("http://{}", app.addr());
        let state = app.state();
        let (trigger, shutdown) = shutdown_pair();
        let handle = tokio::spawn(async move {
            app.serve(shutdown).await.expect("server runs");
        });
        TestApp {
            base,
            state,
            client: new_client(),
            trigger,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Graceful stop: requests and sends in flight finish.
    pub async fn stop(self) {
        self.trigger.fire();
        self.handle.await.expect("server task ends cleanly");
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// The CSRF token of the form on `path`.
    pub async fn csrf(&self, path: &str) -> String {
        let body = self.get(path).await.text().await.expect("body");
        extract_csrf(&body).unwrap_or_else(|| panic!("no CSRF token on {path}"))
    }

    /// Submits a form from `page` with its CSRF token, like a browser would.
    pub async fn post_form(
        &self,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.post_form_as(&self.client, page, action, fields).await
    }

    /// The body of `path` as another client (another user) sees it.
    pub async fn text_as(&self, client: &reqwest::Client, path: &str) -> String {
        let res = client.get(self.url(path)).send().await.expect("GET");
        res.text().await.expect("body")
    }

    /// [`TestApp::post_form`] as another client (another user).
    pub async fn post_form_as(
        &self,
        client: &reqwest::Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let body = self.text_as(client, page).await;
        let token = extract_csrf(&body).unwrap_or_else(|| panic!("no CSRF token on {page}"));
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        client
            .post(self.url(action))
            .header("origin", &self.base)
            .form(&form)
            .send()
            .await
            .expect("POST")
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Logs in with another client (another browser); returns the status.
    pub async fn login_with(&self, client: &reqwest::Client, email: &str, password: &str) -> u16 {
        let page = client
            .get(self.url("/login"))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        let token = extract_csrf(&page).expect("csrf");
        client
            .post(self.url("/login"))
            .header("origin", &self.base)
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .expect("POST")
            .status()
            .as_u16()
    }

    /// Creates an account directly in the database.
    pub async fn create_user(&self, email: &str, password: &str, admin: bool) {
        let e = amicale_kernel::Login::parse(email).expect("email");
        let p = amicale::auth::model::NewPassword::parse(password, password).expect("password");
        amicale::auth::store::create_user(&self.state.db, &e, &p, "Test User", admin, "en")
            .await
            .expect("user created");
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests
/// check them), and asks for English unless a test says otherwise.
pub fn new_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "accept-language",
        reqwest::header::HeaderValue::from_static("en"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// An app with a fresh database on `backend` and an SMTP sink.
pub async fn spawn_app(backend: Backend) -> (TestApp, SmtpSink, TestDb) {
    let db = TestDb::new(backend).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::start(test_config(&db.url, Some(sink.url()))).await;
    (app, sink, db)
}

/// A port nothing listens on (an SMTP server that is down).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Waits until the outbox row `id` reaches `state`, watching the database.
pub async fn wait_for_state(
    db: &sea_orm::DatabaseConnection,
    id: i64,
    state: &str,
    secs: u64,
) -> amicale_store::entities::outbox::Model {
    use sea_orm::EntityTrait;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let row = amicale_store::entities::outbox::Entity::find_by_id(id)
            .one(db)
            .await
            .expect("query outbox");
        if let Some(r) = &row
            && r.state.as_str() == state
        {
            return r.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "message {id} never reached {state}: {row:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Waits until no message is queued or being sent: what the SMTP sink
/// received has had its outcome recorded.
pub async fn wait_settled(db: &sea_orm::DatabaseConnection, secs: u64) {
    use amicale_store::entities::outbox;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let busy = outbox::Entity::find()
            .filter(outbox::Column::State.is_in(["queued", "sending"]))
            .count(db)
            .await
            .expect("query outbox");
        if busy == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{busy} messages still queued or sending"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The administrator most tests sign in as.
pub const ADMIN: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "admin passphrase";

/// A fresh application with an administrator signed in.
pub async fn admin_app(backend: Backend) -> (TestApp, SmtpSink, TestDb) {
    let (app, sink, db) = spawn_app(backend).await;
    app.create_user(ADMIN, ADMIN_PASSWORD, true).await;
    assert_eq!(app.login(ADMIN, ADMIN_PASSWORD).await.status(), 303);
    (app, sink, db)
}

/// The id in a redirect such as `/admin/people/42?notice=…`, after `prefix`.
pub fn id_in(location: &str, prefix: &str) -> i64 {
    location
        .trim_start_matches(prefix)
        .split(['?', '/', '&'])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no id in {location}"))
}

/// The `Location` of a redirect.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// An active e-mail template for beneficiaries, sendable from the person
/// page, in French; returns its id.
pub async fn person_page_template(app: &TestApp, name: &str, subject: &str, body: &str) -> i64 {
    beneficiary_template(app, name, "person_page", subject, body).await
}

/// An active e-mail template for beneficiaries' campaigns; returns its id.
pub async fn campaign_template(app: &TestApp, name: &str) -> i64 {
    beneficiary_template(
        app,
        name,
        "campaign",
        name,
        "<p>Bonjour {{ person.first_name }}</p>",
    )
    .await
}

/// An active French e-mail template for beneficiaries, allowed in one
/// sending mode; returns its id.
async fn beneficiary_template(
    app: &TestApp,
    name: &str,
    mode: &str,
    subject: &str,
    body: &str,
) -> i64 {
    let res = app
        .post_form(
            "/admin/templates/new?kind=email",
            "/admin/templates/new",
            &[
                ("kind", "email"),
                ("name", name),
                ("active", "1"),
                ("recipient_types", "beneficiary"),
                ("sending_modes", mode),
                ("subject_fr", subject),
                ("body_fr", body),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    id_in(&location(&res), "/admin/templates/")
}

/// An active beneficiary who accepts e-mail at `email`; returns their id.
pub async fn beneficiary(app: &TestApp, first: &str, last: &str, email: &str) -> i64 {
    let res = app
        .post_form(
            "/admin/people/new",
            "/admin/people/new",
            &[
                ("first_name", first),
                ("last_name", last),
                ("email0", email),
                ("email0_accepts", "1"),
                ("status", "active"),
                ("recipient_type", "beneficiary"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    id_in(&location(&res), "/admin/people/")
}

/// A staff user with a permission profile (and a site), signed in with
/// their own client; returns the client and the user id.
pub async fn staff(
    app: &TestApp,
    email: &str,
    profile: &str,
    site: Option<&str>,
) -> (reqwest::Client, i64) {
    use amicale_store::entities::{permission_profiles, users};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    app.create_user(email, "staff passphrase", false).await;
    let u = users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let p = permission_profiles::Entity::find()
        .filter(permission_profiles::Column::Name.eq(profile))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let (uid, pid) = (u.id.to_string(), p.id.to_string());
    let res = app
        .post_form(
            "/admin/users",
            &format!("/admin/users/{uid}"),
            &[
                ("profile", &pid),
                ("site", site.unwrap_or("")),
                ("team", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let client = new_client();
    assert_eq!(
        app.login_with(&client, email, "staff passphrase").await,
        303
    );
    (client, u.id)
}

/// Makes `user` the referent staff member of `person` (scope "assigned to me").
pub async fn assign_referent(app: &TestApp, person: i64, user: i64) {
    use amicale_store::entities::persons;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    persons::Entity::update_many()
        .col_expr(
            persons::Column::ReferentUserId,
            sea_orm::sea_query::Expr::value(user),
        )
        .filter(persons::Column::Id.eq(person))
        .exec(&app.state.db)
        .await
        .unwrap();
}

/// The link of the latest message to `to` that holds `path_prefix`
/// (a confirmation or reset link), as a path.
pub async fn mailed_link(app: &TestApp, to: &str, path_prefix: &str) -> Option<String> {
    use amicale_store::entities::outbox;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Recipient.eq(to))
        .order_by_desc(outbox::Column::Id)
        .all(&app.state.db)
        .await
        .expect("query outbox");
    let full = format!("{}{path_prefix}", app.base);
    rows.iter().find_map(|r| {
        let start = r.body_text.find(&full)? + app.base.len();
        let rest = &r.body_text[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '"')
            .unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    })
}

/// Follows the registration link mailed to `to` in a fresh browser and
/// confirms it with `password`; returns the answer.
pub async fn confirm_registration(app: &TestApp, to: &str, password: &str) -> reqwest::Response {
    let link = mailed_link(app, to, "/register/confirm/")
        .await
        .unwrap_or_else(|| panic!("no registration link mailed to {to}"));
    let client = new_client();
    app.post_form_as(&client, &link, &link, &[("password", password)])
        .await
}

/// Runs `amicale send` for `template` to the recipients of `csv`, as an
/// operator would, against the app's database, key and address; returns
/// what it printed (panics when it fails).
pub fn cli_send(app: &TestApp, db_url: &str, template: i64, csv: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amicale"))
        .env("AMICALE_DATABASE_URL", db_url)
        .env("AMICALE_LOG_LEVEL", "warn")
        .env("AMICALE_BASE_URL", &app.base)
        .env(
            "AMICALE_SECRET_KEY",
            app.state.config.secret_key.as_deref().unwrap(),
        )
        .args(["send", "--template", &template.to_string(), "--to"])
        .arg(csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
