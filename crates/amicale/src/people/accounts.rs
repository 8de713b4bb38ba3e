//! Account lifecycle: invitations with a link to finish the
//! account and reminders at D+4, D+10 and D+60; self-registration waiting
//! for moderation; deactivation by the member, reactivation by logging in.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::model::Status;
use crate::web::page::{Page, render, render_status};
use amicale_delivery::outbox::{self, NewMail, Origin};
use amicale_kernel::Locale;
use amicale_kernel::crypto::{random_token, sha256_hex};
use amicale_store::entities::{invitations, persons, users};

/// Days after the invitation when a reminder goes (DL).
pub const REMINDER_DAYS: [i64; 3] = [4, 10, 60];
/// An invitation link stays valid this long after its last sending.
pub const VALID_DAYS: i64 = 90;

#[derive(Template)]
#[template(path = "mail/notice.txt")]
pub struct NoticeText<'a> {
    pub greeting: &'a str,
    pub paragraphs: &'a [String],
    pub link: Option<&'a str>,
    pub footer: &'a [String],
    pub network: &'a str,
}

#[derive(Template)]
#[template(path = "mail/notice.html")]
pub struct NoticeHtml<'a> {
    pub lang: &'a str,
    pub subject: &'a str,
    pub greeting: &'a str,
    pub paragraphs: &'a [String],
    pub link: Option<&'a str>,
    pub button: &'a str,
    pub footer: &'a [String],
    pub network: &'a str,
}

/// A system notice (invitation, moderation answer) in the recipient's language.
pub struct Notice<'a> {
    pub l: Locale,
    pub to: &'a str,
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    pub link: Option<String>,
    pub button: String,
    pub footer: Vec<String>,
}

impl Notice<'_> {
    pub async fn enqueue<C: ConnectionTrait>(self, state: &AppState, db: &C) -> AppResult<i64> {
        let network = state.config.network_name.clone();
        let text = NoticeText {
            greeting: &self.greeting,
            paragraphs: &self.paragraphs,
            link: self.link.as_deref(),
            footer: &self.footer,
            network: &network,
        }
        .render()
        .map_err(crate::error::render_failed)?;
        let html = NoticeHtml {
            lang: self.l.code(),
            subject: &self.subject,
            greeting: &self.greeting,
            paragraphs: &self.paragraphs,
            link: self.link.as_deref(),
            button: &self.button,
            footer: &self.footer,
            network: &network,
        }
        .render()
        .map_err(crate::error::render_failed)?;
        outbox::enqueue(
            db,
            NewMail {
                recipient: self.to.to_owned(),
                subject: self.subject,
                text,
                html: Some(html),
                origin: Origin::System,
                origin_id: None,
            },
            state.mail_from.email.domain(),
        )
        .await
    }
}

/// Why a person was not invited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    NoEmail,
    HasAccount,
    Unsubscribed,
}

/// Sends (or sends again) an invitation to each person who can receive
/// one, in the caller's transaction; returns how many were invited.
pub async fn invite<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    ids: &[i64],
    by: Option<i64>,
    l: Locale,
) -> AppResult<(usize, usize)> {
    let now = Utc::now();
    let mut sent = 0;
    let mut skipped = 0;
    for chunk in ids.chunks(500) {
        // Read outside the caller's transaction: on SQLite a transaction
        // that reads before it writes fails if another writer came between.
        let rows = persons::Entity::find()
            .filter(persons::Column::Id.is_in(chunk.to_vec()))
            .all(&state.db)
            .await?;
        for p in rows {
            if skip(&p).is_some() {
                skipped += 1;
                continue;
            }
            // A new invitation replaces the open one: only the latest link works.
            invitations::Entity::delete_many()
                .filter(invitations::Column::PersonId.eq(p.id))
                .filter(invitations::Column::UsedAt.is_null())
                .exec(db)
                .await?;
            let inv = invitations::ActiveModel {
                person_id: Set(p.id),
                // Replaced below, once the id the link is derived from exists.
                token_hash: Set(sha256_hex(&random_token(16))),
                reminders: Set(0),
                created_at: Set(now),
                last_sent_at: Set(now),
                used_at: Set(None),
                created_by: Set(by),
                ..Default::default()
            }
            .insert(db)
            .await?;
            let token = link_token(state, &inv);
            invitations::Entity::update_many()
                .col_expr(
                    invitations::Column::TokenHash,
                    Expr::value(sha256_hex(&token)),
                )
                .filter(invitations::Column::Id.eq(inv.id))
                .exec(db)
                .await?;
            persons::Entity::update_many()
                .col_expr(
                    persons::Column::Status,
                    Expr::value(Status::Invited.as_str()),
                )
                .filter(persons::Column::Id.eq(p.id))
                .filter(persons::Column::Status.ne(Status::Deactivated.as_str()))
                .exec(db)
                .await?;
            invitation_mail(state, db, &p, &token, l, false).await?;
            sent += 1;
        }
    }
    Ok((sent, skipped))
}

/// The link's token is derived from the invitation with the secret key, so
/// a reminder can send the same link again while the database keeps only
/// its hash.
fn link_token(state: &AppState, inv: &invitations::Model) -> String {
    state.secret.sign(
        "invitation",
        format!("{}:{}", inv.id, inv.created_at.timestamp_micros()).as_bytes(),
    )
}

fn skip(p: &persons::Model) -> Option<Skip> {
    if p.user_id.is_some() {
        Some(Skip::HasAccount)
    } else if p.invitations_stop {
        Some(Skip::Unsubscribed)
    } else if p.email.is_none() {
        Some(Skip::NoEmail)
    } else {
        None
    }
}

async fn invitation_mail<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    p: &persons::Model,
    token: &str,
    l: Locale,
    reminder: bool,
) -> AppResult<()> {
    let Some(to) = p.email.as_deref() else {
        return Ok(());
    };
    let network = &state.config.network_name;
    let args = [("network", network.clone())];
    Notice {
        l,
        to,
        subject: l.t_args(
            if reminder {
                "invite-reminder-subject"
            } else {
                "invite-subject"
            },
            &args,
        ),
        greeting: l.t1("mail-hello", "name", &p.first_name),
        paragraphs: vec![l.t_args("invite-body", &args)],
        link: Some(state.url(&format!("/invitation/{token}"))),
        button: l.t("invite-button"),
        footer: vec![
            l.t("invite-ignore"),
            format!(
                "{} {}",
                l.t("invite-stop"),
                state.url(&format!("/invitation/{token}/stop"))
            ),
        ],
    }
    .enqueue(state, db)
    .await?;
    Ok(())
}

/// The daily reminders: each open invitation gets the reminder of the
/// stage it reached, once (the stage moves by compare-and-set). A reminder
/// reuses the invitation's link, so a new token is minted and mailed.
pub async fn remind(state: &AppState, now: DateTime<Utc>) -> AppResult<String> {
    let mut sent = 0;
    let open = invitations::Entity::find()
        .filter(invitations::Column::UsedAt.is_null())
        .filter(invitations::Column::Reminders.lt(REMINDER_DAYS.len() as i32))
        .filter(invitations::Column::CreatedAt.lte(now - Duration::days(REMINDER_DAYS[0])))
        .order_by_asc(invitations::Column::Id)
        .all(&state.db)
        .await?;
    for inv in open {
        let stage = inv.reminders as usize;
        if now < inv.created_at + Duration::days(REMINDER_DAYS[stage]) {
            continue;
        }
        // Past stages missed during downtime are not sent late one by one:
        // the invitation jumps to the latest stage reached.
        let reached = REMINDER_DAYS
            .iter()
            .take_while(|d| now >= inv.created_at + Duration::days(**d))
            .count();
        let Some(p) = persons::Entity::find_by_id(inv.person_id)
            .one(&state.db)
            .await?
        else {
            continue;
        };
        let token = link_token(state, &inv);
        // The transaction writes first (see `invite`).
        let txn = state.db.begin().await?;
        let moved = invitations::Entity::update_many()
            .col_expr(invitations::Column::Reminders, Expr::value(reached as i32))
            .col_expr(invitations::Column::LastSentAt, Expr::value(now))
            .filter(invitations::Column::Id.eq(inv.id))
            .filter(invitations::Column::Reminders.eq(inv.reminders))
            .exec(&txn)
            .await?
            .rows_affected;
        if moved != 1 || skip(&p).is_some() {
            txn.commit().await?;
            continue;
        }
        let l = Locale::parse(&state.config.default_locale).unwrap_or_default();
        invitation_mail(state, &txn, &p, &token, l, true).await?;
        txn.commit().await?;
        sent += 1;
    }
    if sent > 0 {
        state.outbox_wakeup.notify_one();
    }
    Ok(format!("{sent} invitation reminders"))
}

async fn open_invitation(
    state: &AppState,
    token: &str,
) -> AppResult<Option<(invitations::Model, persons::Model)>> {
    let Some(inv) = invitations::Entity::find()
        .filter(invitations::Column::TokenHash.eq(sha256_hex(token)))
        .filter(invitations::Column::UsedAt.is_null())
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    if Utc::now() > inv.last_sent_at + Duration::days(VALID_DAYS) {
        return Ok(None);
    }
    let p = persons::Entity::find_by_id(inv.person_id)
        .one(&state.db)
        .await?;
    Ok(p.filter(|p| p.user_id.is_none()).map(|p| (inv, p)))
}

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
    let found = open_invitation(&state, &token).await?;
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

/// Finishes the account: the person gets a login with their reference
/// e-mail, becomes active, and is signed in.
pub async fn finish(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
    axum::Form(f): axum::Form<FinishForm>,
) -> AppResult<Response> {
    let Some((inv, person)) = open_invitation(&state, &token).await? else {
        return Ok(Redirect::to(&format!("/invitation/{token}")).into_response());
    };
    let email = person.email.clone().unwrap_or_default();
    let again = |error: String| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &InvitationTpl {
                p: &p,
                token: &token,
                name: person.first_name.clone(),
                email: email.clone(),
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
    let login = match amicale_kernel::Login::parse(&email) {
        Ok(e) => e,
        Err(key) => return again(p.t(key)),
    };
    if crate::auth::store::find_by_email(&state.db, &login)
        .await?
        .is_some()
    {
        return again(p.t("invite-email-used"));
    }
    let locale = Locale::parse(&f.locale).unwrap_or(p.locale);
    let hash = crate::auth::password::hash(pw.expose().to_owned()).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    // The invitation is spent by compare-and-set: a double submit makes one account.
    let spent = invitations::Entity::update_many()
        .col_expr(invitations::Column::UsedAt, Expr::value(now))
        .filter(invitations::Column::Id.eq(inv.id))
        .filter(invitations::Column::UsedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if spent != 1 {
        return Ok(Redirect::to(&format!("/invitation/{token}")).into_response());
    }
    let user = open_account(&txn, login.as_str(), hash, &person, locale.code()).await?;
    txn.commit().await?;
    tracing::info!(user = user.id, person = person.id, "invitation accepted");
    let cookie =
        crate::web::session::create(&state.db, user.id, false, state.secure_cookies).await?;
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
    let valid = open_invitation(&state, &token).await?.is_some();
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
    let Some((inv, person)) = open_invitation(&state, &token).await? else {
        return Err(AppError::NotFound);
    };
    let txn = state.db.begin().await?;
    persons::Entity::update_many()
        .col_expr(persons::Column::InvitationsStop, Expr::value(true))
        .filter(persons::Column::Id.eq(person.id))
        .exec(&txn)
        .await?;
    invitations::Entity::delete_by_id(inv.id).exec(&txn).await?;
    txn.commit().await?;
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

/// Creates the login of a person and makes the person active, in the
/// caller's transaction (invitation finished, registration accepted).
pub async fn open_account<C: ConnectionTrait>(
    db: &C,
    email: &str,
    password_hash: String,
    person: &persons::Model,
    locale: &str,
) -> AppResult<users::Model> {
    let now = Utc::now();
    let user = users::ActiveModel {
        email: Set(email.to_lowercase()),
        password_hash: Set(password_hash),
        display_name: Set(format!("{} {}", person.first_name, person.last_name)),
        is_admin: Set(false),
        locale: Set(locale.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    persons::Entity::update_many()
        .col_expr(persons::Column::UserId, Expr::value(user.id))
        .col_expr(
            persons::Column::Status,
            Expr::value(Status::Active.as_str()),
        )
        .filter(persons::Column::Id.eq(person.id))
        .exec(db)
        .await?;
    Ok(user)
}

/// Logging in brings a deactivated account back.
pub async fn reactivate<C: ConnectionTrait>(db: &C, user_id: i64) -> AppResult<()> {
    let n = persons::Entity::update_many()
        .col_expr(
            persons::Column::Status,
            Expr::value(Status::Active.as_str()),
        )
        .filter(persons::Column::UserId.eq(user_id))
        .filter(persons::Column::Status.eq(Status::Deactivated.as_str()))
        .exec(db)
        .await?
        .rows_affected;
    if n > 0 {
        tracing::info!(user = user_id, "account reactivated by logging in");
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "people/deactivate.html")]
struct DeactivateTpl<'a> {
    p: &'a Page,
}

pub async fn deactivate_form(_: crate::web::extract::CurrentUser, p: Page) -> AppResult<Response> {
    render(&DeactivateTpl { p: &p })
}

/// The member hides their account: out of the directory, no mail, signed
/// out everywhere; logging in again undoes it.
pub async fn deactivate(
    State(state): State<AppState>,
    who: crate::web::extract::CurrentUser,
) -> AppResult<Response> {
    let txn = state.db.begin().await?;
    persons::Entity::update_many()
        .col_expr(
            persons::Column::Status,
            Expr::value(Status::Deactivated.as_str()),
        )
        .filter(persons::Column::UserId.eq(who.user().id))
        .exec(&txn)
        .await?;
    amicale_store::entities::sessions::Entity::delete_many()
        .filter(amicale_store::entities::sessions::Column::UserId.eq(who.user().id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    tracing::info!(user = who.user().id, "account deactivated by its owner");
    Ok(Redirect::to("/login?deactivated=1").into_response())
}

/// A link to confirm a new login e-mail is valid this long.
pub const EMAIL_CHANGE_HOURS: i64 = 24;

#[derive(Template)]
#[template(path = "people/email_change.html")]
struct EmailChangeTpl<'a> {
    p: &'a Page,
    email: String,
    error: Option<String>,
    sent: bool,
    done: bool,
}

pub async fn email_form(_: crate::web::extract::CurrentUser, p: Page) -> AppResult<Response> {
    render(&EmailChangeTpl {
        p: &p,
        email: String::new(),
        error: None,
        sent: false,
        done: false,
    })
}

#[derive(serde::Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    current: String,
}

fn email_token(state: &AppState, user_id: i64, email: &str, expires: i64) -> String {
    use base64::Engine;
    let data = format!("{user_id}|{email}|{expires}");
    let sig = state.secret.sign("login-email", data.as_bytes());
    format!(
        "{}.{sig}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
    )
}

/// The new address is proven by a signed link sent to it; nothing
/// changes until it is followed.
pub async fn email_request(
    State(state): State<AppState>,
    client: crate::web::client::Client,
    crate::web::extract::CurrentUser(s): crate::web::extract::CurrentUser,
    p: Page,
    axum::Form(f): axum::Form<EmailForm>,
) -> AppResult<Response> {
    let again = |error: String| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &EmailChangeTpl {
                p: &p,
                email: f.email.clone(),
                error: Some(error),
                sent: false,
                done: false,
            },
        )
    };
    let email = match amicale_kernel::Login::parse(&f.email) {
        Ok(e) => e,
        Err(key) => return again(p.t(key)),
    };
    let ok = crate::auth::password::verify(f.current.clone(), Some(s.user.password_hash.clone()))
        .await?;
    if !ok {
        return again(p.t("email-change-wrong-password"));
    }
    if crate::auth::store::find_by_email(&state.db, &email)
        .await?
        .is_some()
    {
        return again(p.t("invite-email-used"));
    }
    // The address may not be another person's either: records keep one
    // owner per address.
    let own = persons::Entity::find()
        .filter(persons::Column::UserId.eq(s.user.id))
        .one(&state.db)
        .await?
        .map(|x| x.id);
    let key = email.as_str().to_lowercase();
    let holders = crate::people::store::ids_by_email(&state.db, vec![key.clone()]).await?;
    if holders.get(&key).is_some_and(|id| Some(*id) != own) {
        return again(p.t("err-email-taken"));
    }
    if !amicale_delivery::throttle::allow(
        &state.db,
        amicale_delivery::throttle::Purpose::AddressChange,
        email.as_str(),
        &client.key(),
        state.config.mail_per_address_per_hour,
        state.config.mail_per_client_per_hour,
        Utc::now(),
    )
    .await?
    {
        return again(p.t("err-too-many-mails"));
    }
    let expires = (Utc::now() + Duration::hours(EMAIL_CHANGE_HOURS)).timestamp();
    let token = email_token(&state, s.user.id, email.as_str(), expires);
    let l = Locale::parse(&s.user.locale).unwrap_or(p.locale);
    Notice {
        l,
        to: email.as_str(),
        subject: l.t("email-change-subject"),
        greeting: l.t1("mail-hello", "name", &s.user.display_name),
        paragraphs: vec![l.t("email-change-body")],
        link: Some(state.url(&format!("/account/email/{token}"))),
        button: l.t("email-change-button"),
        footer: vec![l.t("email-change-ignore")],
    }
    .enqueue(&state, &state.db)
    .await?;
    state.outbox_wakeup.notify_one();
    render(&EmailChangeTpl {
        p: &p,
        email: String::new(),
        error: None,
        sent: true,
        done: false,
    })
}

/// Follows the link: the login e-mail changes, and the person's record
/// gets the new address as its reference e-mail.
pub async fn email_confirm(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    use base64::Engine;
    let parsed = token.split_once('.').and_then(|(data, sig)| {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(data)
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        state
            .secret
            .verify("login-email", text.as_bytes(), sig)
            .then_some(text)
    });
    let valid = parsed.and_then(|text| {
        let mut it = text.splitn(3, '|');
        let uid: i64 = it.next()?.parse().ok()?;
        let email = it.next()?.to_owned();
        let expires: i64 = it.next()?.parse().ok()?;
        (Utc::now().timestamp() <= expires).then_some((uid, email))
    });
    let gone = |p: &Page| {
        render_status(
            StatusCode::GONE,
            &EmailChangeTpl {
                p,
                email: String::new(),
                error: Some(p.t("invite-invalid")),
                sent: false,
                done: false,
            },
        )
    };
    let Some((uid, email)) = valid else {
        return gone(&p);
    };
    let login = amicale_kernel::Login::parse(&email).map_err(|e| AppError::Internal(e.into()))?;
    if crate::auth::store::find_by_email(&state.db, &login)
        .await?
        .is_some()
    {
        // Already done (a second click) or taken since: nothing to change.
        return gone(&p);
    }
    let record = match persons::Entity::find()
        .filter(persons::Column::UserId.eq(uid))
        .one(&state.db)
        .await?
    {
        Some(person) => Some(crate::people::store::load(&state.db, person.id).await?),
        None => None,
    };
    let names = crate::people::store::Names::load(&state.db).await?;
    let txn = state.db.begin().await?;
    let n = users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(login.as_str()))
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(uid))
        .exec(&txn)
        .await?
        .rows_affected;
    if n != 1 {
        return gone(&p);
    }
    if let Some(rec) = record {
        let mut input = crate::people::store::input_of(&rec)?;
        let new = amicale_people::Email::parse(&email)
            .map_err(|e| AppError::Internal(e.code().into()))?;
        input.emails.retain(|e| e.email.key() != new.key());
        input.emails.insert(
            0,
            crate::people::store::EmailEntry {
                email: new,
                accepts: true,
            },
        );
        crate::people::store::update(&txn, rec.person.id, &input, &names).await?;
    }
    txn.commit().await?;
    tracing::info!(user = uid, "login e-mail changed");
    render(&EmailChangeTpl {
        p: &p,
        email: String::new(),
        error: None,
        sent: false,
        done: true,
    })
}
