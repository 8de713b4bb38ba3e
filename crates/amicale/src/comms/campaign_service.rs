//! The campaign pages' operations: the history, creating a campaign from
//! the form, what a campaign's page shows, the selection and the schedule.
//! The pages only parse requests and render what these return.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::app::AppState;
use crate::comms::campaigns::{self, Criteria, Filters, Selection};
use crate::comms::direct::{CHANNELS, allowed_templates};
use crate::comms::eligibility::{self, Category, Summary};
use crate::comms::templates::store as tstore;
use crate::compose;
use crate::error::{AppError, AppResult};
use crate::people::crm::Opt;
use amicale_delivery::templates::model::{RecipientType, SendingMode};
use amicale_kernel::SendChannel;
use amicale_store::entities::{campaigns as rows, persons, saved_lists, templates, users};

pub struct HistoryRow {
    pub id: i64,
    pub name: String,
    pub state: String,
    pub template: String,
    pub date: String,
    pub recipient_type: String,
    pub sent: u64,
}

/// The latest 500 campaigns, the last changed first.
pub async fn history(state: &AppState) -> AppResult<Vec<HistoryRow>> {
    let names: HashMap<i64, String> = templates::Entity::find()
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
            date: crate::comms::context::local(state, c.scheduled_at.unwrap_or(c.updated_at)),
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
    Ok(out)
}

/// A template the creation form offers, with how much it was used.
pub struct TemplateOffer {
    pub id: i64,
    pub name: String,
    pub campaigns: u64,
    pub scheduled: u64,
    pub sent: u64,
}

/// The recipient type and channel a creation form is for (what it names,
/// or the defaults), and the templates it offers. Unnamed, the recipient
/// type is the first that has a campaign template on the channel, so the
/// form never opens on "no active template" when one exists.
pub async fn offers(
    state: &AppState,
    recipient_type: &str,
    channel: &str,
) -> AppResult<(RecipientType, SendChannel, Vec<TemplateOffer>)> {
    let channel = crate::comms::direct::service::channel(channel)?;
    let (rt, templates) = match recipient_type.trim() {
        "" => {
            let mut first = None;
            // In the order the form lists them.
            for rt in [
                RecipientType::Beneficiary,
                RecipientType::PartnerContact,
                RecipientType::IndividualContact,
                RecipientType::Member,
            ] {
                let t = allowed_templates(state, channel, SendingMode::Campaign, Some(rt)).await?;
                if !t.is_empty() {
                    first = Some((rt, t));
                    break;
                }
            }
            first.unwrap_or((RecipientType::Beneficiary, Vec::new()))
        }
        r => {
            let rt = RecipientType::parse(r).ok_or(AppError::BadInput("recipient_type"))?;
            (
                rt,
                allowed_templates(state, channel, SendingMode::Campaign, Some(rt)).await?,
            )
        }
    };
    let mut offers = Vec::new();
    for t in templates {
        let c = tstore::counts(&state.db, t.id).await?;
        offers.push(TemplateOffer {
            campaigns: tstore::campaign_count(&state.db, t.id).await?,
            scheduled: c.scheduled,
            sent: c.sent,
            id: t.id,
            name: t.name,
        });
    }
    Ok((rt, channel, offers))
}

/// A new campaign, as posted.
pub struct NewCampaign {
    pub name: String,
    pub recipient_type: String,
    pub channel: String,
    pub template: String,
    pub identity: String,
    /// A static saved list of the user the campaign goes to (from the CRM).
    pub list: String,
}

/// Why a campaign could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Choice,
    Name,
    Template,
    Identity,
}

impl Invalid {
    /// The message's locale key.
    pub fn key(self) -> &'static str {
        match self {
            Invalid::Choice => "err-invalid",
            Invalid::Name => "campaign-err-name",
            Invalid::Template => "campaign-err-template",
            Invalid::Identity => "event-notice-bad_identity",
        }
    }
}

/// Creates a draft campaign; one created for a saved list goes to all of it.
pub async fn create(
    state: &AppState,
    user: &users::Model,
    cmd: &NewCampaign,
) -> AppResult<Result<i64, Invalid>> {
    let rt = RecipientType::parse(&cmd.recipient_type);
    let channel = SendChannel::parse(&cmd.channel).filter(|c| CHANNELS.contains(c));
    let (Some(rt), Some(channel)) = (rt, channel) else {
        return Ok(Err(Invalid::Choice));
    };
    let name = cmd.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Ok(Err(Invalid::Name));
    }
    let offered = allowed_templates(state, channel, SendingMode::Campaign, Some(rt)).await?;
    let Some(t) = cmd
        .template
        .parse::<i64>()
        .ok()
        .and_then(|id| offered.iter().find(|t| t.id == id))
    else {
        return Ok(Err(Invalid::Template));
    };
    let Ok(identity) = crate::comms::direct::sender(state, user, channel, &cmd.identity).await?
    else {
        return Ok(Err(Invalid::Identity));
    };
    let id = campaigns::create(&state.db, name, rt, channel, t.id, user.id, identity).await?;
    if let Some((list, _)) = own_list(state, user.id, &cmd.list).await? {
        let filters = Filters {
            saved_list: list.to_string(),
            ..Filters::default()
        };
        campaigns::save(&state.db, id, &filters, &Selection::All).await?;
    }
    Ok(Ok(id))
}

/// The programmes a campaign may filter on, by name.
pub async fn programmes(state: &AppState) -> AppResult<Vec<Opt>> {
    crate::people::crm::choices::<amicale_store::entities::programmes::Entity>(
        state,
        amicale_store::entities::programmes::Column::Name,
    )
    .await
}

/// The lists a campaign may filter on: the user's static lists, and the
/// one already chosen (perhaps by a colleague).
pub async fn lists(state: &AppState, user: i64, chosen: &str) -> AppResult<Vec<Opt>> {
    let mut lists = crate::people::lists::static_lists(&state.db, user).await?;
    if let Ok(id) = chosen.parse::<i64>()
        && !lists.iter().any(|o| o.value == chosen)
        && let Some(l) = saved_lists::Entity::find_by_id(id).one(&state.db).await?
    {
        lists.push(Opt {
            value: chosen.to_owned(),
            label: l.name,
        });
    }
    Ok(lists)
}

/// A static saved list of this user, by the id a form carried.
pub async fn own_list(state: &AppState, user: i64, id: &str) -> AppResult<Option<(i64, String)>> {
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

/// Persons listed per page of a campaign.
const PER_PAGE: u64 = 50;
/// Beyond this many selected persons, "N of M will receive it" is counted
/// at launch (on the send's report) rather than on every page view.
const SUMMARY_CAP: usize = 20_000;

/// What a campaign's page shows.
pub struct Overview {
    pub campaign: rows::Model,
    pub template: String,
    pub filters: Filters,
    /// "notyet", "sent" or "scheduled".
    pub tab: String,
    pub matching: u64,
    pub sent: u64,
    pub selected: u64,
    pub all_selected: bool,
    pub people: Vec<PersonRow>,
    pub page: u64,
    pub pages: u64,
    pub summary: Option<Summary>,
}

/// A campaign's page: the persons matching its filters in tabs (not sent
/// yet, sent, scheduled), a page of them at a time, and who of those still
/// to reach would receive it. Persons are listed only within `reach` (the
/// viewer's scope; `None`: the viewer may not consult persons).
pub async fn overview(
    state: &AppState,
    id: i64,
    tab: &str,
    page: u64,
    reach: Option<Condition>,
) -> AppResult<Overview> {
    let c = campaigns::get(&state.db, id).await?;
    let f = campaigns::filters_of(&c)?;
    let today = Utc::now().with_timezone(&state.tz).date_naive();
    // Filters saved before they had to read show with their errors and
    // match nobody until corrected.
    let Ok(criteria) = Criteria::parse(&f) else {
        return unreadable(state, c, f, tab).await;
    };
    let cond = criteria.condition(campaigns::recipient_type_of(&c), today);
    let matching = persons::Entity::find()
        .filter(cond.clone())
        .count(&state.db)
        .await?;
    let sent_ids = campaigns::sent_to(&state.db, id).await?;
    let targets = campaigns::targets(&state.db, &c, today).await?;
    let pending: Vec<i64> = targets
        .iter()
        .copied()
        .filter(|i| !sent_ids.contains(i))
        .collect();
    let tab = match tab {
        "sent" | "scheduled" => tab.to_owned(),
        _ => "notyet".to_owned(),
    };
    let page = page.max(1);
    let sent_list: Vec<i64> = sent_ids.iter().copied().collect();
    let select = persons::Entity::find()
        .filter(cond)
        .order_by_asc(persons::Column::SortKey)
        .order_by_asc(persons::Column::Id);
    let select = match tab.as_str() {
        "sent" => select.filter(persons::Column::Id.is_in(sent_list)),
        "scheduled" => {
            select.filter(persons::Column::Id.is_in(pending.iter().copied().take(SUMMARY_CAP)))
        }
        _ => select.filter(persons::Column::Id.is_not_in(sent_list)),
    };
    let total = select.clone().count(&state.db).await?;
    let chosen: HashSet<i64> = targets.iter().copied().collect();
    let people = match reach {
        Some(reach) => {
            select
                .filter(reach)
                .offset((page - 1) * PER_PAGE)
                .limit(PER_PAGE)
                .all(&state.db)
                .await?
        }
        None => Vec::new(),
    };
    let summary = if pending.len() <= SUMMARY_CAP {
        let channel = SendChannel::parse(&c.channel).unwrap_or(SendChannel::Email);
        let mut audience = compose::Persons::new(pending, Category::Campaigns);
        let decided = compose::preview(state, &mut audience, channel).await?;
        Some(eligibility::summarise(
            decided.iter().map(|(_, d)| &d.decision),
        ))
    } else {
        None
    };
    Ok(Overview {
        template: template_name(state, c.template_id).await?,
        all_selected: Selection::parse(&c.selection) == Selection::All,
        filters: f,
        tab,
        matching,
        sent: sent_ids.len() as u64,
        selected: targets.len() as u64,
        people: people
            .into_iter()
            .map(|x| PersonRow {
                selected: chosen.contains(&x.id),
                name: format!("{} {}", x.first_name, x.last_name),
                email: x.email.clone().unwrap_or_default(),
                city: x.city.clone(),
                id: x.id,
            })
            .collect(),
        page,
        pages: total.div_ceil(PER_PAGE).max(1),
        summary,
        campaign: c,
    })
}

/// The page of a campaign whose saved filters do not read: nobody matches.
async fn unreadable(
    state: &AppState,
    c: rows::Model,
    f: Filters,
    tab: &str,
) -> AppResult<Overview> {
    Ok(Overview {
        template: template_name(state, c.template_id).await?,
        all_selected: Selection::parse(&c.selection) == Selection::All,
        filters: f,
        tab: tab.to_owned(),
        matching: 0,
        sent: campaigns::sent_to(&state.db, c.id).await?.len() as u64,
        selected: 0,
        people: Vec::new(),
        page: 1,
        pages: 1,
        summary: None,
        campaign: c,
    })
}

async fn template_name(state: &AppState, id: i64) -> AppResult<String> {
    Ok(templates::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .map(|t| t.name)
        .unwrap_or_default())
}

/// Saves filters that read; otherwise answers which fields do not, and
/// saves nothing. `Ok(false)`: the campaign is no longer editable.
pub async fn save_filters(
    state: &AppState,
    id: i64,
    filters: Filters,
) -> AppResult<Result<bool, (Filters, Vec<&'static str>)>> {
    if let Err(bad) = Criteria::parse(&filters) {
        return Ok(Err((filters, bad)));
    }
    let c = campaigns::get(&state.db, id).await?;
    let selection = Selection::parse(&c.selection);
    Ok(Ok(
        campaigns::save(&state.db, id, &filters, &selection).await?
    ))
}

/// A change of the selection, as posted.
pub enum Pick {
    /// Every person matching the filters when the campaign is launched.
    All,
    None,
    /// The checkboxes of one page: the persons it showed, those checked.
    Page {
        shown: Vec<i64>,
        picked: Vec<i64>,
    },
}

/// Changes the selection; `false` when the campaign is no longer editable.
pub async fn select(state: &AppState, id: i64, pick: Pick) -> AppResult<bool> {
    let c = campaigns::get(&state.db, id).await?;
    let filters = campaigns::filters_of(&c)?;
    let selection = match pick {
        Pick::All => Selection::All,
        Pick::None => Selection::Some(Vec::new()),
        Pick::Page { shown, picked } => {
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
    campaigns::save(&state.db, id, &filters, &selection).await
}

/// When a campaign goes, as chosen on its page.
pub enum When {
    /// Back to draft.
    Cancel,
    /// Launched at once, in the background.
    Now,
    /// A local date and time, as typed.
    At { date: String, time: String },
    /// With the nightly batch.
    Tonight,
}

/// Schedules for the nightly batch, a chosen time, or now; returns the
/// page's notice code. "Now" launches in the background: the user gets the
/// page back at once and follows the send's progress bar.
pub async fn schedule(state: &AppState, id: i64, when: When) -> AppResult<&'static str> {
    let c = campaigns::get(&state.db, id).await?;
    if Selection::parse(&c.selection).is_empty() {
        return Ok("empty");
    }
    if c.channel == SendChannel::Sms.as_str()
        && !amicale_delivery::sms::account::configured(&state.db).await?
    {
        return Ok("sms_unavailable");
    }
    let now = Utc::now();
    let at = match &when {
        When::Cancel => {
            campaigns::unschedule(&state.db, id).await?;
            return Ok("cancelled");
        }
        When::Now => now,
        When::At { date, time } => match campaigns::parse_when(state, date, time) {
            Some(t) if t > now => t,
            _ => return Ok("bad_time"),
        },
        When::Tonight => campaigns::nightly_at(state, now),
    };
    if !campaigns::schedule(&state.db, id, at).await? {
        return Ok("locked");
    }
    if let When::Now = when {
        let s = state.clone();
        tokio::spawn(async move {
            if let Err(e) = campaigns::launch(&s, id).await {
                tracing::error!(campaign = id, error = %e, "campaign launch failed; the next pass retries");
            }
        });
        return Ok("launched");
    }
    Ok("scheduled")
}
