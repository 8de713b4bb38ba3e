//! The pages of the import: the upload form, the preview and its
//! confirmation.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::service::{self, Preview, Refused, Upload};
use crate::app::AppState;
use crate::error::AppResult;
use crate::people::import::{self, Mode, Report};
use crate::web::extract::{CreatePeople, Require};
use crate::web::page::{Page, render, render_status};

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
    /// The role for rows without one, as chosen.
    role: String,
    /// Rows of the previewed file that leave a person without a role.
    without_role: usize,
}

impl ImportTpl<'_> {
    fn roles(&self) -> &'static [amicale_people::CommunityRole] {
        amicale_people::CommunityRole::ALL
    }
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

/// Every rejected row with its errors.
fn lines(p: &Page, report: &Report) -> Vec<Line> {
    report
        .rejected
        .iter()
        .map(|r| Line {
            row: r.row,
            errors: r
                .errors
                .iter()
                .map(|e| describe(p, e))
                .collect::<Vec<_>>()
                .join(" · "),
        })
        .collect()
}

pub async fn form(_: Require<CreatePeople>, p: Page) -> AppResult<Response> {
    render(&ImportTpl {
        p: &p,
        error: None,
        report: None,
        lines: vec![],
        job: None,
        mode: "all".into(),
        // Most people a network imports are its alumni.
        role: "alumni".into(),
        without_role: 0,
    })
}

/// Reads the upload form: the file, the mode and whether to invite.
async fn upload(mut mp: Multipart) -> AppResult<Upload> {
    let mut file = None;
    let mut mode = "all".to_owned();
    let mut invite = false;
    let mut role = String::new();
    while let Some(field) = mp.next_field().await.map_err(crate::uploads::unreadable)? {
        match field.name() {
            Some("file") => {
                file = Some(Vec::from(
                    field.bytes().await.map_err(crate::uploads::unreadable)?,
                ))
            }
            Some("invite") => invite = true,
            Some("mode") => mode = field.text().await.map_err(crate::uploads::unreadable)?,
            Some("role") => role = field.text().await.map_err(crate::uploads::unreadable)?,
            _ => {}
        }
    }
    Ok(Upload {
        file,
        mode,
        invite,
        role,
    })
}

/// The message shown for a refused upload, and the mode the form keeps.
fn refusal(p: &Page, refused: Refused, mode: String) -> (String, String) {
    match refused {
        Refused::Mode => (p.t("people-import-err-mode"), "all".into()),
        Refused::Role => (p.t("people-import-err-role"), mode),
        Refused::Empty => (p.t("people-import-err-empty"), mode),
        Refused::Size => (p.t("people-import-err-size"), mode),
        Refused::Read(e) => {
            let key = format!("people-import-err-{}", e.code());
            let message = match e.limit() {
                Some(max) => p.t1(&key, "max", max),
                None => p.t(&key),
            };
            (message, mode)
        }
    }
}

pub async fn preview(
    State(state): State<AppState>,
    who: Require<CreatePeople>,
    p: Page,
    mp: Multipart,
) -> AppResult<Response> {
    let upload = upload(mp).await?;
    let mode = upload.mode.clone();
    let role = upload.role.clone();
    let Preview {
        report,
        job,
        mode: mode_v,
        without_role,
    } = match service::preview(&state, &who.0, upload).await? {
        Ok(made) => made,
        Err(refused) => {
            let (message, mode) = refusal(&p, refused, mode);
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ImportTpl {
                    p: &p,
                    error: Some(message),
                    report: None,
                    lines: vec![],
                    job: None,
                    mode,
                    role,
                    without_role: 0,
                },
            );
        }
    };
    let lines = lines(&p, &report);
    let blocked = mode_v == Mode::All && !report.rejected.is_empty();
    render(&ImportTpl {
        p: &p,
        error: None,
        job: (!blocked && report.rejected.iter().all(|r| r.row != 1)).then_some(job),
        lines,
        report: Some(report),
        mode,
        role,
        without_role,
    })
}

/// Confirms a previewed import: the job is queued for the runner.
pub async fn confirm(
    State(state): State<AppState>,
    who: Require<CreatePeople>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    service::confirm(&state, who.user().id, id).await?;
    Ok(Redirect::to(&format!("/admin/jobs/{id}")).into_response())
}
