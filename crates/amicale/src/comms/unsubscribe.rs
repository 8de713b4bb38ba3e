//! The unsubscribe page of each category: reached from the signed
//! link in every message, without an account. `POST` is also the RFC 8058
//! one-click target (no cookie, no CSRF token: the signed link is the
//! proof), and unsubscribing twice changes nothing.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;

use crate::app::AppState;
use crate::comms::context::read_unsubscribe;
use crate::error::{AppError, AppResult};
use crate::web::page::{Page, render};
use amicale_store::entities::unsubscriptions;

#[derive(Template)]
#[template(path = "comms/unsubscribe.html")]
struct Tpl<'a> {
    p: &'a Page,
    token: String,
    address: String,
    category: &'static str,
    done: bool,
}

pub async fn form(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let (address, cat) = read_unsubscribe(&state, &token).ok_or(AppError::NotFound)?;
    render(&Tpl {
        p: &p,
        token,
        address,
        category: cat.as_str(),
        done: false,
    })
}

pub async fn confirm(
    State(state): State<AppState>,
    p: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let (address, cat) = read_unsubscribe(&state, &token).ok_or(AppError::NotFound)?;
    unsubscriptions::Entity::insert(unsubscriptions::ActiveModel {
        address: Set(address.clone()),
        category: Set(cat.as_str().to_owned()),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&state.db)
    .await?;
    tracing::info!(category = cat.as_str(), "unsubscribed");
    render(&Tpl {
        p: &p,
        token,
        address,
        category: cat.as_str(),
        done: true,
    })
}
