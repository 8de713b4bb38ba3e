//! The SMS worker: claims due SMS from the outbox, renders each from its
//! frozen template version, counts its segments against the credit, and
//! hands it to the provider over HTTP. Outcomes are recorded like e-mail's:
//! a provider error 5xx or 429 defers with backoff, any other refusal fails.

use std::time::Duration as StdDuration;

use amicale_sms::provider::{Answer, Outgoing};
use chrono::{Duration, Utc};

use crate::outbox::{self, Channel, Extras};
use crate::sms::{account, credit, receipts};
use crate::state::{Engine, Shutdown};
use crate::suppressions;
use crate::transport::Outcome;
use crate::worker::{self, VersionCache};
use amicale_kernel::crypto::random_token;
use amicale_store::entities::outbox as row;
use amicale_store::error::AppResult;

/// SMS are few and each is one HTTP call: a small batch keeps the window of
/// possible duplicates after a crash small too.
const BATCH: u64 = 20;

pub async fn run(state: Engine, mut shutdown: Shutdown) {
    let owner = format!("{}-sms-{}", std::process::id(), random_token(6));
    let poll = StdDuration::from_secs(state.config.outbox_poll_secs.max(1));
    while !shutdown.is_set() {
        let idle = match deliver_batch(&state, &owner, &shutdown).await {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => {
                tracing::error!(error = %e, "SMS batch failed");
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

/// Delivers one batch of SMS; returns how many it took.
pub async fn deliver_batch(state: &Engine, owner: &str, shutdown: &Shutdown) -> AppResult<usize> {
    let lease = Duration::seconds(state.config.outbox_lease_secs as i64);
    let batch = outbox::claim(&state.db, Channel::Sms, owner, Utc::now(), lease, BATCH).await?;
    if batch.is_empty() {
        return Ok(0);
    }
    let account = account::load(state).await?;
    let blocked =
        suppressions::among(&state.db, batch.iter().map(|m| m.recipient.as_str())).await?;
    let bal = credit::balance(&state.db).await?;
    // Only what was handed over is spent; this batch's own reservations
    // are what it is about to spend.
    let mut spendable = bal.purchased - bal.used;
    let mut versions = VersionCache::default();
    let mut results = Vec::with_capacity(batch.len());
    let mut handed = 0usize;
    for (i, msg) in batch.iter().enumerate() {
        if shutdown.is_set() {
            let rest: Vec<i64> = batch[i..].iter().map(|m| m.id).collect();
            outbox::release(&state.db, &rest, owner).await?;
            break;
        }
        let (outcome, extras) = match blocked.get(&suppressions::normalise(&msg.recipient)) {
            Some(reason) => (
                Outcome::Suppressed(format!("suppressed: {reason}")),
                Extras::default(),
            ),
            None => {
                deliver_one(state, account.as_ref(), msg, &mut versions, &mut spendable).await?
            }
        };
        if extras.segments.is_some() {
            handed += 1;
        }
        results.push((msg, outcome, extras));
    }
    let n = results.len();
    worker::record(state, owner, results).await?;
    if handed > 0 {
        credit::alert_if_low(state).await?;
    }
    Ok(n)
}

async fn deliver_one(
    state: &Engine,
    account: Option<&account::Account>,
    msg: &row::Model,
    versions: &mut VersionCache,
    spendable: &mut i64,
) -> AppResult<(Outcome, Extras)> {
    let none = Extras::default();
    let Some(account) = account else {
        return Ok((
            Outcome::Deferred("no SMS account is configured".into()),
            none,
        ));
    };
    if account.secrets_lost {
        return Ok((
            Outcome::Deferred("the SMS account's secrets cannot be read: enter them again".into()),
            none,
        ));
    }
    let text = match worker::content(state, msg, versions).await? {
        Ok(c) => account.prepare(&c.text),
        Err(why) => return Ok((Outcome::Failed(why.into()), none)),
    };
    let segments = amicale_sms::analyse(&text).segments as i64;
    if segments > *spendable {
        return Ok((
            Outcome::Failed(
                format!(
                    "SMS credit exhausted: {segments} segments needed, {} left",
                    (*spendable).max(0)
                )
                .into(),
            ),
            none,
        ));
    }
    let Some(provider) = account.provider() else {
        *spendable -= segments;
        return Ok((
            Outcome::Caught,
            Extras {
                segments: Some(segments as i32),
                provider_id: None,
                subject: None,
            },
        ));
    };
    let reference = msg.id.to_string();
    let receipt_url = receipts::url(state);
    let out = Outgoing {
        to: &msg.recipient,
        text: &text,
        sender: &account.sender,
        reference: &reference,
        receipt_url: Some(&receipt_url),
    };
    let (status, body) = match call(state, &provider, &out).await {
        Ok(r) => r,
        Err(why) => return Ok((Outcome::Deferred(why.into()), none)),
    };
    Ok(match provider.read_answer(status, &body) {
        Answer::Accepted { id } => {
            *spendable -= segments;
            (
                Outcome::Sent(format!(
                    "HTTP {status}: accepted{}",
                    id.as_deref()
                        .map(|i| format!(", id {i}"))
                        .unwrap_or_default()
                )),
                Extras {
                    segments: Some(segments as i32),
                    provider_id: id,
                    subject: None,
                },
            )
        }
        Answer::Temporary(why) => (Outcome::Deferred(why.into()), none),
        Answer::Permanent(why) => (Outcome::Failed(why.into()), none),
    })
}

/// One HTTP exchange with the provider: its status and body, or why no
/// answer came (then the message is tried again later).
pub async fn call(
    state: &Engine,
    provider: &amicale_sms::provider::Provider,
    out: &Outgoing<'_>,
) -> Result<(u16, String), String> {
    let req = provider.request(out, Utc::now().timestamp())?;
    super::outbound::check_resolved(&req.url, state.config.sms_allow_private_urls).await?;
    state.http.post(&req.url, &req.headers, req.body).await
}
