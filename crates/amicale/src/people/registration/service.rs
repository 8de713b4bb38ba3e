//! The operations of self-registration: a request mailed a link, the link
//! followed, the moderator's decision.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};

use amicale_people::{CommunityRole, Email, PromoYear};

use super::store as queries;
use crate::app::AppState;
use crate::auth::model::NewPassword;
use crate::error::{AppError, AppResult};
use crate::people::accounts::Notice;
use crate::people::bulk;
use crate::people::crm::Opt;
use crate::people::model::Status;
use crate::people::store::{self, EmailEntry, Names, PersonInput, Record};
use amicale_kernel::Locale;
use amicale_kernel::crypto::{random_token, sha256_hex};
use amicale_store::entities::{persons, registrations};

/// Roles a visitor may ask for; staff and partners are given by admins.
pub const ROLES: [&str; 4] = ["student", "alumni", "teacher", "recruiter"];

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

/// A registration form whose every field parsed.
pub struct Registration {
    pub first: String,
    pub last: String,
    pub email: Email,
    pub promo: Option<PromoYear>,
    pub programme_id: Option<i64>,
    pub role: CommunityRole,
    pub password: NewPassword,
    pub locale: Locale,
}

/// What became of a registration form.
pub enum Requested {
    /// Too many mails to this address or from this client lately.
    Throttled,
    /// A link (or, for a known address, a notice) is on its way.
    Sent,
}

/// The programmes a visitor may choose from.
pub async fn programme_options(state: &AppState) -> AppResult<Vec<Opt>> {
    queries::programme_options(state).await
}

/// Stores the request and mails its link. Whatever the address, the
/// visitor sees the same answer: it neither confirms nor denies that the
/// address is known.
pub async fn request(
    state: &AppState,
    r: Registration,
    client_key: &str,
    now: DateTime<Utc>,
) -> AppResult<Requested> {
    let (email, l) = (&r.email, r.locale);
    if !amicale_delivery::throttle::allow(
        &state.db,
        amicale_delivery::throttle::Purpose::Registration,
        email.as_str(),
        client_key,
        state.config.mail_per_address_per_hour,
        state.config.mail_per_client_per_hour,
        now,
    )
    .await?
    {
        return Ok(Requested::Throttled);
    }
    let login = amicale_kernel::Login::parse(email.as_str())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    // Hashed whatever the address: a faster answer would tell that it has
    // an account.
    let hash = crate::auth::password::hash(r.password.expose().to_owned()).await?;
    if let Some(account) = crate::auth::store::find_by_email(&state.db, &login).await? {
        exists_notice(state, &state.db, l, &account.email, &account.display_name).await?;
    } else {
        let data = serde_json::to_string(&Request {
            first: r.first.clone(),
            last: r.last.clone(),
            promo: r.promo.map(PromoYear::get),
            programme_id: r.programme_id,
            role: r.role.as_str().to_owned(),
            password_hash: hash,
            locale: l.code().to_owned(),
        })
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let token = random_token(32);
        let txn = state.db.begin().await?;
        queries::insert_request(
            &txn,
            sha256_hex(&token),
            email.as_str(),
            data,
            now,
            Duration::hours(LINK_HOURS),
        )
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
        .enqueue(state, &txn)
        .await?;
        txn.commit().await?;
    }
    state.outbox_wakeup.notify_one();
    Ok(Requested::Sent)
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

/// What following a registration link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
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
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Invalid => "register-link-invalid",
            Outcome::Exists => "register-confirm-exists",
            Outcome::Known => "register-confirm-known",
            Outcome::Queued => "register-confirm-queued",
            Outcome::Open => "register-confirm-open",
        }
    }

    pub fn failed(self) -> bool {
        matches!(self, Outcome::Invalid | Outcome::Exists | Outcome::Known)
    }
}

/// Follows a registration link. The address is proven by the link, and
/// the password typed again proves the one who follows it is the one who
/// asked (the owner of a mailbox who follows a link someone else asked for
/// opens nothing for them). Only now may the registration touch a record.
///
/// `None` when the password is not the one chosen with the request (the
/// link stays usable).
pub async fn confirm(
    state: &AppState,
    token: &str,
    password: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<Outcome>> {
    let outcome = confirm_in(state, token, password, now).await?;
    state.outbox_wakeup.notify_one();
    Ok(outcome)
}

async fn confirm_in(
    state: &AppState,
    token: &str,
    password: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<Outcome>> {
    let hash = sha256_hex(token);
    let Some(req) = queries::live_request(&state.db, &hash, now).await? else {
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
        Some(id) => queries::person(&state.db, *id).await?,
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
        Some(person) => queries::registration(&state.db, person.id).await?.is_some(),
        None => false,
    };
    let names = Names::load(&state.db).await?;
    let txn = state.db.begin().await?;
    // Single use: of two clicks at once, one goes on.
    let taken = queries::take_request(&txn, hash).await?;
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
    let reg = queries::insert_registration(
        &txn,
        registrations::ActiveModel {
            person_id: Set(person_id),
            password_hash: Set(data.password_hash.clone()),
            locale: Set(l.code().to_owned()),
            created_at: Set(now),
            new_person: Set(existing.is_none()),
            email: Set(Some(email.as_str().to_owned())),
        },
    )
    .await?;
    // A recruiter opens at once only a record of their own making: joining
    // an existing record waits for a moderator, who sees its data.
    let outcome = if role == CommunityRole::Recruiter && existing.is_none() {
        let person = queries::person_or_404(&txn, person_id).await?;
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
    queries::purge_requests(db, now).await
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
    let taken = queries::take_registration(db, person_id).await?;
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

/// The registrations waiting for a moderator, oldest first, each with the
/// record it would open.
pub async fn queue(state: &AppState) -> AppResult<Vec<(registrations::Model, Record)>> {
    let regs = queries::queue(&state.db).await?;
    let ids: Vec<i64> = regs.iter().map(|r| r.person_id).collect();
    let records = store::load_many(&state.db, &ids).await?;
    Ok(regs.into_iter().zip(records).collect())
}

/// A moderator's answer to a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Refuse,
}

impl Decision {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "accept" => Some(Decision::Accept),
            "refuse" => Some(Decision::Refuse),
            _ => None,
        }
    }
}

/// Applies a moderator's decision to the registration of person `id` (404
/// when there is none); `None` changes nothing. The person is told by mail.
pub async fn decide(
    state: &AppState,
    moderator: i64,
    id: i64,
    decision: Option<Decision>,
) -> AppResult<()> {
    let reg = queries::registration(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let person = queries::person_or_404(&state.db, id).await?;
    let txn = state.db.begin().await?;
    match decision {
        Some(Decision::Accept) => {
            accept_in(state, &txn, &reg, &person).await?;
            bulk::audit(&txn, Some(moderator), "registration_accept", "", 1).await?;
        }
        Some(Decision::Refuse) => {
            let taken = queries::take_registration(&txn, id).await?;
            if taken != 1 {
                return Ok(());
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
                .enqueue(state, &txn)
                .await?;
            }
            // A request for an existing record never changed it: only a
            // record the request created goes.
            if reg.new_person {
                store::delete_many(&txn, &[id]).await?;
            }
            bulk::audit(&txn, Some(moderator), "registration_refuse", "", 1).await?;
        }
        None => return Ok(()),
    }
    txn.commit().await?;
    state.outbox_wakeup.notify_one();
    Ok(())
}
