//! A delivery worker: claim a batch, send each message, record each outcome.

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::app::{AppState, Shutdown};
use crate::comms::templates;
use crate::crypto::random_token;
use crate::db::entities::{outbox as row, template_attachments};
use crate::delivery::outbox::{self, State};
use crate::delivery::transport::Outcome;
use crate::error::AppResult;

const BATCH: u64 = 20;

pub async fn run(state: AppState, mut shutdown: Shutdown, n: usize) {
    let owner = format!("{}-{n}-{}", std::process::id(), random_token(6));
    let poll = StdDuration::from_secs(state.config.outbox_poll_secs.max(1));
    tracing::info!(worker = %owner, transport = %state.transport.describe(), "delivery worker started");
    while !shutdown.is_set() {
        let idle = match deliver_batch(&state, &owner, &shutdown).await {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => {
                tracing::error!(error = %e, "delivery batch failed");
                true
            }
        };
        if idle {
            tokio::select! {
                _ = state.outbox_wakeup.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.wait() => {}
            }
        }
    }
    tracing::info!(worker = %owner, "delivery worker stopped");
}

/// Delivers one batch; returns how many messages it took. On shutdown the
/// message being sent is finished and the rest handed back.
pub async fn deliver_batch(state: &AppState, owner: &str, shutdown: &Shutdown) -> AppResult<usize> {
    let cfg = &state.config;
    let lease = Duration::seconds(cfg.outbox_lease_secs as i64);
    let batch = outbox::claim(&state.db, owner, Utc::now(), lease, BATCH).await?;
    for (i, msg) in batch.iter().enumerate() {
        if shutdown.is_set() {
            let rest: Vec<i64> = batch[i..].iter().map(|m| m.id).collect();
            outbox::release(&state.db, &rest, owner).await?;
            break;
        }
        let files = attachments(state, msg).await?;
        let outcome = match build(state, msg, files) {
            Ok(m) => state.transport.send(m).await,
            Err(why) => Outcome::Failed(why),
        };
        record(state, msg, owner, outcome).await?;
    }
    Ok(batch.len())
}

async fn record(
    state: &AppState,
    msg: &row::Model,
    owner: &str,
    outcome: Outcome,
) -> AppResult<()> {
    let cfg = &state.config;
    let now = Utc::now();
    let (st, answer, next) = match outcome {
        Outcome::Sent(a) => (State::Sent, Some(a), None),
        Outcome::Caught => (State::Caught, Some("mail catcher".into()), None),
        Outcome::Failed(a) => (State::Failed, Some(a), None),
        Outcome::Deferred(a) => {
            let age = now - msg.created_at;
            if age >= Duration::seconds(cfg.outbox_give_up_secs as i64) {
                (
                    State::Failed,
                    Some(format!("gave up after {} attempts: {a}", msg.attempts)),
                    None,
                )
            } else {
                let wait = outbox::backoff(
                    msg.attempts,
                    Duration::seconds(cfg.outbox_retry_base_secs as i64),
                    Duration::seconds(cfg.outbox_retry_max_secs as i64),
                );
                (State::Deferred, Some(a), Some(now + wait))
            }
        }
    };
    match st {
        State::Sent | State::Caught => {
            tracing::info!(id = msg.id, state = st.as_str(), "message delivered")
        }
        _ => {
            tracing::warn!(id = msg.id, state = st.as_str(), answer = ?answer, "message not delivered")
        }
    }
    if !outbox::finish(&state.db, msg.id, owner, st, answer, next, now).await? {
        tracing::warn!(id = msg.id, "lease lost before the outcome was recorded");
    }
    Ok(())
}

/// The files of the template the message was rendered from.
async fn attachments(
    state: &AppState,
    msg: &row::Model,
) -> AppResult<Vec<template_attachments::Model>> {
    let Some(version) = msg.template_version_id else {
        return Ok(Vec::new());
    };
    match templates::store::template_of_version(&state.db, version).await? {
        Some(t) => templates::store::attachment_files(&state.db, t).await,
        None => Ok(Vec::new()),
    }
}

/// Builds the MIME message. An address that cannot be parsed fails the
/// message for good rather than retrying it for days.
fn build(
    state: &AppState,
    msg: &row::Model,
    files: Vec<template_attachments::Model>,
) -> Result<Message, String> {
    let to: Mailbox = msg
        .recipient
        .parse()
        .map_err(|e| format!("invalid recipient address: {e}"))?;
    let builder = Message::builder()
        .from(state.mail_from.clone())
        .to(to)
        .subject(msg.subject.clone())
        .message_id(Some(msg.message_id.clone()))
        .date(msg.created_at.into());
    let body = match &msg.body_html {
        Some(html) => MultiPart::alternative_plain_html(msg.body_text.clone(), html.clone()),
        None if files.is_empty() => {
            return builder
                .header(ContentType::TEXT_PLAIN)
                .body(msg.body_text.clone())
                .map_err(|e| format!("message cannot be built: {e}"));
        }
        None => MultiPart::mixed().singlepart(SinglePart::plain(msg.body_text.clone())),
    };
    let mut body = if files.is_empty() {
        body
    } else {
        MultiPart::mixed().multipart(body)
    };
    for f in files {
        let ct = ContentType::parse(&f.content_type).unwrap_or(ContentType::TEXT_PLAIN);
        body = body.singlepart(Attachment::new(f.filename).body(f.data, ct));
    }
    builder
        .multipart(body)
        .map_err(|e| format!("message cannot be built: {e}"))
}
