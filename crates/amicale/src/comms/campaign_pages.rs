//! The campaign pages: history, creation (recipient type, channel,
//! template), filters with "Clear", the matching recipients in tabs with
//! a selection across pages, "N of M will receive it", and the schedule.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::app::AppState;
use crate::comms::campaigns::{self, Filters, Selection};
use crate::comms::direct::{CHANNELS, allowed_templates};
use crate::comms::eligibility::{self, Category, Summary};
use crate::comms::templates::store as tstore;
use crate::error::AppResult;
use crate::people::crm::{Opt, choices};
use crate::web::extract::{ManageSends, Require, grants};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render};
use amicale_delivery::templates::model::{RecipientType, SendingMode};
use amicale_kernel::SendChannel;
use amicale_kernel::permissions::{Level, Module};
use amicale_store::entities::{campaigns as rows, persons, programmes, templates};

pub struct HistoryRow {
    pub id: i64,
    pub name: String,
    pub state: String,
    pub template: String,
    pub date: String,
    pub recipient_type: String,
    pub sent: u64,
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
    let names: std::collections::HashMap<i64, String> = templates::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let mut out = Vec::new();
    for c in rows::Entity::find()
        .order_by_desc(rows::Column::UpdatedAt)
        .limit(500)
        .all(&state.db)
        .await?
    {
        out.push(HistoryRow {
            sent: campaigns::sent_to(&state.db, c.id).await?.len() as u64,
            id: c.id,
            template: names.get(&c.template_id).cloned().unwrap_or_default(),
            date: crate::comms::context::local(&state, c.scheduled_at.unwrap_or(c.updated_at)),
            // "Waiting": its time has come and the batch has not taken it yet.
            state: if c.state == "scheduled" && c.scheduled_at.is_some_and(|t| t <= Utc::now()) {
                "waiting".into()
            } else {
                c.state.clone()
            },
            recipient_type: c.recipient_type,
            name: c.name,
        });
    }
    render(&ListTpl { p: &p, rows: out })
}

pub struct TemplateOffer {
    pub id: i64,
    pub name: String,
    pub campaigns: u64,
    pub scheduled: u64,
    pub sent: u64,
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
    let rt = RecipientType::parse(&q.recipient_type).unwrap_or(RecipientType::Beneficiary);
    let channel = SendChannel::parse(&q.channel)
        .filter(|c| CHANNELS.contains(c))
        .unwrap_or(SendChannel::Email);
    let mut offers = Vec::new();
    for t in allowed_templates(state, channel, SendingMode::Campaign, Some(rt)).await? {
        let c = tstore::counts(&state.db, t.id).await?;
        offers.push(TemplateOffer {
            campaigns: tstore::campaign_count(&state.db, t.id).await?,
            scheduled: c.scheduled,
            sent: c.sent,
            id: t.id,
            name: t.name,
        });
    }
    let list = own_list(state, user.id, &q.list).await?;
    render(&NewTpl {
        p,
        list,
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
    let q = NewQuery {
        recipient_type: f.get("recipient_type").into(),
        channel: f.get("channel").into(),
        list: f.get("list").into(),
    };
    let name = f.get("name").trim().to_owned();
    let rt = RecipientType::parse(&q.recipient_type);
    let channel = SendChannel::parse(&q.channel).filter(|c| CHANNELS.contains(c));
    let (Some(rt), Some(channel)) = (rt, channel) else {
        return new_page(&state, &p, who.user(), &q, Some(p.t("err-invalid")), name).await;
    };
    if name.is_empty() || name.chars().count() > 200 {
        return new_page(
            &state,
            &p,
            who.user(),
            &q,
            Some(p.t("campaign-err-name")),
            name,
        )
        .await;
    }
    let offered = allowed_templates(&state, channel, SendingMode::Campaign, Some(rt)).await?;
    let Some(t) = f
        .get("template")
        .parse::<i64>()
        .ok()
        .and_then(|id| offered.iter().find(|t| t.id == id))
    else {
        return new_page(
            &state,
            &p,
            who.user(),
            &q,
            Some(p.t("campaign-err-template")),
            name,
        )
        .await;
    };
    let identity =
        match crate::comms::direct::sender(&state, who.user(), channel, f.get("identity")).await? {
            Ok(i) => i,
            Err(_) => {
                return new_page(
                    &state,
                    &p,
                    who.user(),
                    &q,
                    Some(p.t("event-notice-bad_identity")),
                    name,
                )
                .await;
            }
        };
    let id =
        campaigns::create(&state.db, &name, rt, channel, t.id, who.user().id, identity).await?;
    if let Some((list, _)) = own_list(&state, who.user().id, &q.list).await? {
        let filters = Filters {
            saved_list: list.to_string(),
            ..Filters::default()
        };
        campaigns::save(&state.db, id, &filters, &Selection::All).await?;
    }
    Ok(Redirect::to(&format!("/admin/campaigns/{id}")).into_response())
}

/// The lists a campaign may filter on: the user's static lists, and the
/// one already chosen (perhaps by a colleague).
async fn campaign_lists(state: &AppState, user: i64, chosen: &str) -> AppResult<Vec<Opt>> {
    let mut lists = crate::people::lists::static_lists(&state.db, user).await?;
    if let Ok(id) = chosen.parse::<i64>()
        && !lists.iter().any(|o| o.value == chosen)
        && let Some(l) = amicale_store::entities::saved_lists::Entity::find_by_id(id)
            .one(&state.db)
            .await?
    {
        lists.push(Opt {
            value: chosen.to_owned(),
            label: l.name,
        });
    }
    Ok(lists)
}

/// A static saved list of this user, by the id a form carried.
async fn own_list(state: &AppState, user: i64, id: &str) -> AppResult<Option<(i64, String)>> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    Ok(crate::people::lists::static_lists(&state.db, user)
        .await?
        .into_iter()
        .find(|o| o.value == id.to_string())
        .map(|o| (id, o.label)))
}

pub struct PersonRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub city: String,
    pub selected: bool,
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
    pub page: String,
    pub notice: String,
}

const PER_PAGE: u64 = 50;
/// Beyond this many selected persons, "N of M will receive it" is counted
/// at launch (on the send's report) rather than on every page view.
const SUMMARY_CAP: usize = 20_000;

pub async fn show(
    State(state): State<AppState>,
    who: Require<ManageSends>,
    p: Page,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    let c = campaigns::get(&state.db, id).await?;
    let f = campaigns::filters_of(&c);
    let rt = campaigns::recipient_type_of(&c);
    let today = Utc::now().with_timezone(&state.tz).date_naive();
    let cond = f.condition(rt, today);
    let matching = persons::Entity::find()
        .filter(cond.clone())
        .count(&state.db)
        .await?;
    let sent_ids = campaigns::sent_to(&state.db, id).await?;
    let selection = Selection::parse(&c.selection);
    let targets = campaigns::targets(&state.db, &c, today).await?;
    let tab = match q.tab.as_str() {
        "sent" | "scheduled" => q.tab.clone(),
        _ => "notyet".to_owned(),
    };
    let page = q.page.parse::<u64>().unwrap_or(1).max(1);
    let mut select = persons::Entity::find()
        .filter(cond)
        .order_by_asc(persons::Column::SortKey)
        .order_by_asc(persons::Column::Id);
    let sent_list: Vec<i64> = sent_ids.iter().copied().collect();
    select = match tab.as_str() {
        "sent" => select.filter(persons::Column::Id.is_in(sent_list)),
        "scheduled" => select.filter(
            persons::Column::Id.is_in(
                targets
                    .iter()
                    .copied()
                    .filter(|i| !sent_ids.contains(i))
                    .take(SUMMARY_CAP)
                    .collect::<Vec<_>>(),
            ),
        ),
        _ => select.filter(persons::Column::Id.is_not_in(sent_list)),
    };
    let total = select.clone().count(&state.db).await?;
    let chosen: std::collections::HashSet<i64> = targets.iter().copied().collect();
    // Names and addresses are listed only to whoever may consult person
    // records, within their scope; the counts stay for everyone.
    let people = match grants(&who.0, Module::People, Level::Consult) {
        true => {
            select
                .filter(crate::people::scope::condition(
                    &who.0,
                    amicale_store::Backend::of(&state.db),
                ))
                .offset((page - 1) * PER_PAGE)
                .limit(PER_PAGE)
                .all(&state.db)
                .await?
        }
        false => Vec::new(),
    };
    let people = people
        .into_iter()
        .map(|x| PersonRow {
            selected: chosen.contains(&x.id),
            name: format!("{} {}", x.first_name, x.last_name),
            email: x.email.clone().unwrap_or_default(),
            city: x.city.clone(),
            id: x.id,
        })
        .collect();
    let pending: Vec<i64> = targets
        .iter()
        .copied()
        .filter(|i| !sent_ids.contains(i))
        .collect();
    let summary = if pending.len() <= SUMMARY_CAP {
        let channel = SendChannel::parse(&c.channel).unwrap_or(SendChannel::Email);
        let d = eligibility::check(&state.db, &pending, channel, Category::Campaigns).await?;
        Some(eligibility::summarise(d.iter().map(|(_, r)| r)))
    } else {
        None
    };
    let template = templates::Entity::find_by_id(c.template_id)
        .one(&state.db)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let lists = campaign_lists(&state, who.user().id, &f.saved_list).await?;
    render(&ShowTpl {
        p: &p,
        lists,
        template,
        invalid: f.invalid(),
        f,
        tab,
        matching,
        sent: sent_ids.len() as u64,
        selected: targets.len() as u64,
        all_selected: selection == Selection::All,
        people,
        page,
        pages: total.div_ceil(PER_PAGE).max(1),
        summary,
        programmes: choices::<programmes::Entity>(&state, programmes::Column::Name).await?,
        staff: crate::events::store::staff(&state.db).await?,
        editable: matches!(c.state.as_str(), "draft" | "scheduled"),
        batch_time: state.config.batch_time.clone(),
        notice: (!q.notice.is_empty()).then(|| p.t(&format!("campaign-notice-{}", q.notice))),
        c,
    })
}

/// "Filter" saves the filters; "Clear" resets them and the selection.
pub async fn filters(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let c = campaigns::get(&state.db, id).await?;
    let (filters, selection) = if f.get("action") == "clear" {
        (Filters::default(), Selection::Some(Vec::new()))
    } else {
        (Filters::from_pairs(&f), Selection::parse(&c.selection))
    };
    if !campaigns::save(&state.db, id, &filters, &selection).await? {
        return Ok(Redirect::to(&format!("/admin/campaigns/{id}?notice=locked")).into_response());
    }
    Ok(Redirect::to(&format!("/admin/campaigns/{id}")).into_response())
}

/// The checkboxes of one page (`shown` lists the page's persons, `pick`
/// the checked ones), or "all matching" / "none".
pub async fn select(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let c = campaigns::get(&state.db, id).await?;
    let filters = campaigns::filters_of(&c);
    let selection = match f.get("action") {
        "all" => Selection::All,
        "none" => Selection::Some(Vec::new()),
        _ => {
            let shown: Vec<i64> = f
                .all("shown")
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect();
            let picked: Vec<i64> = f
                .all("pick")
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect();
            let mut ids: Vec<i64> = match Selection::parse(&c.selection) {
                Selection::All => {
                    let today = Utc::now().with_timezone(&state.tz).date_naive();
                    campaigns::targets(&state.db, &c, today).await?
                }
                Selection::Some(v) => v,
            };
            ids.retain(|i| !shown.contains(i));
            ids.extend(picked.into_iter().filter(|i| shown.contains(i)));
            ids.sort_unstable();
            ids.dedup();
            Selection::Some(ids)
        }
    };
    if !campaigns::save(&state.db, id, &filters, &selection).await? {
        return Ok(Redirect::to(&format!("/admin/campaigns/{id}?notice=locked")).into_response());
    }
    let page = f.get("page");
    Ok(Redirect::to(&format!("/admin/campaigns/{id}?page={page}")).into_response())
}

/// Schedules for the nightly batch, a chosen time, or now. "Now" launches
/// in the background: the user gets the page back at once and follows the
/// send's progress bar.
pub async fn schedule(
    State(state): State<AppState>,
    _: Require<ManageSends>,
    Path(id): Path<i64>,
    f: FormPairs,
) -> AppResult<Response> {
    let c = campaigns::get(&state.db, id).await?;
    if Selection::parse(&c.selection).is_empty() {
        return Ok(Redirect::to(&format!("/admin/campaigns/{id}?notice=empty")).into_response());
    }
    if c.channel == SendChannel::Sms.as_str()
        && !amicale_delivery::sms::account::configured(&state.db).await?
    {
        return Ok(
            Redirect::to(&format!("/admin/campaigns/{id}?notice=sms_unavailable")).into_response(),
        );
    }
    let now = Utc::now();
    let at = match f.get("when") {
        "cancel" => {
            campaigns::unschedule(&state.db, id).await?;
            return Ok(
                Redirect::to(&format!("/admin/campaigns/{id}?notice=cancelled")).into_response(),
            );
        }
        "now" => now,
        "at" => match campaigns::parse_when(&state, f.get("date"), f.get("time")) {
            Some(t) if t > now => t,
            _ => {
                return Ok(
                    Redirect::to(&format!("/admin/campaigns/{id}?notice=bad_time")).into_response(),
                );
            }
        },
        _ => campaigns::nightly_at(&state, now),
    };
    if !campaigns::schedule(&state.db, id, at).await? {
        return Ok(Redirect::to(&format!("/admin/campaigns/{id}?notice=locked")).into_response());
    }
    if f.get("when") == "now" {
        let s = state.clone();
        tokio::spawn(async move {
            if let Err(e) = campaigns::launch(&s, id).await {
                tracing::error!(campaign = id, error = %e, "campaign launch failed; the next pass retries");
            }
        });
        return Ok(Redirect::to(&format!("/admin/campaigns/{id}?notice=launched")).into_response());
    }
    Ok(Redirect::to(&format!("/admin/campaigns/{id}?notice=scheduled")).into_response())
}
