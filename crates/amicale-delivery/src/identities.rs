//! Sender identities. A staff user sends as themselves (their login
//! address, with an optional Reply-To) or as a shared institutional mailbox
//! they are assigned to, once that mailbox proved it receives mail (a code
//! sent to it). At delivery, an identity whose domain the network allows
//! (SPF/DKIM are set up for it) is the From; any other is sent from the
//! platform address in its name, with Reply-To to it, so the mail is not
//! spoofed and the answer still reaches the right person.

use chrono::{Duration, Utc};
use lettre::message::Mailbox;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};

use crate::outbox::{self, NewMail, Origin};
use crate::state::Engine;
use amicale_kernel::Locale;
use amicale_kernel::crypto::sha256_hex;
use amicale_store::entities::{identities, identity_users, users};
use amicale_store::error::{AppError, AppResult};
use amicale_store::setting;

amicale_kernel::codes!(
    /// Whose identity it is.
    Kind { Personal = "personal", Shared = "shared" }
);

const DOMAINS: &str = "sender_domains";
/// A verification code is valid for a day.
const CODE_HOURS: i64 = 24;
/// Wrong codes accepted before the code is void: one chance in 200,000 of
/// guessing it, and a new code needs a new mail to the mailbox.
pub const CODE_ATTEMPTS: i32 = 5;

/// A sender identity as pages show it.
pub type Identity = identities::Model;

/// The shared mailboxes, by label.
pub async fn shared_list(db: &DatabaseConnection) -> AppResult<Vec<Identity>> {
    Ok(identities::Entity::find()
        .filter(identities::Column::Kind.eq(Kind::Shared.as_str()))
        .order_by_asc(identities::Column::Label)
        .all(db)
        .await?)
}

/// Shared mailbox `id`; not found when it is someone's own identity.
pub async fn shared(db: &DatabaseConnection, id: i64) -> AppResult<Identity> {
    identities::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|m| m.kind == Kind::Shared.as_str())
        .ok_or(AppError::NotFound)
}

/// Whether a shared mailbox already has this address.
pub async fn shared_exists(db: &DatabaseConnection, address: &str) -> AppResult<bool> {
    Ok(identities::Entity::find()
        .filter(identities::Column::Kind.eq(Kind::Shared.as_str()))
        .filter(identities::Column::Address.eq(address))
        .one(db)
        .await?
        .is_some())
}

/// The SMTP profile of each user's personal identity (their current login
/// address), in the order of `users`.
pub async fn personal_profiles(
    db: &DatabaseConnection,
    users: &[users::Model],
) -> AppResult<Vec<Option<i64>>> {
    let owned = identities::Entity::find()
        .filter(identities::Column::Kind.eq(Kind::Personal.as_str()))
        .filter(identities::Column::OwnerUserId.is_in(users.iter().map(|u| u.id)))
        .all(db)
        .await?;
    Ok(users
        .iter()
        .map(|u| {
            let address = u.email.to_lowercase();
            owned
                .iter()
                .find(|i| i.owner_user_id == Some(u.id) && i.address == address)
                .and_then(|i| i.smtp_profile_id)
        })
        .collect())
}

/// Sets the SMTP profile of an identity; workers route by identity, so
/// they reload their settings.
pub async fn set_profile(
    db: &DatabaseConnection,
    identity: &Identity,
    profile: Option<i64>,
) -> AppResult<()> {
    if identity.smtp_profile_id == profile {
        return Ok(());
    }
    identities::ActiveModel {
        id: Set(identity.id),
        smtp_profile_id: Set(profile),
        ..Default::default()
    }
    .update(db)
    .await?;
    crate::delivery_settings::bump(db).await
}

pub async fn set_reply_to(
    db: &DatabaseConnection,
    id: i64,
    reply_to: Option<String>,
) -> AppResult<()> {
    identities::Entity::update_many()
        .col_expr(
            identities::Column::ReplyTo,
            sea_orm::sea_query::Expr::value(reply_to),
        )
        .filter(identities::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes a shared mailbox. Messages keep their identity id: the archive
/// of past sends stays.
pub async fn delete_shared(db: &DatabaseConnection, id: i64) -> AppResult<()> {
    assign(db, id, &[]).await?;
    identities::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// The user's own identity (their login address), created on first use.
pub async fn personal(
    db: &DatabaseConnection,
    user: &users::Model,
) -> AppResult<identities::Model> {
    let address = user.email.to_lowercase();
    let find = || {
        identities::Entity::find()
            .filter(identities::Column::OwnerUserId.eq(user.id))
            .filter(identities::Column::Address.eq(address.clone()))
            .one(db)
    };
    // Pages read it on every view: write only the first time.
    if let Some(found) = find().await? {
        return Ok(found);
    }
    // A new login address makes a new identity (the old one keeps what was
    // sent from it in the archive); the SMTP profile an administrator chose
    // and the Reply-To the user set follow the user.
    let previous = identities::Entity::find()
        .filter(identities::Column::OwnerUserId.eq(user.id))
        .filter(identities::Column::Kind.eq(Kind::Personal.as_str()))
        .order_by_desc(identities::Column::Id)
        .one(db)
        .await?;
    identities::Entity::insert(identities::ActiveModel {
        kind: Set(Kind::Personal.as_str().into()),
        label: Set(user.display_name.clone()),
        address: Set(address.clone()),
        owner_user_id: Set(Some(user.id)),
        verified: Set(true),
        created_at: Set(Utc::now()),
        reply_to: Set(previous.as_ref().and_then(|p| p.reply_to.clone())),
        smtp_profile_id: Set(previous.and_then(|p| p.smtp_profile_id)),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([identities::Column::OwnerUserId, identities::Column::Address])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    find()
        .await?
        .ok_or_else(|| AppError::Internal("personal identity vanished".into()))
}

/// Ids of the shared mailboxes assigned to `user`.
async fn assigned(db: &DatabaseConnection, user: i64) -> AppResult<Vec<i64>> {
    Ok(identity_users::Entity::find()
        .filter(identity_users::Column::UserId.eq(user))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.identity_id)
        .collect())
}

/// Every identity the user's archive shows: theirs and their mailboxes'.
pub async fn of_user(
    db: &DatabaseConnection,
    user: &users::Model,
) -> AppResult<Vec<identities::Model>> {
    personal(db, user).await?;
    let shared = assigned(db, user.id).await?;
    Ok(identities::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(identities::Column::OwnerUserId.eq(user.id))
                .add(identities::Column::Id.is_in(shared)),
        )
        .order_by_asc(identities::Column::Kind)
        .order_by_asc(identities::Column::Label)
        .all(db)
        .await?)
}

/// The identities the user may send as: theirs and the verified mailboxes
/// assigned to them, their personal identity first.
pub async fn usable(
    db: &DatabaseConnection,
    user: &users::Model,
) -> AppResult<Vec<identities::Model>> {
    let mut all: Vec<identities::Model> = of_user(db, user)
        .await?
        .into_iter()
        .filter(|i| i.verified)
        .collect();
    all.sort_by_key(|i| (i.kind != Kind::Personal.as_str(), i.label.to_lowercase()));
    Ok(all)
}

/// The identity posted by a send form, if the user may use it; the
/// personal one when none was posted.
pub async fn chosen(
    db: &DatabaseConnection,
    user: &users::Model,
    posted: &str,
) -> AppResult<Option<identities::Model>> {
    let list = usable(db, user).await?;
    Ok(match posted.parse::<i64>() {
        Ok(id) => list.into_iter().find(|i| i.id == id),
        Err(_) => list.into_iter().next(),
    })
}

/// The domains the network may send from (their SPF and DKIM cover them).
pub async fn sender_domains(db: &DatabaseConnection) -> AppResult<Vec<String>> {
    Ok(setting::get(db, DOMAINS)
        .await?
        .map(|v| parse_domains(&v).unwrap_or_default())
        .unwrap_or_default())
}

/// Domains separated by spaces, commas or lines; `Err` names the first
/// one that is not a domain.
pub fn parse_domains(input: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for d in input
        .split([',', ' ', '\n', '\r', ';'])
        .map(|d| d.trim().trim_start_matches('@').to_lowercase())
        .filter(|d| !d.is_empty())
    {
        let ok = d.contains('.')
            && d.len() <= 253
            && d.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !ok {
            return Err(d);
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

pub async fn set_sender_domains(db: &DatabaseConnection, domains: &[String]) -> AppResult<()> {
    setting::put(db, DOMAINS, domains.join(" ")).await
}

/// From and Reply-To of a message sent as `identity`.
pub fn from_for(
    identity: &identities::Model,
    domains: &[String],
    platform: &Mailbox,
) -> (Mailbox, Option<Mailbox>) {
    let name = Some(identity.label.clone()).filter(|l| !l.trim().is_empty());
    let reply_to = identity
        .reply_to
        .as_deref()
        .and_then(|r| r.parse::<lettre::Address>().ok())
        .map(|a| Mailbox::new(None, a));
    let own: Option<lettre::Address> = identity.address.parse().ok();
    match own {
        Some(addr)
            if domains
                .iter()
                .any(|d| addr.domain().eq_ignore_ascii_case(d)) =>
        {
            (Mailbox::new(name, addr), reply_to)
        }
        Some(addr) => (
            Mailbox::new(name, platform.email.clone()),
            Some(reply_to.unwrap_or_else(|| Mailbox::new(None, addr))),
        ),
        None => (platform.clone(), reply_to),
    }
}

/// Creates a shared mailbox and mails it its verification code.
pub async fn create_shared(
    state: &Engine,
    label: &str,
    address: &str,
    reply_to: Option<String>,
) -> AppResult<i64> {
    let txn = state.db.begin().await?;
    let res = identities::Entity::insert(identities::ActiveModel {
        kind: Set(Kind::Shared.as_str().into()),
        label: Set(label.to_owned()),
        address: Set(address.to_lowercase()),
        reply_to: Set(reply_to),
        verified: Set(false),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let id = res.last_insert_id;
    send_code(state, &txn, id, label, address).await?;
    txn.commit().await?;
    state.outbox_wakeup.notify_waiters();
    Ok(id)
}

/// A fresh six-digit code, stored hashed, mailed to the mailbox in `db`'s
/// transaction (the code exists if and only if its mail is queued).
pub async fn send_code<C: sea_orm::ConnectionTrait>(
    state: &Engine,
    db: &C,
    id: i64,
    label: &str,
    address: &str,
) -> AppResult<()> {
    use rand::Rng;
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000));
    identities::Entity::update_many()
        .col_expr(
            identities::Column::CodeHash,
            sea_orm::sea_query::Expr::value(sha256_hex(&format!("{id}:{code}"))),
        )
        .col_expr(
            identities::Column::CodeSentAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .col_expr(
            identities::Column::CodeAttempts,
            sea_orm::sea_query::Expr::value(0),
        )
        .filter(identities::Column::Id.eq(id))
        .exec(db)
        .await?;
    let l: Locale = state.default_locale;
    outbox::enqueue(
        db,
        NewMail {
            recipient: address.to_owned(),
            subject: l.t1("identity-code-subject", "label", label),
            text: l.t_args(
                "identity-code-text",
                &[
                    ("label", label.to_owned()),
                    ("code", code),
                    ("url", state.url("/account/identity")),
                ],
            ),
            html: None,
            origin: Origin::System,
            origin_id: None,
        },
        state.mail_from.email.domain(),
    )
    .await?;
    Ok(())
}

/// Checks a code typed for mailbox `id`; verified for good when it matches
/// and is less than a day old. Each wrong code counts; the last allowed one
/// voids the code.
pub async fn verify(db: &DatabaseConnection, id: i64, code: &str) -> AppResult<bool> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let Some(i) = identities::Entity::find_by_id(id).one(db).await? else {
        return Err(AppError::NotFound);
    };
    // Every try takes one of the code's attempts first, in one statement:
    // guesses sent in parallel cannot get more tries than that.
    let took = identities::Entity::update_many()
        .col_expr(
            identities::Column::CodeAttempts,
            Expr::col(identities::Column::CodeAttempts).add(Expr::value(1)),
        )
        .filter(identities::Column::Id.eq(id))
        .filter(identities::Column::CodeHash.is_not_null())
        .filter(identities::Column::CodeAttempts.lt(CODE_ATTEMPTS))
        .exec(db)
        .await?
        .rows_affected;
    let fresh = i
        .code_sent_at
        .is_some_and(|t| Utc::now() - t < Duration::hours(CODE_HOURS));
    let code = code.trim();
    let ok = took == 1
        && fresh
        && i.code_hash.as_deref() == Some(sha256_hex(&format!("{id}:{code}")).as_str())
        && !code.is_empty();
    if !ok {
        // The last try voids the code for good.
        identities::Entity::update_many()
            .col_expr(
                identities::Column::CodeHash,
                Expr::value(Option::<String>::None),
            )
            .filter(identities::Column::Id.eq(id))
            .filter(identities::Column::CodeAttempts.gte(CODE_ATTEMPTS))
            .exec(db)
            .await?;
    } else {
        identities::Entity::update_many()
            .col_expr(identities::Column::Verified, Expr::value(true))
            .col_expr(
                identities::Column::CodeHash,
                Expr::value(Option::<String>::None),
            )
            .filter(identities::Column::Id.eq(id))
            .exec(db)
            .await?;
    }
    Ok(ok)
}

pub async fn users_of(db: &DatabaseConnection, id: i64) -> AppResult<Vec<i64>> {
    Ok(identity_users::Entity::find()
        .filter(identity_users::Column::IdentityId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.user_id)
        .collect())
}

/// Replaces the users assigned to mailbox `id`.
pub async fn assign(db: &DatabaseConnection, id: i64, users: &[i64]) -> AppResult<()> {
    let txn = db.begin().await?;
    identity_users::Entity::delete_many()
        .filter(identity_users::Column::IdentityId.eq(id))
        .exec(&txn)
        .await?;
    if !users.is_empty() {
        identity_users::Entity::insert_many(users.iter().map(|u| identity_users::ActiveModel {
            identity_id: Set(id),
            user_id: Set(*u),
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// A shared mailbox left to one user becomes that user's own identity
/// (its messages stay in their archive). `Err` says why it cannot.
pub async fn convert_to_personal(
    db: &DatabaseConnection,
    id: i64,
) -> AppResult<Result<(), &'static str>> {
    let users = users_of(db, id).await?;
    let [only] = users.as_slice() else {
        return Ok(Err("identity-error-convert"));
    };
    let txn = db.begin().await?;
    identities::Entity::update_many()
        .col_expr(
            identities::Column::Kind,
            sea_orm::sea_query::Expr::value(Kind::Personal.as_str()),
        )
        .col_expr(
            identities::Column::OwnerUserId,
            sea_orm::sea_query::Expr::value(*only),
        )
        .filter(identities::Column::Id.eq(id))
        .filter(identities::Column::Kind.eq(Kind::Shared.as_str()))
        .exec(&txn)
        .await?;
    identity_users::Entity::delete_many()
        .filter(identity_users::Column::IdentityId.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(address: &str, reply_to: Option<&str>) -> identities::Model {
        identities::Model {
            id: 1,
            kind: "shared".into(),
            label: "Service Alumni".into(),
            address: address.into(),
            reply_to: reply_to.map(str::to_owned),
            owner_user_id: None,
            verified: true,
            code_hash: None,
            code_sent_at: None,
            code_attempts: 0,
            created_at: Utc::now(),
            smtp_profile_id: None,
        }
    }

    #[test]
    fn allowed_domains_send_as_themselves_others_through_the_platform() {
        let platform: Mailbox = "Amicale <noreply@amicale.example>".parse().unwrap();
        let domains = parse_domains("ecole.fr, @Alumni.ecole.fr\necole.fr").unwrap();
        assert_eq!(domains, ["ecole.fr", "alumni.ecole.fr"]);
        let (from, reply) = from_for(&identity("alumni@ecole.fr", None), &domains, &platform);
        assert_eq!(from.to_string(), "Service Alumni <alumni@ecole.fr>");
        assert!(reply.is_none());
        let (from, reply) = from_for(
            &identity("alumni@ecole.fr", Some("secretariat@ecole.fr")),
            &domains,
            &platform,
        );
        assert_eq!(from.email.to_string(), "alumni@ecole.fr");
        assert_eq!(reply.unwrap().email.to_string(), "secretariat@ecole.fr");
        let (from, reply) = from_for(&identity("claire@gmail.com", None), &domains, &platform);
        assert_eq!(from.to_string(), "Service Alumni <noreply@amicale.example>");
        assert_eq!(reply.unwrap().email.to_string(), "claire@gmail.com");
        assert_eq!(parse_domains("ecole.fr, pas un domaine"), Err("pas".into()));
        assert!(parse_domains("-x.fr").is_err());
    }
}
