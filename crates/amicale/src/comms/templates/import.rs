//! Import of JUNGO2 templates: one file, several, or a zip of them. Each is
//! converted to our syntax; a file with an unknown signet is refused with the
//! signet's name and place, never imported with a hole in it.

use std::io::{Cursor, Read};

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::AppState;
use crate::comms::templates::store::{self, TemplateInput};
use crate::comms::templates::{plaintext, sanitize};
use crate::error::AppResult;
use crate::uploads::clean_filename;
use crate::web::extract::{ManageTemplates, Require};
use crate::web::page::{Page, render as render_page, render_status};
use amicale_delivery::templates::model::{RecipientType, SendingMode, TemplateKind, Variant};
use amicale_delivery::templates::render;
use amicale_kernel::Locale;

const MAX_FILE: usize = 1024 * 1024;
const MAX_FILES: usize = 200;

pub struct Imported {
    pub id: i64,
    pub name: String,
}

pub struct Refused {
    pub file: String,
    pub reasons: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/templates/import.html")]
struct ImportTpl<'a> {
    p: &'a Page,
    done: bool,
    imported: Vec<Imported>,
    refused: Vec<Refused>,
}

pub async fn form(_: Require<ManageTemplates>, p: Page) -> AppResult<Response> {
    render_page(&ImportTpl {
        p: &p,
        done: false,
        imported: Vec::new(),
        refused: Vec::new(),
    })
}

/// UTF-8, or Windows-1252/Latin-1 as older exports are.
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.trim_start_matches('\u{feff}').to_owned(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// Splits "Objet : … Message : …" as JUNGO2 shows a template.
pub fn split_subject(text: &str) -> (Option<String>, String) {
    let trimmed = text.trim_start();
    for label in ["Objet :", "Objet:", "Sujet :", "Subject:"] {
        if let Some(rest) = trimmed.strip_prefix(label) {
            let (subject, body) = match rest.find("Message :").or_else(|| rest.find("Message:")) {
                Some(i) => {
                    let after = &rest[i..];
                    let body = after.split_once(':').map_or("", |(_, b)| b);
                    (rest[..i].trim().to_owned(), body.trim().to_owned())
                }
                None => match rest.split_once('\n') {
                    Some((s, b)) => (s.trim().to_owned(), b.trim().to_owned()),
                    None => (rest.trim().to_owned(), String::new()),
                },
            };
            return (Some(subject), body);
        }
    }
    (None, text.trim().to_owned())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Plain text becomes paragraphs; HTML is kept (and cleaned).
fn to_html(body: &str) -> String {
    if body.contains("</") || body.contains("<br") || body.contains("<p") {
        return sanitize::clean(body, false);
    }
    body.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim()).replace('\n', "<br>")))
        .collect()
}

fn files_in(name: &str, bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    if !name.to_ascii_lowercase().ends_with(".zip") {
        return Ok(vec![(name.to_owned(), decode(bytes))]);
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for i in 0..zip.len().min(MAX_FILES) {
        let mut f = zip.by_index(i).map_err(|e| e.to_string())?;
        let entry = clean_filename(&f.name().map_err(|e| e.to_string())?);
        let lower = entry.to_ascii_lowercase();
        if f.is_dir()
            || !(lower.ends_with(".txt") || lower.ends_with(".html") || lower.ends_with(".htm"))
        {
            continue;
        }
        // Read at most the limit whatever the archive claims (zip bombs).
        let mut buf = Vec::new();
        (&mut f)
            .take(MAX_FILE as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| e.to_string())?;
        if buf.len() > MAX_FILE {
            return Err(format!("{entry}: > 1 MB"));
        }
        out.push((entry, decode(&buf)));
    }
    Ok(out)
}

fn stem(name: &str) -> String {
    name.rsplit_once('.')
        .map_or(name, |(s, _)| s)
        .replace(['_', '-'], " ")
        .trim()
        .to_owned()
}

/// Converts and checks one JUNGO2 text; returns the template to create or the reasons.
pub fn prepare(name: &str, text: &str, ui: Locale) -> Result<TemplateInput, Vec<String>> {
    let (subject, body) = split_subject(text);
    let subject = subject.unwrap_or_else(|| stem(name));
    let conv_body = amicale_merge::jungo2::convert(&body);
    let conv_subject = amicale_merge::jungo2::convert(&subject);
    let mut reasons: Vec<String> = conv_subject
        .unknown
        .iter()
        .chain(conv_body.unknown.iter())
        .map(|u| {
            ui.t_args(
                "import-unknown-signet",
                &[
                    ("signet", u.signet.clone()),
                    ("line", u.line.to_string()),
                    ("column", u.column.to_string()),
                ],
            )
        })
        .collect();
    if !reasons.is_empty() {
        return Err(reasons);
    }
    let html = to_html(&conv_body.output);
    let uses_event = html.contains("event.")
        || html.contains("participant")
        || conv_subject.output.contains("event.");
    let modes = if uses_event {
        vec![SendingMode::EventPage, SendingMode::Automatic]
    } else {
        vec![SendingMode::Campaign, SendingMode::PersonPage]
    };
    let fr = Variant {
        subject: conv_subject.output.trim().to_owned(),
        text: plaintext::from_html(&html),
        body: html,
    };
    reasons.extend(
        render::check_variant(TemplateKind::Email, &fr, "fr", &modes, ui)
            .into_iter()
            .map(|e| e.message),
    );
    if fr.body.trim().is_empty() {
        reasons.push(ui.t("template-body-required"));
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    Ok(TemplateInput {
        name: stem(name).chars().take(200).collect(),
        active: true,
        recipient_types: vec![RecipientType::Member, RecipientType::Beneficiary],
        modes,
        fr,
        en: None,
        text_edited: false,
    })
}

/// Creates an e-mail template from the file, or from each file of a ZIP;
/// what cannot be read is refused with its reasons.
async fn import_file(
    state: &AppState,
    by: i64,
    l: Locale,
    name: String,
    bytes: &[u8],
) -> AppResult<(Vec<Imported>, Vec<Refused>)> {
    let (mut imported, mut refused) = (Vec::new(), Vec::new());
    let files = match files_in(&name, bytes) {
        Ok(f) => f,
        Err(e) => {
            refused.push(Refused {
                file: name,
                reasons: vec![e],
            });
            return Ok((imported, refused));
        }
    };
    for (file, text) in files {
        match prepare(&file, &text, l) {
            Ok(input) => {
                let id = store::create(&state.db, TemplateKind::Email, &input, Some(by)).await?;
                imported.push(Imported {
                    id,
                    name: input.name,
                });
            }
            Err(reasons) => refused.push(Refused { file, reasons }),
        }
    }
    Ok((imported, refused))
}

pub async fn import(
    State(state): State<AppState>,
    user: Require<ManageTemplates>,
    p: Page,
    mut mp: Multipart,
) -> AppResult<Response> {
    let mut imported = Vec::new();
    let mut refused = Vec::new();
    while let Some(field) = mp.next_field().await.map_err(crate::uploads::unreadable)? {
        if field.name() != Some("files") {
            continue;
        }
        let name = clean_filename(field.file_name().unwrap_or("template.txt"));
        let bytes = field.bytes().await.map_err(crate::uploads::unreadable)?;
        if bytes.is_empty() {
            continue;
        }
        let by = user.user().id;
        let (mut ok, mut no) = import_file(&state, by, p.locale, name, &bytes).await?;
        imported.append(&mut ok);
        refused.append(&mut no);
    }
    tracing::info!(
        imported = imported.len(),
        refused = refused.len(),
        "JUNGO2 import"
    );
    let status = if refused.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        status,
        &ImportTpl {
            p: &p,
            done: true,
            imported,
            refused,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::split_subject;

    #[test]
    fn subject_and_message() {
        let (s, b) = split_subject("Objet : Rappel réunion J-1 Message : <p>Bonjour</p>");
        assert_eq!(s.as_deref(), Some("Rappel réunion J-1"));
        assert_eq!(b, "<p>Bonjour</p>");
        let (s, b) = split_subject("Objet : Convocation\nBonjour,\nà demain");
        assert_eq!(s.as_deref(), Some("Convocation"));
        assert_eq!(b, "Bonjour,\nà demain");
        let (s, b) = split_subject("Bonjour");
        assert_eq!((s, b.as_str()), (None, "Bonjour"));
    }
}
