//! Sending from a person page and from an event page: pick a
//! channel and one or more templates, one message per template; and the
//! history of what concerns a person or an event, whatever sent it.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

use crate::app::AppState;
use crate::comms::context;
use crate::comms::eligibility::{self, Category, Exclusion, Summary};
use crate::comms::templates::store as tstore;
use crate::error::{AppError, AppResult};
use crate::events::model::Audience;
use crate::events::rules::build_for_event;
use crate::events::scope::Events;
use crate::people::scope::Persons;
use crate::web::extract::InScope;
use crate::web::extract::{SendMessages, ViewPeople};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render};
use amicale_delivery::copies::{Copies, CopiesError, MAX_COPIES};
use amicale_delivery::outbox::Origin;
use amicale_delivery::sends::{self, Recipient};
use amicale_delivery::sms::pricing::Pricer;
use amicale_delivery::templates::model::{self as tmodel, RecipientType, SendingMode};
use amicale_kernel::SendChannel;
use amicale_store::entities::{
    events, outbox, participations, persons, template_versions, templates,
};

/// The channels a user can pick; SMS needs an SMS account and credit.
pub const CHANNELS: [SendChannel; 3] = [
    SendChannel::Email,
    SendChannel::Newsletter,
    SendChannel::Sms,
];

/// A pricer for SMS sends, `Ok(None)` for e-mail, and `Err` with the notice
/// to show when SMS cannot be sent at all.
async fn pricer_for(
    state: &AppState,
    channel: SendChannel,
) -> AppResult<Result<Option<Pricer>, &'static str>> {
    if channel.is_email() {
        return Ok(Ok(None));
    }
    Ok(match Pricer::new(state).await? {
        Some(p) => Ok(Some(p)),
        None => Err("sms_unavailable"),
    })
}

/// The identity an e-mail goes out as: the one posted if the user may use
/// it (else the notice to show), none for SMS.
pub async fn sender(
    state: &AppState,
    user: &amicale_store::entities::users::Model,
    channel: SendChannel,
    posted: &str,
) -> AppResult<Result<Option<i64>, &'static str>> {
    if !channel.is_email() {
        return Ok(Ok(None));
    }
    Ok(
        match amicale_delivery::identities::chosen(&state.db, user, posted).await? {
            Some(i) => Ok(Some(i.id)),
            None => Err("bad_identity"),
        },
    )
}

/// The identities offered on a send form.
pub async fn identity_choices(
    state: &AppState,
    user: &amicale_store::entities::users::Model,
) -> AppResult<Vec<TemplateChoice>> {
    Ok(amicale_delivery::identities::usable(&state.db, user)
        .await?
        .into_iter()
        .map(|i| TemplateChoice {
            id: i.id,
            name: format!("{} <{}>", i.label, i.address),
        })
        .collect())
}

/// The notice of a send the SMS credit cannot cover; other errors go on.
fn credit_notice<T>(r: AppResult<T>) -> AppResult<Result<T, String>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(AppError::SmsCredit { needed, .. }) => Ok(Err(format!("sms_credit:{needed}"))),
        Err(e) => Err(e),
    }
}

pub struct TemplateChoice {
    pub id: i64,
    pub name: String,
}

/// The send form of a page, with "N of M will receive it".
pub struct SendPanel {
    pub channel: String,
    pub audience: String,
    pub templates: Vec<TemplateChoice>,
    pub summary: Summary,
    /// Names of the excluded, with the reason code.
    pub excluded: Vec<(String, &'static str)>,
    /// The sender identities the user may choose (e-mail only).
    pub identities: Vec<TemplateChoice>,
}

/// Active templates of the channel's kind allowed for `mode` (and for the
/// recipient type, when one is given).
pub async fn allowed_templates(
    state: &AppState,
    channel: SendChannel,
    mode: SendingMode,
    audience: Option<RecipientType>,
) -> AppResult<Vec<templates::Model>> {
    Ok(templates::Entity::find()
        .filter(templates::Column::Active.eq(true))
        .filter(
            templates::Column::Kind
                .eq(amicale_delivery::templates::model::TemplateKind::from(channel).as_str()),
        )
        .order_by_asc(templates::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|t| tmodel::split(&t.sending_modes, SendingMode::parse).contains(&mode))
        .filter(|t| {
            audience.is_none_or(|a| {
                tmodel::split(&t.recipient_types, RecipientType::parse).contains(&a)
            })
        })
        .collect())
}

fn channel_or_default(s: &str) -> SendChannel {
    SendChannel::parse(s)
        .filter(|c| CHANNELS.contains(c))
        .unwrap_or(SendChannel::Email)
}

fn audience_filter(a: Audience, p: &participations::Model) -> bool {
    match a {
        Audience::All => !p.waiting,
        Audience::Confirmed => !p.waiting && p.confirmed,
        Audience::Registered => !p.waiting,
        Audience::Waiting => p.waiting,
        Audience::Present => p.presence == "present",
        Audience::Absent => p.presence == "absent",
    }
}

async fn audience_of(
    state: &AppState,
    event: i64,
    audience: Audience,
) -> AppResult<Vec<participations::Model>> {
    Ok(participations::Entity::find()
        .filter(participations::Column::EventId.eq(event))
        .order_by_asc(participations::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|p| audience_filter(audience, p))
        .collect())
}

pub async fn event_panel(
    state: &AppState,
    user: &amicale_store::entities::users::Model,
    e: &events::Model,
    channel: &str,
    audience: &str,
) -> AppResult<SendPanel> {
    let channel = channel_or_default(channel);
    let audience = Audience::parse(audience).unwrap_or(Audience::All);
    let parts = audience_of(state, e.id, audience).await?;
    let built = build_for_event(state, e, &parts, channel, Category::Events, None).await?;
    let summary = eligibility::summarise(built.iter().map(|b| &b.decision));
    Ok(SendPanel {
        channel: channel.as_str().into(),
        audience: audience.as_str().into(),
        templates: allowed_templates(state, channel, SendingMode::EventPage, None)
            .await?
            .into_iter()
            .map(|t| TemplateChoice {
                id: t.id,
                name: t.name,
            })
            .collect(),
        summary,
        excluded: built
            .iter()
            .filter_map(|b| {
                b.decision
                    .as_ref()
                    .err()
                    .map(|e| (b.name.clone(), e.as_str()))
            })
            .collect(),
        identities: if channel.is_email() {
            identity_choices(state, user).await?
        } else {
            Vec::new()
        },
    })
}

/// The template ids posted, each checked against what the page offers.
fn chosen(f: &FormPairs, offered: &[templates::Model]) -> Vec<templates::Model> {
    let ids: Vec<i64> = f
        .all("template")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    offered
        .iter()
        .filter(|t| ids.contains(&t.id))
        .cloned()
        .collect()
}

/// Sends the chosen templates to the chosen participants now: one
/// send per template, with its exclusions.
pub async fn send_event(
    State(state): State<AppState>,
    InScope { id, who, .. }: InScope<Events, SendMessages>,
    f: FormPairs,
) -> AppResult<Response> {
    let e = crate::events::store::get(&state.db, id).await?;
    let channel = channel_or_default(f.get("channel"));
    let audience = Audience::parse(f.get("audience")).unwrap_or(Audience::All);
    let offered = allowed_templates(&state, channel, SendingMode::EventPage, None).await?;
    let picked = chosen(&f, &offered);
    if picked.is_empty() {
        return Ok(Redirect::to(&format!("/admin/events/{id}?notice=no_template")).into_response());
    }
    let parts = audience_of(&state, id, audience).await?;
    let built = build_for_event(
        &state,
        &e,
        &parts,
        channel,
        Category::Events,
        Some(who.user()),
    )
    .await?;
    let back =
        |n: &str| Ok(Redirect::to(&format!("/admin/events/{id}?notice={n}")).into_response());
    let identity_id = match sender(&state, who.user(), channel, f.get("identity")).await? {
        Ok(i) => i,
        Err(notice) => return back(notice),
    };
    let mut pricer = match pricer_for(&state, channel).await? {
        Ok(p) => p,
        Err(notice) => return back(notice),
    };
    let mut queued = 0usize;
    for t in &picked {
        let version = tstore::current_version(&state.db, t).await?;
        let mut recipients = Vec::new();
        let mut exclusions = Vec::new();
        for b in &built {
            match &b.decision {
                Ok(address) => {
                    let segments = match pricer.as_mut() {
                        Some(p) => Some(
                            p.segments(&state, version.id, &b.merge_data, b.locale)
                                .await?,
                        ),
                        None => None,
                    };
                    recipients.push(Recipient {
                        address: address.clone(),
                        merge_data: b.merge_data.clone(),
                        locale: b.locale.code(),
                        person_id: Some(b.person),
                        event_id: Some(id),
                        segments,
                    })
                }
                Err(why) => exclusions.push((b.person, why.as_str())),
            }
        }
        let n = recipients.len();
        let created = sends::create_with_exclusions(
            &state.db,
            sends::Spec {
                label: &format!("{} — {}", e.title, t.name),
                origin: Origin::EventPage,
                origin_id: Some(id),
                channel: channel.outbox(),
                template_version_id: version.id,
                identity_id,
                // One message per participant: copies would multiply.
                copies: None,
                created_by: Some(who.user().id),
                mail_domain: state.mail_from.email.domain(),
                due: Utc::now(),
            },
            recipients,
            exclusions,
        )
        .await;
        if let Err(notice) = credit_notice(created)? {
            state.outbox_wakeup.notify_waiters();
            return back(&notice);
        }
        queued += n;
    }
    state.outbox_wakeup.notify_waiters();
    back(&format!("sent:{queued}"))
}

/// One message of a history.
pub struct HistoryRow {
    pub when: String,
    pub template: String,
    pub origin: String,
    pub state: String,
    pub recipient: String,
    pub person_id: Option<i64>,
}

async fn history(state: &AppState, filter: sea_orm::Condition) -> AppResult<Vec<HistoryRow>> {
    let rows = outbox::Entity::find()
        .filter(filter)
        .filter(outbox::Column::Origin.ne(Origin::Test.as_str()))
        .order_by_desc(outbox::Column::CreatedAt)
        .order_by_desc(outbox::Column::Id)
        .limit(500)
        .all(&state.db)
        .await?;
    let vids: Vec<i64> = rows.iter().filter_map(|r| r.template_version_id).collect();
    let versions: std::collections::HashMap<i64, i64> = if vids.is_empty() {
        Default::default()
    } else {
        template_versions::Entity::find()
            .filter(template_versions::Column::Id.is_in(vids))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|v| (v.id, v.template_id))
            .collect()
    };
    let names: std::collections::HashMap<i64, String> = templates::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| HistoryRow {
            when: context::local(state, r.created_at),
            template: r
                .template_version_id
                .and_then(|v| versions.get(&v))
                .and_then(|t| names.get(t))
                .cloned()
                .unwrap_or_else(|| r.subject.clone()),
            origin: r.origin,
            state: r.state,
            recipient: r.recipient,
            person_id: r.person_id,
        })
        .collect())
}

pub async fn event_history(state: &AppState, event: i64) -> AppResult<Vec<HistoryRow>> {
    history(
        state,
        sea_orm::Condition::all().add(outbox::Column::EventId.eq(event)),
    )
    .await
}

pub async fn person_history(state: &AppState, person: i64) -> AppResult<Vec<HistoryRow>> {
    history(
        state,
        sea_orm::Condition::all().add(outbox::Column::PersonId.eq(person)),
    )
    .await
}

#[derive(Template)]
#[template(path = "comms/person_messages.html")]
struct PersonTpl<'a> {
    p: &'a Page,
    person: persons::Model,
    panel: SendPanel,
    history: Vec<HistoryRow>,
    notice: Option<String>,
    batch_time: String,
    cc: String,
    bcc: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PersonQuery {
    pub channel: String,
    pub notice: String,
    /// Copies typed before a refusal, shown again.
    pub cc: String,
    pub bcc: String,
}

async fn person_decision(
    state: &AppState,
    person: &persons::Model,
    channel: SendChannel,
) -> AppResult<Result<String, Exclusion>> {
    Ok(
        eligibility::check(&state.db, &[person.id], channel, Category::FollowUp)
            .await?
            .into_iter()
            .next()
            .map(|(_, d)| d)
            .unwrap_or(Err(Exclusion::Deactivated)),
    )
}

/// The person page's messages: send one or more templates and the
/// whole history of what concerns the person.
pub async fn person_page(
    State(state): State<AppState>,
    InScope { id, who, .. }: InScope<Persons, ViewPeople>,
    p: Page,
    axum::extract::Query(q): axum::extract::Query<PersonQuery>,
) -> AppResult<Response> {
    let person = persons::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let channel = channel_or_default(&q.channel);
    let decision = person_decision(&state, &person, channel).await?;
    let rtype = RecipientType::parse(&person.recipient_type);
    let panel = SendPanel {
        channel: channel.as_str().into(),
        audience: String::new(),
        templates: allowed_templates(&state, channel, SendingMode::PersonPage, rtype)
            .await?
            .into_iter()
            .map(|t| TemplateChoice {
                id: t.id,
                name: t.name,
            })
            .collect(),
        summary: eligibility::summarise([&decision]),
        excluded: decision
            .as_ref()
            .err()
            .map(|e| {
                (
                    format!("{} {}", person.first_name, person.last_name),
                    e.as_str(),
                )
            })
            .into_iter()
            .collect(),
        identities: if channel.is_email() {
            identity_choices(&state, who.user()).await?
        } else {
            Vec::new()
        },
    };
    let notice = match q.notice.split_once(':') {
        Some(("excluded", why)) => Some(p.t1(
            "person-msg-notice-excluded",
            "reason",
            p.t(&format!("exclusion-{why}")),
        )),
        Some((k, n)) => Some(p.t1(&format!("person-msg-notice-{k}"), "n", n)),
        None if !q.notice.is_empty() => Some(p.t(&format!("person-msg-notice-{}", q.notice))),
        None => None,
    };
    render(&PersonTpl {
        p: &p,
        history: person_history(&state, id).await?,
        person,
        panel,
        notice,
        batch_time: state.config.batch_time.clone(),
        cc: q.cc,
        bcc: q.bcc,
    })
}

/// The next nightly batch after `now`.
pub fn next_batch(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    state
        .config
        .batch_cron()
        .ok()
        .and_then(|c| c.parse::<croner::Cron>().ok())
        .and_then(|c| {
            // Whole seconds: croner keeps the fraction of its starting point.
            let from = chrono::Timelike::with_nanosecond(&now.with_timezone(&state.tz), 0)?;
            c.find_next_occurrence(&from, false).ok()
        })
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(now)
}

pub async fn person_send(
    State(state): State<AppState>,
    InScope { id, who, .. }: InScope<Persons, SendMessages>,
    f: FormPairs,
) -> AppResult<Response> {
    let person = persons::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let channel = channel_or_default(f.get("channel"));
    let rtype = RecipientType::parse(&person.recipient_type);
    let offered = allowed_templates(&state, channel, SendingMode::PersonPage, rtype).await?;
    let picked = chosen(&f, &offered);
    let back = |n: &str| {
        Ok(Redirect::to(&format!(
            "/admin/people/{id}/messages?channel={}&notice={n}",
            channel.as_str()
        ))
        .into_response())
    };
    if picked.is_empty() {
        return back("no_template");
    }
    let decision = person_decision(&state, &person, channel).await?;
    let address = match decision {
        Ok(a) => a,
        Err(why) => return back(&format!("excluded:{}", why.as_str())),
    };
    let data = context::people(&state.db, &[id]).await?;
    let d = data.get(&id).cloned().unwrap_or_default();
    let l = d.locale.unwrap_or(state.default_locale);
    let mut root = context::common(&state, Some(who.user()));
    if let Some(Value::Object(pn)) = root.get_mut("person") {
        d.fill(pn);
    }
    root.insert(
        "unsubscribe_url".into(),
        Value::from(context::unsubscribe_url(
            &state,
            &address,
            Category::FollowUp,
        )),
    );
    let due = if f.get("when") == "tonight" {
        next_batch(&state, Utc::now())
    } else {
        Utc::now()
    };
    let identity_id = match sender(&state, who.user(), channel, f.get("identity")).await? {
        Ok(i) => i,
        Err(notice) => return back(notice),
    };
    let copies = if channel.is_email() {
        match Copies::parse(f.get("cc"), f.get("bcc"), f.get("hide_all") == "on") {
            Ok(c) => c.to_column(),
            Err(e) => {
                // What was typed comes back in the form.
                let notice = match &e {
                    CopiesError::Invalid(a) => format!("{}:{a}", e.key()),
                    CopiesError::TooMany => format!("{}:{MAX_COPIES}", e.key()),
                };
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("channel", channel.as_str())
                    .append_pair("notice", &notice)
                    .append_pair("cc", f.get("cc"))
                    .append_pair("bcc", f.get("bcc"))
                    .finish();
                return Ok(
                    Redirect::to(&format!("/admin/people/{id}/messages?{query}")).into_response(),
                );
            }
        }
    } else {
        None
    };
    let mut pricer = match pricer_for(&state, channel).await? {
        Ok(p) => p,
        Err(notice) => return back(notice),
    };
    for t in &picked {
        let version = tstore::current_version(&state.db, t).await?;
        let merge_data = Value::Object(root.clone());
        let segments = match pricer.as_mut() {
            Some(p) => Some(p.segments(&state, version.id, &merge_data, l).await?),
            None => None,
        };
        let created = sends::create_with_exclusions(
            &state.db,
            sends::Spec {
                label: &format!("{} {} — {}", person.first_name, person.last_name, t.name),
                origin: Origin::PersonPage,
                origin_id: Some(id),
                channel: channel.outbox(),
                template_version_id: version.id,
                identity_id,
                copies: copies.clone(),
                created_by: Some(who.user().id),
                mail_domain: state.mail_from.email.domain(),
                due,
            },
            [Recipient {
                address: address.clone(),
                merge_data,
                locale: l.code(),
                person_id: Some(id),
                event_id: None,
                segments,
            }],
            Vec::new(),
        )
        .await;
        if let Err(notice) = credit_notice(created)? {
            state.outbox_wakeup.notify_waiters();
            return back(&notice);
        }
    }
    state.outbox_wakeup.notify_waiters();
    back(&format!("sent:{}", picked.len()))
}
