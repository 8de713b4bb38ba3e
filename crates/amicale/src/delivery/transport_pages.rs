//! Administration › Transports (SMTP profiles with a test that shows the
//! server's exact answer and a hint) and › DKIM (keys generated here, with
//! the DNS record to publish). Secrets are sealed and never shown back.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;

use amicale_mailkit::dkim::Algorithm;

use crate::app::AppState;
use crate::error::AppResult;
use crate::web::extract::{Admin, Require};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render, render_status};
use amicale_delivery::delivery_settings::{self, SEAL_SMTP};
use amicale_delivery::transport::Outcome;
use amicale_delivery::transport_settings::{self as settings, DkimKey, Profile, ProfileInput};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/transports", get(list).post(save_new))
        .route("/admin/transports/{id}", get(edit).post(save_existing))
        .route("/admin/transports/{id}/test", post(test))
        .route("/admin/transports/{id}/delete", post(delete))
        .route("/admin/dkim", get(dkim_list).post(dkim_generate))
        .route("/admin/dkim/{id}/activate", post(dkim_activate))
        .route("/admin/dkim/{id}/deactivate", post(dkim_deactivate))
        .route("/admin/dkim/{id}/delete", post(dkim_delete))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Q {
    notice: String,
}

/// Form values and errors by field name.
#[derive(Default)]
struct Fields {
    values: Vec<(String, String)>,
    errors: Vec<(String, String)>,
}

impl Fields {
    fn get(&self, k: &str) -> &str {
        self.values
            .iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, v)| v.as_str())
    }

    fn error(&self, k: &str) -> &str {
        self.errors
            .iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, v)| v.as_str())
    }

    fn of(p: &Profile) -> Fields {
        let v = |k: &str, s: String| (k.to_owned(), s);
        Fields {
            values: vec![
                v("label", p.label.clone()),
                v("host", p.host.clone()),
                v("port", p.port.to_string()),
                v("tls", p.tls.clone()),
                v("username", p.username.clone()),
                v("timeout_secs", p.timeout_secs.to_string()),
                v("rate_per_sec", p.rate_per_sec.to_string()),
                v("max_connections", p.max_connections.to_string()),
                v("per_domain", p.per_domain.to_string()),
                v(
                    "is_default",
                    if p.is_default { "on" } else { "" }.to_owned(),
                ),
            ],
            errors: Vec::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/transports.html")]
struct ListTpl<'a> {
    p: &'a Page,
    profiles: Vec<Profile>,
    in_force: String,
    notice: Option<String>,
    form: Fields,
    /// The profile being edited, none for a new one.
    editing: Option<Profile>,
    test: Option<(bool, String, String)>,
}

async fn tpl<'a>(state: &AppState, p: &'a Page) -> AppResult<ListTpl<'a>> {
    Ok(ListTpl {
        p,
        profiles: settings::profiles(&state.db).await?,
        in_force: delivery_settings::current(state)
            .await?
            .default
            .transport
            .describe(),
        notice: None,
        form: Fields {
            values: vec![
                ("port".into(), "587".into()),
                ("tls".into(), "starttls".into()),
                ("timeout_secs".into(), "30".into()),
                ("rate_per_sec".into(), "0".into()),
                ("max_connections".into(), "0".into()),
                ("per_domain".into(), "0".into()),
            ],
            errors: Vec::new(),
        },
        editing: None,
        test: None,
    })
}

async fn list(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    Query(q): Query<Q>,
) -> AppResult<Response> {
    let mut t = tpl(&state, &p).await?;
    if !q.notice.is_empty() {
        t.notice = Some(p.t(&format!("transport-notice-{}", q.notice)));
    }
    render(&t)
}

async fn edit(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let prof = settings::profile(&state.db, id).await?;
    let mut t = tpl(&state, &p).await?;
    t.form = Fields::of(&prof);
    t.editing = Some(prof);
    render(&t)
}

/// A valid profile from the form, or the form with its errors.
fn parse(p: &Page, f: &FormPairs) -> Result<ProfileInput, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut err = |k: &str, key: &str| errors.push((k.to_owned(), p.t(key)));
    let label = f.get("label").trim();
    if label.is_empty() || label.chars().count() > 120 {
        err("label", "transport-error-label");
    }
    let host = f.get("host").trim().trim_matches(['[', ']']).to_owned();
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    if !host_ok {
        err("host", "transport-error-host");
    }
    let port = f.get("port").trim().parse::<u16>().ok().filter(|p| *p > 0);
    if port.is_none() {
        err("port", "transport-error-port");
    }
    let tls = f.get("tls");
    if !matches!(tls, "none" | "starttls" | "tls") {
        err("tls", "transport-error-tls");
    }
    let timeout = f
        .get("timeout_secs")
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|t| (1..=600).contains(t));
    if timeout.is_none() {
        err("timeout_secs", "transport-error-timeout");
    }
    let rate = f
        .get("rate_per_sec")
        .trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && (0.0..=100_000.0).contains(r));
    if rate.is_none() {
        err("rate_per_sec", "transport-error-rate");
    }
    let mut count = |k: &str| {
        // Left empty: no limit.
        let typed = f.get(k).trim();
        let n = if typed.is_empty() {
            Some(0)
        } else {
            typed.parse::<i32>().ok().filter(|n| (0..=1000).contains(n))
        };
        if n.is_none() {
            err(k, "transport-error-count");
        }
        n.unwrap_or(0)
    };
    let max_connections = count("max_connections");
    let per_domain = count("per_domain");
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ProfileInput {
        label: label.to_owned(),
        host,
        port: port.unwrap_or(25) as i32,
        tls: tls.to_owned(),
        username: f.get("username").trim().to_owned(),
        timeout_secs: timeout.unwrap_or(30),
        rate_per_sec: rate.unwrap_or(0.0),
        max_connections,
        per_domain,
        is_default: f.has("is_default"),
    })
}

async fn invalid(
    state: &AppState,
    p: &Page,
    f: &FormPairs,
    errors: Vec<(String, String)>,
    editing: Option<Profile>,
) -> AppResult<Response> {
    let mut t = tpl(state, p).await?;
    t.form = Fields {
        values: f
            .0
            .iter()
            .filter(|(k, _)| k != "password")
            .cloned()
            .collect(),
        errors,
    };
    t.editing = editing;
    t.notice = Some(p.t("transport-notice-invalid"));
    render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &t)
}

async fn save_new(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let input = match parse(&p, &f) {
        Ok(r) => r,
        Err(errors) => return invalid(&state, &p, &f, errors, None).await,
    };
    let password = match f.get("password") {
        "" => String::new(),
        pw => state.secret.seal(SEAL_SMTP, pw),
    };
    settings::create_profile(&state.db, input, password).await?;
    Ok(Redirect::to("/admin/transports?notice=saved").into_response())
}

async fn save_existing(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let old = settings::profile(&state.db, id).await?;
    let input = match parse(&p, &f) {
        Ok(r) => r,
        Err(errors) => return invalid(&state, &p, &f, errors, Some(old)).await,
    };
    // A blank password keeps the stored one; "remove" clears it.
    let password = match f.get("password") {
        "" if f.has("remove_password") => String::new(),
        "" => old.password,
        pw => state.secret.seal(SEAL_SMTP, pw),
    };
    settings::update_profile(&state.db, id, input, password).await?;
    Ok(Redirect::to("/admin/transports?notice=saved").into_response())
}

async fn delete(
    State(state): State<AppState>,
    _: Require<Admin>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    settings::delete_profile(&state.db, id).await?;
    Ok(Redirect::to("/admin/transports?notice=deleted").into_response())
}

/// What to try when a test fails, from the words of the failure.
fn hint(p: &Page, answer: &str) -> String {
    p.t(hint_key(answer))
}

/// The locale key of [`hint`].
fn hint_key(answer: &str) -> &'static str {
    let a = answer.to_ascii_lowercase();
    if a.contains("timed out") || a.contains("in time") {
        "transport-hint-timeout"
    } else if a.contains("tls")
        || a.contains("handshake")
        || a.contains("certificate")
        || a.contains("corrupt")
        || a.contains("wrong version")
        || a.contains("invalidcontenttype")
    {
        "transport-hint-tls"
    } else if a.contains("auth")
        || a.contains("credential")
        // The reply code as a word: a port such as 35357 is not one.
        || a.split(|c: char| !c.is_ascii_digit()).any(|w| w == "535")
    {
        "transport-hint-auth"
    } else if a.contains("refused") || a.contains("connection to") || a.contains("resolve") {
        "transport-hint-connect"
    } else {
        "transport-hint-other"
    }
}

/// Sends one message through the profile, now, and shows what the server
/// said (whether or not it is the default).
async fn test(
    State(state): State<AppState>,
    who: Require<Admin>,
    p: Page,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let prof = settings::profile(&state.db, id).await?;
    let mut t = tpl(&state, &p).await?;
    t.form = Fields::of(&prof);
    let to = match f.get("to").trim() {
        "" => who.user().email.clone(),
        s => s.to_owned(),
    };
    let subject = p.t1("transport-test-subject", "label", &prof.label);
    let outcome = settings::send_test(&state, &prof, &to, subject, p.t("transport-test-body"))
        .await
        .unwrap_or_else(|e| Outcome::Failed(format!("{}: {e}", p.t("transport-error-to")).into()));
    t.test = Some(match outcome {
        Outcome::Sent(a) => (true, a, String::new()),
        Outcome::Caught => (true, "catcher".into(), String::new()),
        Outcome::Deferred(a) | Outcome::Failed(a) => {
            let a = a.to_string();
            let h = hint(&p, &a);
            (false, a, h)
        }
        Outcome::Suppressed(a) => {
            let h = hint(&p, &a);
            (false, a, h)
        }
    });
    t.editing = Some(prof);
    let ok = t.test.as_ref().is_some_and(|x| x.0);
    if ok {
        render(&t)
    } else {
        render_status(axum::http::StatusCode::BAD_GATEWAY, &t)
    }
}

#[derive(Template)]
#[template(path = "admin/dkim.html")]
struct DkimTpl<'a> {
    p: &'a Page,
    keys: Vec<DkimKey>,
    notice: Option<String>,
    domain: String,
    selector: String,
    algorithm: String,
    errors: Vec<(String, String)>,
}

impl DkimTpl<'_> {
    fn error(&self, k: &str) -> String {
        self.errors
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

async fn dkim_tpl<'a>(state: &AppState, p: &'a Page) -> AppResult<DkimTpl<'a>> {
    Ok(DkimTpl {
        p,
        keys: settings::dkim_keys(&state.db).await?,
        notice: None,
        domain: state.mail_from.email.domain().to_owned(),
        selector: format!("amicale{}", Utc::now().format("%Y%m")),
        algorithm: "rsa".into(),
        errors: Vec::new(),
    })
}

async fn dkim_list(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    Query(q): Query<Q>,
) -> AppResult<Response> {
    let mut t = dkim_tpl(&state, &p).await?;
    if !q.notice.is_empty() {
        t.notice = Some(p.t(&format!("dkim-notice-{}", q.notice)));
    }
    render(&t)
}

fn label_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

async fn dkim_generate(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let domain = f.get("domain").trim().trim_end_matches('.').to_lowercase();
    let selector = f.get("selector").trim().to_lowercase();
    let mut errors = Vec::new();
    if amicale_delivery::identities::parse_domains(&domain)
        .ok()
        .is_none_or(|d| d.len() != 1)
    {
        errors.push(("domain".to_owned(), p.t("dkim-error-domain")));
    }
    if !selector.split('.').all(label_ok) {
        errors.push(("selector".to_owned(), p.t("dkim-error-selector")));
    }
    let alg = match f.get("algorithm") {
        "ed25519" => Some(Algorithm::Ed25519Sha256),
        "rsa" => Some(Algorithm::RsaSha256),
        _ => None,
    };
    if alg.is_none() {
        errors.push(("algorithm".to_owned(), p.t("dkim-error-algorithm")));
    }
    let (Some(alg), true) = (alg, errors.is_empty()) else {
        let mut t = dkim_tpl(&state, &p).await?;
        t.domain = f.get("domain").to_owned();
        t.selector = f.get("selector").to_owned();
        t.algorithm = f.get("algorithm").to_owned();
        t.errors = errors;
        t.notice = Some(p.t("transport-notice-invalid"));
        return render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &t);
    };
    settings::generate_dkim_key(&state, domain, selector, alg).await?;
    Ok(Redirect::to("/admin/dkim?notice=generated").into_response())
}

/// One active key per domain: activating one retires the others.
async fn dkim_activate(
    State(state): State<AppState>,
    _: Require<Admin>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let k = settings::dkim_key(&state.db, id).await?;
    settings::activate_dkim_key(&state.db, &k).await?;
    Ok(Redirect::to("/admin/dkim?notice=activated").into_response())
}

async fn dkim_deactivate(
    State(state): State<AppState>,
    _: Require<Admin>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    settings::dkim_key(&state.db, id).await?;
    settings::deactivate_dkim_key(&state.db, id).await?;
    Ok(Redirect::to("/admin/dkim?notice=deactivated").into_response())
}

async fn dkim_delete(
    State(state): State<AppState>,
    _: Require<Admin>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    settings::dkim_key(&state.db, id).await?;
    settings::delete_dkim_key(&state.db, id).await?;
    Ok(Redirect::to("/admin/dkim?notice=deleted").into_response())
}

#[cfg(test)]
mod tests {
    use super::hint_key;

    #[test]
    fn hints_follow_the_words_of_the_answer() {
        // A port that happens to hold "535" is no authentication failure.
        assert_eq!(
            hint_key("connection to 127.0.0.1:35357 failed: Connection refused (os error 111)"),
            "transport-hint-connect"
        );
        assert_eq!(
            hint_key("535 5.7.8 Error: authentication failed"),
            "transport-hint-auth"
        );
        assert_eq!(hint_key("535 5.7.8 bad"), "transport-hint-auth");
        assert_eq!(hint_key("timed out after 5 s"), "transport-hint-timeout");
        assert_eq!(
            hint_key("TLS handshake failed: corrupt message"),
            "transport-hint-tls"
        );
        assert_eq!(hint_key("554 5.7.1 nope"), "transport-hint-other");
    }
}
