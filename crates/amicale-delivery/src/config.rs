//! Configuration: an optional `amicale.toml`, overridden by `AMICALE_*` variables.

use std::path::PathBuf;

use chrono_tz::Tz;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::smtp_url::SmtpUrl;
use amicale_store::error::AppError;

/// Variables under the `AMICALE_` prefix that are not configuration keys:
/// `AMICALE_CONFIG` names the file, and `AMICALE_TEST_*` belong to the test
/// harness (a server started from a test must not refuse them).
fn is_config_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k != "config" && !k.starts_with("test_")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://path` or `postgres://user@host/db`.
    pub database_url: String,
    /// Address and port the web server listens on.
    pub bind: String,
    /// Public address used in links sent by e-mail; defaults to `http://<bind>`.
    pub base_url: Option<String>,
    /// Directory for uploaded files.
    pub data_dir: PathBuf,
    /// `smtp://host:port`, `smtp+starttls://user:pass@host:587`, `smtps://…`;
    /// unset means every message is kept in the mail catcher.
    pub smtp_url: Option<String>,
    /// Sender of system e-mails.
    pub mail_from: String,
    /// The network's name, shown in e-mails and layouts.
    pub network_name: String,
    /// The network's time zone, used by the scheduler and for display.
    pub time_zone: String,
    /// Time of the nightly batch (automatic rules, campaigns and person-page
    /// messages "for tonight"), `HH:MM` in the network time zone.
    pub batch_time: String,
    /// Signing and encryption key; generated and stored in the database when absent.
    pub secret_key: Option<String>,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `amicale=debug,info`.
    pub log_level: String,
    /// Language for visitors whose browser asks for neither French nor English.
    pub default_locale: String,
    /// First delay before a temporary delivery failure is retried, doubled each time.
    pub outbox_retry_base_secs: u64,
    /// Longest delay between two retries.
    pub outbox_retry_max_secs: u64,
    /// A message still failing temporarily after this long is marked failed.
    pub outbox_give_up_secs: u64,
    /// How long a worker owns a claimed batch before another may take it over.
    pub outbox_lease_secs: u64,
    /// How often an idle worker looks for due messages.
    pub outbox_poll_secs: u64,
    /// Messages a node claims at once. Larger batches cost fewer database
    /// round trips; after a `kill -9`, at most 6 × this + `workers` may go twice.
    pub outbox_batch: u64,
    /// SMTP connect and command timeout.
    pub smtp_timeout_secs: u64,
    /// Most messages per second this node hands to SMTP; 0 for no limit.
    pub smtp_rate_per_sec: f64,
    /// DKIM: signing domain (d=), selector (s=) and PKCS#8 PEM key file;
    /// all three or none (`amicale dkim generate` makes a key).
    pub dkim_domain: Option<String>,
    pub dkim_selector: Option<String>,
    pub dkim_key_file: Option<PathBuf>,
    /// Shared secret of `POST /hooks/bounces` (provider webhooks, bounce
    /// mailbox pollers); the endpoint is off when unset.
    pub bounce_webhook_token: Option<String>,
    /// The bounce mailbox, polled over IMAP:
    /// `imaps://user:password@host/Mailbox` (`imap://` for a local server).
    pub bounce_imap_url: Option<String>,
    /// How often the bounce mailbox is read.
    pub bounce_imap_poll_secs: u64,
    /// Delivery worker tasks started by `serve` and `worker`, each with its
    /// own SMTP connection; 0 makes a web-only node that leaves delivery to others.
    pub workers: usize,
    /// Mails to a third party (registration links, "account exists" notices,
    /// address confirmations) one address may receive in an hour.
    pub mail_per_address_per_hour: u32,
    /// Such mails one client (IP address) may cause in an hour.
    pub mail_per_client_per_hour: u32,
    /// Failed logins one client may make in 15 minutes before it waits.
    pub login_failures_per_client: u32,
    /// Let the SMS provider URL point at loopback or private addresses
    /// (a provider on the local network); off, only public https hosts.
    pub sms_allow_private_urls: bool,
    /// Behind a reverse proxy: the client is the last address of
    /// `X-Forwarded-For` (which the proxy must set), not the connection's peer.
    pub behind_proxy: bool,
    /// Open client connections served at once; further ones wait in the
    /// kernel's queue until one closes (idle ones time out).
    pub max_connections: usize,
    /// A connection that has not sent a whole request head this long after
    /// connecting (or after its previous response) is closed.
    pub header_read_timeout_secs: u64,
    /// A connection on which nothing is read or written this long is closed
    /// (a client that stops sending its body or reading its answer).
    pub idle_timeout_secs: u64,
    /// Requests handled at once; further ones wait for a free slot.
    pub max_concurrent_requests: usize,
    /// Connections one client address may hold at once (not applied behind
    /// a proxy, whose own address every client shares).
    pub max_connections_per_client: usize,
    /// How long a request waits for a free handling slot before it is
    /// answered 503.
    pub request_queue_timeout_secs: u64,
    /// Largest request body outside the upload routes (forms), in bytes.
    pub max_form_bytes: usize,
    /// Bearer token of `GET /metrics`; unset, only loopback clients may read it.
    pub metrics_token: Option<String>,
    /// Imports: most rows of a file (the header included), also the highest
    /// row a spreadsheet cell may name.
    pub import_max_rows: usize,
    /// Imports: most columns, also the highest column a cell may name.
    pub import_max_columns: usize,
    /// Imports: most cells a file may hold or name.
    pub import_max_cells: usize,
    /// Imports: most bytes the parts of an XLSX file may uncompress to.
    pub import_max_unzipped_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://./amicale.db".into(),
            bind: "127.0.0.1:8080".into(),
            base_url: None,
            data_dir: PathBuf::from("./data"),
            smtp_url: None,
            mail_from: "Amicale <no-reply@amicale.localhost>".into(),
            network_name: "Amicale".into(),
            time_zone: "Europe/Paris".into(),
            batch_time: "19:00".into(),
            secret_key: None,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            default_locale: "fr".into(),
            outbox_retry_base_secs: 300,
            outbox_retry_max_secs: 3600,
            outbox_give_up_secs: 5 * 24 * 3600,
            outbox_lease_secs: 120,
            outbox_poll_secs: 5,
            outbox_batch: 100,
            smtp_timeout_secs: 30,
            smtp_rate_per_sec: 0.0,
            dkim_domain: None,
            dkim_selector: None,
            dkim_key_file: None,
            bounce_webhook_token: None,
            bounce_imap_url: None,
            bounce_imap_poll_secs: 300,
            workers: 4,
            mail_per_address_per_hour: 5,
            mail_per_client_per_hour: 30,
            login_failures_per_client: 30,
            sms_allow_private_urls: false,
            behind_proxy: false,
            max_connections: 1000,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_concurrent_requests: 128,
            max_connections_per_client: 64,
            request_queue_timeout_secs: 10,
            max_form_bytes: 2 * 1024 * 1024,
            metrics_token: None,
            import_max_rows: 100_000,
            import_max_columns: 200,
            import_max_cells: 2_000_000,
            import_max_unzipped_bytes: 100 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// Reads `amicale.toml` (or the file named by `AMICALE_CONFIG`) when present,
    /// then `AMICALE_*` variables, and checks every value.
    pub fn load() -> Result<Self, AppError> {
        let file = std::env::var("AMICALE_CONFIG").unwrap_or_else(|_| "amicale.toml".into());
        Self::from_figment(
            Figment::from(Serialized::defaults(Config::default()))
                .merge(Toml::file(file))
                .merge(Env::prefixed("AMICALE_").filter(|k| is_config_key(k.as_str()))),
        )
    }

    pub fn from_figment(figment: Figment) -> Result<Self, AppError> {
        let config: Config = figment.extract().map_err(|e| {
            let mut msg = String::new();
            for err in e {
                if !msg.is_empty() {
                    msg.push_str("; ");
                }
                let source = err
                    .metadata
                    .as_ref()
                    .map(|m| m.name.to_string())
                    .unwrap_or_default();
                match &err.kind {
                    figment::error::Kind::UnknownField(field, _) => {
                        msg.push_str(&format!("unknown configuration key `{field}` ({source})"));
                    }
                    _ => msg.push_str(&err.to_string()),
                }
            }
            AppError::Config(msg)
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), AppError> {
        self.tz()?;
        self.batch_cron()?;
        if let Some(url) = &self.smtp_url {
            url.parse::<SmtpUrl>()?;
        }
        self.bounce_mailbox()?;
        if !(1..=10_000).contains(&self.outbox_batch) {
            return Err(AppError::Config(
                "outbox_batch must be between 1 and 10000".into(),
            ));
        }
        if !matches!(self.default_locale.as_str(), "fr" | "en") {
            return Err(AppError::Config(format!(
                "default_locale must be `fr` or `en`, not `{}`",
                self.default_locale
            )));
        }
        self.mail_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| AppError::Config(format!("mail_from is not an address: {e}")))?;
        // Zero would make the server refuse everything or never time out.
        for (key, value) in [
            ("max_connections", self.max_connections as u64),
            (
                "max_connections_per_client",
                self.max_connections_per_client as u64,
            ),
            (
                "request_queue_timeout_secs",
                self.request_queue_timeout_secs,
            ),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            (
                "max_concurrent_requests",
                self.max_concurrent_requests as u64,
            ),
            ("max_form_bytes", self.max_form_bytes as u64),
        ] {
            if value == 0 {
                return Err(AppError::Config(format!("{key} must be at least 1")));
            }
        }
        Ok(())
    }

    /// The DKIM signer, when configured.
    pub fn dkim(&self) -> Result<Option<amicale_mailkit::dkim::Signer>, AppError> {
        match (&self.dkim_domain, &self.dkim_selector, &self.dkim_key_file) {
            (None, None, None) => Ok(None),
            (Some(domain), Some(selector), Some(file)) => {
                let pem = std::fs::read_to_string(file).map_err(|e| {
                    AppError::Config(format!("dkim_key_file {}: {e}", file.display()))
                })?;
                let key = amicale_mailkit::dkim::SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
                    AppError::Config(format!("dkim_key_file {}: {e}", file.display()))
                })?;
                Ok(Some(amicale_mailkit::dkim::Signer::new(
                    domain.clone(),
                    selector.clone(),
                    key,
                )))
            }
            _ => Err(AppError::Config(
                "dkim_domain, dkim_selector and dkim_key_file go together".into(),
            )),
        }
    }

    /// The cron expression of the nightly batch.
    pub fn batch_cron(&self) -> Result<String, AppError> {
        let bad = || {
            AppError::Config(format!(
                "batch_time must be HH:MM, not `{}`",
                self.batch_time
            ))
        };
        let t = chrono::NaiveTime::parse_from_str(self.batch_time.trim(), "%H:%M")
            .map_err(|_| bad())?;
        use chrono::Timelike;
        Ok(format!("{} {} * * *", t.minute(), t.hour()))
    }

    pub fn tz(&self) -> Result<Tz, AppError> {
        self.time_zone
            .parse::<Tz>()
            .map_err(|_| AppError::Config(format!("unknown time zone `{}`", self.time_zone)))
    }

    pub fn bounce_mailbox(&self) -> Result<Option<crate::bounce_mailbox::MailboxUrl>, AppError> {
        self.bounce_imap_url.as_deref().map(str::parse).transpose()
    }

    pub fn smtp(&self) -> Result<Option<SmtpUrl>, AppError> {
        self.smtp_url.as_deref().map(str::parse).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_figment(
            Figment::from(Serialized::defaults(Config::default()))
                .merge(Toml::string("bind = \"0.0.0.0:1\"\nsmtp_ulr = \"x\"")),
        )
        .unwrap_err();
        assert!(err.to_string().contains("smtp_ulr"), "{err}");
    }

    #[test]
    fn bad_time_zone_is_refused() {
        let err = Config::from_figment(
            Figment::from(Serialized::defaults(Config::default()))
                .merge(Toml::string("time_zone = \"Europe/Pariss\"")),
        )
        .unwrap_err();
        assert!(err.to_string().contains("Europe/Pariss"), "{err}");
    }

    #[test]
    fn harness_variables_are_not_configuration() {
        assert!(!is_config_key("TEST_STRICT"));
        assert!(!is_config_key("config"));
        assert!(is_config_key("smtp_url"));
    }

    #[test]
    fn defaults_are_valid() {
        let c =
            Config::from_figment(Figment::from(Serialized::defaults(Config::default()))).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.tz().unwrap(), chrono_tz::Europe::Paris);
    }
}
