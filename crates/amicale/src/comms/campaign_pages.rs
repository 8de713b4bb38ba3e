//! The campaign pages: history, creation (recipient type, channel,
//! template), filters with "Clear", the matching recipients in tabs with
//! a selection across pages, "N of M will receive it", and the schedule.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::AppState;
use crate::comms::campaign_service::{
    self as service, HistoryRow, NewCampaign, PersonRow, Pick, TemplateOffer, When,
};
use crate::comms::campaigns::{self, Filters, Selection};
use crate::comms::eligibility::Summary;
use crate::error::AppResult;
use crate::people::crm::Opt;
use crate::web::extract::{ManageSends, Require, grants};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render, render_status};
use amicale_kernel::permissions::{Level, Module};
use amicale_store::entities::campaigns as rows;

fn see_other(to: &str) -> AppResult<Response> {
    Ok(Redirect::to(to).into_response())
}

#[derive(Template)]
#[template(path = "comms/campaigns.html")]
struct ListTpl<'a> {
    p: &'a Page,
    rows: Vec<HistoryRow>,
}

pub async fn list(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    p: Page,
) -> AppResult<Response> {
    let rows = service::history(&state).await?;
    render(&ListTpl { p: &p, rows })
}

#[derive(Template)]
#[template(path = "comms/campaign_new.html")]
struct NewTpl<'a> {
    p: &'a Page,
    recipient_type: String,
    channel: String,
    offers: Vec<TemplateOffer>,
    error: Option<String>,
    name: String,
    identities: Vec<crate::comms::direct::TemplateChoice>,
    /// The saved list the campaign is created for: (id, name).
    list: Option<(i64, String)>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewQuery {
    pub recipient_type: String,
    pub channel: String,
    /// A static saved list the campaign will go to (from the CRM).
    pub list: String,
}

async fn new_page(
    state: &AppState,
    p: &Page,
    user: &amicale_store::entities::users::Model,
    q: &NewQuery,
    error: Option<String>,
    name: String,
) -> AppResult<Response> {
    let (rt, channel, offers) = service::offers(state, &q.recipient_type, &q.channel).await?;
    render(&NewTpl {
        p,
        list: service::own_list(state, user.id, &q.list).await?,
        recipient_type: rt.as_str().into(),
        channel: channel.as_str().into(),
        offers,
        error,
        name,
        identities: if channel.is_email() {
            crate::comms::direct::identity_choices(state, user).await?
        } else {
            Vec::new()
        },
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    who: Require<ManageSends>,
    p: Page,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    new_page(&state, &p, who.user(), &q, None, String::new()).await
}

pub async fn create(
    State(state): State<AppState>,
    who: Require<ManageSends>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    let cmd = NewCampaign {
        name: f.get("name").trim().to_owned(),
        recipient_type: f.get("recipient_type").into(),
        channel: f.get("channel").into(),
        template: f.get("template").into(),
        identity: f.get("identity").into(),
        list: f.get("list").into(),
    };
    match service::create(&state, who.user(), &cmd).await? {
        Ok(id) => see_other(&format!("/admin/campaigns/{id}")),
        Err(invalid) => {
            let q = NewQuery {
                recipient_type: cmd.recipient_type,
                channel: cmd.channel,
                list: cmd.list,
            };
            let error = Some(p.t(invalid.key()));
            new_page(&state, &p, who.user(), &q, error, cmd.name).await
        }
    }
}

#[derive(Template)]
#[template(path = "comms/campaign.html")]
struct ShowTpl<'a> {
    p: &'a Page,
    c: rows::Model,
    template: String,
    f: Filters,
    invalid: Vec<&'static str>,
    tab: String,
    matching: u64,
    sent: u64,
    selected: u64,
    all_selected: bool,
    people: Vec<PersonRow>,
    page: u64,
    pages: u64,
    summary: Option<Summary>,
    programmes: Vec<Opt>,
    staff: Vec<amicale_store::entities::users::Model>,
    /// The user's static lists, and the one chosen if it is another's.
    lists: Vec<Opt>,
    editable: bool,
    batch_time: String,
    notice: Option<String>,
}

impl ShowTpl<'_> {
    fn bad(&self, name: &str) -> bool {
        self.invalid.contains(&name)
    }

    /// Whether a multiple-choice filter holds this code.
    fn picked(&self, name: &str, code: &str) -> bool {
        self.f.codes(name).iter().any(|c| c == code)
    }

    fn coded(&self) -> [(&'static str, &'static str, &'static [&'static str]); 5] {
        campaigns::CODED
    }

    fn value(&self, name: &str) -> String {
        serde_json::to_value(&self.f)
            .ok()
            .and_then(|v| v.get(name).and_then(|x| x.as_str().map(str::to_owned)))
            .unwrap_or_default()
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ShowQuery {
    pub tab: String,
    #[serde(deserialize_with = "amicale_kernel::fields::blank_as_none")]
    pub page: Option<u64>,
    pub notice: String,
}

pub async fn show(
    State(state): State<AppState>,
    who: Require<ManageSends>,
    p: Page,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    show_page(&state, &who, &p, id, &q, None).await
}

/// The campaign's page; `typed`: filters refused as posted, shown as typed
/// with their errors instead of the saved ones.
async fn show_page(
    state: &AppState,
    who: &Require<ManageSends>,
    p: &Page,
    id: i64,
    q: &ShowQuery,
    typed: Option<(Filters, Vec<&'static str>)>,
) -> AppResult<Response> {
    // Names and addresses are listed only to whoever may consult person
    // records, within their scope; the counts stay for everyone.
    let reach = grants(&who.0, Module::People, Level::Consult)
        .then(|| crate::people::scope::condition(&who.0, amicale_store::Backend::of(&state.db)));
    let o = service::overview(state, id, &q.tab, q.page.unwrap_or(1), reach).await?;
    let refused = typed.is_some();
    let (f, invalid) = typed.unwrap_or_else(|| {
        let invalid = o.filters.invalid();
        (o.filters, invalid)
    });
    let tpl = ShowTpl {
        p,
        lists: service::lists(state, who.user().id, &f.saved_list).await?,
        template: o.template,
        invalid,
        f,
        tab: o.tab,
        matching: o.matching,
        sent: o.sent,
        selected: o.selected,
        all_selected: o.all_selected,
        people: o.people,
        page: o.page,
        pages: o.pages,
        summary: o.summary,
        programmes: service::programmes(state).await?,
        staff: crate::events::store::staff(&state.db).await?,
        editable: matches!(o.campaign.state.as_str(), "draft" | "scheduled"),
        batch_time: state.config.batch_time.clone(),
        notice: (!q.notice.is_empty()).then(|| p.t(&format!("campaign-notice-{}", q.notice))),
        c: o.campaign,
    };
    if refused {
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl)
    } else {
        render(&tpl)
    }
}

/// "Filter" saves the filters if they read, else shows them back as typed
/// with their errors; "Clear" resets them and the selection.
pub async fn filters(
    State(state): State<AppState>,
    who: Require<ManageSends>,
    p: Page,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let saved = if f.get("action") == "clear" {
        campaigns::save(&state.db, id, &Filters::default(), &Selection::All).await?
    } else {
        let typed = Filters::read(|k| f.all(k).into_iter().map(str::to_owned).collect());
        match service::save_filters(&state, id, typed).await? {
            Ok(saved) => saved,
            Err(refused) => {
                return show_page(&state, &who, &p, id, &ShowQuery::default(), Some(refused)).await;
            }
        }
    };
    if !saved {
        return see_other(&format!("/admin/campaigns/{id}?notice=locked"));
    }
    see_other(&format!("/admin/campaigns/{id}"))
}

/// The checkboxes of one page (`shown` lists the page's persons, `pick`
/// the checked ones), or "all matching" / "none".
pub async fn select(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let ids =
        |name: &str| -> Vec<i64> { f.all(name).iter().filter_map(|s| s.parse().ok()).collect() };
    let pick = match f.get("action") {
        "all" => Pick::All,
        "none" => Pick::None,
        _ => Pick::Page {
            shown: ids("shown"),
            picked: ids("pick"),
        },
    };
    if !service::select(&state, id, pick).await? {
        return see_other(&format!("/admin/campaigns/{id}?notice=locked"));
    }
    let page = f.get("page");
    see_other(&format!("/admin/campaigns/{id}?page={page}"))
}

/// Schedules for the nightly batch, a chosen time, or now.
pub async fn schedule(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let when = match f.get("when") {
        "cancel" => When::Cancel,
        "now" => When::Now,
        "at" => When::At {
            date: f.get("date").to_owned(),
            time: f.get("time").to_owned(),
        },
        _ => When::Tonight,
    };
    let notice = service::schedule(&state, id, when).await?;
    see_other(&format!("/admin/campaigns/{id}?notice={notice}"))
}
