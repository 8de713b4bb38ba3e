//! Administration › SMS: the provider account (secrets never shown back),
//! a test that shows the provider's exact answer, the credit packages, the
//! balance and its alert threshold, and the receipt URL to give the provider.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait};

use amicale_sms::provider::{Answer, Generic, Outgoing};

use crate::app::AppState;
use crate::error::AppResult;
use crate::web::extract::{Admin, Require};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render, render_status};
use amicale_delivery::outbox::{Channel, Origin, State as MsgState};
use amicale_delivery::sms::account::{self, Account, ProviderKind, Secrets, Settings};
use amicale_delivery::sms::{credit, receipts, worker};
use amicale_store::entities::{outbox, sms_packages};

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
    packages: Vec<sms_packages::Model>,
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
    let mut stored = Vec::new();
    if let Some(a) = &acc {
        for (name, v) in [
            ("authorization", &a.secrets.authorization),
            ("auth_token", &a.secrets.auth_token),
            ("application_secret", &a.secrets.application_secret),
            ("consumer_key", &a.secrets.consumer_key),
        ] {
            if !v.is_empty() {
                stored.push(name);
            }
        }
    }
    let form = match &acc {
        Some(a) => Form::from_account(a),
        None => Form {
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
        },
    };
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

/// An http(s) URL, or the message key of why not.
async fn save_account(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let old = account::load(&state).await?;
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut err = |field: &str, key: &str| errors.push((field.to_owned(), p.t(key)));
    let kind = ProviderKind::parse(f.get("provider"));
    if kind.is_none() {
        err("provider", "sms-error-provider");
    }
    let kind = kind.unwrap_or(ProviderKind::Catcher);
    let sender = f.get("sender").trim().to_owned();
    let alnum = sender
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ')
        && sender.chars().any(|c| c.is_ascii_alphabetic())
        && sender.len() <= 11;
    let number = sender.strip_prefix('+').unwrap_or(&sender);
    let numeric =
        !number.is_empty() && number.len() <= 15 && number.chars().all(|c| c.is_ascii_digit());
    if !sender.is_empty() && !alnum && !numeric {
        err("sender", "sms-error-sender");
    }
    let keep = |name: &str, old: Option<&String>| -> String {
        let typed = f.get(name).trim();
        if typed.is_empty() {
            old.cloned().unwrap_or_default()
        } else {
            typed.to_owned()
        }
    };
    let os = old.as_ref().map(|a| &a.secrets);
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
    match kind {
        ProviderKind::Catcher => {}
        ProviderKind::Generic => {
            match amicale_delivery::sms::outbound::check_url(
                state.config.sms_allow_private_urls,
                &settings.url,
            ) {
                Ok(u) => settings.url = u,
                Err(k) => err("url", k),
            }
            if let Err(why) = Generic::check_template(&settings.body_template) {
                errors.push((
                    "body_template".into(),
                    p.t1("sms-error-template", "why", why),
                ));
            }
        }
        ProviderKind::Twilio => {
            if let Err(k) = amicale_delivery::sms::outbound::check_url(
                state.config.sms_allow_private_urls,
                &settings.base_url,
            ) {
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
            if let Err(k) = amicale_delivery::sms::outbound::check_url(
                state.config.sms_allow_private_urls,
                &settings.endpoint,
            ) {
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
    if !errors.is_empty() {
        let mut t = base(&state, &p).await?;
        t.form = Form {
            // Secrets typed are not echoed back, even on error.
            values: f
                .0
                .iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "authorization" | "auth_token" | "application_secret" | "consumer_key"
                    )
                })
                .cloned()
                .collect(),
            errors,
        };
        t.notice = Some(p.t("sms-notice-invalid"));
        return invalid(&t);
    }
    account::save(
        &state,
        &Account {
            kind,
            label: f.get("label").trim().to_owned(),
            sender,
            settings,
            secrets,
            transliterate: f.has("transliterate"),
            secrets_lost: false,
        },
    )
    .await?;
    tracing::info!(provider = kind.as_str(), "SMS account saved");
    Ok(Redirect::to("/admin/sms?notice=saved").into_response())
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
    let (ok, answer, hint, provider_id, st) = match acc.provider() {
        None => (
            true,
            p.t("sms-test-caught"),
            String::new(),
            None,
            MsgState::Caught,
        ),
        Some(provider) => {
            let receipt_url = receipts::url(&state);
            let out = Outgoing {
                to: &phone,
                text: &text,
                sender: &acc.sender,
                reference: "test",
                receipt_url: Some(&receipt_url),
            };
            match worker::call(&state, &provider, &out).await {
                Err(why) => (
                    false,
                    why,
                    p.t("sms-hint-unreachable"),
                    None,
                    MsgState::Failed,
                ),
                Ok((status, body)) => {
                    let said = format!(
                        "HTTP {status}: {}",
                        amicale_delivery::sms::outbound::echo(&body)
                    );
                    match provider.read_answer(status, &body) {
                        Answer::Accepted { id } => (true, said, String::new(), id, MsgState::Sent),
                        Answer::Temporary(_) => (
                            false,
                            said,
                            p.t("sms-hint-temporary"),
                            None,
                            MsgState::Failed,
                        ),
                        Answer::Permanent(_) => {
                            let hint = if matches!(status, 401 | 403) {
                                p.t("sms-hint-auth")
                            } else {
                                p.t("sms-hint-permanent")
                            };
                            (false, said, hint, None, MsgState::Failed)
                        }
                    }
                }
            }
        }
    };
    if ok {
        let now = Utc::now();
        outbox::Entity::insert(outbox::ActiveModel {
            channel: Set(Channel::Sms.as_str().into()),
            recipient: Set(phone),
            subject: Set(String::new()),
            body_text: Set(text),
            body_html: Set(None),
            origin: Set(Origin::Test.as_str().into()),
            state: Set(st.as_str().into()),
            attempts: Set(1),
            next_attempt_at: Set(now),
            last_answer: Set(Some(answer.clone())),
            message_id: Set(format!(
                "<sms-test-{}@amicale>",
                amicale_kernel::crypto::random_token(12)
            )),
            created_at: Set(now),
            updated_at: Set(now),
            sent_at: Set(Some(now)),
            segments: Set(Some(segments as i32)),
            provider_id: Set(provider_id),
            ..Default::default()
        })
        .exec(&state.db)
        .await?;
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
