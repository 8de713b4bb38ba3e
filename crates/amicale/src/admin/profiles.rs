//! Administration of permission profiles: the matrix editor and the
//! assignment of a profile, site and team to each staff user.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::store::{self, Profile};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::bulk;
use crate::web::extract::{Admin, Require};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render, render_status};
use amicale_kernel::permissions::{Level, Matrix, Module, Right, Scope};

pub struct ProfileRow {
    pub id: i64,
    pub label: String,
}

/// A shipped profile is named by its code and shown in the user's language.
fn label(p: &Page, x: &Profile) -> String {
    if x.builtin {
        p.t(&format!("profile-{}", x.name))
    } else {
        x.name.clone()
    }
}

#[derive(Template)]
#[template(path = "admin/profiles.html")]
struct ProfilesTpl<'a> {
    p: &'a Page,
    rows: Vec<ProfileRow>,
    error: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
) -> AppResult<Response> {
    list_page(&state, &p, None, StatusCode::OK).await
}

async fn list_page(
    state: &AppState,
    p: &Page,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let rows = store::profiles(&state.db)
        .await?
        .iter()
        .map(|x| ProfileRow {
            id: x.id,
            label: label(p, x),
        })
        .collect();
    render_status(status, &ProfilesTpl { p, rows, error })
}

pub async fn create(
    State(state): State<AppState>,
    who: Require<Admin>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let name = f.get("name").trim().to_owned();
    let taken = store::name_taken(&state.db, &name).await?;
    if name.is_empty() || name.chars().count() > 80 || taken {
        let key = if taken {
            "groups-exists"
        } else {
            "err-required"
        };
        return list_page(&state, &p, Some(p.t(key)), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let m = store::create_profile(&state.db, &name).await?;
    bulk::audit(&state.db, Some(who.user().id), "profile_create", &name, 0).await?;
    Ok(Redirect::to(&format!("/admin/profiles/{}", m.id)).into_response())
}

pub struct Cell {
    pub module: &'static str,
    pub right: Right,
}

#[derive(Template)]
#[template(path = "admin/profile.html")]
struct ProfileTpl<'a> {
    p: &'a Page,
    id: i64,
    label: String,
    cells: Vec<Cell>,
    saved: bool,
}

pub async fn show(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
    Path(id): Path<i64>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> AppResult<Response> {
    let x = store::profile(&state.db, id).await?;
    let m: Matrix = serde_json::from_str(&x.matrix).unwrap_or_default();
    render(&ProfileTpl {
        p: &p,
        id,
        label: label(&p, &x),
        cells: Module::ALL
            .into_iter()
            .map(|module| Cell {
                module: module.as_str(),
                right: m.get(module),
            })
            .collect(),
        saved: q.as_deref() == Some("saved"),
    })
}

/// Saves the matrix. Unknown values are refused, not guessed: a typo
/// must not grant a right.
pub async fn save(
    State(state): State<AppState>,
    who: Require<Admin>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    store::profile(&state.db, id).await?;
    let mut m = Matrix::default();
    for module in Module::ALL {
        let k = module.as_str();
        let (Some(level), Some(scope)) = (
            Level::parse(f.get(&format!("{k}_level"))),
            Scope::parse(f.get(&format!("{k}_scope"))),
        ) else {
            return Err(AppError::NotFound);
        };
        m.0.insert(
            module,
            Right {
                visible: f.has(&format!("{k}_visible")) && level != Level::None,
                level,
                scope,
            },
        );
    }
    let json = store::save_matrix(&state.db, id, &m).await?;
    bulk::audit(&state.db, Some(who.user().id), "profile_save", &json, 0).await?;
    Ok(Redirect::to(&format!("/admin/profiles/{id}?saved")).into_response())
}

pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub profile: String,
    pub site: String,
    pub team: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersTpl<'a> {
    p: &'a Page,
    rows: Vec<UserRow>,
    profiles: Vec<ProfileRow>,
}

pub async fn users_list(
    State(state): State<AppState>,
    _: Require<Admin>,
    p: Page,
) -> AppResult<Response> {
    let profiles: Vec<ProfileRow> = store::profiles(&state.db)
        .await?
        .iter()
        .map(|x| ProfileRow {
            id: x.id,
            label: label(&p, x),
        })
        .collect();
    let rows = store::users(&state.db)
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            name: u.display_name,
            email: u.email,
            admin: u.is_admin,
            profile: u.profile_id.map(|x| x.to_string()).unwrap_or_default(),
            site: u.site.unwrap_or_default(),
            team: u.team.unwrap_or_default(),
        })
        .collect();
    render(&UsersTpl {
        p: &p,
        rows,
        profiles,
    })
}

pub async fn user_save(
    State(state): State<AppState>,
    who: Require<Admin>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let profile = match f.get("profile") {
        "" => None,
        v => {
            let id = v.parse::<i64>().map_err(|_| AppError::NotFound)?;
            Some(store::profile(&state.db, id).await?.id)
        }
    };
    let opt = |s: &str| {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_owned())
    };
    store::set_user_rights(
        &state.db,
        id,
        profile,
        opt(f.get("site")),
        opt(f.get("team")),
    )
    .await?;
    bulk::audit(
        &state.db,
        Some(who.user().id),
        "user_profile",
        &format!("user {id}: profile {profile:?}"),
        1,
    )
    .await?;
    Ok(Redirect::to("/admin/users").into_response())
}
