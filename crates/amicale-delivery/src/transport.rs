//! Where messages go: an SMTP server, or the built-in mail catcher.
//!
//! Each worker task keeps one SMTP connection open and reuses it from message
//! to message (see [`smtp_client`](crate::smtp_client)).

use std::time::Duration;

use lettre::address::Envelope;

use crate::config::Config;
use crate::smtp_client::{Connection, Endpoint, Outgoing, SmtpError};
use crate::smtp_url::SmtpUrl;
use amicale_store::error::AppResult;

pub struct SmtpSettings {
    endpoint: Endpoint,
    timeout: Duration,
}

pub enum Transport {
    Smtp(SmtpSettings),
    /// No SMTP configured: messages stay in the outbox, readable at `/admin/outbox`.
    Catcher,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent(String),
    Caught,
    /// Temporary: connection refused, timeout, 4xx; tried again later.
    Deferred(Answer),
    /// Permanent: 5xx, or a message that can never be built.
    Failed(Answer),
    /// Not attempted: the address is on the suppression list.
    Suppressed(String),
}

/// Why a message was not delivered: the SMTP server's reply as it came, or
/// what we or an SMS provider said in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Smtp(SmtpError),
    Said(String),
}

impl Answer {
    /// The server refused the address itself (enhanced status 5.1.x): later
    /// messages to it are suppressed instead of bouncing again.
    pub fn address_unknown(&self) -> bool {
        matches!(self, Answer::Smtp(SmtpError::Refused(r)) if r.address_unknown())
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Smtp(e) => e.fmt(f),
            Answer::Said(why) => f.write_str(why),
        }
    }
}

impl From<String> for Answer {
    fn from(why: String) -> Self {
        Answer::Said(why)
    }
}

impl From<&str> for Answer {
    fn from(why: &str) -> Self {
        Answer::Said(why.to_owned())
    }
}

/// One worker's SMTP connection, reused while it stays healthy (the worker
/// closes it when the transport settings change).
#[derive(Default)]
pub struct Session {
    conn: Option<Connection>,
}

impl Session {
    /// Says goodbye politely (graceful shutdown, idle worker).
    pub async fn close(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), c.quit()).await;
        }
    }
}

/// The name this machine gives in EHLO.
fn hello_name() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl Transport {
    pub fn from_config(config: &Config) -> AppResult<Self> {
        let Some(url) = config.smtp()? else {
            return Ok(Transport::Catcher);
        };
        Self::smtp(url, Duration::from_secs(config.smtp_timeout_secs.max(1)))
    }

    /// An SMTP transport to `url`, each command given `timeout`.
    pub fn smtp(url: SmtpUrl, timeout: Duration) -> AppResult<Self> {
        Ok(Transport::Smtp(SmtpSettings {
            endpoint: Endpoint::new(url, hello_name()),
            timeout,
        }))
    }

    pub fn is_catcher(&self) -> bool {
        matches!(self, Transport::Catcher)
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(s) => s.endpoint.url.to_string(),
            Transport::Catcher => "mail catcher".into(),
        }
    }

    /// Opens the session's connection unless it is open and healthy; says
    /// whether the server takes 8bit text (the catcher does). `Err` is the
    /// reason to defer the message.
    pub async fn ready(&self, session: &mut Session) -> Result<bool, String> {
        let Transport::Smtp(settings) = self else {
            return Ok(true);
        };
        if session.conn.as_ref().is_some_and(Connection::is_broken) {
            session.conn = None;
        }
        if session.conn.is_none() {
            match tokio::time::timeout(settings.timeout, Connection::open(&settings.endpoint)).await
            {
                Ok(Ok(c)) => session.conn = Some(c),
                Ok(Err(why)) => return Err(why.to_string()),
                Err(_) => return Err("connection timed out".into()),
            }
        }
        Ok(session.conn.as_ref().is_some_and(Connection::eight_bit))
    }

    /// The session's connection, opened if needed; else the outcome every
    /// message gets (caught, or deferred with the reason).
    async fn open<'s>(
        &'s self,
        session: &'s mut Session,
    ) -> Result<(&'s SmtpSettings, &'s mut Connection), Outcome> {
        let Transport::Smtp(settings) = self else {
            return Err(Outcome::Caught);
        };
        self.ready(session)
            .await
            .map_err(|why| Outcome::Deferred(why.into()))?;
        match session.conn.as_mut() {
            Some(conn) => Ok((settings, conn)),
            None => Err(Outcome::Deferred("no connection".into())),
        }
    }

    /// Sends one-recipient messages back to back over the session's
    /// connection (see [`Connection::send_chain`]); one outcome each.
    pub async fn send_chain(
        &self,
        session: &mut Session,
        msgs: &[(&Envelope, &[u8])],
    ) -> Vec<Outcome> {
        let (settings, conn) = match self.open(session).await {
            Ok(x) => x,
            Err(o) => return vec![o; msgs.len()],
        };
        let out: Vec<Outgoing> = msgs
            .iter()
            .map(|(e, raw)| Outgoing {
                from: e.from().map(|a| a.as_ref()).unwrap_or_default(),
                to: e.to().first().map(|a| a.as_ref()).unwrap_or_default(),
                data: raw,
            })
            .collect();
        let limit = settings.timeout * 4 * msgs.len() as u32;
        match tokio::time::timeout(limit, conn.send_chain(&out)).await {
            Ok(results) => {
                if conn.is_broken() {
                    session.conn = None;
                }
                let mut outcomes = Vec::with_capacity(results.len());
                for (r, (envelope, raw)) in results.into_iter().zip(msgs) {
                    outcomes.push(match r {
                        // Its content never left: another connection may
                        // carry it now.
                        Err(SmtpError::NotSent(_)) => self.send(session, envelope, raw).await,
                        r => outcome(r),
                    });
                }
                outcomes
            }
            Err(_) => {
                session.conn = None;
                vec![Outcome::Deferred("the server did not answer in time".into()); msgs.len()]
            }
        }
    }

    pub async fn send(&self, session: &mut Session, envelope: &Envelope, raw: &[u8]) -> Outcome {
        let (settings, conn) = match self.open(session).await {
            Ok(x) => x,
            Err(o) => return o,
        };
        let from = envelope.from().map(|a| a.as_ref()).unwrap_or_default();
        let to: Vec<&str> = envelope.to().iter().map(|a| a.as_ref()).collect();
        // Data of a large message takes longer than one command.
        let limit = settings.timeout * 4;
        match tokio::time::timeout(limit, conn.send(from, &to, raw)).await {
            Ok(result) => {
                if conn.is_broken() {
                    session.conn = None;
                }
                outcome(result)
            }
            Err(_) => {
                session.conn = None;
                Outcome::Deferred("the server did not answer in time".into())
            }
        }
    }
}

fn outcome(result: Result<amicale_mailkit::smtp::Reply, SmtpError>) -> Outcome {
    match result {
        Ok(reply) => Outcome::Sent(reply.to_string()),
        Err(e) if e.is_permanent() => Outcome::Failed(Answer::Smtp(e)),
        Err(e) => Outcome::Deferred(Answer::Smtp(e)),
    }
}
