//! Account operations behind the pages: the login check with its failure
//! limits, and the password reset request.

use askama::Template;
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;

use crate::app::AppState;
use crate::auth::{password, store};
use crate::error::AppResult;
use amicale_delivery::outbox::{self, NewMail, Origin};
use amicale_kernel::{Locale, Login};
use amicale_store::entities::users;

/// Why a login is refused.
pub enum Refused {
    /// Too many failures for the account or the client: wait until then.
    Locked(DateTime<Utc>),
    /// Wrong address or password (which one is not said).
    Failed,
}

/// The user whose address and password these are, within the limits of
/// failures per account and per client (`client` is the client's key).
pub async fn check_login(
    state: &AppState,
    email: &Login,
    password: String,
    client: &str,
) -> AppResult<Result<users::Model, Refused>> {
    let now = Utc::now();
    let account_key = store::account_key(email.as_str(), client);
    let client_key = store::client_key(client);
    let per_client = state.config.login_failures_per_client as i32;
    // Each try is counted before the (slow) password check: guesses sent in
    // parallel cannot get more tries than the limits.
    if let Err(until) =
        store::take_attempt(&state.db, &account_key, store::MAX_FAILURES, now).await?
    {
        return Ok(Err(Refused::Locked(until)));
    }
    if let Err(until) = store::take_attempt(&state.db, &client_key, per_client, now).await? {
        store::give_back(&state.db, &account_key, store::MAX_FAILURES).await?;
        return Ok(Err(Refused::Locked(until)));
    }
    let user = store::find_by_email(&state.db, email).await?;
    let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!(email = %email, client = %client, "failed login");
        let locks = [
            store::attempt_failed(&state.db, &account_key, store::MAX_FAILURES, now).await?,
            store::attempt_failed(&state.db, &client_key, per_client, now).await?,
        ];
        if let Some(until) = locks.into_iter().flatten().max() {
            tracing::warn!(email = %email, client = %client, "login locked after repeated failures");
            return Ok(Err(Refused::Locked(until)));
        }
        return Ok(Err(Refused::Failed));
    };
    store::clear_failures(&state.db, &account_key).await?;
    store::give_back(&state.db, &client_key, per_client).await?;
    Ok(Ok(user))
}

#[derive(Template)]
#[template(path = "mail/reset.txt")]
struct ResetText<'a> {
    l: Locale,
    name: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/reset.html")]
struct ResetHtml<'a> {
    l: Locale,
    name: &'a str,
    link: &'a str,
}

/// Mails a reset link to the account of `email`, if there is one, it was
/// not sent one a moment ago, and the address and client are within their
/// hourly allowance; otherwise nothing happens, and the caller answers the
/// same. The reset row and its e-mail commit together.
pub async fn request_reset(
    state: &AppState,
    email: &Login,
    client: &str,
    fallback: Locale,
) -> AppResult<()> {
    let now = Utc::now();
    if let Some(user) = store::find_by_email(&state.db, email).await?
        && !store::recent_reset(&state.db, user.id, now).await?
        // Over the hour's allowance the answer is the same, and no mail.
        && amicale_delivery::throttle::allow(
            &state.db,
            amicale_delivery::throttle::Purpose::PasswordReset,
            &user.email,
            client,
            state.config.mail_per_address_per_hour,
            state.config.mail_per_client_per_hour,
            now,
        )
        .await?
    {
        let l = Locale::parse(&user.locale).unwrap_or(fallback);
        let txn = state.db.begin().await?;
        let token = store::create_reset(&txn, user.id, now).await?;
        let link = state.url(&format!("/password/reset/{token}"));
        let mail = NewMail {
            recipient: user.email.clone(),
            subject: l.t("mail-reset-subject"),
            text: ResetText {
                l,
                name: &user.display_name,
                link: &link,
            }
            .render()
            .map_err(crate::error::render_failed)?,
            html: Some(
                ResetHtml {
                    l,
                    name: &user.display_name,
                    link: &link,
                }
                .render()
                .map_err(crate::error::render_failed)?,
            ),
            origin: Origin::System,
            origin_id: None,
        };
        outbox::enqueue(&txn, mail, state.mail_from.email.domain()).await?;
        txn.commit().await?;
        state.outbox_wakeup.notify_one();
        tracing::info!(user = user.id, "password reset requested");
    }
    Ok(())
}
