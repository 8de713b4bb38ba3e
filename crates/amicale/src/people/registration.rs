//! Self-registration (A3): a public form whose requests wait in a
//! moderation queue; the person is told by e-mail when accepted or refused.
//! Recruiters are accepted at once (DL). The answer never tells a visitor
//! whether an address already has an account: that person gets an e-mail.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use amicale_people::{CommunityRole, Email, PromoYear};

use crate::app::AppState;
use crate::db::entities::{persons, programmes, registrations};
use crate::error::{AppError, AppResult};
use crate::people::accounts::Notice;
use crate::people::bulk;
use crate::people::crm::Opt;
use crate::people::model::Status;
use crate::people::store::{self, EmailEntry, Names, PersonInput};
use crate::web::extract::{Moderate, Require};
use crate::web::form::FormPairs;
use crate::web::i18n::Locale;
use crate::web::page::{Page, render, render_status};

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

pub async fn submit(State(state): State<AppState>, p: Page, f: FormPairs) -> AppResult<Response> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, msg: String| errors.push((field.to_owned(), msg));
    let first = f.get("first_name").trim().to_owned();
    let last = f.get("last_name").trim().to_owned();
    for (name, v) in [("first_name", &first), ("last_name", &last)] {
        if v.is_empty() {
            bad(name, p.t("err-required"));
        } else if v.chars().count() > 100 {
            bad(name, p.t("err-too-long"));
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
    let (Some(email), Some(role), Some(password), true) =
        (email, role, password, errors.is_empty())
    else {
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &RegisterTpl {
                p: &p,
                f: FormPairs(
                    f.0.into_iter()
                        .filter(|(k, _)| k != "password" && k != "confirm")
                        .collect(),
                ),
                errors,
                programmes: programme_options(&state).await?,
                done: false,
            },
        );
    };
    let programme_id = f.get("programme").parse::<i64>().ok();
    let l = Locale::parse(f.get("locale")).unwrap_or(p.locale);
    let hash = crate::auth::password::hash(password.expose().to_owned()).await?;
    let login = crate::auth::model::Email::parse(email.as_str())
        .map_err(|e| AppError::Internal(e.into()))?;
    let known = store::ids_by_email(&state.db, vec![email.key()]).await?;
    let existing_person = known.get(&email.key()).copied();
    let account = crate::auth::store::find_by_email(&state.db, &login).await?;
    let has_account = account.is_some();
    let pending = match existing_person {
        Some(id) => registrations::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .is_some(),
        None => false,
    };
    let names = Names::load(&state.db).await?;
    let txn = state.db.begin().await?;
    if has_account || pending {
        // Same answer on the page; the owner of the address is told by mail,
        // at the address as stored.
        let to = match (&account, existing_person) {
            (Some(u), _) => u.email.clone(),
            (None, Some(id)) => persons::Entity::find_by_id(id)
                .one(&state.db)
                .await?
                .and_then(|p| p.email)
                .unwrap_or_else(|| email.as_str().to_owned()),
            (None, None) => email.as_str().to_owned(),
        };
        Notice {
            l,
            to: &to,
            subject: l.t("register-exists-subject"),
            greeting: l.t1("mail-hello", "name", &first),
            paragraphs: vec![l.t("register-exists-body")],
            link: Some(state.url("/password/forgot")),
            button: l.t("login-forgot"),
            footer: vec![],
        }
        .enqueue(&state, &txn)
        .await?;
    } else {
        let person_id = match existing_person {
            Some(id) => {
                persons::Entity::update_many()
                    .col_expr(
                        persons::Column::Status,
                        Expr::value(Status::Pending.as_str()),
                    )
                    .filter(persons::Column::Id.eq(id))
                    .exec(&txn)
                    .await?;
                id
            }
            None => {
                let mut input = PersonInput::new(&first, &last);
                input.emails.push(EmailEntry {
                    email: email.clone(),
                    accepts: true,
                });
                input.promo_year = promo;
                input.programme_id = programme_id;
                input.roles.push((role, programme_id));
                input.status = Status::Pending;
                store::create(&txn, &input, &names).await?
            }
        };
        let reg = registrations::ActiveModel {
            person_id: Set(person_id),
            password_hash: Set(hash),
            locale: Set(l.code().to_owned()),
            created_at: Set(Utc::now()),
            new_person: Set(existing_person.is_none()),
        }
        .insert(&txn)
        .await?;
        if role == CommunityRole::Recruiter {
            let person = persons::Entity::find_by_id(person_id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            accept_in(&state, &txn, &reg, &person).await?;
        }
    }
    txn.commit().await?;
    state.outbox_wakeup.notify_one();
    render(&RegisterTpl {
        p: &p,
        f: FormPairs(vec![]),
        errors: vec![],
        programmes: vec![],
        done: true,
    })
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
    let email = person.email.clone().unwrap_or_default();
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
            if reg.new_person {
                store::delete_many(&txn, &[id]).await?;
            } else {
                persons::Entity::update_many()
                    .col_expr(
                        persons::Column::Status,
                        Expr::value(Status::Active.as_str()),
                    )
                    .filter(persons::Column::Id.eq(id))
                    .exec(&txn)
                    .await?;
            }
            bulk::audit(&txn, Some(who.user().id), "registration_refuse", "", 1).await?;
        }
        _ => return Ok(Redirect::to("/admin/registrations").into_response()),
    }
    txn.commit().await?;
    state.outbox_wakeup.notify_one();
    Ok(Redirect::to("/admin/registrations").into_response())
}
