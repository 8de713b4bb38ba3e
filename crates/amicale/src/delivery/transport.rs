//! Where messages go: an SMTP server, or the built-in mail catcher.
//!
//! Each worker task keeps one SMTP connection open and reuses it from message
//! to message. We open the TCP socket ourselves to set `TCP_NODELAY`: lettre
//! does not, and the final "." of every message then waits ~40 ms for a
//! delayed ACK, capping a connection at ~22 messages/s.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;

use crate::config::Config;
use crate::delivery::smtp::{SmtpUrl, TlsMode};
use crate::error::{AppError, AppResult};

pub struct SmtpSettings {
    pub url: SmtpUrl,
    timeout: Duration,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
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

/// One worker's SMTP connection, reused while it stays healthy and while
/// the transport settings it was opened with are current.
#[derive(Default)]
pub struct Session {
    conn: Option<AsyncSmtpConnection>,
    generation: String,
}

impl Session {
    /// Closes the connection when the settings changed since it opened.
    pub async fn follow(&mut self, generation: &str) {
        if self.generation != generation {
            self.close().await;
            self.generation = generation.to_owned();
        }
    }

    /// Says goodbye politely (graceful shutdown, idle worker).
    pub async fn close(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), c.quit()).await;
        }
    }
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
        let tls = match url.tls {
            TlsMode::None => None,
            TlsMode::StartTls | TlsMode::Tls => Some(
                TlsParameters::new(url.host.clone())
                    .map_err(|e| AppError::Config(format!("smtp_url TLS: {e}")))?,
            ),
        };
        let credentials = match (&url.user, &url.password) {
            (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p.clone())),
            _ => None,
        };
        Ok(Transport::Smtp(SmtpSettings {
            url,
            timeout,
            tls,
            credentials,
            hello: ClientId::default(),
        }))
    }

    pub fn is_catcher(&self) -> bool {
        matches!(self, Transport::Catcher)
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(s) => s.url.to_string(),
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
        if session.conn.as_ref().is_some_and(|c| c.has_broken()) {
            session.conn = None;
        }
        if session.conn.is_none() {
            match tokio::time::timeout(settings.timeout, settings.connect()).await {
                Ok(Ok(c)) => session.conn = Some(c),
                Ok(Err(why)) => return Err(why),
                Err(_) => return Err("connection timed out".into()),
            }
        }
        Ok(session.conn.as_ref().is_some_and(|c| {
            c.server_info()
                .supports_feature(lettre::transport::smtp::extension::Extension::EightBitMime)
        }))
    }

    pub async fn send(&self, session: &mut Session, envelope: &Envelope, raw: &[u8]) -> Outcome {
        let Transport::Smtp(settings) = self else {
            return Outcome::Caught;
        };
        if let Err(why) = self.ready(session).await {
            return Outcome::Deferred(why);
        }
        let Some(conn) = session.conn.as_mut() else {
            return Outcome::Deferred("no connection".into());
        };
        // Data of a large message takes longer than one command.
        let limit = settings.timeout * 4;
        match tokio::time::timeout(limit, conn.send(envelope, raw)).await {
            Ok(Ok(resp)) => Outcome::Sent(format!(
                "{} {}",
                resp.code(),
                resp.message().collect::<Vec<_>>().join(" ")
            )),
            Ok(Err(e)) => {
                // After a refusal the session state is unknown: start afresh.
                session.conn = None;
                if e.is_permanent() {
                    Outcome::Failed(e.to_string())
                } else {
                    Outcome::Deferred(e.to_string())
                }
            }
            Err(_) => {
                session.conn = None;
                Outcome::Deferred("the server did not answer in time".into())
            }
        }
    }
}

impl SmtpSettings {
    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let addr = (self.url.host.as_str(), self.url.port);
        let mut conn = match self.url.tls {
            // Implicit TLS needs lettre's own socket (no TCP_NODELAY there).
            TlsMode::Tls => AsyncSmtpConnection::connect_tokio1(
                addr,
                Some(self.timeout),
                &self.hello,
                self.tls.clone(),
                None,
            )
            .await
            .map_err(|e| e.to_string())?,
            TlsMode::None | TlsMode::StartTls => {
                let stream = TcpStream::connect(addr).await.map_err(|e| {
                    format!(
                        "connection to {}:{} failed: {e}",
                        self.url.host, self.url.port
                    )
                })?;
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                let mut c =
                    AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                        .await
                        .map_err(|e| e.to_string())?;
                if let (TlsMode::StartTls, Some(tls)) = (self.url.tls, &self.tls) {
                    c.starttls(tls.clone(), &self.hello)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                c
            }
        };
        if let Some(creds) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], creds)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(conn)
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
