//! Identities in Administration (allowed sender domains, shared mailboxes,
//! their users, verification, conversion) and each user's own page (Reply-To
//! of their personal identity, codes of the mailboxes assigned to them).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::events::store::User;
use crate::web::extract::{Admin, Require, SendMessages};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render, render_status};
use amicale_delivery::identities::{self, Identity};
use amicale_delivery::transport_settings;
use amicale_kernel::Login;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/identities", get(admin_list).post(create))
        .route("/admin/identities/domains", post(save_domains))
        .route("/admin/identities/{id}/users", post(assign))
        .route("/admin/identities/personal/{user}", post(route_personal))
        .route("/admin/identities/{id}/code", post(resend))
        .route("/admin/identities/{id}/convert", post(convert))
        .route("/admin/identities/{id}/delete", post(delete))
        .route("/account/identity", get(mine).post(save_mine))
        .route("/identities/{id}/verify", post(verify))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Q {
    notice: String,
}

pub struct Mailbox {
    pub m: Identity,
    pub users: Vec<i64>,
}

#[derive(Template)]
#[template(path = "admin/identities.html")]
struct AdminTpl<'a> {
    p: &'a Page,
    domains: String,
    mailboxes: Vec<Mailbox>,
    staff: Vec<User>,
    /// Each staff user's personal identity's SMTP profile.
    personal: Vec<(User, Option<i64>)>,
    /// SMTP profiles a mailbox may go through (id, label).
    profiles: Vec<(i64, String)>,
    notice: Option<String>,
    /// The create form as typed, and its errors.
    label: String,
    address: String,
    reply_to: String,
    errors: Vec<(&'static str, String)>,
}

impl AdminTpl<'_> {
    fn error(&self, name: &str) -> String {
        self.errors
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

fn notice(p: &Page, q: &str) -> Option<String> {
    (!q.is_empty()).then(|| p.t(&format!("identity-notice-{q}")))
}

async fn admin_tpl<'a>(state: &AppState, p: &'a Page) -> AppResult<AdminTpl<'a>> {
    let mut mailboxes = Vec::new();
    for m in identities::shared_list(&state.db).await? {
        let users = identities::users_of(&state.db, m.id).await?;
        mailboxes.push(Mailbox { m, users });
    }
    let staff = crate::events::store::staff(&state.db).await?;
    let profiles = identities::personal_profiles(&state.db, &staff).await?;
    let personal = staff.iter().cloned().zip(profiles).collect();
    Ok(AdminTpl {
        p,
        domains: identities::sender_domains(&state.db).await?.join(" "),
        mailboxes,
        staff,
        personal,
        profiles: transport_settings::profiles(&state.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.label))
            .collect(),
        notice: None,
        label: String::new(),
        address: String::new(),
        reply_to: String::new(),
        errors: Vec::new(),
    })
}

async fn admin_list(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    Query(q): Query<Q>,
) -> AppResult<Response> {
    let mut t = admin_tpl(&state, &p).await?;
    t.notice = notice(&p, &q.notice);
    render(&t)
}

fn back(notice: &str) -> AppResult<Response> {
    Ok(Redirect::to(&format!("/admin/identities?notice={notice}")).into_response())
}

async fn save_domains(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    match identities::parse_domains(f.get("domains")) {
        Ok(d) => {
            identities::set_sender_domains(&state.db, &d).await?;
            back("domains")
        }
        Err(bad) => {
            let mut t = admin_tpl(&state, &p).await?;
            t.domains = f.get("domains").to_owned();
            t.notice = Some(p.t1("identity-error-domain", "domain", bad));
            render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &t)
        }
    }
}

async fn create(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let label = f.get("label").trim().to_owned();
    let mut errors = Vec::new();
    if label.is_empty() || label.chars().count() > 120 {
        errors.push(("label", p.t("identity-error-label")));
    }
    let address = Login::parse(f.get("address"));
    if let Err(k) = &address {
        errors.push(("address", p.t(k)));
    }
    let reply_to = match f.get("reply_to").trim() {
        "" => Ok(None),
        r => Login::parse(r).map(|e| Some(e.as_str().to_owned())),
    };
    if let Err(k) = &reply_to {
        errors.push(("reply_to", p.t(k)));
    }
    if let Ok(a) = &address
        && identities::shared_exists(&state.db, a.as_str()).await?
    {
        errors.push(("address", p.t("identity-error-exists")));
    }
    let (Ok(address), Ok(reply_to), true) = (address, reply_to, errors.is_empty()) else {
        let mut t = admin_tpl(&state, &p).await?;
        t.label = label;
        t.address = f.get("address").to_owned();
        t.reply_to = f.get("reply_to").to_owned();
        t.errors = errors;
        t.notice = Some(p.t("identity-notice-invalid"));
        return render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &t);
    };
    identities::create_shared(&state, &label, address.as_str(), reply_to).await?;
    back("created")
}

async fn assign(
    State(state): State<AppState>,
    _: Require<Admin>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let mailbox = identities::shared(&state.db, id).await?;
    let profile = chosen_profile(&state, &f).await?;
    identities::set_profile(&state.db, &mailbox, profile).await?;
    let staff: Vec<i64> = crate::events::store::staff(&state.db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    let chosen: Vec<i64> = f
        .all("user")
        .iter()
        .filter_map(|s| s.parse().ok())
        .filter(|u| staff.contains(u))
        .collect();
    identities::assign(&state.db, id, &chosen).await?;
    back("assigned")
}

/// The SMTP profile `id` names, if it exists; none means the default.
async fn chosen_profile(state: &AppState, f: &FormPairs) -> AppResult<Option<i64>> {
    Ok(match f.get("smtp_profile").parse::<i64>().ok() {
        Some(pid) => transport_settings::find_profile(&state.db, pid)
            .await?
            .map(|p| p.id),
        None => None,
    })
}

/// Routes a staff user's own messages through an SMTP profile (their
/// institution's relay, a mailbox of their own); an administrator decides,
/// as the profile holds credentials.
async fn route_personal(
    State(state): State<AppState>,
    _: Require<Admin>,
    Path(user): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let staff = crate::events::store::staff(&state.db).await?;
    let u = staff
        .into_iter()
        .find(|u| u.id == user)
        .ok_or(AppError::NotFound)?;
    let own = identities::personal(&state.db, &u).await?;
    let profile = chosen_profile(&state, &f).await?;
    identities::set_profile(&state.db, &own, profile).await?;
    back("saved")
}

async fn resend(
    State(state): State<AppState>,
    _: Require<Admin>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let m = identities::shared(&state.db, id).await?;
    identities::send_code(&state, &state.db, id, &m.label, &m.address).await?;
    state.outbox_wakeup.notify_waiters();
    back("code_sent")
}

async fn convert(
    State(state): State<AppState>,
    _: Require<Admin>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    identities::shared(&state.db, id).await?;
    match identities::convert_to_personal(&state.db, id).await? {
        Ok(()) => back("converted"),
        Err(_) => back("convert_refused"),
    }
}

async fn delete(
    State(state): State<AppState>,
    _: Require<Admin>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    identities::shared(&state.db, id).await?;
    identities::delete_shared(&state.db, id).await?;
    back("deleted")
}

#[derive(Template)]
#[template(path = "account/identity.html")]
struct MineTpl<'a> {
    p: &'a Page,
    own: Identity,
    others: Vec<Identity>,
    reply_to: String,
    error: String,
    notice: Option<String>,
}

async fn mine_tpl<'a>(state: &AppState, p: &'a Page, user: &User) -> AppResult<MineTpl<'a>> {
    let own = identities::personal(&state.db, user).await?;
    let others = identities::of_user(&state.db, user)
        .await?
        .into_iter()
        .filter(|i| i.id != own.id)
        .collect();
    Ok(MineTpl {
        p,
        reply_to: own.reply_to.clone().unwrap_or_default(),
        own,
        others,
        error: String::new(),
        notice: None,
    })
}

async fn mine(
    State(state): State<AppState>,
    who: Require<SendMessages>,
    p: Page,
    Query(q): Query<Q>,
) -> AppResult<Response> {
    let mut t = mine_tpl(&state, &p, who.user()).await?;
    t.notice = notice(&p, &q.notice);
    render(&t)
}

async fn save_mine(
    State(state): State<AppState>,
    who: Require<SendMessages>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let own = identities::personal(&state.db, who.user()).await?;
    let reply_to = match f.get("reply_to").trim() {
        "" => None,
        r => match Login::parse(r) {
            Ok(e) => Some(e.as_str().to_owned()),
            Err(k) => {
                let mut t = mine_tpl(&state, &p, who.user()).await?;
                t.reply_to = r.to_owned();
                t.error = p.t(k);
                t.notice = Some(p.t("identity-notice-invalid"));
                return render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &t);
            }
        },
    };
    identities::set_reply_to(&state.db, own.id, reply_to).await?;
    Ok(Redirect::to("/account/identity?notice=saved").into_response())
}

/// A code typed by an administrator or a user the mailbox is assigned to.
async fn verify(
    State(state): State<AppState>,
    who: Require<SendMessages>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    identities::shared(&state.db, id).await?;
    let admin = who.user().is_admin;
    if !admin
        && !identities::users_of(&state.db, id)
            .await?
            .contains(&who.user().id)
    {
        return Err(AppError::Forbidden);
    }
    let ok = identities::verify(&state.db, id, f.get("code")).await?;
    let notice = if ok { "verified" } else { "bad_code" };
    let to = if f.get("from") == "admin" && admin {
        format!("/admin/identities?notice={notice}")
    } else {
        format!("/account/identity?notice={notice}")
    };
    Ok(Redirect::to(&to).into_response())
}
