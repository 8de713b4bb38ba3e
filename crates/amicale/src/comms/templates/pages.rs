//! HTML handlers of the template library.

use askama::Template;
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::comms::templates::store::{self, AttachmentInfo, Counts, TemplateInput};
use crate::comms::templates::store::{Template as TemplateRow, Version};
use crate::comms::templates::{plaintext, sanitize};
use crate::error::{AppError, AppResult};
use crate::uploads;
use crate::web::extract::{ManageTemplates, Require, grants};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render as render_page, render_status};
use crate::web::session::SessionUser;
use amicale_delivery::outbox::{self, NewMail, Origin};
use amicale_delivery::templates::model::{
    RecipientType, SendingMode, TemplateKind, Variant, split,
};
use amicale_delivery::templates::render::{self, PartError};
use amicale_kernel::Locale;
use amicale_kernel::permissions::{Level, Module};

/// Each attachment may weigh this much at most.
pub const MAX_ATTACHMENT: usize = 2 * 1024 * 1024;

pub struct Choice {
    pub value: &'static str,
    pub label: String,
    pub checked: bool,
}

pub struct Row {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub active: bool,
    pub modes: String,
    pub updated: String,
    pub counts: Counts,
}

#[derive(Template)]
#[template(path = "admin/templates/list.html")]
struct ListTpl<'a> {
    p: &'a Page,
    rows: Vec<Row>,
    kind: String,
    active: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    kind: Option<String>,
    active: Option<String>,
}

fn local(state: &AppState, t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&state.tz)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

pub async fn list(
    State(state): State<AppState>,
    _: Require<ManageTemplates>,
    p: Page,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let kind = q.kind.as_deref().and_then(TemplateKind::parse);
    let active = match q.active.as_deref() {
        Some("1") => Some(true),
        Some("0") => Some(false),
        _ => None,
    };
    let mut rows = Vec::new();
    for t in store::list(&state.db, kind, active).await? {
        let modes = split(&t.sending_modes, SendingMode::parse)
            .into_iter()
            .map(|m| p.t(&format!("template-mode-{}", m.as_str())))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(Row {
            id: t.id,
            kind: TemplateKind::parse(&t.kind).map_or("email", TemplateKind::as_str),
            active: t.active,
            modes,
            updated: local(&state, t.updated_at),
            counts: store::counts(&state.db, t.id).await?,
            name: t.name,
        });
    }
    render_page(&ListTpl {
        p: &p,
        rows,
        kind: kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
        active: q.active.unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "admin/templates/form.html")]
pub struct FormTpl<'a> {
    p: &'a Page,
    id: Option<i64>,
    kind: TemplateKind,
    name: String,
    active: bool,
    types: Vec<Choice>,
    modes: Vec<Choice>,
    fr: Variant,
    en: Variant,
    text_edited: bool,
    errors: Vec<PartError>,
    saved: Option<i32>,
    version: Option<Version>,
    counts: Counts,
    can_delete: bool,
    attachments: Vec<AttachmentInfo>,
    upload_error: Option<String>,
    sms: Option<amicale_sms::Analysis>,
    audit: String,
}

impl FormTpl<'_> {
    pub fn error(&self, field: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn kind_str(&self) -> &'static str {
        self.kind.as_str()
    }

    pub fn is_sms(&self) -> bool {
        self.kind == TemplateKind::Sms
    }

    pub fn size_kb(&self, a: &AttachmentInfo) -> String {
        format!("{:.0}", (a.size as f64 / 1024.0).ceil())
    }
}

fn choices<T: Copy + PartialEq>(
    all: &[T],
    chosen: &[T],
    name: fn(T) -> &'static str,
    p: &Page,
    prefix: &str,
) -> Vec<Choice> {
    all.iter()
        .map(|t| Choice {
            value: name(*t),
            label: p.t(&format!("{prefix}-{}", name(*t))),
            checked: chosen.contains(t),
        })
        .collect()
}

/// What the form holds, as typed, and whether it can be saved.
struct Submitted {
    input: TemplateInput,
    errors: Vec<PartError>,
}

fn read_form(f: &FormPairs, kind: TemplateKind, ui: Locale) -> Submitted {
    let variant = |lang: &str| Variant {
        subject: f.get(&format!("subject_{lang}")).trim().to_owned(),
        body: f.get(&format!("body_{lang}")).to_owned(),
        text: f.get(&format!("text_{lang}")).to_owned(),
    };
    let fr = variant("fr");
    let en = variant("en");
    let input = TemplateInput {
        name: f.get("name").trim().to_owned(),
        active: f.has("active"),
        recipient_types: f
            .all("recipient_types")
            .into_iter()
            .filter_map(RecipientType::parse)
            .collect(),
        modes: f
            .all("sending_modes")
            .into_iter()
            .filter_map(SendingMode::parse)
            .collect(),
        en: (!en.is_blank()).then_some(en),
        fr,
        text_edited: f.has("text_edited"),
    };
    let mut errors = Vec::new();
    let mut need = |ok: bool, field: &'static str, key: &str| {
        if !ok {
            errors.push(PartError {
                field,
                message: ui.t(key),
            });
        }
    };
    need(!input.name.is_empty(), "name", "template-name-required");
    need(
        input.name.chars().count() <= 200,
        "name",
        "template-name-too-long",
    );
    need(
        !input.recipient_types.is_empty(),
        "recipient_types",
        "template-types-required",
    );
    need(
        !input.modes.is_empty(),
        "sending_modes",
        "template-modes-required",
    );
    need(
        !input.fr.body.trim().is_empty(),
        "body_fr",
        "template-body-required",
    );
    if kind.is_html() {
        need(
            !input.fr.subject.is_empty(),
            "subject_fr",
            "template-subject-required",
        );
    }
    if let Some(en) = &input.en {
        need(
            !en.body.trim().is_empty(),
            "body_en",
            "template-body-required",
        );
        if kind.is_html() {
            need(
                !en.subject.is_empty(),
                "subject_en",
                "template-subject-required",
            );
        }
    }
    Submitted { input, errors }
}

/// Cleans the HTML, derives the text parts, checks the merge fields.
fn finish(mut s: Submitted, kind: TemplateKind, ui: Locale) -> Submitted {
    if !s.errors.is_empty() {
        return s;
    }
    let text_edited = s.input.text_edited;
    let prepare = |v: &mut Variant| {
        if kind.is_html() {
            v.body = sanitize::clean(&v.body, false);
            if !text_edited || v.text.trim().is_empty() {
                v.text = plaintext::from_html(&v.body);
            }
        } else {
            v.text.clear();
            v.subject.clear();
        }
    };
    prepare(&mut s.input.fr);
    if let Some(en) = s.input.en.as_mut() {
        prepare(en);
    }
    s.errors.extend(render::check_variant(
        kind,
        &s.input.fr,
        "fr",
        &s.input.modes,
        ui,
    ));
    if let Some(en) = &s.input.en {
        s.errors
            .extend(render::check_variant(kind, en, "en", &s.input.modes, ui));
    }
    s
}

#[derive(Deserialize)]
pub struct NewQuery {
    kind: Option<String>,
}

fn blank_form<'a>(p: &'a Page, kind: TemplateKind) -> FormTpl<'a> {
    FormTpl {
        p,
        id: None,
        kind,
        name: String::new(),
        active: true,
        types: choices(
            &RecipientType::ALL,
            &[RecipientType::Member],
            RecipientType::as_str,
            p,
            "template-type",
        ),
        modes: choices(
            &SendingMode::ALL,
            &[],
            SendingMode::as_str,
            p,
            "template-mode",
        ),
        fr: Variant::default(),
        en: Variant::default(),
        text_edited: false,
        errors: Vec::new(),
        saved: None,
        version: None,
        counts: Counts::default(),
        can_delete: false,
        attachments: Vec::new(),
        upload_error: None,
        sms: None,
        audit: String::new(),
    }
}

pub async fn new_form(
    _: Require<ManageTemplates>,
    p: Page,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let kind = q
        .kind
        .as_deref()
        .and_then(TemplateKind::parse)
        .unwrap_or(TemplateKind::Email);
    render_page(&blank_form(&p, kind))
}

fn with_input<'a>(mut tpl: FormTpl<'a>, input: &TemplateInput) -> FormTpl<'a> {
    tpl.name = input.name.clone();
    tpl.active = input.active;
    tpl.types = choices(
        &RecipientType::ALL,
        &input.recipient_types,
        RecipientType::as_str,
        tpl.p,
        "template-type",
    );
    tpl.modes = choices(
        &SendingMode::ALL,
        &input.modes,
        SendingMode::as_str,
        tpl.p,
        "template-mode",
    );
    tpl.fr = input.fr.clone();
    tpl.en = input.en.clone().unwrap_or_default();
    tpl.text_edited = input.text_edited;
    tpl
}

pub async fn create(
    State(state): State<AppState>,
    user: Require<ManageTemplates>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let kind = TemplateKind::parse(f.get("kind")).ok_or(AppError::BadInput("kind"))?;
    let typed = read_form(&f, kind, p.locale);
    let raw = typed.input.clone();
    let done = finish(typed, kind, p.locale);
    if !done.errors.is_empty() {
        let mut tpl = with_input(blank_form(&p, kind), &raw);
        tpl.errors = done.errors;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl);
    }
    let id = store::create(&state.db, kind, &done.input, Some(user.user().id)).await?;
    tracing::info!(template = id, user = user.user().id, "template created");
    Ok(Redirect::to(&format!("/admin/templates/{id}?saved=1")).into_response())
}

#[derive(Deserialize)]
pub struct EditQuery {
    saved: Option<i32>,
}

async fn edit_page<'a>(
    state: &AppState,
    p: &'a Page,
    t: TemplateRow,
    v: Version,
) -> AppResult<FormTpl<'a>> {
    let kind = TemplateKind::of(&t);
    let mut tpl = with_input(blank_form(p, kind), &TemplateInput::of(&t, &v));
    tpl.id = Some(t.id);
    tpl.counts = store::counts(&state.db, t.id).await?;
    tpl.can_delete = tpl.counts.scheduled == 0;
    tpl.attachments = store::attachments(&state.db, t.id).await?;
    if kind == TemplateKind::Sms {
        tpl.sms = Some(sms_sample(state, &v.body_fr, p.locale));
    }
    let who = |id| store::user_name(&state.db, id);
    tpl.audit = p.locale.t_args(
        "template-audit",
        &[
            ("created", local(state, t.created_at)),
            ("creator", who(t.created_by).await?),
            ("updated", local(state, t.updated_at)),
            ("editor", who(t.updated_by).await?),
            ("version", v.number.to_string()),
        ],
    );
    tpl.version = Some(v);
    Ok(tpl)
}

/// Segments of an SMS template once its fields hold sample values.
fn sms_sample(state: &AppState, body: &str, l: Locale) -> amicale_sms::Analysis {
    let ctx = amicale_merge::catalogue::sample_context(render::merge_locale(l));
    let text = state
        .merge
        .render(
            body,
            amicale_merge::Kind::Text,
            render::merge_locale(l),
            &ctx,
        )
        .unwrap_or_else(|_| body.to_owned());
    amicale_sms::analyse(&text)
}

pub async fn edit_form(
    State(state): State<AppState>,
    _: Require<ManageTemplates>,
    p: Page,
    Path(id): Path<i64>,
    Query(q): Query<EditQuery>,
) -> AppResult<Response> {
    let (t, v) = store::get(&state.db, id).await?;
    let mut tpl = edit_page(&state, &p, t, v).await?;
    tpl.saved = q.saved;
    render_page(&tpl)
}

pub async fn save(
    State(state): State<AppState>,
    user: Require<ManageTemplates>,
    p: Page,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let (t, v) = store::get(&state.db, id).await?;
    let kind = TemplateKind::of(&t);
    let typed = read_form(&f, kind, p.locale);
    let raw = typed.input.clone();
    let done = finish(typed, kind, p.locale);
    if !done.errors.is_empty() {
        let tpl = edit_page(&state, &p, t, v).await?;
        let mut tpl = with_input(tpl, &raw);
        tpl.errors = done.errors;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl);
    }
    let number = store::update(&state.db, id, &done.input, Some(user.user().id)).await?;
    tracing::info!(template = id, version = number, "template saved");
    Ok(Redirect::to(&format!("/admin/templates/{id}?saved={number}")).into_response())
}

pub async fn set_active(
    State(state): State<AppState>,
    user: Require<ManageTemplates>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    store::set_active(&state.db, id, f.get("active") == "1", Some(user.user().id)).await?;
    Ok(Redirect::to(&format!("/admin/templates/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "admin/templates/refused.html")]
struct RefusedTpl<'a> {
    p: &'a Page,
    id: i64,
    message: String,
}

pub async fn delete(
    State(state): State<AppState>,
    _: Require<ManageTemplates>,
    p: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    if store::delete(&state.db, id).await? {
        tracing::info!(template = id, "template deleted");
        Ok(Redirect::to("/admin/templates").into_response())
    } else {
        render_status(
            StatusCode::CONFLICT,
            &RefusedTpl {
                p: &p,
                id,
                message: p.t("template-delete-refused"),
            },
        )
    }
}

#[derive(Deserialize, Default)]
pub struct PreviewQuery {
    person: Option<i64>,
    lang: Option<String>,
    q: Option<String>,
    sent: Option<String>,
}

pub struct PersonChoice {
    pub id: i64,
    pub name: String,
}

#[derive(Template)]
#[template(path = "admin/templates/preview.html")]
struct PreviewTpl<'a> {
    p: &'a Page,
    t: TemplateRow,
    kind: TemplateKind,
    person: Option<i64>,
    person_name: Option<String>,
    lang: &'static str,
    q: String,
    matches: Vec<PersonChoice>,
    rendered: Option<render::Rendered>,
    error: Option<String>,
    sms: Option<amicale_sms::Analysis>,
    sent: bool,
    frame_query: String,
}

/// The persons a template author may preview with: those of their People
/// scope, and nobody without the right to consult person records (the
/// preview would show any person's data to a template author).
fn preview_reach(s: &SessionUser, state: &AppState) -> Option<sea_orm::Condition> {
    grants(s, Module::People, Level::Consult)
        .then(|| crate::people::scope::condition(s, amicale_store::Backend::of(&state.db)))
}

/// `person` when the user may see it; the sample person otherwise.
async fn reachable(
    state: &AppState,
    s: &SessionUser,
    person: Option<i64>,
) -> AppResult<Option<i64>> {
    let (Some(id), Some(reach)) = (person, preview_reach(s, state)) else {
        return Ok(None);
    };
    store::person_within(&state.db, reach, id).await
}

async fn default_person(state: &AppState, s: &SessionUser) -> AppResult<Option<i64>> {
    let Some(reach) = preview_reach(s, state) else {
        return Ok(None);
    };
    store::first_person_within(&state.db, reach).await
}

async fn search_people(state: &AppState, s: &SessionUser, q: &str) -> AppResult<Vec<PersonChoice>> {
    let q = q.trim();
    let Some(reach) = preview_reach(s, state) else {
        return Ok(Vec::new());
    };
    if q.is_empty() {
        return Ok(Vec::new());
    }
    Ok(store::persons_matching(&state.db, reach, q)
        .await?
        .into_iter()
        .map(|(id, name)| PersonChoice { id, name })
        .collect())
}

fn preview_locale(lang: Option<&str>, p: &Page) -> Locale {
    lang.and_then(Locale::parse).unwrap_or(p.locale)
}

/// A template's current version rendered for `person` (samples when None)
/// in language `l`, with the person's name — what the preview page, its
/// frames and "send a test to me" all show.
async fn render_for(
    state: &AppState,
    id: i64,
    person: Option<i64>,
    who: &SessionUser,
    l: Locale,
) -> AppResult<(
    TemplateRow,
    i64,
    Result<render::Rendered, amicale_merge::MergeError>,
    Option<String>,
)> {
    let (t, v) = store::get(&state.db, id).await?;
    let person = reachable(state, who, person).await?;
    let (ctx, name) = render::context(state, person, &who.user, l).await?;
    let rendered = render::render(
        state,
        TemplateKind::of(&t),
        &render::variant_for(&v, l),
        &ctx,
        l,
    );
    Ok((t, v.id, rendered, name))
}

pub async fn preview(
    State(state): State<AppState>,
    user: Require<ManageTemplates>,
    p: Page,
    Path(id): Path<i64>,
    Query(q): Query<PreviewQuery>,
) -> AppResult<Response> {
    let l = preview_locale(q.lang.as_deref(), &p);
    let person = match q.person {
        Some(id) => Some(id),
        None => default_person(&state, &user.0).await?,
    };
    let person = reachable(&state, &user.0, person).await?;
    let (t, _, result, person_name) = render_for(&state, id, person, &user.0, l).await?;
    let kind = TemplateKind::of(&t);
    let (rendered, error) = match result {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let sms = match (&rendered, kind) {
        (Some(r), TemplateKind::Sms) => Some(amicale_sms::analyse(&r.text)),
        _ => None,
    };
    let frame_query = format!(
        "lang={}{}",
        l.code(),
        person.map(|id| format!("&person={id}")).unwrap_or_default()
    );
    render_page(&PreviewTpl {
        matches: search_people(&state, &user.0, q.q.as_deref().unwrap_or("")).await?,
        q: q.q.unwrap_or_default(),
        p: &p,
        t,
        kind,
        person,
        person_name,
        lang: l.code(),
        rendered,
        error,
        sms,
        sent: q.sent.is_some(),
        frame_query,
    })
}

/// The rendered HTML alone, for the sandboxed preview frames.
pub async fn preview_frame(
    State(state): State<AppState>,
    user: Require<ManageTemplates>,
    p: Page,
    Path(id): Path<i64>,
    Query(q): Query<PreviewQuery>,
) -> AppResult<Response> {
    let l = preview_locale(q.lang.as_deref(), &p);
    let (_, _, result, _) = render_for(&state, id, q.person, &user.0, l).await?;
    let html = result.ok().and_then(|r| r.html).unwrap_or_default();
    Ok(sandboxed_html(html))
}

/// An e-mail's HTML shown inside our pages: in a sandboxed frame whose policy
/// forbids scripts and every outside resource (no tracking pixel fires from
/// an administrator's preview), whatever the message holds.
pub fn sandboxed_html(html: String) -> Response {
    let mut res = html.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'",
        ),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    res
}

/// "Send a test to me": the rendering for the chosen person goes to the
/// signed-in user's own address, never to the person.
pub async fn send_test(
    State(state): State<AppState>,
    user: Require<ManageTemplates>,
    p: Page,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let l = preview_locale(Some(f.get("lang")), &p);
    let person = f.get("person").parse::<i64>().ok();
    let (t, version_id, result, _) = render_for(&state, id, person, &user.0, l).await?;
    let kind = TemplateKind::of(&t);
    let r = result.map_err(|e| AppError::Internal(format!("template: {e}")))?;
    let (subject, text, html) = match kind {
        TemplateKind::Sms => (format!("[TEST SMS] {}", t.name), r.text, None),
        _ => (format!("[TEST] {}", r.subject), r.text, r.html),
    };
    let mut mail = NewMail {
        recipient: user.user().email.clone(),
        subject,
        text,
        html,
        origin: Origin::Test,
        origin_id: Some(t.id),
    };
    mail.subject.truncate(900);
    outbox::enqueue_version(
        &state.db,
        mail,
        state.mail_from.email.domain(),
        Some(version_id),
    )
    .await?;
    state.outbox_wakeup.notify_one();
    let back = format!(
        "/admin/templates/{id}/preview?lang={}{}&sent=1",
        l.code(),
        person.map(|p| format!("&person={p}")).unwrap_or_default()
    );
    Ok(Redirect::to(&back).into_response())
}

pub async fn upload(
    State(state): State<AppState>,
    _: Require<ManageTemplates>,
    p: Page,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> AppResult<Response> {
    let (t, v) = store::get(&state.db, id).await?;
    let mut problems = Vec::new();
    while let Some(field) = mp.next_field().await.map_err(crate::uploads::unreadable)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = uploads::clean_filename(field.file_name().unwrap_or("file"));
        let bytes = field.bytes().await.map_err(crate::uploads::unreadable)?;
        if bytes.is_empty() && name == "file" {
            continue;
        }
        match uploads::check(&name, &bytes, MAX_ATTACHMENT) {
            Ok(kind) => {
                store::add_attachment(&state.db, id, &name, kind.mime, bytes.to_vec()).await?;
            }
            Err(why) => problems.push(format!("{name}: {}", p.t1(why.key(), "max", "2"))),
        }
    }
    if problems.is_empty() {
        return Ok(Redirect::to(&format!("/admin/templates/{id}#attachments")).into_response());
    }
    let mut tpl = edit_page(&state, &p, t, v).await?;
    tpl.upload_error = Some(problems.join(" "));
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl)
}

pub async fn download(
    State(state): State<AppState>,
    _: Require<ManageTemplates>,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let a = store::attachment(&state.db, id, aid).await?;
    let mut res = a.data.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&a.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let disposition = format!(
        "attachment; filename=\"{}\"",
        a.filename.replace(|c: char| !c.is_ascii() || c == '"', "_")
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

pub async fn remove_attachment(
    State(state): State<AppState>,
    _: Require<ManageTemplates>,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    store::delete_attachment(&state.db, id, aid).await?;
    Ok(Redirect::to(&format!("/admin/templates/{id}#attachments")).into_response())
}

#[derive(Deserialize)]
pub struct CountQuery {
    text: Option<String>,
}

/// Live SMS counter for the editor (progressive enhancement): the same
/// counting as the server's, from `amicale-sms`, on sample values.
pub async fn sms_count(
    State(state): State<AppState>,
    _: Require<ManageTemplates>,
    p: Page,
    Query(q): Query<CountQuery>,
) -> Json<serde_json::Value> {
    let a = sms_sample(&state, q.text.as_deref().unwrap_or(""), p.locale);
    Json(serde_json::json!({
        "encoding": a.encoding.as_str(),
        "characters": a.characters,
        "segments": a.segments,
        "remaining": a.remaining,
        "label": p.locale.t_args("sms-count", &[
            ("characters", a.characters.to_string()),
            ("segments", a.segments.to_string()),
            ("encoding", a.encoding.as_str().to_uppercase()),
        ]),
    }))
}

pub struct FieldRow {
    pub code: String,
    pub description: &'static str,
    pub example: &'static str,
    pub ty: String,
    pub triggers: String,
}

#[derive(Template)]
#[template(path = "admin/templates/merge_fields.html")]
struct FieldsTpl<'a> {
    p: &'a Page,
    groups: Vec<(String, Vec<FieldRow>)>,
}

pub async fn merge_fields(_: Require<ManageTemplates>, p: Page) -> AppResult<Response> {
    let mut groups: Vec<(String, Vec<FieldRow>)> = Vec::new();
    for f in amicale_merge::catalogue::all() {
        let code = if f.namespace.is_empty() {
            format!("{{{{ {} }}}}", f.name)
        } else {
            format!("{{{{ {}.{} }}}}", f.namespace, f.name)
        };
        let row = FieldRow {
            code,
            description: if p.locale == Locale::Fr { f.fr } else { f.en },
            example: f.example,
            ty: format!("{:?}", f.ty).to_lowercase(),
            triggers: f
                .triggers
                .iter()
                .map(|t| {
                    p.t(&format!(
                        "template-trigger-{}",
                        format!("{t:?}").to_lowercase()
                    ))
                })
                .collect::<Vec<_>>()
                .join(", "),
        };
        let ns = if f.namespace.is_empty() {
            "links".to_owned()
        } else {
            f.namespace.to_owned()
        };
        match groups.iter_mut().find(|(n, _)| *n == ns) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((ns, vec![row])),
        }
    }
    render_page(&FieldsTpl { p: &p, groups })
}
