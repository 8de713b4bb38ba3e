//! The registration pages: the public form, the page of the mailed link,
//! and the moderators' queue.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use amicale_people::{CommunityRole, Email, Line, PromoYear};

use super::service::{self, Decision, Outcome, ROLES, Registration, Requested};
use crate::app::AppState;
use crate::error::AppResult;
use crate::people::crm::Opt;
use crate::web::client::Client;
use crate::web::extract::{Moderate, Require};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render, render_status};
use amicale_kernel::Locale;

#[derive(Template)]
#[template(path = "people/register.html")]
struct RegisterTpl<'a> {
    p: &'a Page,
    f: FormPairs,
    errors: Vec<(String, String)>,
    programmes: Vec<Opt>,
    done: bool,
}

impl RegisterTpl<'_> {
    fn v(&self, name: &str) -> String {
        self.f.get(name).to_owned()
    }

    fn error(&self, name: &str) -> String {
        self.errors
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

pub async fn form(State(state): State<AppState>, p: Page) -> AppResult<Response> {
    render(&RegisterTpl {
        p: &p,
        f: FormPairs(vec![]),
        errors: vec![],
        programmes: service::programme_options(&state).await?,
        done: false,
    })
}

/// The form as a registration, or each field's message. `known` lists the
/// programmes offered (asked for only when one was chosen).
fn parse(p: &Page, f: &FormPairs, known: &[Opt]) -> Result<Registration, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, msg: String| errors.push((field.to_owned(), msg));
    let mut names = Vec::new();
    for name in ["first_name", "last_name"] {
        match Line::parse_max(f.get(name), 100) {
            Ok(v) if v.as_str().is_empty() => bad(name, p.t("err-required")),
            Ok(v) => names.push(v.into_string()),
            Err(e) => bad(name, p.t(&format!("err-{}", e.code()))),
        }
    }
    let email = match Email::parse(f.get("email")) {
        Ok(e) => Some(e),
        Err(e) => {
            bad("email", p.t(&format!("err-{}", e.code())));
            None
        }
    };
    let promo = match f.get("promo").trim() {
        "" => None,
        s => match PromoYear::parse(s) {
            Ok(y) => Some(y),
            Err(e) => {
                bad("promo", p.t(&format!("err-{}", e.code())));
                None
            }
        },
    };
    let role = match ROLES.contains(&f.get("role")) {
        true => CommunityRole::parse(f.get("role")).ok(),
        false => None,
    };
    if role.is_none() {
        bad("role", p.t("err-role-unknown"));
    }
    let password = match crate::auth::model::NewPassword::parse(f.get("password"), f.get("confirm"))
    {
        Ok(pw) => Some(pw),
        Err(key) => {
            bad(
                "password",
                p.t1(key, "min", crate::auth::model::MIN_PASSWORD),
            );
            None
        }
    };
    let programme_id = match f.get("programme").trim() {
        "" => None,
        v => match known.iter().find(|o| o.value == v) {
            Some(_) => v.parse::<i64>().ok(),
            None => {
                errors.push(("programme".into(), p.t("err-programme-unknown")));
                None
            }
        },
    };
    let locale = match f.get("locale") {
        "" => Some(p.locale),
        l => Locale::parse(l),
    };
    if locale.is_none() {
        errors.push(("locale".into(), p.t("err-invalid")));
    }
    let (Some(email), Some(role), Some(password), Some(locale), [first, last], true) = (
        email,
        role,
        password,
        locale,
        names.as_slice(),
        errors.is_empty(),
    ) else {
        return Err(errors);
    };
    Ok(Registration {
        first: first.clone(),
        last: last.clone(),
        email,
        promo,
        programme_id,
        role,
        password,
        locale,
    })
}

pub async fn submit(
    State(state): State<AppState>,
    client: Client,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let known = match f.get("programme").trim() {
        "" => Vec::new(),
        _ => service::programme_options(&state).await?,
    };
    let registration = match parse(&p, &f, &known) {
        Ok(r) => r,
        Err(errors) => return again(&state, &p, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    match service::request(&state, registration, &client.key(), Utc::now()).await? {
        Requested::Throttled => {
            let errors = vec![("email".into(), p.t("err-too-many-mails"))];
            again(&state, &p, f, errors, StatusCode::TOO_MANY_REQUESTS).await
        }
        Requested::Sent => render(&RegisterTpl {
            p: &p,
            f: FormPairs(vec![]),
            errors: vec![],
            programmes: vec![],
            done: true,
        }),
    }
}

/// The form again with what was typed (never the passwords) and the errors.
async fn again(
    state: &AppState,
    p: &Page,
    f: FormPairs,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> AppResult<Response> {
    render_status(
        status,
        &RegisterTpl {
            p,
            f: FormPairs(
                f.0.into_iter()
                    .filter(|(k, _)| k != "password" && k != "confirm")
                    .collect(),
            ),
            errors,
            programmes: service::programme_options(state).await?,
            done: false,
        },
    )
}

#[derive(Template)]
#[template(path = "people/register_confirm.html")]
struct ConfirmTpl<'a> {
    p: &'a Page,
    token: &'a str,
    error: Option<String>,
    /// The outcome once the link was used.
    outcome: Option<Outcome>,
}

/// The token is in the address: no other site may learn it.
fn no_referrer(mut res: Response) -> Response {
    res.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    res
}

/// The page of the mailed link: a button, so that a mail scanner fetching
/// the link does not use it up.
pub async fn confirm_form(p: Page, Path(token): Path<String>) -> AppResult<Response> {
    Ok(no_referrer(render(&ConfirmTpl {
        p: &p,
        token: &token,
        error: None,
        outcome: None,
    })?))
}

/// The link followed with the password typed again (see
/// `service::confirm`).
pub async fn confirm(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
    f: FormPairs,
) -> AppResult<Response> {
    let outcome = service::confirm(&state, &token, f.get("password"), Utc::now()).await?;
    let (status, outcome, error) = match outcome {
        None => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(p.t("register-confirm-wrong-password")),
        ),
        Some(Outcome::Invalid) => (StatusCode::NOT_FOUND, Some(Outcome::Invalid), None),
        Some(o) => (StatusCode::OK, Some(o), None),
    };
    Ok(no_referrer(render_status(
        status,
        &ConfirmTpl {
            p: &p,
            token: if outcome.is_none() { &token } else { "" },
            error,
            outcome,
        },
    )?))
}

pub struct Pending {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub promo: String,
    pub roles: String,
    pub date: String,
}

#[derive(Template)]
#[template(path = "people/registrations.html")]
struct QueueTpl<'a> {
    p: &'a Page,
    rows: Vec<Pending>,
}

pub async fn queue(
    State(state): State<AppState>,
    _: Require<Moderate>,
    p: Page,
) -> AppResult<Response> {
    let rows = service::queue(&state)
        .await?
        .into_iter()
        .map(|(reg, r)| Pending {
            id: reg.person_id,
            name: format!("{} {}", r.person.first_name, r.person.last_name),
            email: r.person.email.clone().unwrap_or_default(),
            promo: r
                .person
                .promo_year
                .map(|y| y.to_string())
                .unwrap_or_default(),
            roles: r
                .roles
                .iter()
                .map(|x| p.t(&format!("role-{}", x.role)))
                .collect::<Vec<_>>()
                .join(", "),
            date: reg
                .created_at
                .with_timezone(&state.tz)
                .format("%d/%m/%Y %H:%M")
                .to_string(),
        })
        .collect();
    render(&QueueTpl { p: &p, rows })
}

pub async fn decide(
    State(state): State<AppState>,
    who: Require<Moderate>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let decision = Decision::parse(f.get("decision"));
    service::decide(&state, who.user().id, id, decision).await?;
    Ok(Redirect::to("/admin/registrations").into_response())
}
