//! A delivery worker: claim a batch, send each message over its own reused
//! SMTP connection, record the outcomes of the batch in one transaction.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use crate::app::{AppState, Shutdown};
use crate::comms::templates::{self, model::TemplateKind, render};
use crate::crypto::random_token;
use crate::db::entities::{identities, outbox as row, template_attachments, template_versions};
use crate::delivery::outbox::{self, State};
use crate::delivery::suppressions;
use crate::delivery::tracking;
use crate::delivery::transport::{Outcome, Session, is_hard_bounce};
use crate::delivery::transports::{self, Active};
use crate::error::AppResult;
use crate::web::i18n::Locale;

pub async fn run(state: AppState, mut shutdown: Shutdown, n: usize) {
    let owner = format!("{}-{n}-{}", std::process::id(), random_token(6));
    let poll = StdDuration::from_secs(state.config.outbox_poll_secs.max(1));
    let mut session = Session::default();
    tracing::info!(worker = %owner, "delivery worker started");
    while !shutdown.is_set() {
        let idle = match deliver_batch(&state, &owner, &mut session, &shutdown).await {
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
    session.close().await;
    tracing::info!(worker = %owner, "delivery worker stopped");
}

/// Delivers one batch; returns how many messages it took. On shutdown the
/// message being sent is finished and the rest handed back.
pub async fn deliver_batch(
    state: &AppState,
    owner: &str,
    session: &mut Session,
    shutdown: &Shutdown,
) -> AppResult<usize> {
    let lease = Duration::seconds(state.config.outbox_lease_secs as i64);
    // The batch is also the most this worker can send twice after a crash:
    // sent, but the outcomes not yet recorded.
    let batch = outbox::claim(
        &state.db,
        outbox::Channel::Email,
        owner,
        Utc::now(),
        lease,
        state.config.outbox_batch,
    )
    .await?;
    if batch.is_empty() {
        return Ok(0);
    }
    let blocked =
        suppressions::among(&state.db, batch.iter().map(|m| m.recipient.as_str())).await?;
    let active = transports::current(state).await?;
    session.follow(&active.generation).await;
    let mut versions = VersionCache::default();
    let track = tracking::enabled(&state.db).await?;
    let mut senders = Senders::load(state, &batch).await?;
    let mut results = Vec::with_capacity(batch.len());
    for (i, msg) in batch.iter().enumerate() {
        if shutdown.is_set() {
            let rest: Vec<i64> = batch[i..].iter().map(|m| m.id).collect();
            outbox::release(&state.db, &rest, owner).await?;
            break;
        }
        let mut extras = outbox::Extras::default();
        let outcome = match blocked.get(&suppressions::normalise(&msg.recipient)) {
            Some(reason) => Outcome::Suppressed(format!("suppressed: {reason}")),
            None => match prepare(state, msg, &mut versions, track, &mut senders).await? {
                Ok((m, subject)) => match sign(&active, &m).await {
                    Ok(raw) => {
                        extras.subject = subject;
                        active.rate.acquire().await;
                        active.transport.send(session, m.envelope(), &raw).await
                    }
                    Err(why) => Outcome::Deferred(why),
                },
                Err(why) => Outcome::Failed(why),
            },
        };
        results.push((msg, outcome, extras));
    }
    let n = results.len();
    record(state, owner, results).await?;
    Ok(n)
}

/// Prepends the DKIM signature. Signing is CPU work: it runs on the blocking
/// pool so it never stalls the connections of other workers.
async fn sign(active: &Active, m: &Message) -> Result<Vec<u8>, String> {
    let raw = m.formatted();
    let domain = m.envelope().from().map(|a| a.domain().to_owned());
    let Some(signer) = domain.and_then(|d| active.signer_for(&d)) else {
        return Ok(raw);
    };
    tokio::task::spawn_blocking(move || {
        let header = signer.sign(&raw).map_err(|e| format!("DKIM: {e}"))?;
        let mut out = Vec::with_capacity(header.len() + raw.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&raw);
        Ok(out)
    })
    .await
    .map_err(|e| format!("DKIM: {e}"))?
}

/// Template versions (and their files) used by a batch, read once.
#[derive(Default)]
pub struct VersionCache {
    versions: HashMap<i64, Option<(TemplateKind, template_versions::Model)>>,
    files: HashMap<i64, Vec<template_attachments::Model>>,
}

impl VersionCache {
    pub async fn version(
        &mut self,
        state: &AppState,
        id: i64,
    ) -> AppResult<Option<(TemplateKind, template_versions::Model)>> {
        if let Entry::Vacant(slot) = self.versions.entry(id) {
            let v = template_versions::Entity::find_by_id(id)
                .one(&state.db)
                .await?;
            let found = match v {
                Some(v) => crate::db::entities::templates::Entity::find_by_id(v.template_id)
                    .one(&state.db)
                    .await?
                    .map(|t| (TemplateKind::of(&t), v)),
                None => None,
            };
            slot.insert(found);
        }
        Ok(self.versions.get(&id).cloned().flatten())
    }

    async fn files(
        &mut self,
        state: &AppState,
        version: i64,
    ) -> AppResult<Vec<template_attachments::Model>> {
        if let Entry::Vacant(slot) = self.files.entry(version) {
            let files = match templates::store::template_of_version(&state.db, version).await? {
                Some(t) => templates::store::attachment_files(&state.db, t).await?,
                None => Vec::new(),
            };
            slot.insert(files);
        }
        Ok(self.files.get(&version).cloned().unwrap_or_default())
    }
}

/// A message as the recipient receives it.
#[derive(Debug, Clone, Default)]
pub struct Content {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The recipient's unsubscribe link, for the List-Unsubscribe header.
    pub unsubscribe: Option<String>,
}

/// Subject, text and HTML as the recipient receives them: stored for system
/// mails, rendered now from the frozen template version for templated sends.
pub async fn content(
    state: &AppState,
    msg: &row::Model,
    versions: &mut VersionCache,
) -> AppResult<Result<Content, String>> {
    let (Some(vid), Some(data)) = (msg.template_version_id, msg.merge_data.as_deref()) else {
        return Ok(Ok(Content {
            subject: msg.subject.clone(),
            text: msg.body_text.clone(),
            html: msg.body_html.clone(),
            unsubscribe: None,
        }));
    };
    let Some((kind, version)) = versions.version(state, vid).await? else {
        return Ok(Err(format!("template version {vid} no longer exists")));
    };
    let ctx: serde_json::Value = match serde_json::from_str(data) {
        Ok(c) => c,
        Err(e) => return Ok(Err(format!("merge data unreadable: {e}"))),
    };
    let l = msg
        .locale
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or_default();
    let unsubscribe = ctx
        .get("unsubscribe_url")
        .and_then(|v| v.as_str())
        .filter(|u| u.starts_with("http"))
        .map(str::to_owned);
    Ok(
        match render::render(state, kind, &render::variant_for(&version, l), &ctx, l) {
            Ok(r) => Ok(Content {
                subject: r.subject,
                text: r.text,
                html: r.html,
                unsubscribe,
            }),
            Err(e) => Err(format!("render: {e}")),
        },
    )
}

/// The sender identities of a batch and the domains the network may send
/// from, read once per batch.
struct Senders {
    domains: Vec<String>,
    identities: HashMap<i64, identities::Model>,
}

impl Senders {
    async fn load(state: &AppState, batch: &[row::Model]) -> AppResult<Senders> {
        let ids: Vec<i64> = batch.iter().filter_map(|m| m.identity_id).collect();
        if ids.is_empty() {
            return Ok(Senders {
                domains: Vec::new(),
                identities: HashMap::new(),
            });
        }
        Ok(Senders {
            domains: crate::delivery::identities::sender_domains(&state.db).await?,
            identities: identities::Entity::find()
                .filter(identities::Column::Id.is_in(ids))
                .all(&state.db)
                .await?
                .into_iter()
                .map(|i| (i.id, i))
                .collect(),
        })
    }

    /// From and Reply-To of `msg`: the platform's unless it was sent as an
    /// identity.
    fn of(&self, state: &AppState, msg: &row::Model) -> (Mailbox, Option<Mailbox>) {
        match msg.identity_id.and_then(|id| self.identities.get(&id)) {
            Some(i) => crate::delivery::identities::from_for(i, &self.domains, &state.mail_from),
            None => (state.mail_from.clone(), None),
        }
    }
}

async fn prepare(
    state: &AppState,
    msg: &row::Model,
    versions: &mut VersionCache,
    track: bool,
    senders: &mut Senders,
) -> AppResult<Result<(Message, Option<String>), String>> {
    let mut c = match content(state, msg, versions).await? {
        Ok(c) => c,
        Err(why) => return Ok(Err(why)),
    };
    if track && tracking::applies(msg) {
        c.html = c.html.map(|h| tracking::instrument(state, msg.id, &h));
    }
    let files = match msg.template_version_id {
        Some(v) => versions.files(state, v).await?,
        None => Vec::new(),
    };
    // Rendered subjects are kept for the archive; system mails have theirs.
    let subject = msg.template_version_id.map(|_| c.subject.clone());
    let (from, reply_to) = senders.of(state, msg);
    Ok(build(msg, from, reply_to, c, files).map(|m| (m, subject)))
}

/// Records a batch's outcomes in one transaction: deferred messages get
/// their next attempt (or are given up), hard bounces suppress the address.
pub async fn record(
    state: &AppState,
    owner: &str,
    results: Vec<(&row::Model, Outcome, outbox::Extras)>,
) -> AppResult<()> {
    let cfg = &state.config;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let mut done = Vec::with_capacity(results.len());
    for (msg, outcome, extras) in results {
        let (st, answer, next) = match outcome {
            Outcome::Sent(a) => (State::Sent, Some(a), None),
            Outcome::Caught => (State::Caught, Some("mail catcher".into()), None),
            Outcome::Suppressed(a) => (State::Suppressed, Some(a), None),
            Outcome::Failed(a) => {
                if is_hard_bounce(&a) {
                    suppressions::add(
                        &txn,
                        &msg.recipient,
                        suppressions::HARD_BOUNCE,
                        Some(a.clone()),
                    )
                    .await?;
                }
                (State::Failed, Some(a), None)
            }
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
                tracing::debug!(id = msg.id, state = st.as_str(), "message delivered")
            }
            _ => {
                tracing::warn!(id = msg.id, state = st.as_str(), answer = ?answer, "message not delivered")
            }
        }
        done.push(outbox::Finished {
            id: msg.id,
            state: st,
            answer,
            next_attempt: next,
            extras,
        });
    }
    let n = done.len() as u64;
    let recorded = outbox::finish_many(&txn, owner, done, now).await?;
    if recorded < n {
        tracing::warn!(
            lost = n - recorded,
            "leases lost before the outcomes were recorded"
        );
    }
    txn.commit().await?;
    Ok(())
}

/// Builds the MIME message. An address that cannot be parsed fails the
/// message for good rather than retrying it for days.
fn build(
    msg: &row::Model,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    c: Content,
    files: Vec<template_attachments::Model>,
) -> Result<Message, String> {
    let Content {
        subject,
        text,
        html,
        unsubscribe,
    } = c;
    let to: Mailbox = msg
        .recipient
        .parse()
        .map_err(|e| format!("invalid recipient address: {e}"))?;
    let mut builder = Message::builder().from(from);
    if let Some(r) = reply_to {
        builder = builder.reply_to(r);
    }
    let mut builder = builder
        .to(to)
        .subject(subject)
        .message_id(Some(msg.message_id.clone()))
        .date(msg.created_at.into());
    // RFC 2369 and RFC 8058: mail clients show an "unsubscribe" button that
    // posts to the signed link, no cookie or form needed. The link is ours
    // (base URL and a token), never text typed by a user.
    if let Some(url) = unsubscribe.filter(|u| !u.contains(['\r', '\n', '<', '>'])) {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let body = match html {
        Some(html) => MultiPart::alternative_plain_html(text, html),
        None if files.is_empty() => {
            return builder
                .header(ContentType::TEXT_PLAIN)
                .body(text)
                .map_err(|e| format!("message cannot be built: {e}"));
        }
        None => MultiPart::mixed().singlepart(SinglePart::plain(text)),
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
