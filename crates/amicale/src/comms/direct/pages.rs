//! The person page's messages and the event page's send form: each
//! handler reads the request into a command, calls the service, and
//! renders or redirects with a notice.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::service::{self, EventSend, HistoryRow, PersonSend, Refusal, SendPanel};
use crate::app::AppState;
use crate::error::AppResult;
use crate::events::scope::Events;
use crate::people::scope::Persons;
use crate::web::extract::{InScope, SendMessages, ViewPeople};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render};
use amicale_store::entities::persons;

fn see_other(to: &str) -> AppResult<Response> {
    Ok(Redirect::to(to).into_response())
}

/// The template ids a send form posted.
fn templates(f: &FormPairs) -> Vec<i64> {
    f.all("template")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Sends the chosen templates to the chosen participants now.
pub async fn send_event(
    State(state): State<AppState>,
    InScope { id, who, .. }: InScope<Events, SendMessages>,
    f: FormPairs,
) -> AppResult<Response> {
    let cmd = EventSend {
        event: id,
        channel: service::channel(f.get("channel"))?,
        audience: service::audience(f.get("audience"))?,
        templates: templates(&f),
        identity: f.get("identity").to_owned(),
    };
    let notice = match service::send_to_event(&state, who.user(), cmd).await? {
        Ok(queued) => format!("sent:{queued}"),
        Err(r) => r.notice(),
    };
    see_other(&format!("/admin/events/{id}?notice={notice}"))
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

/// The text of a notice code of the person page.
fn person_notice(p: &Page, code: &str) -> Option<String> {
    match code.split_once(':') {
        Some(("excluded", why)) => Some(p.t1(
            "person-msg-notice-excluded",
            "reason",
            p.t(&format!("exclusion-{why}")),
        )),
        Some((k, n)) => Some(p.t1(&format!("person-msg-notice-{k}"), "n", n)),
        None if !code.is_empty() => Some(p.t(&format!("person-msg-notice-{code}"))),
        None => None,
    }
}

/// The person page's messages: send one or more templates and the whole
/// history of what concerns the person.
pub async fn person_page(
    State(state): State<AppState>,
    InScope { id, who, .. }: InScope<Persons, ViewPeople>,
    p: Page,
    Query(q): Query<PersonQuery>,
) -> AppResult<Response> {
    let person = service::person(&state, id).await?;
    let channel = service::channel(&q.channel)?;
    let panel = service::person_panel(&state, who.user(), &person, channel).await?;
    render(&PersonTpl {
        notice: person_notice(&p, &q.notice),
        p: &p,
        history: service::person_history(&state, id).await?,
        person,
        panel,
        batch_time: state.config.batch_time.clone(),
        cc: q.cc,
        bcc: q.bcc,
    })
}

pub async fn person_send(
    State(state): State<AppState>,
    InScope { id, who, .. }: InScope<Persons, SendMessages>,
    f: FormPairs,
) -> AppResult<Response> {
    let cmd = PersonSend {
        person: id,
        channel: service::channel(f.get("channel"))?,
        templates: templates(&f),
        tonight: f.get("when") == "tonight",
        identity: f.get("identity").to_owned(),
        cc: f.get("cc").to_owned(),
        bcc: f.get("bcc").to_owned(),
        hide_all: f.get("hide_all") == "on",
    };
    let channel = cmd.channel.as_str();
    let notice = match service::send_to_person(&state, who.user(), cmd).await? {
        Ok(sent) => format!("sent:{sent}"),
        Err(r @ Refusal::Copies(_)) => {
            // What was typed comes back in the form.
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("channel", channel)
                .append_pair("notice", &r.notice())
                .append_pair("cc", f.get("cc"))
                .append_pair("bcc", f.get("bcc"))
                .finish();
            return see_other(&format!("/admin/people/{id}/messages?{query}"));
        }
        Err(r) => r.notice(),
    };
    see_other(&format!(
        "/admin/people/{id}/messages?channel={channel}&notice={notice}"
    ))
}
