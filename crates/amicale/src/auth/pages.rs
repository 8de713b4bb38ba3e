//! HTML handlers of the accounts feature.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::model::NewPassword;
use crate::auth::service::{self, Refused};
use crate::auth::{password, store};
use crate::error::AppResult;
use crate::web::extract::CurrentUser;
use crate::web::page::{LANG_COOKIE, Page, render, render_status, safe_next};
use crate::web::{cookies, csrf, session};
use amicale_kernel::Locale;
use amicale_kernel::Login;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginTpl<'a> {
    p: &'a Page,
    email: &'a str,
    remember: bool,
    next: &'a str,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    done: Option<String>,
}

pub async fn login_form(p: Page, Query(q): Query<LoginQuery>) -> AppResult<Response> {
    if p.user.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    let notice = match q.done.as_deref() {
        Some("reset") => Some(p.t("login-notice-reset")),
        Some("logout") => Some(p.t("login-notice-logout")),
        _ => None,
    };
    render(&LoginTpl {
        p: &p,
        email: "",
        remember: false,
        next: &safe_next(q.next.as_deref()),
        error: None,
        notice,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    remember: Option<String>,
    next: Option<String>,
}

/// Opens the session of a user who proved who they are, and sends them on.
async fn signed_in(state: &AppState, user: i64, remember: bool, next: &str) -> AppResult<Response> {
    // A member who deactivated their account comes back by logging in.
    crate::people::accounts::reactivate(&state.db, user).await?;
    let cookie = session::create(&state.db, user, remember, state.secure_cookies).await?;
    tracing::info!(user, "login");
    let mut res = Redirect::to(next).into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie);
    // A new CSRF token with the new session: one planted before login is useless.
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::build(
            csrf::COOKIE,
            &csrf::new_token(&state.secret),
            None,
            state.secure_cookies,
        ),
    );
    Ok(res)
}

pub async fn login(
    State(state): State<AppState>,
    client: crate::web::client::Client,
    p: Page,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    let next = safe_next(f.next.as_deref());
    let remember = f.remember.is_some();
    let again = |status: StatusCode, error: String| -> AppResult<Response> {
        render_status(
            status,
            &LoginTpl {
                p: &p,
                email: &f.email,
                remember,
                next: &next,
                error: Some(error),
                notice: None,
            },
        )
    };
    let email = match Login::parse(&f.email) {
        Ok(e) => e,
        Err(key) => return again(StatusCode::UNPROCESSABLE_ENTITY, p.t(key)),
    };
    let user = match service::check_login(&state, &email, f.password.clone(), &client.key()).await?
    {
        Ok(user) => user,
        Err(Refused::Locked(until)) => {
            let at = until.with_timezone(&state.tz).format("%H:%M").to_string();
            return again(
                StatusCode::TOO_MANY_REQUESTS,
                p.t1("login-locked", "time", &at),
            );
        }
        Err(Refused::Failed) => {
            return again(StatusCode::UNPROCESSABLE_ENTITY, p.t("login-failed"));
        }
    };
    signed_in(&state, user.id, remember, &next).await
}

pub async fn logout(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
) -> AppResult<Response> {
    if let Some(CurrentUser(s)) = user {
        session::destroy(&state.db, &s.token_hash).await?;
    }
    let mut res = Redirect::to("/login?done=logout").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::expire(session::COOKIE, state.secure_cookies),
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotTpl<'a> {
    p: &'a Page,
    email: &'a str,
    error: Option<String>,
    sent: bool,
}

pub async fn forgot_form(p: Page) -> AppResult<Response> {
    render(&ForgotTpl {
        p: &p,
        email: "",
        error: None,
        sent: false,
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// Always answers the same, so the form does not reveal which addresses have
/// an account. The reset row and its e-mail commit together.
pub async fn forgot(
    State(state): State<AppState>,
    client: crate::web::client::Client,
    p: Page,
    Form(f): Form<ForgotForm>,
) -> AppResult<Response> {
    let email = match Login::parse(&f.email) {
        Ok(e) => e,
        Err(key) => {
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ForgotTpl {
                    p: &p,
                    email: &f.email,
                    error: Some(p.t(key)),
                    sent: false,
                },
            );
        }
    };
    service::request_reset(&state, &email, &client.key(), p.locale).await?;
    render(&ForgotTpl {
        p: &p,
        email: "",
        error: None,
        sent: true,
    })
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
struct ResetTpl<'a> {
    p: &'a Page,
    token: &'a str,
    valid: bool,
    error: Option<String>,
}

pub async fn reset_form(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let valid = store::valid_reset(&state.db, &token, Utc::now())
        .await?
        .is_some();
    let status = if valid {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    let mut res = render_status(
        status,
        &ResetTpl {
            p: &p,
            token: &token,
            valid,
            error: None,
        },
    )?;
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn reset(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
    Form(f): Form<ResetForm>,
) -> AppResult<Response> {
    let pw = match NewPassword::parse(&f.password, &f.confirm) {
        Ok(pw) => pw,
        Err(key) => {
            let valid = store::valid_reset(&state.db, &token, Utc::now())
                .await?
                .is_some();
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetTpl {
                    p: &p,
                    token: &token,
                    valid,
                    error: Some(p.t1(key, "min", crate::auth::model::MIN_PASSWORD)),
                },
            );
        }
    };
    match store::consume_reset(&state.db, &token, &pw, Utc::now()).await? {
        Some(user_id) => {
            tracing::info!(user = user_id, "password reset");
            Ok(Redirect::to("/login?done=reset").into_response())
        }
        None => render_status(
            StatusCode::GONE,
            &ResetTpl {
                p: &p,
                token: &token,
                valid: false,
                error: None,
            },
        ),
    }
}

#[derive(Template)]
#[template(path = "auth/change.html")]
struct ChangeTpl<'a> {
    p: &'a Page,
    error: Option<String>,
    done: bool,
}

pub async fn change_form(_user: CurrentUser, p: Page) -> AppResult<Response> {
    render(&ChangeTpl {
        p: &p,
        error: None,
        done: false,
    })
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change(
    State(state): State<AppState>,
    CurrentUser(s): CurrentUser,
    p: Page,
    Form(f): Form<ChangeForm>,
) -> AppResult<Response> {
    let fail = |msg: String| -> AppResult<Response> {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ChangeTpl {
                p: &p,
                error: Some(msg),
                done: false,
            },
        )
    };
    if !password::verify(f.current.clone(), Some(s.user.password_hash.clone())).await? {
        return fail(p.t("password-current-wrong"));
    }
    let pw = match NewPassword::parse(&f.password, &f.confirm) {
        Ok(pw) => pw,
        Err(key) => return fail(p.t1(key, "min", crate::auth::model::MIN_PASSWORD)),
    };
    let hash = password::hash(pw.expose().to_owned()).await?;
    store::set_password(&state.db, s.user.id, hash, Some(&s.token_hash)).await?;
    tracing::info!(user = s.user.id, "password changed");
    render(&ChangeTpl {
        p: &p,
        error: None,
        done: true,
    })
}

#[derive(Deserialize)]
pub struct LangForm {
    lang: String,
    next: Option<String>,
}

pub async fn set_language(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Form(f): Form<LangForm>,
) -> AppResult<Response> {
    let Some(locale) = Locale::parse(&f.lang) else {
        return Ok(StatusCode::UNPROCESSABLE_ENTITY.into_response());
    };
    if let Some(CurrentUser(s)) = user {
        store::set_locale(&state.db, s.user.id, locale.code()).await?;
    }
    let mut res = Redirect::to(&safe_next(f.next.as_deref())).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::build(
            LANG_COOKIE,
            locale.code(),
            Some(365 * 24 * 3600),
            state.secure_cookies,
        ),
    );
    Ok(res)
}
