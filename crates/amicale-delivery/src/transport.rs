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
    /// Temporary: connection refused, timeout, 4xx.
    Deferred(String),
    /// Permanent: 5xx, or a message that can never be built.
    Failed(String),
    /// Not attempted: the address is on the suppression list.
    Suppressed(String),
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
        self.ready(session).await.map_err(Outcome::Deferred)?;
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
        Err(e) if e.is_permanent() => Outcome::Failed(e.to_string()),
        Err(e) => Outcome::Deferred(e.to_string()),
    }
}

/// True for an answer that says the address does not exist (RFC 3463 5.1.x):
/// later messages to it are suppressed instead of bouncing again.
pub fn is_hard_bounce(answer: &str) -> bool {
    answer
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .any(|tok| {
            let parts: Vec<&str> = tok.split('.').collect();
            parts.len() == 3 && parts[0] == "5" && parts[1] == "1" && !parts[2].is_empty()
        })
}

#[cfg(test)]
mod tests {
    use super::is_hard_bounce;

    #[test]
    fn hard_bounces() {
        assert!(is_hard_bounce(
            "permanent error (550): 5.1.1 <x@y>: Recipient address rejected: User unknown"
        ));
        assert!(is_hard_bounce("550 5.1.10 RESOLVER.ADR.RecipientNotFound"));
        assert!(!is_hard_bounce(
            "permanent error (554): 5.7.1 rejected by policy"
        ));
        assert!(!is_hard_bounce("permanent error (552): 5.2.2 mailbox full"));
        assert!(!is_hard_bounce("550 relay denied 15.1.1"));
    }
}
