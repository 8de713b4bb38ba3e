//! The account pages: an invitation's link (finish the account, or stop
//! the invitations), deactivation, and the change of login address.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::service::{self, EmailRequest, Finished};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::web::client::Client;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, render, render_status};
use amicale_kernel::Locale;

#[derive(Template)]
#[template(path = "people/invitation.html")]
struct InvitationTpl<'a> {
    p: &'a Page,
    token: &'a str,
    name: String,
    email: String,
    valid: bool,
    error: Option<String>,
    /// "finish", "stop" (confirm) or "stopped".
    mode: &'static str,
}

fn no_referrer(mut res: Response) -> Response {
    // The token is in the URL: it must not leak to another site.
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    res
}

pub async fn invitation_form(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let found = service::open_invitation(&state, &token).await?;
    let valid = found.is_some();
    let (name, email) = found
        .map(|(_, x)| (x.first_name, x.email.unwrap_or_default()))
        .unwrap_or_default();
    let status = if valid {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    Ok(no_referrer(render_status(
        status,
        &InvitationTpl {
            p: &p,
            token: &token,
            name,
            email,
            valid,
            error: None,
            mode: "finish",
        },
    )?))
}

#[derive(serde::Deserialize)]
pub struct FinishForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    locale: String,
}

/// Finishes the account (see `service::finish`) and signs the person in.
pub async fn finish(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
    axum::Form(f): axum::Form<FinishForm>,
) -> AppResult<Response> {
    let retry = Redirect::to(&format!("/invitation/{token}")).into_response();
    let Some((inv, person)) = service::open_invitation(&state, &token).await? else {
        return Ok(retry);
    };
    let again = |error: String| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &InvitationTpl {
                p: &p,
                token: &token,
                name: person.first_name.clone(),
                email: person.email.clone().unwrap_or_default(),
                valid: true,
                error: Some(error),
                mode: "finish",
            },
        )
    };
    let pw = match crate::auth::model::NewPassword::parse(&f.password, &f.confirm) {
        Ok(pw) => pw,
        Err(key) => return again(p.t1(key, "min", crate::auth::model::MIN_PASSWORD)),
    };
    let login = match amicale_kernel::Login::parse(person.email.as_deref().unwrap_or_default()) {
        Ok(e) => e,
        Err(key) => return again(p.t(key)),
    };
    let locale = match f.locale.as_str() {
        "" => p.locale,
        l => Locale::parse(l).ok_or(AppError::BadInput("locale"))?,
    };
    let user = match service::finish(&state, &inv, &person, &login, pw, locale).await? {
        Finished::EmailUsed => return again(p.t("invite-email-used")),
        Finished::Spent => return Ok(retry),
        Finished::Opened(user) => user,
    };
    let cookie = crate::web::session::create(&state.db, user, false, state.secure_cookies).await?;
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(res)
}

/// "Do not invite me again": a GET shows the confirmation, the POST records
/// it, so a mail scanner following links changes nothing.
pub async fn stop_form(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let valid = service::open_invitation(&state, &token).await?.is_some();
    Ok(no_referrer(render(&InvitationTpl {
        p: &p,
        token: &token,
        name: String::new(),
        email: String::new(),
        valid,
        error: None,
        mode: "stop",
    })?))
}

pub async fn stop(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let Some((inv, person)) = service::open_invitation(&state, &token).await? else {
        return Err(AppError::NotFound);
    };
    service::stop(&state, &inv, &person).await?;
    render(&InvitationTpl {
        p: &p,
        token: "",
        name: String::new(),
        email: String::new(),
        valid: false,
        error: None,
        mode: "stopped",
    })
}

#[derive(Template)]
#[template(path = "people/deactivate.html")]
struct DeactivateTpl<'a> {
    p: &'a Page,
}

pub async fn deactivate_form(_: CurrentUser, p: Page) -> AppResult<Response> {
    render(&DeactivateTpl { p: &p })
}

/// The member hides their account (see `service::deactivate`).
pub async fn deactivate(State(state): State<AppState>, who: CurrentUser) -> AppResult<Response> {
    service::deactivate(&state, who.user().id).await?;
    Ok(Redirect::to("/login?deactivated=1").into_response())
}

#[derive(Template)]
#[template(path = "people/email_change.html")]
struct EmailChangeTpl<'a> {
    p: &'a Page,
    email: String,
    error: Option<String>,
    sent: bool,
    done: bool,
}

impl<'a> EmailChangeTpl<'a> {
    fn new(p: &'a Page) -> Self {
        EmailChangeTpl {
            p,
            email: String::new(),
            error: None,
            sent: false,
            done: false,
        }
    }
}

pub async fn email_form(_: CurrentUser, p: Page) -> AppResult<Response> {
    render(&EmailChangeTpl::new(&p))
}

#[derive(serde::Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    current: String,
}

/// Asks for a new login address (see `service::request_email_change`).
pub async fn email_request(
    State(state): State<AppState>,
    client: Client,
    CurrentUser(s): CurrentUser,
    p: Page,
    axum::Form(f): axum::Form<EmailForm>,
) -> AppResult<Response> {
    let again = |key: &str| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &EmailChangeTpl {
                email: f.email.clone(),
                error: Some(p.t(key)),
                ..EmailChangeTpl::new(&p)
            },
        )
    };
    let email = match amicale_kernel::Login::parse(&f.email) {
        Ok(e) => e,
        Err(key) => return again(key),
    };
    let asked =
        service::request_email_change(&state, &s.user, &email, &f.current, &client.key(), p.locale)
            .await?;
    match asked {
        EmailRequest::WrongPassword => again("email-change-wrong-password"),
        EmailRequest::Used => again("invite-email-used"),
        EmailRequest::Taken => again("err-email-taken"),
        EmailRequest::Throttled => again("err-too-many-mails"),
        EmailRequest::Sent => render(&EmailChangeTpl {
            sent: true,
            ..EmailChangeTpl::new(&p)
        }),
    }
}

/// Follows the link (see `service::confirm_email_change`).
pub async fn email_confirm(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    if service::confirm_email_change(&state, &token).await? {
        render(&EmailChangeTpl {
            done: true,
            ..EmailChangeTpl::new(&p)
        })
    } else {
        render_status(
            StatusCode::GONE,
            &EmailChangeTpl {
                error: Some(p.t("invite-invalid")),
                ..EmailChangeTpl::new(&p)
            },
        )
    }
}
