//! Self-registration: a public form whose requests wait in a
//! moderation queue; the person is told by e-mail when accepted or refused.
//! Recruiters are accepted at once (DL), once their address is proven.
//!
//! Nothing touches `persons` or `users` before the address is proven: the
//! form only stores the request and mails a single-use, expiring link to
//! the address (a visitor typing an alumnus's address could otherwise take
//! over or hide that record). The answer never tells a visitor whether an
//! address already has an account: that person gets an e-mail instead.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use amicale_people::{CommunityRole, Email, Line, PromoYear};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::accounts::Notice;
use crate::people::bulk;
use crate::people::crm::Opt;
use crate::people::model::Status;
use crate::people::store::{self, EmailEntry, Names, PersonInput};
use crate::web::client::Client;
use crate::web::extract::{Moderate, Require};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render, render_status};
use amicale_kernel::Locale;
use amicale_kernel::crypto::{random_token, sha256_hex};
use amicale_store::entities::{persons, programmes, registration_requests, registrations};

/// Roles a visitor may ask for; staff and partners are given by admins.
pub const ROLES: [&str; 4] = ["student", "alumni", "teacher", "recruiter"];

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

async fn programme_options(state: &AppState) -> AppResult<Vec<Opt>> {
    crate::people::crm::choices::<programmes::Entity>(state, programmes::Column::Name).await
}

pub async fn form(State(state): State<AppState>, p: Page) -> AppResult<Response> {
    render(&RegisterTpl {
        p: &p,
        f: FormPairs(vec![]),
        errors: vec![],
        programmes: programme_options(&state).await?,
        done: false,
    })
}

/// How long the link of a registration stays valid.
const LINK_HOURS: i64 = 48;

/// A registration as typed, kept until its address is proven. The password
/// is already hashed.
#[derive(Serialize, Deserialize)]
struct Request {
    first: String,
    last: String,
    promo: Option<i32>,
    programme_id: Option<i64>,
    role: String,
    password_hash: String,
    locale: String,
}

pub async fn submit(
    State(state): State<AppState>,
    client: Client,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
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
        v => {
            let known = programme_options(&state).await?;
            match known.iter().find(|o| o.value == v) {
                Some(_) => v.parse::<i64>().ok(),
                None => {
                    errors.push(("programme".into(), p.t("err-programme-unknown")));
                    None
                }
            }
        }
    };
    let (Some(email), Some(role), Some(password), [first, last], true) =
        (email, role, password, names.as_slice(), errors.is_empty())
    else {
        return again(&state, &p, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let l = Locale::parse(f.get("locale")).unwrap_or(p.locale);
    let now = Utc::now();
    // Whatever the address, the visitor sees the same page: it neither
    // confirms nor denies that the address is known.
    if !amicale_delivery::throttle::allow(
        &state.db,
        amicale_delivery::throttle::Purpose::Registration,
        email.as_str(),
        &client.key(),
        state.config.mail_per_address_per_hour,
        state.config.mail_per_client_per_hour,
        now,
    )
    .await?
    {
        let msg = p.t("err-too-many-mails");
        return again(
            &state,
            &p,
            f,
            vec![("email".into(), msg)],
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let login = amicale_kernel::Login::parse(email.as_str())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    // Hashed whatever the address: a faster answer would tell that it has
    // an account.
    let hash = crate::auth::password::hash(password.expose().to_owned()).await?;
    if let Some(account) = crate::auth::store::find_by_email(&state.db, &login).await? {
        exists_notice(&state, &state.db, l, &account.email, &account.display_name).await?;
    } else {
        let data = serde_json::to_string(&Request {
            first: first.clone(),
            last: last.clone(),
            promo: promo.map(PromoYear::get),
            programme_id,
            role: role.as_str().to_owned(),
            password_hash: hash,
            locale: l.code().to_owned(),
        })
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let token = random_token(32);
        let txn = state.db.begin().await?;
        registration_requests::ActiveModel {
            token_hash: Set(sha256_hex(&token)),
            email: Set(email.as_str().to_owned()),
            data: Set(data),
            created_at: Set(now),
            expires_at: Set(now + Duration::hours(LINK_HOURS)),
        }
        .insert(&txn)
        .await?;
        Notice {
            l,
            to: email.as_str(),
            subject: l.t("register-confirm-subject"),
            // Not the name typed: a visitor's text would greet a stranger.
            greeting: l.t("mail-hello-plain"),
            paragraphs: vec![l.t1("register-confirm-body", "hours", LINK_HOURS)],
            link: Some(state.url(&format!("/register/confirm/{token}"))),
            button: l.t("register-confirm-button"),
            footer: vec![l.t("register-confirm-ignore")],
        }
        .enqueue(&state, &txn)
        .await?;
        txn.commit().await?;
    }
    state.outbox_wakeup.notify_one();
    render(&RegisterTpl {
        p: &p,
        f: FormPairs(vec![]),
        errors: vec![],
        programmes: vec![],
        done: true,
    })
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
            programmes: programme_options(state).await?,
            done: false,
        },
    )
}

/// Tells the owner of an address that already has an account (or a
/// pending request) that someone asked for one with it.
async fn exists_notice<C: sea_orm::ConnectionTrait>(
    state: &AppState,
    db: &C,
    l: Locale,
    to: &str,
    name: &str,
) -> AppResult<()> {
    Notice {
        l,
        to,
        subject: l.t("register-exists-subject"),
        greeting: l.t1("mail-hello", "name", name),
        paragraphs: vec![l.t("register-exists-body")],
        link: Some(state.url("/password/forgot")),
        button: l.t("login-forgot"),
        footer: vec![],
    }
    .enqueue(state, db)
    .await?;
    Ok(())
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

/// What following a registration link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Unknown, used or expired link.
    Invalid,
    /// The address has an account or a pending request: nothing changed.
    Exists,
    /// The address belongs to a record as a secondary address: the team
    /// must sort it out, nothing changed.
    Known,
    /// Waiting for moderation.
    Queued,
    /// A recruiter's account, open at once.
    Open,
}

impl Outcome {
    fn key(self) -> &'static str {
        match self {
            Outcome::Invalid => "register-link-invalid",
            Outcome::Exists => "register-confirm-exists",
            Outcome::Known => "register-confirm-known",
            Outcome::Queued => "register-confirm-queued",
            Outcome::Open => "register-confirm-open",
        }
    }

    fn failed(self) -> bool {
        matches!(self, Outcome::Invalid | Outcome::Exists | Outcome::Known)
    }
}

/// The page of the mailed link: a button, so that a mail scanner fetching
/// the link does not use it up.
pub async fn confirm_form(p: Page, Path(token): Path<String>) -> AppResult<Response> {
    let mut res = render(&ConfirmTpl {
        p: &p,
        token: &token,
        error: None,
        outcome: None,
    })?;
    // The token is in the address: no other site may learn it.
    res.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

/// The address is proven by the link, and the password typed again proves
/// the one who follows it is the one who asked (the owner of a mailbox who
/// follows a link someone else asked for opens nothing for them). Only now
/// may the registration touch a record.
pub async fn confirm(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
    f: FormPairs,
) -> AppResult<Response> {
    let outcome = confirm_in(&state, &token, f.get("password"), Utc::now()).await?;
    state.outbox_wakeup.notify_one();
    let (status, outcome, error) = match outcome {
        None => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(p.t("register-confirm-wrong-password")),
        ),
        Some(Outcome::Invalid) => (StatusCode::NOT_FOUND, Some(Outcome::Invalid), None),
        Some(o) => (StatusCode::OK, Some(o), None),
    };
    let mut res = render_status(
        status,
        &ConfirmTpl {
            p: &p,
            token: if outcome.is_none() { &token } else { "" },
            error,
            outcome,
        },
    )?;
    res.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

/// `None` when the password is not the one chosen with the request (the
/// link stays usable).
async fn confirm_in(
    state: &AppState,
    token: &str,
    password: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<Outcome>> {
    let hash = sha256_hex(token);
    let Some(req) = registration_requests::Entity::find_by_id(hash.clone())
        .filter(registration_requests::Column::ExpiresAt.gt(now))
        .one(&state.db)
        .await?
    else {
        return Ok(Some(Outcome::Invalid));
    };
    let data: Request =
        serde_json::from_str(&req.data).map_err(|e| AppError::Internal(e.to_string()))?;
    if !crate::auth::password::verify(password.to_owned(), Some(data.password_hash.clone())).await?
    {
        return Ok(None);
    }
    let email = Email::parse(&req.email).map_err(|e| AppError::Internal(e.to_string()))?;
    let login = amicale_kernel::Login::parse(email.as_str())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let l = Locale::parse(&data.locale).unwrap_or_default();
    let role = CommunityRole::parse(&data.role).map_err(|e| AppError::Internal(e.to_string()))?;
    let known = store::ids_by_email(&state.db, vec![email.key()]).await?;
    let existing = match known.get(&email.key()) {
        Some(id) => persons::Entity::find_by_id(*id).one(&state.db).await?,
        None => None,
    };
    // Only a record's main address speaks for it: a secondary one may have
    // come from anywhere (a merge moves the dropped record's addresses).
    let main = existing.as_ref().is_some_and(|p| {
        p.email
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case(email.as_str()))
    });
    let account = crate::auth::store::find_by_email(&state.db, &login).await?;
    let pending = match &existing {
        Some(person) => registrations::Entity::find_by_id(person.id)
            .one(&state.db)
            .await?
            .is_some(),
        None => false,
    };
    let names = Names::load(&state.db).await?;
    let txn = state.db.begin().await?;
    // Single use: of two clicks at once, one goes on.
    let taken = registration_requests::Entity::delete_by_id(hash)
        .exec(&txn)
        .await?
        .rows_affected;
    if taken != 1 {
        return Ok(Some(Outcome::Invalid));
    }
    let has_account = account.is_some() || existing.as_ref().is_some_and(|x| x.user_id.is_some());
    if has_account || pending {
        txn.commit().await?;
        return Ok(Some(Outcome::Exists));
    }
    if existing.is_some() && !main {
        txn.commit().await?;
        return Ok(Some(Outcome::Known));
    }
    let person_id = match &existing {
        // The owner of the address proved it: the request joins their
        // record, which stays as it is (listed or not) until a moderator
        // decides.
        Some(person) => person.id,
        None => {
            let mut input = PersonInput::new(&data.first, &data.last);
            input.emails.push(EmailEntry {
                email: email.clone(),
                accepts: true,
            });
            input.promo_year = data
                .promo
                .and_then(|y| PromoYear::parse(&y.to_string()).ok());
            input.programme_id = data.programme_id;
            input.roles.push((role, data.programme_id));
            input.status = Status::Pending;
            store::create(&txn, &input, &names).await?
        }
    };
    let reg = registrations::ActiveModel {
        person_id: Set(person_id),
        password_hash: Set(data.password_hash.clone()),
        locale: Set(l.code().to_owned()),
        created_at: Set(now),
        new_person: Set(existing.is_none()),
        email: Set(Some(email.as_str().to_owned())),
    }
    .insert(&txn)
    .await?;
    // A recruiter opens at once only a record of their own making: joining
    // an existing record waits for a moderator, who sees its data.
    let outcome = if role == CommunityRole::Recruiter && existing.is_none() {
        let person = persons::Entity::find_by_id(person_id)
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound)?;
        accept_in(state, &txn, &reg, &person).await?;
        Outcome::Open
    } else {
        Outcome::Queued
    };
    txn.commit().await?;
    Ok(Some(outcome))
}

/// Forgets registrations whose link expired unused.
pub async fn purge_expired<C: sea_orm::ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    Ok(registration_requests::Entity::delete_many()
        .filter(registration_requests::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}

/// Turns a registration into an account, in the caller's transaction. The
/// registration is deleted first: of two moderators accepting at once, one
/// creates the account, the other nothing (and, on SQLite, a transaction
/// that writes first cannot lose its snapshot).
async fn accept_in<C: sea_orm::ConnectionTrait>(
    state: &AppState,
    db: &C,
    reg: &registrations::Model,
    person: &persons::Model,
) -> AppResult<bool> {
    let person_id = person.id;
    let taken = registrations::Entity::delete_by_id(person_id)
        .exec(db)
        .await?
        .rows_affected;
    if taken != 1 {
        return Ok(false);
    }
    // The login is the address the registration proved, never whatever the
    // record's main address became since.
    let Some(email) = reg.email.clone().or_else(|| person.email.clone()) else {
        return Err(AppError::NotFound);
    };
    crate::people::accounts::open_account(
        db,
        &email,
        reg.password_hash.clone(),
        person,
        &reg.locale,
    )
    .await?;
    let l = Locale::parse(&reg.locale).unwrap_or_default();
    Notice {
        l,
        to: &email,
        subject: l.t_args(
            "register-accepted-subject",
            &[("network", state.config.network_name.clone())],
        ),
        greeting: l.t1("mail-hello", "name", &person.first_name),
        paragraphs: vec![l.t("register-accepted-body")],
        link: Some(state.url("/login")),
        button: l.t("login-title"),
        footer: vec![],
    }
    .enqueue(state, db)
    .await?;
    Ok(true)
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
    let regs = registrations::Entity::find()
        .order_by_asc(registrations::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let ids: Vec<i64> = regs.iter().map(|r| r.person_id).collect();
    let records = store::load_many(&state.db, &ids).await?;
    let rows = regs
        .iter()
        .zip(records)
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
    let reg = registrations::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let person = persons::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let txn = state.db.begin().await?;
    match f.get("decision") {
        "accept" => {
            accept_in(&state, &txn, &reg, &person).await?;
            bulk::audit(&txn, Some(who.user().id), "registration_accept", "", 1).await?;
        }
        "refuse" => {
            let taken = registrations::Entity::delete_by_id(id)
                .exec(&txn)
                .await?
                .rows_affected;
            if taken != 1 {
                return Ok(Redirect::to("/admin/registrations").into_response());
            }
            let l = Locale::parse(&reg.locale).unwrap_or_default();
            if let Some(to) = person.email.as_deref() {
                Notice {
                    l,
                    to,
                    subject: l.t_args(
                        "register-refused-subject",
                        &[("network", state.config.network_name.clone())],
                    ),
                    greeting: l.t1("mail-hello", "name", &person.first_name),
                    paragraphs: vec![l.t("register-refused-body")],
                    link: None,
                    button: String::new(),
                    footer: vec![],
                }
                .enqueue(&state, &txn)
                .await?;
            }
            // A request for an existing record never changed it: only a
            // record the request created goes.
            if reg.new_person {
                store::delete_many(&txn, &[id]).await?;
            }
            bulk::audit(&txn, Some(who.user().id), "registration_refuse", "", 1).await?;
        }
        _ => return Ok(Redirect::to("/admin/registrations").into_response()),
    }
    txn.commit().await?;
    state.outbox_wakeup.notify_one();
    Ok(Redirect::to("/admin/registrations").into_response())
}
