//! Delivery of e-mail: one claimer takes batches of due messages off the
//! outbox, as many senders as configured connections send them (each over
//! its own reused connection to the message's route), and one recorder
//! writes their outcomes many to a transaction. The database sees one claim
//! and one write for hundreds of messages, whatever the number of
//! connections. What was claimed but not yet recorded is all a crash can
//! send twice: at most two batches waiting for a sender, [`CHAIN`] messages
//! per sender, two batches of outcomes waiting for the recorder and the two
//! it is writing (6 × `outbox_batch` + 4 × `workers`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use amicale_mailkit::dkim::{Algorithm, Signer};
use chrono::{DateTime, Duration, Utc};
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use tokio::sync::{Mutex, OwnedSemaphorePermit, mpsc};
use tokio::task::JoinSet;

use crate::copies::Copies;
use crate::delivery_settings::{self, Active, Route};
use crate::mime;
use crate::outbox::{self, State};
use crate::state::{Engine, Shutdown};
use crate::suppressions;
use crate::templates::{self, model::TemplateKind, render};
use crate::tracking;
use crate::transport::{Outcome, Session};
use amicale_kernel::Locale;
use amicale_kernel::crypto::random_token;
use amicale_store::entities::{identities, outbox as row, template_attachments, template_versions};
use amicale_store::error::AppResult;

pub async fn run(state: Engine, shutdown: Shutdown) {
    let owner = format!("{}-{}", std::process::id(), random_token(6));
    let batch = state.config.outbox_batch.max(1) as usize;
    // Two batches: the senders work through one while the next is claimed.
    let (work_tx, work_rx) = mpsc::channel::<Job>(batch * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));
    // Bounded: a recorder that falls behind slows the senders down rather
    // than widening what a crash could send twice.
    let (done_tx, done_rx) = mpsc::channel::<Done>(batch * 2);
    let mut tasks = JoinSet::new();
    for _ in 0..state.config.workers {
        tasks.spawn(sender(
            state.clone(),
            shutdown.clone(),
            work_rx.clone(),
            done_tx.clone(),
        ));
    }
    drop(done_tx);
    tasks.spawn(recorder(state.clone(), owner.clone(), done_rx));
    tracing::info!(worker = %owner, connections = state.config.workers, "delivery started");
    claimer(&state, &owner, shutdown, work_tx).await;
    while tasks.join_next().await.is_some() {}
    tracing::info!(worker = %owner, "delivery stopped");
}

/// A claimed message and what its batch shares.
struct Job {
    msg: row::Model,
    batch: Arc<Batch>,
}

/// What the messages of one claim need, read once.
struct Batch {
    active: Arc<Active>,
    blocked: HashMap<String, String>,
    senders: Senders,
    track: bool,
    versions: HashMap<i64, (TemplateKind, template_versions::Model)>,
    files: HashMap<i64, Vec<template_attachments::Model>>,
    /// After this instant another worker may claim the messages again:
    /// one still waiting for a sender is handed back instead of sent.
    send_before: DateTime<Utc>,
}

enum Done {
    Finished(Box<(row::Model, Outcome, outbox::Extras)>),
    /// Not attempted (shutdown, lease about to run out): queued again.
    Released(i64),
}

/// Claims a batch whenever the senders have room for one, until shutdown.
async fn claimer(state: &Engine, owner: &str, mut shutdown: Shutdown, tx: mpsc::Sender<Job>) {
    let poll = StdDuration::from_secs(state.config.outbox_poll_secs.max(1));
    let batch = state.config.outbox_batch.max(1) as usize;
    let mut versions = VersionCache::default();
    while !shutdown.is_set() {
        let permits = tokio::select! {
            p = tx.reserve_many(batch) => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.wait() => break,
        };
        let idle = match claim_batch(state, owner, &mut versions).await {
            Ok(Some((b, msgs))) => {
                for (permit, msg) in permits.zip(msgs) {
                    permit.send(Job {
                        msg,
                        batch: b.clone(),
                    });
                }
                false
            }
            Ok(None) => true,
            Err(e) => {
                tracing::error!(error = %e, "claiming messages failed");
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
}

async fn claim_batch(
    state: &Engine,
    owner: &str,
    versions: &mut VersionCache,
) -> AppResult<Option<(Arc<Batch>, Vec<row::Model>)>> {
    let lease = Duration::seconds(state.config.outbox_lease_secs as i64);
    let active = delivery_settings::current(state).await?;
    // A rate-limited server must be able to take the whole claim well
    // within the lease, or messages would wait past it.
    let mut limit = state.config.outbox_batch.max(1);
    let rate = active.default.rate.per_sec();
    if rate > 0.0 {
        limit = limit.min((rate * lease.num_seconds() as f64 / 4.0).max(1.0) as u64);
    }
    let now = Utc::now();
    let msgs = outbox::claim(
        &state.outbox_db,
        outbox::Channel::Email,
        owner,
        now,
        lease,
        limit,
    )
    .await?;
    if msgs.is_empty() {
        return Ok(None);
    }
    let blocked =
        suppressions::among(&state.outbox_db, msgs.iter().map(|m| m.recipient.as_str())).await?;
    let track = tracking::enabled(&state.outbox_db).await?;
    let senders = Senders::load(state, &msgs).await?;
    let mut vs = HashMap::new();
    let mut files = HashMap::new();
    versions.forget_files();
    for vid in msgs.iter().filter_map(|m| m.template_version_id) {
        if vs.contains_key(&vid) {
            continue;
        }
        if let Some(v) = versions.version(state, vid).await? {
            vs.insert(vid, v);
            files.insert(vid, versions.files(state, vid).await?);
        }
    }
    let b = Batch {
        active,
        blocked,
        senders,
        track,
        versions: vs,
        files,
        send_before: now + lease - lease / 4,
    };
    Ok(Some((Arc::new(b), msgs)))
}

/// Connections idle this long are closed.
const IDLE: StdDuration = StdDuration::from_secs(10);

/// Most messages a sender takes at once and sends back to back.
const CHAIN: usize = 4;

/// One sender: takes the next claimed messages (up to [`CHAIN`]), sends
/// them over its own connection to their route, reports each outcome to the
/// recorder.
async fn sender(
    state: Engine,
    shutdown: Shutdown,
    work: Arc<Mutex<mpsc::Receiver<Job>>>,
    done: mpsc::Sender<Done>,
) {
    let mut conns = Connections::default();
    let mut jobs = Vec::with_capacity(CHAIN);
    loop {
        {
            let mut rx = work.lock().await;
            match tokio::time::timeout(IDLE, rx.recv_many(&mut jobs, CHAIN)).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => {
                    drop(rx);
                    conns.close_all().await;
                    continue;
                }
            }
        }
        let mut results = Vec::with_capacity(jobs.len());
        let mut built = Vec::with_capacity(jobs.len());
        for job in jobs.drain(..) {
            if shutdown.is_set() || Utc::now() >= job.batch.send_before {
                results.push(Done::Released(job.msg.id));
                continue;
            }
            match stage(&state, &job, &mut conns).await {
                Ok(s) => built.push((job, s)),
                Err((outcome, extras)) => results.push(finished(job, outcome, extras)),
            }
        }
        let mut staged = Vec::with_capacity(built.len());
        for (job, signed) in sign_all(built).await {
            match signed {
                Ok(s) => staged.push((job, s)),
                Err((why, extras)) => {
                    results.push(finished(job, Outcome::Deferred(why.into()), extras))
                }
            }
        }
        for (job, outcome, extras) in send(staged, &mut conns).await {
            results.push(finished(job, outcome, extras));
        }
        for d in results {
            if done.send(d).await.is_err() {
                conns.close_all().await;
                return;
            }
        }
    }
    conns.close_all().await;
}

fn finished(job: Job, outcome: Outcome, extras: outbox::Extras) -> Done {
    let mut msg = job.msg;
    // The recorder needs ids and counters, not the merge data.
    msg.merge_data = None;
    Done::Finished(Box::new((msg, outcome, extras)))
}

/// A message ready to go: built and signed, its route's connection open.
struct Staged {
    envelope: lettre::address::Envelope,
    raw: Vec<u8>,
    extras: outbox::Extras,
}

/// A message built, not yet signed, its route's connection open.
struct Built {
    envelope: lettre::address::Envelope,
    raw: Vec<u8>,
    /// The DKIM key of the sender's domain, if it has one.
    signer: Option<Arc<Signer>>,
    extras: outbox::Extras,
}

async fn stage(
    state: &Engine,
    job: &Job,
    conns: &mut Connections,
) -> Result<Built, (Outcome, outbox::Extras)> {
    let (b, msg) = (&job.batch, &job.msg);
    let mut extras = outbox::Extras::default();
    if let Some(reason) = b.blocked.get(&suppressions::normalise(&msg.recipient)) {
        return Err((Outcome::Suppressed(format!("suppressed: {reason}")), extras));
    }
    let route = b.active.route(b.senders.profile_of(msg));
    let session = conns.session(route, &b.active.generation).await;
    let eight_bit = match route.transport.ready(session).await {
        Ok(e) => e,
        Err(why) => return Err((Outcome::Deferred(why.into()), extras)),
    };
    let (m, subject) = match prepare(state, msg, b, eight_bit) {
        Ok(x) => x,
        Err(why) => return Err((Outcome::Failed(why.into()), extras)),
    };
    extras.subject = subject;
    let signer = m
        .envelope()
        .from()
        .and_then(|a| b.active.signer_for(a.domain()));
    Ok(Built {
        envelope: m.envelope().clone(),
        raw: m.formatted(),
        signer,
        extras,
    })
}

/// Sends staged messages. Several one-recipient messages for the same
/// route, with no per-domain limit to respect, go back to back (one round
/// trip each instead of two); the others one by one.
async fn send(
    staged: Vec<(Job, Staged)>,
    conns: &mut Connections,
) -> Vec<(Job, Outcome, outbox::Extras)> {
    let Some((first, _)) = staged.first() else {
        return Vec::new();
    };
    let profile_of = |j: &Job| j.batch.senders.profile_of(&j.msg);
    let active = first.batch.active.clone();
    let profile = profile_of(first);
    let route = active.route(profile);
    let chained = staged.len() > 1
        && !route.limits_domains()
        && staged.iter().all(|(j, s)| {
            Arc::ptr_eq(&j.batch.active, &active)
                && profile_of(j) == profile
                && s.envelope.to().len() == 1
        });
    if chained {
        for _ in &staged {
            route.rate.acquire().await;
        }
        let session = conns.session(route, &active.generation).await;
        let msgs: Vec<_> = staged
            .iter()
            .map(|(_, s)| (&s.envelope, s.raw.as_slice()))
            .collect();
        let outcomes = route.transport.send_chain(session, &msgs).await;
        return staged
            .into_iter()
            .zip(outcomes)
            .map(|((job, s), o)| (job, o, s.extras))
            .collect();
    }
    let mut out = Vec::with_capacity(staged.len());
    for (job, s) in staged {
        let b = job.batch.clone();
        let route = b.active.route(profile_of(&job));
        route.rate.acquire().await;
        let _slot = route.domain_slot(&job.msg.recipient).await;
        let session = conns.session(route, &b.active.generation).await;
        let outcome = route.transport.send(session, &s.envelope, &s.raw).await;
        out.push((job, outcome, s.extras));
    }
    out
}

/// A sender's open connections, one per route it delivered through.
#[derive(Default)]
struct Connections {
    generation: String,
    open: HashMap<Option<i64>, Held>,
}

#[derive(Default)]
struct Held {
    session: Session,
    /// The route's connection slot, when it limits them.
    _slot: Option<OwnedSemaphorePermit>,
}

impl Connections {
    async fn session(&mut self, route: &Route, generation: &str) -> &mut Session {
        if self.generation != generation {
            // The settings changed: no connection to an old server survives.
            self.close_all().await;
            self.generation = generation.to_owned();
        }
        if !self.open.contains_key(&route.profile) {
            let slot = match &route.connections {
                Some(sem) => {
                    // Waiting for a slot while holding another route's
                    // could leave two senders waiting for each other.
                    self.close_all().await;
                    sem.clone().acquire_owned().await.ok()
                }
                None => None,
            };
            self.open.insert(
                route.profile,
                Held {
                    session: Session::default(),
                    _slot: slot,
                },
            );
        }
        &mut self.open.entry(route.profile).or_default().session
    }

    async fn close_all(&mut self) {
        for (_, mut h) in self.open.drain() {
            h.session.close().await;
        }
    }
}

/// Most outcomes written in one transaction.
const RECORD_BATCH: usize = 500;

/// Writes outcomes as they come, many per transaction.
async fn recorder(state: Engine, owner: String, mut rx: mpsc::Receiver<Done>) {
    let mut buf = Vec::with_capacity(RECORD_BATCH);
    while rx.recv_many(&mut buf, RECORD_BATCH).await > 0 {
        let mut finished = Vec::with_capacity(buf.len());
        let mut released = Vec::new();
        for d in buf.drain(..) {
            match d {
                Done::Finished(f) => finished.push(*f),
                Done::Released(id) => released.push(id),
            }
        }
        // These messages went out: losing their outcomes would send them
        // again once the lease runs out, so a failing database is retried.
        for attempt in 1..=5u32 {
            let results = finished
                .iter()
                .map(|(m, o, e)| (m, o.clone(), e.clone()))
                .collect();
            let recorded = if finished.is_empty() {
                Ok(())
            } else {
                record(&state, &owner, results).await
            };
            let r = match recorded {
                Ok(()) if !released.is_empty() => {
                    outbox::release(&state.outbox_db, &released, &owner)
                        .await
                        .map(|_| ())
                }
                r => r,
            };
            match r {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(error = %e, attempt, "recording delivery outcomes failed");
                    tokio::time::sleep(StdDuration::from_millis(200 << attempt)).await;
                }
            }
        }
    }
}

/// A job and its message signed, or why it could not be (with its extras).
type Signed = (Job, Result<Staged, (String, outbox::Extras)>);

/// Prepends the DKIM signature to each built message; the jobs come back in
/// order. An RSA signature costs a few hundred microseconds of CPU: a
/// sender's RSA signatures go to the blocking pool together, so they never
/// stall the connections of other senders and the hop to the pool
/// (measured ~160 µs on 2 busy cores) is paid once per chain rather than
/// per message. An ed25519 signature costs less than that hop, so it is
/// made in place.
async fn sign_all(built: Vec<(Job, Built)>) -> Vec<Signed> {
    let costly = built.iter().any(|(_, b)| {
        b.signer
            .as_ref()
            .is_some_and(|s| s.key.algorithm() != Algorithm::Ed25519Sha256)
    });
    let sign_each = |built: Vec<(Job, Built)>| -> Vec<Signed> {
        built.into_iter().map(|(job, b)| (job, sign(b))).collect()
    };
    if !costly {
        return sign_each(built);
    }
    // One chain more than cores: while a finished chain hands its results
    // back and the next one reaches the pool, the cores still sign (+8 %
    // messages/s over one per core). Many more only adds threads, each with
    // its allocator's caches (measured: +70 MiB peak with eight).
    let slot = RSA_SLOTS.acquire().await;
    let signed = tokio::task::spawn_blocking(move || sign_each(built)).await;
    drop(slot);
    // Only a panic in the signer ends here: the messages are lost to this
    // chain, and their leases hand them to a later claim.
    signed.unwrap_or_else(|e| {
        tracing::error!(error = %e, "DKIM signing failed");
        Vec::new()
    })
}

/// `b` ready to send: its bytes behind their DKIM signature, if its sender's
/// domain has a key.
fn sign(b: Built) -> Result<Staged, (String, outbox::Extras)> {
    let Built {
        envelope,
        raw,
        signer,
        extras,
    } = b;
    let raw = match signer {
        None => raw,
        Some(signer) => match signer.sign(&raw) {
            Ok(header) => [header.as_bytes(), &raw].concat(),
            Err(e) => return Err((format!("DKIM: {e}"), extras)),
        },
    };
    Ok(Staged {
        envelope,
        raw,
        extras,
    })
}

static RSA_SLOTS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()) + 1)
});

/// Template versions (and their files) used by a batch, read once.
#[derive(Default)]
pub struct VersionCache {
    versions: HashMap<i64, Option<(TemplateKind, template_versions::Model)>>,
    files: HashMap<i64, Vec<template_attachments::Model>>,
}

impl VersionCache {
    pub async fn version(
        &mut self,
        state: &Engine,
        id: i64,
    ) -> AppResult<Option<(TemplateKind, template_versions::Model)>> {
        if let Entry::Vacant(slot) = self.versions.entry(id) {
            let v = template_versions::Entity::find_by_id(id)
                .one(&state.db)
                .await?;
            let found = match v {
                Some(v) => amicale_store::entities::templates::Entity::find_by_id(v.template_id)
                    .one(&state.db)
                    .await?
                    .map(|t| (TemplateKind::of(&t), v)),
                None => None,
            };
            slot.insert(found);
        }
        Ok(self.versions.get(&id).cloned().flatten())
    }

    /// Attachments belong to the template, which can change: each batch
    /// reads them afresh. Versions never change.
    pub fn forget_files(&mut self) {
        self.files.clear();
    }

    async fn files(
        &mut self,
        state: &Engine,
        version: i64,
    ) -> AppResult<Vec<template_attachments::Model>> {
        if let Entry::Vacant(slot) = self.files.entry(version) {
            let files = match templates::template_of_version(&state.db, version).await? {
                Some(t) => templates::attachment_files(&state.db, t).await?,
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
    state: &Engine,
    msg: &row::Model,
    versions: &mut VersionCache,
) -> AppResult<Result<Content, String>> {
    let version = match msg.template_version_id {
        Some(vid) if msg.merge_data.is_some() => versions.version(state, vid).await?,
        _ => None,
    };
    Ok(content_of(
        state,
        msg,
        version.as_ref().map(|(k, v)| (*k, v)),
    ))
}

/// [`content`] with the message's template version already read.
fn content_of(
    state: &Engine,
    msg: &row::Model,
    version: Option<(TemplateKind, &template_versions::Model)>,
) -> Result<Content, String> {
    let (Some(vid), Some(data)) = (msg.template_version_id, msg.merge_data.as_deref()) else {
        return Ok(Content {
            subject: msg.subject.clone(),
            text: msg.body_text.clone(),
            html: msg.body_html.clone(),
            unsubscribe: None,
        });
    };
    let Some((kind, version)) = version else {
        return Err(format!("template version {vid} no longer exists"));
    };
    let ctx: serde_json::Value =
        serde_json::from_str(data).map_err(|e| format!("merge data unreadable: {e}"))?;
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
    match render::render(state, kind, &render::variant_for(version, l), &ctx, l) {
        Ok(r) => {
            // An SMS has no footer: every character is paid for.
            let (text, html) = match &unsubscribe {
                Some(url) if kind != TemplateKind::Sms => {
                    with_unsubscribe_footer(r.text, r.html, url, l)
                }
                _ => (r.text, r.html),
            };
            Ok(Content {
                subject: r.subject,
                text,
                html,
                unsubscribe,
            })
        }
        Err(e) => Err(format!("render: {e}")),
    }
}

/// Every bulk message shows its unsubscribe link in the body too: when the
/// template does not, a footer line carries it (a mail client without the
/// List-Unsubscribe button still lets the reader leave).
fn with_unsubscribe_footer(
    mut text: String,
    html: Option<String>,
    url: &str,
    l: Locale,
) -> (String, Option<String>) {
    if !text.contains(url) {
        text.push_str("\n\n-- \n");
        text.push_str(&l.t("mail-unsubscribe-footer"));
        text.push(' ');
        text.push_str(url);
        text.push('\n');
    }
    let html = html.map(|mut h| {
        // The link is ours (base URL and a URL-safe token); escaped anyway.
        let href = url
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;");
        if !h.contains(&href) {
            let footer = format!(
                "<p style=\"font-size:12px;color:#555555;text-align:center\"><a href=\"{href}\" style=\"color:#555555\">{}</a></p>",
                l.t("mail-unsubscribe-link")
            );
            match h.rfind("</body>") {
                Some(i) => h.insert_str(i, &footer),
                None => h.push_str(&footer),
            }
        }
        h
    });
    (text, html)
}

/// The sender identities of a batch and the domains the network may send
/// from, read once per batch.
struct Senders {
    domains: Vec<String>,
    identities: HashMap<i64, identities::Model>,
}

impl Senders {
    async fn load(state: &Engine, batch: &[row::Model]) -> AppResult<Senders> {
        let ids: Vec<i64> = batch.iter().filter_map(|m| m.identity_id).collect();
        if ids.is_empty() {
            return Ok(Senders {
                domains: Vec::new(),
                identities: HashMap::new(),
            });
        }
        Ok(Senders {
            domains: crate::identities::sender_domains(&state.db).await?,
            identities: identities::Entity::find()
                .filter(identities::Column::Id.is_in(ids))
                .all(&state.db)
                .await?
                .into_iter()
                .map(|i| (i.id, i))
                .collect(),
        })
    }

    /// The SMTP profile `msg` goes through: its identity's, else the default.
    fn profile_of(&self, msg: &row::Model) -> Option<i64> {
        msg.identity_id
            .and_then(|id| self.identities.get(&id))
            .and_then(|i| i.smtp_profile_id)
    }

    /// From and Reply-To of `msg`: the platform's unless it was sent as an
    /// identity.
    fn of(&self, state: &Engine, msg: &row::Model) -> (Mailbox, Option<Mailbox>) {
        match msg.identity_id.and_then(|id| self.identities.get(&id)) {
            Some(i) => crate::identities::from_for(i, &self.domains, &state.mail_from),
            None => (state.mail_from.clone(), None),
        }
    }
}

fn prepare(
    state: &Engine,
    msg: &row::Model,
    b: &Batch,
    eight_bit: bool,
) -> Result<(Message, Option<String>), String> {
    let version = msg
        .template_version_id
        .and_then(|v| b.versions.get(&v))
        .map(|(k, v)| (*k, v));
    let mut c = content_of(state, msg, version)?;
    if b.track && tracking::applies(msg) {
        c.html = c.html.map(|h| tracking::instrument(state, msg.id, &h));
    }
    let files = msg
        .template_version_id
        .and_then(|v| b.files.get(&v))
        .map(Vec::as_slice)
        .unwrap_or_default();
    // Rendered subjects are kept for the archive; system mails have theirs.
    let subject = msg.template_version_id.map(|_| c.subject.clone());
    let (from, reply_to) = b.senders.of(state, msg);
    let copies = Copies::from_column(msg.copies.as_deref());
    build(msg, from, reply_to, &copies, c, files, eight_bit).map(|m| (m, subject))
}

/// Records a batch's outcomes in one transaction: deferred messages get
/// their next attempt (or are given up), hard bounces suppress the address.
pub async fn record(
    state: &Engine,
    owner: &str,
    results: Vec<(&row::Model, Outcome, outbox::Extras)>,
) -> AppResult<()> {
    let cfg = &state.config;
    let now = Utc::now();
    let txn = state.outbox_db.begin().await?;
    let mut done = Vec::with_capacity(results.len());
    for (msg, outcome, extras) in results {
        let (st, answer, next) = match outcome {
            Outcome::Sent(a) => (State::Sent, Some(a), None),
            Outcome::Caught => (State::Caught, Some("mail catcher".into()), None),
            Outcome::Suppressed(a) => (State::Suppressed, Some(a), None),
            Outcome::Failed(a) => {
                if a.address_unknown() {
                    suppressions::add(
                        &txn,
                        &msg.recipient,
                        suppressions::HARD_BOUNCE,
                        Some(a.to_string()),
                    )
                    .await?;
                }
                (State::Failed, Some(a.to_string()), None)
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
                    (State::Deferred, Some(a.to_string()), Some(now + wait))
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
    copies: &Copies,
    c: Content,
    files: &[template_attachments::Model],
    eight_bit: bool,
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
    // The envelope is built here from the parsed addresses: left to lettre,
    // it would parse them again out of the formatted headers.
    let mut rcpt = vec![to.email.clone()];
    let sender = from.email.clone();
    let mut builder = Message::builder().from(from);
    if let Some(r) = reply_to {
        builder = builder.reply_to(r);
    }
    let mut builder = builder.to(to);
    // BCC addresses go in the envelope only: lettre leaves their header out.
    for (a, bcc) in copies
        .cc
        .iter()
        .map(|a| (a, false))
        .chain(copies.bcc.iter().map(|a| (a, true)))
    {
        let mb: Mailbox = a
            .parse()
            .map_err(|e| format!("invalid copy address: {e}"))?;
        rcpt.push(mb.email.clone());
        builder = if bcc { builder.bcc(mb) } else { builder.cc(mb) };
    }
    let envelope = lettre::address::Envelope::new(Some(sender), rcpt)
        .map_err(|e| format!("message cannot be built: {e}"))?;
    let mut builder = builder
        .envelope(envelope)
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
        Some(html) => MultiPart::alternative()
            .singlepart(mime::plain(text, eight_bit))
            .singlepart(mime::html(html, eight_bit)),
        None if files.is_empty() => {
            return builder
                .singlepart(mime::plain(text, eight_bit))
                .map_err(|e| format!("message cannot be built: {e}"));
        }
        None => MultiPart::mixed().singlepart(mime::plain(text, eight_bit)),
    };
    let mut body = if files.is_empty() {
        body
    } else {
        MultiPart::mixed().multipart(body)
    };
    for f in files {
        let ct = ContentType::parse(&f.content_type).unwrap_or(ContentType::TEXT_PLAIN);
        body = body.singlepart(Attachment::new(f.filename.clone()).body(f.data.clone(), ct));
    }
    builder
        .multipart(body)
        .map_err(|e| format!("message cannot be built: {e}"))
}
