//! Administration of automatic rules: the list (a rule whose template
//! is inactive shows in red), the form, and the test: a dry run for a day
//! with each recipient's rendered message, and "send the test to me".

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use crate::app::AppState;
use crate::comms::templates::store as tstore;
use crate::comms::templates::store::Template as TemplateRow;
use crate::error::{AppError, AppResult};
use crate::events::model::{Mode, Nature, Offset, Presence};
use crate::events::rules::{self as engine, RuleInput, Skip};
use crate::events::store::{self, Rule};
use crate::people::crm::Opt;
use crate::web::extract::{ManageSends, Require, ViewPeople};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render as render_page, render_status};
use amicale_delivery::templates::model::{self as tmodel, SendingMode, TemplateKind};
use amicale_kernel::SendChannel;

pub struct RuleRow {
    pub id: i64,
    pub name: String,
    pub filters: String,
    pub channel: String,
    pub template: String,
    pub offset: String,
    pub active: bool,
    /// Why the rule cannot send (template inactive…): shown in red.
    pub problem: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "events/rules.html")]
struct ListTpl<'a> {
    p: &'a Page,
    rows: Vec<RuleRow>,
}

fn describe(p: &Page, r: &Rule, programmes: &[Opt]) -> String {
    let mut parts = Vec::new();
    if !r.nature.is_empty() {
        parts.push(p.t(&format!("event-nature-{}", r.nature)));
    }
    if !r.event_type.is_empty() {
        parts.push(r.event_type.clone());
    }
    if let Some(pid) = r.programme_id
        && let Some(o) = programmes.iter().find(|o| o.value == pid.to_string())
    {
        parts.push(o.label.clone());
    }
    if !r.step.is_empty() {
        parts.push(r.step.clone());
    }
    if !r.mode.is_empty() {
        parts.push(p.t(&format!("event-mode-{}", r.mode)));
    }
    if !r.presence.is_empty() {
        parts.push(p.t(&format!("presence-{}", r.presence)));
    }
    match r.confirmed.as_str() {
        "yes" => parts.push(p.t("rule-confirmed-yes")),
        "no" => parts.push(p.t("rule-confirmed-no")),
        _ => {}
    }
    if parts.is_empty() {
        p.t("rule-all-events")
    } else {
        parts.join(" · ")
    }
}

pub async fn list(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    p: Page,
) -> AppResult<Response> {
    let programmes = store::programme_choices(&state).await?;
    let rows = engine::load_all(&state.db, false)
        .await?
        .into_iter()
        .map(|l| RuleRow {
            id: l.rule.id,
            filters: describe(&p, &l.rule, &programmes),
            channel: l.rule.channel.clone(),
            template: l.template.name.clone(),
            offset: Offset::new(l.rule.offset_days)
                .map(|o| o.label())
                .unwrap_or_default(),
            active: l.rule.active,
            problem: l.usable.err().map(Skip::as_str),
            name: l.rule.name,
        })
        .collect();
    render_page(&ListTpl { p: &p, rows })
}

#[derive(Template)]
#[template(path = "events/rule_form.html")]
struct FormTpl<'a> {
    p: &'a Page,
    id: Option<i64>,
    f: FormPairs,
    errors: Vec<(String, String)>,
    programmes: Vec<Opt>,
    templates: Vec<TemplateRow>,
    types: Vec<String>,
    steps: Vec<String>,
}

impl FormTpl<'_> {
    fn v(&self, name: &str) -> String {
        self.f.get(name).to_owned()
    }
    fn error(&self, name: &str) -> String {
        self.errors
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

async fn form_page(
    state: &AppState,
    p: &Page,
    id: Option<i64>,
    f: FormPairs,
    errors: Vec<(String, String)>,
) -> AppResult<Response> {
    let tpl = FormTpl {
        p,
        id,
        f,
        programmes: store::programme_choices(state).await?,
        templates: tstore::automatic(&state.db).await?,
        types: store::event_types(&state.db).await?,
        steps: store::steps(&state.db).await?,
        errors,
    };
    if tpl.errors.is_empty() {
        render_page(&tpl)
    } else {
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl)
    }
}

fn form_of(r: &Rule) -> FormPairs {
    let mut v: Vec<(String, String)> = vec![
        ("name".into(), r.name.clone()),
        ("nature".into(), r.nature.clone()),
        ("event_type".into(), r.event_type.clone()),
        (
            "programme".into(),
            r.programme_id.map(|i| i.to_string()).unwrap_or_default(),
        ),
        ("step".into(), r.step.clone()),
        ("mode".into(), r.mode.clone()),
        ("presence".into(), r.presence.clone()),
        ("confirmed".into(), r.confirmed.clone()),
        ("channel".into(), r.channel.clone()),
        ("template".into(), r.template_id.to_string()),
        ("offset".into(), r.offset_days.to_string()),
    ];
    if !r.active {
        v.push(("inactive".into(), "1".into()));
    }
    FormPairs(v)
}

async fn parse(
    state: &AppState,
    p: &Page,
    f: &FormPairs,
) -> AppResult<Result<RuleInput, Vec<(String, String)>>> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, key: &str| errors.push((field.to_owned(), p.t(key)));
    let name = f.get("name").trim().to_owned();
    check_lengths(f, &name, &mut bad);
    let nature = optional(f, "nature", Nature::parse, &mut bad);
    let mode = optional(f, "mode", Mode::parse, &mut bad);
    let presence = optional(f, "presence", Presence::parse, &mut bad);
    let confirmed = yes_no(f.get("confirmed"));
    let programme_id = optional(f, "programme", |s| s.parse::<i64>().ok(), &mut bad);
    let channel = SendChannel::parse(f.get("channel"));
    let sms_ready = amicale_delivery::sms::account::configured(&state.db).await?;
    check_channel(channel, sms_ready, &mut bad);
    let offset = Offset::parse(f.get("offset"));
    if offset.is_none() {
        bad("offset", "rule-err-offset");
    }
    let template = match f.get("template").parse::<i64>() {
        Ok(tid) => tstore::find(&state.db, tid).await?,
        Err(_) => None,
    };
    check_template(template.as_ref(), channel, &mut bad);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let (Some(channel), Some(offset), Some(template)) = (channel, offset, template) else {
        return Ok(Err(vec![("name".into(), p.t("err-invalid"))]));
    };
    Ok(Ok(RuleInput {
        name,
        nature,
        event_type: f.get("event_type").trim().to_owned(),
        programme_id,
        step: f.get("step").trim().to_owned(),
        mode,
        presence,
        confirmed,
        channel,
        template_id: template.id,
        offset,
        active: !f.has("inactive"),
    }))
}

/// The name is required; it and the free-text filters have a length limit.
fn check_lengths(f: &FormPairs, name: &str, bad: &mut impl FnMut(&str, &str)) {
    if name.is_empty() {
        bad("name", "err-required");
    } else if name.chars().count() > 200 {
        bad("name", "err-too-long");
    }
    for (n, max) in [("event_type", 120), ("step", 200)] {
        if f.get(n).chars().count() > max {
            bad(n, "err-too-long");
        }
    }
}

/// Whether the participation must be confirmed; anything else means either.
fn yes_no(s: &str) -> Option<bool> {
    match s {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// A channel is required, and SMS only once an SMS account is set up.
fn check_channel(channel: Option<SendChannel>, sms_ready: bool, bad: &mut impl FnMut(&str, &str)) {
    match channel {
        None => bad("channel", "err-required"),
        Some(c) if !c.is_email() && !sms_ready => bad("channel", "rule-err-sms"),
        _ => {}
    }
}

/// An optional choice: blank is none, anything unknown an error.
fn optional<T>(
    f: &FormPairs,
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
    bad: &mut impl FnMut(&str, &str),
) -> Option<T> {
    match f.get(name) {
        "" => None,
        s => parse(s).or_else(|| {
            bad(name, "err-invalid");
            None
        }),
    }
}

/// A rule's template must be allowed for automatic sends and be of its
/// channel's kind.
fn check_template(
    template: Option<&TemplateRow>,
    channel: Option<SendChannel>,
    bad: &mut impl FnMut(&str, &str),
) {
    match (template, channel) {
        (None, _) => bad("template", "err-required"),
        (Some(t), _)
            if !tmodel::split(&t.sending_modes, SendingMode::parse)
                .contains(&SendingMode::Automatic) =>
        {
            bad("template", "rule-err-template-mode")
        }
        (Some(t), Some(c)) if TemplateKind::of(t) != TemplateKind::from(c) => {
            bad("template", "rule-err-template-kind")
        }
        _ => {}
    }
}

pub async fn new_form(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    p: Page,
) -> AppResult<Response> {
    let f = FormPairs(vec![
        ("channel".into(), "email".into()),
        ("offset".into(), "-2".into()),
    ]);
    form_page(&state, &p, None, f, Vec::new()).await
}

pub async fn create(
    State(state): State<AppState>,
    who: Require<ManageSends>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    match parse(&state, &p, &f).await? {
        Ok(input) => {
            engine::create(&state.db, &input, Some(who.user().id)).await?;
            Ok(Redirect::to("/admin/rules").into_response())
        }
        Err(errors) => form_page(&state, &p, None, f, errors).await,
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    p: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let r = engine::get(&state.db, id).await?;
    form_page(&state, &p, Some(id), form_of(&r), Vec::new()).await
}

pub async fn update(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    p: Page,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    engine::get(&state.db, id).await?;
    match parse(&state, &p, &f).await? {
        Ok(input) => {
            engine::update(&state.db, id, &input).await?;
            Ok(Redirect::to("/admin/rules").into_response())
        }
        Err(errors) => form_page(&state, &p, Some(id), f, errors).await,
    }
}

pub async fn toggle(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let r = engine::get(&state.db, id).await?;
    engine::set_active(&state.db, id, !r.active).await?;
    Ok(Redirect::to("/admin/rules").into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    engine::delete(&state.db, id).await?;
    Ok(Redirect::to("/admin/rules").into_response())
}

#[derive(Template)]
#[template(path = "events/rule_test.html")]
struct TestTpl<'a> {
    p: &'a Page,
    date: String,
    rule: String,
    rules: Vec<Rule>,
    rows: Vec<engine::TestRow>,
    skipped: Vec<(Rule, String, Skip)>,
    notice: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TestQuery {
    pub date: String,
    pub rule: String,
    pub notice: String,
}

fn day_of(state: &AppState, s: &str) -> chrono::NaiveDate {
    amicale_kernel::time::parse_date(s)
        .unwrap_or_else(|| Utc::now().with_timezone(&state.tz).date_naive())
}

/// The dry run (the "Test" button): who would receive what on a day, each message
/// rendered, and who is excluded and why. Nothing is sent.
pub async fn test(
    State(state): State<AppState>,
    who: Require<ManageSends>,
    // The rows show persons' data: the right to consult them is needed too.
    _: Require<ViewPeople>,
    p: Page,
    Query(q): Query<TestQuery>,
) -> AppResult<Response> {
    let day = day_of(&state, &q.date);
    let only = q.rule.parse::<i64>().ok();
    let reach = crate::people::scope::condition(&who.0, amicale_store::Backend::of(&state.db));
    let (rows, skipped) = engine::test(&state, day, Utc::now(), only, &reach).await?;
    render_page(&TestTpl {
        p: &p,
        date: day.format("%Y-%m-%d").to_string(),
        rule: q.rule,
        rules: engine::all_by_name(&state.db).await?,
        rows,
        skipped,
        notice: (!q.notice.is_empty()).then(|| p.t(&format!("rule-test-notice-{}", q.notice))),
    })
}

/// "Send the test to me": the message one recipient would get, rendered
/// with their data and sent to the signed-in user only.
pub async fn test_me(
    State(state): State<AppState>,
    who: Require<ManageSends>,
    _: Require<ViewPeople>,
    f: FormPairs,
) -> AppResult<Response> {
    let day = day_of(&state, f.get("date"));
    let rule: i64 = f.get("rule").parse().map_err(|_| AppError::NotFound)?;
    let participation: i64 = f
        .get("participation")
        .parse()
        .map_err(|_| AppError::NotFound)?;
    let reach = crate::people::scope::condition(&who.0, amicale_store::Backend::of(&state.db));
    let test = engine::TestOf {
        day,
        rule,
        participation,
    };
    let notice = match engine::send_test(&state, who.user(), &reach, test).await? {
        Ok(()) => "sent",
        Err(_) => "render_error",
    };
    Ok(Redirect::to(&format!(
        "/admin/rules/test?date={}&rule={rule}&notice={notice}",
        day.format("%Y-%m-%d")
    ))
    .into_response())
}
