//! Where messages go: an SMTP server, or the built-in mail catcher.

use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;
use crate::delivery::smtp::{SmtpUrl, TlsMode};
use crate::error::{AppError, AppResult};

pub enum Transport {
    Smtp {
        client: AsyncSmtpTransport<Tokio1Executor>,
        url: SmtpUrl,
    },
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
}

impl Transport {
    pub fn from_config(config: &Config) -> AppResult<Self> {
        let Some(url) = config.smtp()? else {
            return Ok(Transport::Catcher);
        };
        let timeout = Some(Duration::from_secs(config.smtp_timeout_secs));
        let tls_params = || {
            TlsParameters::new(url.host.clone())
                .map_err(|e| AppError::Config(format!("smtp_url TLS: {e}")))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host.clone())
            .port(url.port)
            .timeout(timeout)
            .pool_config(PoolConfig::new().max_size(4));
        builder = match url.tls {
            TlsMode::None => builder.tls(Tls::None),
            TlsMode::StartTls => builder.tls(Tls::Required(tls_params()?)),
            TlsMode::Tls => builder.tls(Tls::Wrapper(tls_params()?)),
        };
        if let (Some(user), Some(pass)) = (&url.user, &url.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(Transport::Smtp {
            client: builder.build(),
            url,
        })
    }

    pub fn is_catcher(&self) -> bool {
        matches!(self, Transport::Catcher)
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { url, .. } => url.to_string(),
            Transport::Catcher => "mail catcher".into(),
        }
    }

    pub async fn send(&self, message: Message) -> Outcome {
        match self {
            Transport::Catcher => Outcome::Caught,
            Transport::Smtp { client, .. } => match client.send(message).await {
                Ok(resp) => Outcome::Sent(format!(
                    "{} {}",
                    resp.code(),
                    resp.message().collect::<Vec<_>>().join(" ")
                )),
                Err(e) if e.is_permanent() => Outcome::Failed(e.to_string()),
                Err(e) => Outcome::Deferred(e.to_string()),
            },
        }
    }
}
