//! The operations of the import: a preview made from an uploaded file,
//! its confirmation, and the run of the confirmed job.

use base64::Engine;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use serde::{Deserialize, Serialize};

use super::store;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::bulk;
use crate::people::import::{self, ImportError, Mode, Report};
use crate::web::session::SessionUser;
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
    /// The role given to rows without one (empty: none).
    #[serde(default)]
    pub role: String,
}

/// What the upload form sent.
pub struct Upload {
    pub file: Option<Vec<u8>>,
    pub mode: String,
    pub invite: bool,
    /// The role for rows without one, as posted (empty: none).
    pub role: String,
}

/// The role for rows without one: none when blank, else a known role.
fn default_role(posted: &str) -> Result<Option<amicale_people::CommunityRole>, Refused> {
    match posted.trim() {
        "" => Ok(None),
        r => amicale_people::CommunityRole::parse(r)
            .map(Some)
            .map_err(|_| Refused::Role),
    }
}

/// Why no preview was made.
pub enum Refused {
    /// Not a known import mode.
    Mode,
    /// Not a known role.
    Role,
    /// No file, or an empty one.
    Empty,
    /// Larger than `MAX_FILE`.
    Size,
    /// The file could not be read as a table.
    Read(ImportError),
}

/// A preview made: what the import would do, and the job that waits for
/// its confirmation.
pub struct Preview {
    pub report: Report,
    pub job: i64,
    pub mode: Mode,
    /// Rows that will leave a person without a role.
    pub without_role: usize,
}

/// Checks the file as a dry run within the user's scope and stores it in
/// a job waiting for confirmation.
pub async fn preview(
    state: &AppState,
    who: &SessionUser,
    upload: Upload,
) -> AppResult<Result<Preview, Refused>> {
    let Some(mode_v) = Mode::parse(&upload.mode) else {
        return Ok(Err(Refused::Mode));
    };
    let role = match default_role(&upload.role) {
        Ok(r) => r,
        Err(refused) => return Ok(Err(refused)),
    };
    let bytes = match upload.file {
        Some(b) if !b.is_empty() => b,
        _ => return Ok(Err(Refused::Empty)),
    };
    if bytes.len() > MAX_FILE {
        return Ok(Err(Refused::Size));
    }
    // The parse is CPU-bound and sized by the file: off the async workers,
    // within the configured limits.
    let limits = import::Limits::of(&state.config);
    let (bytes, parsed) = tokio::task::spawn_blocking(move || {
        let parsed = import::read_limited(&bytes, &limits);
        (bytes, parsed)
    })
    .await
    .map_err(|e| AppError::Internal(format!("import parse: {e}")))?;
    let mut table = match parsed {
        Ok(t) => t,
        Err(e) => return Ok(Err(Refused::Read(e))),
    };
    if let Some(r) = role {
        table.default_role(r);
    }
    let without_role = table.without_role();
    let reach = crate::people::scope::condition(who, Backend::of(&state.db));
    let report = import::run_within(&state.db, &table, mode_v, true, reach).await?;
    let now = Utc::now();
    purge_previews(&state.db, now).await?;
    let payload = Payload {
        mode: upload.mode,
        file: base64::engine::general_purpose::STANDARD.encode(&bytes),
        invite: upload.invite,
        role: upload.role,
    };
    let job = store::insert_preview(
        &state.db,
        table.rows.len() as i64,
        serde_json::to_string(&payload).map_err(|e| AppError::Internal(e.to_string()))?,
        who.user.id,
        now,
    )
    .await?;
    Ok(Ok(Preview {
        report,
        job: job.id,
        mode: mode_v,
        without_role,
    }))
}

/// Confirms a previewed import of the user's: the job is queued for the
/// runner.
pub async fn confirm(state: &AppState, by: i64, id: i64) -> AppResult<()> {
    let moved = store::queue_preview(&state.db, id, by).await?;
    if moved != 1 {
        return Err(AppError::NotFound);
    }
    bulk::audit(&state.db, Some(by), "import", &format!("job {id}"), 0).await?;
    state.jobs_wakeup.notify_one();
    Ok(())
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
    let mut table = tokio::task::spawn_blocking(move || import::read_limited(&bytes, &limits))
        .await
        .map_err(|e| AppError::Internal(format!("job {}: {e}", job.id)))?
        .map_err(|e| AppError::Internal(format!("job {}: {e}", job.id)))?;
    // Checked when the preview was made.
    if let Ok(Some(r)) = default_role(&payload.role) {
        table.default_role(r);
    }
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
    store::delete_previews(db, now - PREVIEW_LIFE).await
}

/// The persons the job's creator may reach now (their People scope); nobody
/// when the creator is gone.
async fn creator_reach(state: &AppState, created_by: Option<i64>) -> AppResult<sea_orm::Condition> {
    let nobody = || sea_orm::Condition::all().add(Expr::cust("1 = 0"));
    let Some(id) = created_by else {
        return Ok(nobody());
    };
    let Some(user) = store::user(&state.db, id).await? else {
        return Ok(nobody());
    };
    let profile = match user.profile_id {
        Some(p) => store::profile(&state.db, p)
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
