//! The import screens: upload, a preview with every rejected row and
//! why, then the import itself as a background job with its progress page.
//! The uploaded file waits in its job row (not on one node's disk), so any
//! node can run it.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::bulk;
use crate::people::import::{self, Mode, Report};
use crate::web::extract::{CreatePeople, Require};
use crate::web::page::{Page, render, render_status};
use amicale_store::Backend;
use amicale_store::entities::jobs;

/// The largest file accepted.
pub const MAX_FILE: usize = 25 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
pub struct Payload {
    pub mode: String,
    pub file: String,
    /// Invite each person created.
    #[serde(default)]
    pub invite: bool,
}

pub struct Line {
    pub row: usize,
    pub errors: String,
}

#[derive(Template)]
#[template(path = "people/import.html")]
struct ImportTpl<'a> {
    p: &'a Page,
    error: Option<String>,
    report: Option<Report>,
    lines: Vec<Line>,
    job: Option<i64>,
    mode: String,
}

/// One error as the user reads it: "E-mail: not a valid address (see row 3)".
fn describe(p: &Page, e: &import::RowError) -> String {
    let field = p.t(&format!("col-{}", e.field));
    let what = p.t(&format!("err-{}", e.code));
    match e.first_row {
        Some(r) => format!(
            "{field}: {what} ({})",
            p.t1("people-import-see-row", "row", r)
        ),
        None => format!("{field}: {what}"),
    }
}

pub async fn form(_: Require<CreatePeople>, p: Page) -> AppResult<Response> {
    render(&ImportTpl {
        p: &p,
        error: None,
        report: None,
        lines: vec![],
        job: None,
        mode: "all".into(),
    })
}

pub async fn preview(
    State(state): State<AppState>,
    who: Require<CreatePeople>,
    p: Page,
    mut mp: Multipart,
) -> AppResult<Response> {
    let mut file = None;
    let mut mode = "all".to_owned();
    let mut invite = false;
    while let Some(field) = mp.next_field().await.map_err(crate::uploads::unreadable)? {
        match field.name() {
            Some("file") => file = Some(field.bytes().await.map_err(crate::uploads::unreadable)?),
            Some("invite") => invite = true,
            Some("mode") => mode = field.text().await.map_err(crate::uploads::unreadable)?,
            _ => {}
        }
    }
    let refuse = |key: &str, mode: String| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ImportTpl {
                p: &p,
                error: Some(p.t(key)),
                report: None,
                lines: vec![],
                job: None,
                mode,
            },
        )
    };
    let Some(mode_v) = Mode::parse(&mode) else {
        return refuse("people-import-err-mode", "all".into());
    };
    let bytes = match file {
        Some(b) if !b.is_empty() => b,
        _ => return refuse("people-import-err-empty", mode),
    };
    if bytes.len() > MAX_FILE {
        return refuse("people-import-err-size", mode);
    }
    // The parse is CPU-bound and sized by the file: off the async workers,
    // within the configured limits.
    let limits = import::Limits::of(&state.config);
    let parsed = {
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || import::read_limited(&bytes, &limits))
            .await
            .map_err(|e| AppError::Internal(format!("import parse: {e}")))?
    };
    let table = match parsed {
        Ok(t) => t,
        Err(e) => {
            let key = format!("people-import-err-{}", e.code());
            let message = match e.limit() {
                Some(max) => p.t1(&key, "max", max),
                None => p.t(&key),
            };
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ImportTpl {
                    p: &p,
                    error: Some(message),
                    report: None,
                    lines: vec![],
                    job: None,
                    mode,
                },
            );
        }
    };
    let reach = crate::people::scope::condition(&who.0, Backend::of(&state.db));
    let report = import::run_within(&state.db, &table, mode_v, true, reach).await?;
    let now = Utc::now();
    purge_previews(&state.db, now).await?;
    let payload = Payload {
        mode: mode.clone(),
        file: base64::engine::general_purpose::STANDARD.encode(&bytes),
        invite,
    };
    let job = jobs::ActiveModel {
        kind: Set("people-import".into()),
        state: Set("preview".into()),
        total: Set(table.rows.len() as i64),
        done: Set(0),
        payload: Set(
            serde_json::to_string(&payload).map_err(|e| AppError::Internal(e.to_string()))?
        ),
        created_by: Set(Some(who.user().id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let lines = report
        .rejected
        .iter()
        .map(|r| Line {
            row: r.row,
            errors: r
                .errors
                .iter()
                .map(|e| describe(&p, e))
                .collect::<Vec<_>>()
                .join(" · "),
        })
        .collect();
    let blocked = mode_v == Mode::All && !report.rejected.is_empty();
    render(&ImportTpl {
        p: &p,
        error: None,
        job: (!blocked && report.rejected.iter().all(|r| r.row != 1)).then_some(job.id),
        lines,
        report: Some(report),
        mode,
    })
}

/// Confirms a previewed import: the job is queued for the runner.
pub async fn confirm(
    State(state): State<AppState>,
    who: Require<CreatePeople>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let moved = jobs::Entity::update_many()
        .col_expr(jobs::Column::State, Expr::value("queued"))
        .col_expr(jobs::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(jobs::Column::Id.eq(id))
        .filter(jobs::Column::Kind.eq("people-import"))
        .filter(jobs::Column::State.eq("preview"))
        .filter(jobs::Column::CreatedBy.eq(who.user().id))
        .exec(&state.db)
        .await?
        .rows_affected;
    if moved != 1 {
        return Err(AppError::NotFound);
    }
    bulk::audit(
        &state.db,
        Some(who.user().id),
        "import",
        &format!("job {id}"),
        0,
    )
    .await?;
    state.jobs_wakeup.notify_one();
    Ok(Redirect::to(&format!("/admin/jobs/{id}")).into_response())
}

/// Runs a confirmed import; its report becomes the job's result.
pub async fn execute(state: &AppState, job: &jobs::Model) -> AppResult<String> {
    let db = &state.db;
    let payload: Payload = serde_json::from_str(&job.payload)
        .map_err(|e| AppError::Internal(format!("job {}: {e}", job.id)))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.file)
        .map_err(|e| AppError::Internal(format!("job {}: {e}", job.id)))?;
    let limits = import::Limits::of(&state.config);
    let table = tokio::task::spawn_blocking(move || import::read_limited(&bytes, &limits))
        .await
        .map_err(|e| AppError::Internal(format!("job {}: {e}", job.id)))?
        .map_err(|e| AppError::Internal(format!("job {}: {e}", job.id)))?;
    let mode = Mode::parse(&payload.mode).unwrap_or_default();
    // The scope of the user who confirmed it, as it is now.
    let reach = creator_reach(state, job.created_by).await?;
    let report = import::run_within(db, &table, mode, false, reach).await?;
    if payload.invite && !report.created_ids.is_empty() {
        let l = amicale_kernel::Locale::parse(&state.config.default_locale).unwrap_or_default();
        let txn = sea_orm::TransactionTrait::begin(db).await?;
        crate::people::accounts::invite(state, &txn, &report.created_ids, job.created_by, l)
            .await?;
        txn.commit().await?;
        state.outbox_wakeup.notify_one();
    }
    serde_json::to_string(&report).map_err(|e| AppError::Internal(e.to_string()))
}

/// How long an unconfirmed preview (and the file it holds) is kept.
const PREVIEW_LIFE: chrono::Duration = chrono::Duration::days(1);

/// Previews hold the whole uploaded file; those nobody confirmed within a
/// day are deleted, each time a new one is made.
async fn purge_previews(
    db: &sea_orm::DatabaseConnection,
    now: chrono::DateTime<Utc>,
) -> AppResult<u64> {
    Ok(jobs::Entity::delete_many()
        .filter(jobs::Column::Kind.eq("people-import"))
        .filter(jobs::Column::State.eq("preview"))
        .filter(jobs::Column::CreatedAt.lt(now - PREVIEW_LIFE))
        .exec(db)
        .await?
        .rows_affected)
}

/// The persons the job's creator may reach now (their People scope); nobody
/// when the creator is gone.
async fn creator_reach(state: &AppState, created_by: Option<i64>) -> AppResult<sea_orm::Condition> {
    use amicale_store::entities::{permission_profiles, users};
    let nobody = || sea_orm::Condition::all().add(Expr::cust("1 = 0"));
    let Some(id) = created_by else {
        return Ok(nobody());
    };
    let Some(user) = users::Entity::find_by_id(id).one(&state.db).await? else {
        return Ok(nobody());
    };
    let profile = match user.profile_id {
        Some(p) => permission_profiles::Entity::find_by_id(p)
            .one(&state.db)
            .await?
            .and_then(|p| serde_json::from_str(&p.matrix).ok()),
        None => None,
    };
    let who = crate::web::session::SessionUser {
        user,
        token_hash: String::new(),
        member: false,
        profile,
    };
    Ok(crate::people::scope::condition(
        &who,
        Backend::of(&state.db),
    ))
}
