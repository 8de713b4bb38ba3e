//! The operations of the account lifecycle, called by the pages, the bulk
//! actions, the import, the scheduler and the CLI.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::notice::Notice;
use super::store;
use crate::app::AppState;
use crate::auth::model::NewPassword;
use crate::error::{AppError, AppResult};
use amicale_kernel::crypto::sha256_hex;
use amicale_kernel::{Locale, Login};
use amicale_store::entities::{invitations, persons, users};

/// Days after the invitation when a reminder goes.
pub const REMINDER_DAYS: [i64; 3] = [4, 10, 60];
/// An invitation link stays valid this long after its last sending.
pub const VALID_DAYS: i64 = 90;
/// A link to confirm a new login e-mail is valid this long.
pub const EMAIL_CHANGE_HOURS: i64 = 24;

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
        let rows = store::persons_in(&state.db, chunk).await?;
        for p in rows {
            if skip(&p).is_some() {
                skipped += 1;
                continue;
            }
            let inv = store::replace_invitation(db, p.id, now, by).await?;
            let token = link_token(state, &inv);
            store::set_token_hash(db, inv.id, sha256_hex(&token)).await?;
            store::mark_invited(db, p.id).await?;
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
    let open = store::due_invitations(
        &state.db,
        REMINDER_DAYS.len() as i32,
        now - Duration::days(REMINDER_DAYS[0]),
    )
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
        let Some(p) = store::person(&state.db, inv.person_id).await? else {
            continue;
        };
        let token = link_token(state, &inv);
        // The transaction writes first (see `invite`).
        let txn = state.db.begin().await?;
        let moved = store::advance_reminder(&txn, &inv, reached as i32, now).await?;
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

/// The invitation of a link, with its person, while it can still be used.
pub async fn open_invitation(
    state: &AppState,
    token: &str,
) -> AppResult<Option<(invitations::Model, persons::Model)>> {
    let Some(inv) = store::unused_invitation(&state.db, sha256_hex(token)).await? else {
        return Ok(None);
    };
    if Utc::now() > inv.last_sent_at + Duration::days(VALID_DAYS) {
        return Ok(None);
    }
    let p = store::person(&state.db, inv.person_id).await?;
    Ok(p.filter(|p| p.user_id.is_none()).map(|p| (inv, p)))
}

/// What finishing an invitation did.
pub enum Finished {
    /// Another login has this address.
    EmailUsed,
    /// The invitation was used meanwhile (a double submit).
    Spent,
    /// The login made, to sign in with.
    Opened(i64),
}

/// Finishes the account: the person gets a login with their reference
/// e-mail and becomes active.
pub async fn finish(
    state: &AppState,
    inv: &invitations::Model,
    person: &persons::Model,
    login: &Login,
    password: NewPassword,
    locale: Locale,
) -> AppResult<Finished> {
    if crate::auth::store::find_by_email(&state.db, login)
        .await?
        .is_some()
    {
        return Ok(Finished::EmailUsed);
    }
    let hash = crate::auth::password::hash(password.expose().to_owned()).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    // The invitation is spent by compare-and-set: a double submit makes one account.
    if store::spend_invitation(&txn, inv.id, now).await? != 1 {
        return Ok(Finished::Spent);
    }
    let user = open_account(&txn, login.as_str(), hash, person, locale.code()).await?;
    txn.commit().await?;
    tracing::info!(user = user.id, person = person.id, "invitation accepted");
    Ok(Finished::Opened(user.id))
}

/// "Do not invite me again": the person is never invited again and this
/// invitation goes.
pub async fn stop(
    state: &AppState,
    inv: &invitations::Model,
    person: &persons::Model,
) -> AppResult<()> {
    let txn = state.db.begin().await?;
    store::stop_invitations(&txn, person.id, inv.id).await?;
    txn.commit().await?;
    Ok(())
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
    let user = store::insert_user(
        db,
        users::ActiveModel {
            email: Set(email.to_lowercase()),
            password_hash: Set(password_hash),
            display_name: Set(format!("{} {}", person.first_name, person.last_name)),
            is_admin: Set(false),
            locale: Set(locale.to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    store::link_user(db, person.id, user.id).await?;
    Ok(user)
}

/// Logging in brings a deactivated account back.
pub async fn reactivate<C: ConnectionTrait>(db: &C, user_id: i64) -> AppResult<()> {
    let n = store::reactivate(db, user_id).await?;
    if n > 0 {
        tracing::info!(user = user_id, "account reactivated by logging in");
    }
    Ok(())
}

/// The member hides their account: out of the directory, no mail, signed
/// out everywhere; logging in again undoes it.
pub async fn deactivate(state: &AppState, user_id: i64) -> AppResult<()> {
    let txn = state.db.begin().await?;
    store::deactivate(&txn, user_id).await?;
    txn.commit().await?;
    tracing::info!(user = user_id, "account deactivated by its owner");
    Ok(())
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

/// The login and address a change link carries, when its signature holds
/// and it has not expired.
fn email_token_claim(state: &AppState, token: &str) -> Option<(i64, String)> {
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
    parsed.and_then(|text| {
        let mut it = text.splitn(3, '|');
        let uid: i64 = it.next()?.parse().ok()?;
        let email = it.next()?.to_owned();
        let expires: i64 = it.next()?.parse().ok()?;
        (Utc::now().timestamp() <= expires).then_some((uid, email))
    })
}

/// What asking for a new login address did.
pub enum EmailRequest {
    WrongPassword,
    /// Another login has it.
    Used,
    /// Another person's record has it.
    Taken,
    /// Too many mails to this address or from this client lately.
    Throttled,
    /// The link is on its way to the new address.
    Sent,
}

/// The new address is proven by a signed link sent to it; nothing
/// changes until it is followed. `fallback` is the page's language, for a
/// login whose own is unknown.
pub async fn request_email_change(
    state: &AppState,
    user: &users::Model,
    email: &Login,
    current_password: &str,
    client_key: &str,
    fallback: Locale,
) -> AppResult<EmailRequest> {
    let ok = crate::auth::password::verify(
        current_password.to_owned(),
        Some(user.password_hash.clone()),
    )
    .await?;
    if !ok {
        return Ok(EmailRequest::WrongPassword);
    }
    if crate::auth::store::find_by_email(&state.db, email)
        .await?
        .is_some()
    {
        return Ok(EmailRequest::Used);
    }
    // The address may not be another person's either: records keep one
    // owner per address.
    let own = store::person_of_user(&state.db, user.id)
        .await?
        .map(|x| x.id);
    let key = email.as_str().to_lowercase();
    let holders = crate::people::store::ids_by_email(&state.db, vec![key.clone()]).await?;
    if holders.get(&key).is_some_and(|id| Some(*id) != own) {
        return Ok(EmailRequest::Taken);
    }
    if !amicale_delivery::throttle::allow(
        &state.db,
        amicale_delivery::throttle::Purpose::AddressChange,
        email.as_str(),
        client_key,
        state.config.mail_per_address_per_hour,
        state.config.mail_per_client_per_hour,
        Utc::now(),
    )
    .await?
    {
        return Ok(EmailRequest::Throttled);
    }
    let expires = (Utc::now() + Duration::hours(EMAIL_CHANGE_HOURS)).timestamp();
    let token = email_token(state, user.id, email.as_str(), expires);
    let l = Locale::parse(&user.locale).unwrap_or(fallback);
    Notice {
        l,
        to: email.as_str(),
        subject: l.t("email-change-subject"),
        greeting: l.t1("mail-hello", "name", &user.display_name),
        paragraphs: vec![l.t("email-change-body")],
        link: Some(state.url(&format!("/account/email/{token}"))),
        button: l.t("email-change-button"),
        footer: vec![l.t("email-change-ignore")],
    }
    .enqueue(state, &state.db)
    .await?;
    state.outbox_wakeup.notify_one();
    Ok(EmailRequest::Sent)
}

/// Follows a change link: the login e-mail changes, and the person's record
/// gets the new address as its reference e-mail. `false` when the link is
/// invalid, expired, already used, or the address was taken since.
pub async fn confirm_email_change(state: &AppState, token: &str) -> AppResult<bool> {
    let Some((uid, email)) = email_token_claim(state, token) else {
        return Ok(false);
    };
    let login = Login::parse(&email).map_err(|e| AppError::Internal(e.into()))?;
    if crate::auth::store::find_by_email(&state.db, &login)
        .await?
        .is_some()
    {
        // Already done (a second click) or taken since: nothing to change.
        return Ok(false);
    }
    let record = match store::person_of_user(&state.db, uid).await? {
        Some(person) => Some(crate::people::store::load(&state.db, person.id).await?),
        None => None,
    };
    let names = crate::people::store::Names::load(&state.db).await?;
    let txn = state.db.begin().await?;
    if store::set_login_email(&txn, uid, login.as_str(), Utc::now()).await? != 1 {
        return Ok(false);
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
    Ok(true)
}
