//! The bounce mailbox: where servers that accepted a message and
//! failed later send their delivery status notifications (the envelope
//! sender's mailbox). Polled over IMAP: each unseen message is read, a
//! bounce is applied like the webhook's ([`bounces::record`]) and deleted,
//! anything else is left there, marked seen, for a human to read. A crash
//! between applying and deleting only applies the same bounce again, which
//! changes nothing.

use std::sync::Arc;
use std::time::Duration;

use amicale_mailkit::dsn;
use async_imap::Session;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::bounces;
use crate::state::{Engine, Shutdown};
use amicale_store::error::{AppError, AppResult};

/// Where the bounce mailbox is: `imap://user:password@host[:143]/Mailbox`
/// (plain, for a server on the same machine or network) or `imaps://…:993`.
#[derive(Clone, PartialEq, Eq)]
pub struct MailboxUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub mailbox: String,
}

// The password never reaches a log.
impl std::fmt::Debug for MailboxUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "imaps" } else { "imap" };
        write!(
            f,
            "{scheme}://{}@{}:{}/{}",
            self.user, self.host, self.port, self.mailbox
        )
    }
}

impl std::str::FromStr for MailboxUrl {
    type Err = AppError;

    fn from_str(s: &str) -> AppResult<MailboxUrl> {
        let bad = |why: &str| AppError::Config(format!("bounce_imap_url: {why}"));
        let u = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
        let tls = match u.scheme() {
            "imap" => false,
            "imaps" => true,
            _ => return Err(bad("the scheme must be imap or imaps")),
        };
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?;
        let decode = |p: &str| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        };
        let user = decode(u.username());
        let password = u.password().map(decode).unwrap_or_default();
        if user.is_empty() || password.is_empty() {
            return Err(bad("a user and a password are needed"));
        }
        let mailbox = decode(u.path().trim_start_matches('/'));
        Ok(MailboxUrl {
            tls,
            host: host.to_owned(),
            port: u.port().unwrap_or(if tls { 993 } else { 143 }),
            user,
            password,
            mailbox: if mailbox.is_empty() {
                "INBOX".into()
            } else {
                mailbox
            },
        })
    }
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Polled {
    pub read: usize,
    pub bounces: usize,
    pub suppressed: u64,
}

/// Polls the configured mailbox until shutdown.
pub async fn run(state: Engine, mut shutdown: Shutdown, url: MailboxUrl) {
    let every = Duration::from_secs(state.config.bounce_imap_poll_secs.max(10));
    tracing::info!(mailbox = ?url, "bounce mailbox poller started");
    while !shutdown.is_set() {
        match poll(&state, &url).await {
            Ok(p) if p.read > 0 => tracing::info!(
                read = p.read,
                bounces = p.bounces,
                suppressed = p.suppressed,
                "bounce mailbox read"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(mailbox = ?url, error = %e, "bounce mailbox unreadable"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait() => {}
        }
    }
}

/// Reads the unseen messages of the mailbox once.
pub async fn poll(state: &Engine, url: &MailboxUrl) -> AppResult<Polled> {
    let timeout = Duration::from_secs(state.config.smtp_timeout_secs.max(1));
    let tcp = tokio::time::timeout(timeout, TcpStream::connect((url.host.as_str(), url.port)))
        .await
        .map_err(|_| imap_error("connection timed out"))?
        .map_err(imap_error)?;
    if !url.tls {
        return poll_on(state, url, tcp).await;
    }
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(url.host.clone()).map_err(imap_error)?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(imap_error)?;
    poll_on(state, url, tls).await
}

fn imap_error(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("bounce mailbox: {e}"))
}

async fn poll_on<S>(state: &Engine, url: &MailboxUrl, stream: S) -> AppResult<Polled>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug,
{
    let mut client = async_imap::Client::new(stream);
    // The server speaks first.
    client.read_response().await.map_err(imap_error)?;
    let mut session = client
        .login(&url.user, &url.password)
        .await
        .map_err(|(e, _)| imap_error(e))?;
    let polled = read_unseen(state, url, &mut session).await;
    let _ = session.logout().await;
    polled
}

async fn read_unseen<S>(state: &Engine, url: &MailboxUrl, s: &mut Session<S>) -> AppResult<Polled>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug,
{
    s.select(&url.mailbox).await.map_err(imap_error)?;
    let mut uids: Vec<u32> = s
        .uid_search("UNSEEN")
        .await
        .map_err(imap_error)?
        .into_iter()
        .collect();
    uids.sort_unstable();
    let mut polled = Polled::default();
    let (mut done, mut kept) = (Vec::new(), Vec::new());
    // A few hundred at a time: a mailbox left unread for months stays
    // readable in bounded memory.
    for chunk in uids.chunks(200) {
        let set = uid_set(chunk);
        let fetched: Vec<_> = s
            .uid_fetch(&set, "BODY.PEEK[]")
            .await
            .map_err(imap_error)?
            .try_collect()
            .await
            .map_err(imap_error)?;
        for f in &fetched {
            let (Some(uid), Some(raw)) = (f.uid, f.body()) else {
                continue;
            };
            polled.read += 1;
            match dsn::parse(raw) {
                Some(b) => {
                    let (suppressed, _) = bounces::record(state, &b).await?;
                    polled.bounces += 1;
                    polled.suppressed += suppressed;
                    done.push(uid);
                }
                None => kept.push(uid),
            }
        }
    }
    if !kept.is_empty() {
        drain(s.uid_store(uid_set(&kept), "+FLAGS (\\Seen)").await).await?;
    }
    if !done.is_empty() {
        drain(s.uid_store(uid_set(&done), "+FLAGS (\\Deleted)").await).await?;
        drain(s.expunge().await).await?;
    }
    Ok(polled)
}

/// Reads a command's untagged answers to its end.
async fn drain<T>(
    answers: async_imap::error::Result<
        impl futures_util::Stream<Item = async_imap::error::Result<T>>,
    >,
) -> AppResult<()> {
    answers
        .map_err(imap_error)?
        .try_for_each(|_| std::future::ready(Ok(())))
        .await
        .map_err(imap_error)
}

fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::MailboxUrl;

    #[test]
    fn urls() {
        let u: MailboxUrl = "imaps://bounces%40ecole.fr:p%40ss@imap.ecole.fr/Retours"
            .parse()
            .unwrap();
        assert_eq!(
            (
                u.tls,
                u.host.as_str(),
                u.port,
                u.user.as_str(),
                u.password.as_str(),
                u.mailbox.as_str()
            ),
            (
                true,
                "imap.ecole.fr",
                993,
                "bounces@ecole.fr",
                "p@ss",
                "Retours"
            )
        );
        assert!(!format!("{u:?}").contains("p@ss"));
        let u: MailboxUrl = "imap://b:s@127.0.0.1:10143".parse().unwrap();
        assert_eq!((u.tls, u.port, u.mailbox.as_str()), (false, 10143, "INBOX"));
        assert!("pop3://b:s@x".parse::<MailboxUrl>().is_err());
        assert!("imap://x".parse::<MailboxUrl>().is_err());
    }
}
