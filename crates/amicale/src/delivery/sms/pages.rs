//! Administration › SMS: the provider account (secrets never shown back),
//! a test that shows the provider's exact answer, the credit packages, the
//! balance and its alert threshold, and the receipt URL to give the provider.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;

use amicale_sms::provider::Generic;

use crate::app::AppState;
use crate::error::AppResult;
use crate::web::extract::{Admin, Require};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render, render_status};
use amicale_delivery::sms::account::{self, Account, ProviderKind, Secrets, Settings};
use amicale_delivery::sms::outbound::check_url;
use amicale_delivery::sms::{credit, receipts, trial};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sms", get(show))
        .route("/admin/sms/account", post(save_account))
        .route("/admin/sms/test", post(test))
        .route("/admin/sms/packages", post(add_package))
        .route("/admin/sms/threshold", post(save_threshold))
}

/// The form's fields, as typed (on error) or as stored.
#[derive(Default)]
struct Form {
    values: Vec<(String, String)>,
    errors: Vec<(String, String)>,
}

impl Form {
    fn get(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn error(&self, name: &str) -> &str {
        self.errors
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// A new account's defaults.
    fn blank() -> Form {
        Form {
            values: vec![
                ("provider".into(), "catcher".into()),
                (
                    "body_template".into(),
                    r#"{"to": "{{to}}", "text": "{{text}}", "from": "{{sender}}"}"#.into(),
                ),
                ("id_field".into(), "id".into()),
                ("base_url".into(), "https://api.twilio.com".into()),
                ("endpoint".into(), "https://eu.api.ovh.com/1.0".into()),
                ("transliterate".into(), "on".into()),
            ],
            errors: Vec::new(),
        }
    }

    fn from_account(a: &Account) -> Form {
        let s = &a.settings;
        let pairs = [
            ("provider", a.kind.as_str()),
            ("label", &a.label),
            ("sender", &a.sender),
            ("transliterate", if a.transliterate { "on" } else { "" }),
            ("url", &s.url),
            ("body_template", &s.body_template),
            ("id_field", &s.id_field),
            ("base_url", &s.base_url),
            ("account_sid", &s.account_sid),
            ("endpoint", &s.endpoint),
            ("service_name", &s.service_name),
            ("application_key", &s.application_key),
        ];
        Form {
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            errors: Vec::new(),
        }
    }
}

/// Which secrets the account holds (never their values).
fn stored_secrets(a: &Account) -> Vec<&'static str> {
    let s = &a.secrets;
    [
        ("authorization", &s.authorization),
        ("auth_token", &s.auth_token),
        ("application_secret", &s.application_secret),
        ("consumer_key", &s.consumer_key),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(name, _)| name)
    .collect()
}

#[derive(Template)]
#[template(path = "admin/sms.html")]
struct Tpl<'a> {
    p: &'a Page,
    kinds: Vec<&'static str>,
    form: Form,
    /// Which secrets are stored (never their values).
    stored: Vec<&'static str>,
    secrets_lost: bool,
    configured: bool,
    balance: credit::Balance,
    remaining: i64,
    threshold: i64,
    packages: Vec<credit::Package>,
    package: Form,
    receipt_url: String,
    notice: Option<String>,
    test_answer: Option<(bool, String, String)>,
    test_form: Form,
}

#[derive(serde::Deserialize, Default)]
struct Q {
    #[serde(default)]
    notice: String,
}

async fn base<'a>(state: &AppState, p: &'a Page) -> AppResult<Tpl<'a>> {
    let acc = account::load(state).await?;
    let balance = credit::balance(&state.db).await?;
    let stored = acc.as_ref().map(stored_secrets).unwrap_or_default();
    let form = acc.as_ref().map_or_else(Form::blank, Form::from_account);
    Ok(Tpl {
        p,
        kinds: ProviderKind::ALL.iter().map(|k| k.as_str()).collect(),
        form,
        stored,
        secrets_lost: acc.as_ref().is_some_and(|a| a.secrets_lost),
        configured: acc.is_some(),
        remaining: balance.remaining(),
        balance,
        threshold: credit::threshold(&state.db).await?,
        packages: credit::packages(&state.db).await?,
        package: Form {
            values: vec![(
                "purchased_on".into(),
                Utc::now()
                    .with_timezone(&state.tz)
                    .format("%d/%m/%Y")
                    .to_string(),
            )],
            errors: Vec::new(),
        },
        receipt_url: receipts::url(state),
        notice: None,
        test_answer: None,
        test_form: Form::default(),
    })
}

async fn show(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    Query(q): Query<Q>,
) -> AppResult<Response> {
    let mut t = base(&state, &p).await?;
    if !q.notice.is_empty() {
        t.notice = Some(p.t(&format!("sms-notice-{}", q.notice)));
    }
    render(&t)
}

fn invalid(t: &Tpl<'_>) -> AppResult<Response> {
    render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, t)
}

async fn save_account(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let old = account::load(&state).await?;
    let account = match parse_account(&state, &p, &f, old.as_ref()) {
        Ok(a) => a,
        Err(errors) => {
            let mut t = base(&state, &p).await?;
            t.form = Form {
                // Secrets typed are not echoed back, even on error.
                values: f
                    .0
                    .iter()
                    .filter(|(k, _)| !SECRETS.contains(&k.as_str()))
                    .cloned()
                    .collect(),
                errors,
            };
            t.notice = Some(p.t("sms-notice-invalid"));
            return invalid(&t);
        }
    };
    account::save(&state, &account).await?;
    tracing::info!(provider = account.kind.as_str(), "SMS account saved");
    Ok(Redirect::to("/admin/sms?notice=saved").into_response())
}

/// The fields that hold secrets: never shown back.
const SECRETS: [&str; 4] = [
    "authorization",
    "auth_token",
    "application_secret",
    "consumer_key",
];

/// The account the form describes, or its errors by field. A secret left
/// blank keeps the stored one.
fn parse_account(
    state: &AppState,
    p: &Page,
    f: &FormPairs,
    old: Option<&Account>,
) -> Result<Account, Vec<(String, String)>> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let kind = ProviderKind::parse(f.get("provider"));
    if kind.is_none() {
        errors.push(("provider".into(), p.t("sms-error-provider")));
    }
    let kind = kind.unwrap_or(ProviderKind::Catcher);
    let sender = f.get("sender").trim().to_owned();
    if !sender_ok(&sender) {
        errors.push(("sender".into(), p.t("sms-error-sender")));
    }
    let keep = |name: &str, old: Option<&String>| -> String {
        let typed = f.get(name).trim();
        if typed.is_empty() {
            old.cloned().unwrap_or_default()
        } else {
            typed.to_owned()
        }
    };
    let os = old.map(|a| &a.secrets);
    let secrets = Secrets {
        authorization: keep("authorization", os.map(|s| &s.authorization)),
        auth_token: keep("auth_token", os.map(|s| &s.auth_token)),
        application_secret: keep("application_secret", os.map(|s| &s.application_secret)),
        consumer_key: keep("consumer_key", os.map(|s| &s.consumer_key)),
    };
    let mut settings = Settings {
        url: f.get("url").trim().to_owned(),
        body_template: f.get("body_template").trim().to_owned(),
        id_field: f.get("id_field").trim().to_owned(),
        base_url: f.get("base_url").trim().to_owned(),
        account_sid: f.get("account_sid").trim().to_owned(),
        endpoint: f.get("endpoint").trim().to_owned(),
        service_name: f.get("service_name").trim().to_owned(),
        application_key: f.get("application_key").trim().to_owned(),
    };
    check_provider(state, p, kind, &mut settings, &secrets, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Account {
        kind,
        label: f.get("label").trim().to_owned(),
        sender,
        settings,
        secrets,
        transliterate: f.has("transliterate"),
        secrets_lost: false,
    })
}

/// Empty (the provider's default), an alphanumeric name of up to 11
/// characters, or a number.
fn sender_ok(sender: &str) -> bool {
    let alnum = sender
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ')
        && sender.chars().any(|c| c.is_ascii_alphabetic())
        && sender.len() <= 11;
    let number = sender.strip_prefix('+').unwrap_or(sender);
    let numeric =
        !number.is_empty() && number.len() <= 15 && number.chars().all(|c| c.is_ascii_digit());
    sender.is_empty() || alnum || numeric
}

/// What each kind of provider needs; the generic one's URL is normalised.
fn check_provider(
    state: &AppState,
    p: &Page,
    kind: ProviderKind,
    settings: &mut Settings,
    secrets: &Secrets,
    errors: &mut Vec<(String, String)>,
) {
    let allow_private = state.config.sms_allow_private_urls;
    match kind {
        ProviderKind::Catcher => {}
        ProviderKind::Generic => {
            match check_url(allow_private, &settings.url) {
                Ok(u) => settings.url = u,
                Err(k) => errors.push(("url".into(), p.t(k))),
            }
            if let Err(why) = Generic::check_template(&settings.body_template) {
                errors.push((
                    "body_template".into(),
                    p.t1("sms-error-template", "why", why),
                ));
            }
        }
        ProviderKind::Twilio => {
            if let Err(k) = check_url(allow_private, &settings.base_url) {
                errors.push(("base_url".into(), p.t(k)));
            }
            if settings.account_sid.is_empty() {
                errors.push(("account_sid".into(), p.t("sms-error-required")));
            }
            if secrets.auth_token.is_empty() {
                errors.push(("auth_token".into(), p.t("sms-error-required")));
            }
        }
        ProviderKind::Ovh => {
            if let Err(k) = check_url(allow_private, &settings.endpoint) {
                errors.push(("endpoint".into(), p.t(k)));
            }
            for (name, v) in [
                ("service_name", &settings.service_name),
                ("application_key", &settings.application_key),
                ("application_secret", &secrets.application_secret),
                ("consumer_key", &secrets.consumer_key),
            ] {
                if v.is_empty() {
                    errors.push((name.into(), p.t("sms-error-required")));
                }
            }
        }
    }
}

/// Sends one SMS now through the saved account and shows the provider's
/// exact answer. A test that goes out is recorded and billed like any SMS.
async fn test(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let mut t = base(&state, &p).await?;
    t.test_form = Form {
        values: f.0.clone(),
        errors: Vec::new(),
    };
    let Some(acc) = account::load(&state).await? else {
        t.test_answer = Some((false, p.t("sms-test-no-account"), String::new()));
        return invalid(&t);
    };
    let phone = match amicale_people::Phone::parse(f.get("phone"), amicale_people::Country::France)
    {
        Ok(ph) => ph.e164().to_owned(),
        Err(_) => {
            t.test_form
                .errors
                .push(("phone".into(), p.t("sms-error-phone")));
            return invalid(&t);
        }
    };
    let text = acc.prepare(match f.get("text").trim() {
        "" => "Amicale: test SMS",
        s => s,
    });
    let segments = amicale_sms::analyse(&text).segments.max(1) as i64;
    if let Err(crate::error::AppError::SmsCredit { needed, .. }) =
        credit::ensure(&state.db, segments).await
    {
        t.test_answer = Some((false, p.t1("sms-notice-credit", "n", needed), String::new()));
        return invalid(&t);
    }
    let trial = trial::send(&state, &acc, &phone, &text).await;
    let ok = trial.ok;
    let answer = trial.said.clone().unwrap_or_else(|| p.t("sms-test-caught"));
    let hint = trial.hint.map(|k| p.t(k)).unwrap_or_default();
    if ok {
        trial::record(&state.db, trial, phone, text, segments, answer.clone()).await?;
        t.remaining -= segments;
        t.balance.used += segments;
    }
    t.test_answer = Some((ok, answer, hint));
    if ok { render(&t) } else { invalid(&t) }
}

async fn add_package(
    State(state): State<AppState>,
    who: Require<Admin>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let date = amicale_people::Date::parse(f.get("purchased_on"));
    let qty = f
        .get("quantity")
        .trim()
        .replace([' ', '\u{a0}'], "")
        .parse::<i64>();
    let mut errors = Vec::new();
    if date.is_err() {
        errors.push(("purchased_on".to_owned(), p.t("sms-error-date")));
    }
    match qty {
        Ok(q) if (1..=100_000_000).contains(&q) => {}
        _ => errors.push(("quantity".to_owned(), p.t("sms-error-quantity"))),
    }
    let (Ok(date), Ok(qty), true) = (date, qty, errors.is_empty()) else {
        let mut t = base(&state, &p).await?;
        t.package = Form {
            values: f.0.clone(),
            errors,
        };
        t.notice = Some(p.t("sms-notice-invalid"));
        return invalid(&t);
    };
    let Some(day) = chrono::NaiveDate::from_ymd_opt(date.year(), date.month(), date.day()) else {
        return Err(crate::error::AppError::Internal(
            "checked date out of range".into(),
        ));
    };
    credit::add_package(
        &state.db,
        day,
        qty,
        f.get("note").trim(),
        Some(who.user().id),
    )
    .await?;
    Ok(Redirect::to("/admin/sms?notice=package").into_response())
}

async fn save_threshold(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    match f.get("threshold").trim().parse::<i64>() {
        Ok(n) if n >= 0 => {
            credit::set_threshold(&state.db, n).await?;
            Ok(Redirect::to("/admin/sms?notice=threshold").into_response())
        }
        _ => {
            let mut t = base(&state, &p).await?;
            t.notice = Some(p.t("sms-error-threshold"));
            invalid(&t)
        }
    }
}
