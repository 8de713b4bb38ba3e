//! The HTTP client SMS provider calls go through: HTTP/1.1 over rustls,
//! no redirects (one could lead a call to an address the SMS settings
//! refuse), names resolved to public addresses only unless the network
//! allows private ones, bounded in time and in the size of the answer.
//! Built on hyper directly: a client, not a web framework.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;

/// A whole exchange (connect, send, read the answer) ends within this.
const TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A provider's answer is a few hundred bytes; more is not read.
const MAX_ANSWER: usize = 64 * 1024;

/// Resolves names at the moment of the call, keeping public addresses
/// only (unless private ones are allowed), so a name that points inside —
/// or starts to, between the settings' check and the call — reaches
/// nothing.
#[derive(Clone)]
pub struct Resolver {
    allow_private: bool,
}

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private;
        Box::pin(async move {
            let usable: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || super::outbound::is_public(a.ip()))
                .collect();
            if usable.is_empty() {
                return Err(std::io::Error::other(format!(
                    "{host} has no public address"
                )));
            }
            Ok(usable.into_iter())
        })
    }
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector<Resolver>>;

/// The client, shared by every SMS worker (it pools connections).
#[derive(Clone)]
pub struct ProviderClient {
    client: Client<Connector, Full<Bytes>>,
}

impl ProviderClient {
    pub fn new(allow_private: bool) -> Result<Self, String> {
        let mut http = HttpConnector::new_with_resolver(Resolver { allow_private });
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        // The TLS layer below takes https URLs; this one must let them by.
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("TLS: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// POSTs `body` with `headers` to `url`: the answer's status and body
    /// (its first 64 KB), or why no answer came.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<(u16, String), String> {
        let mut req = http::Request::post(url).header(
            http::header::USER_AGENT,
            concat!("Amicale/", env!("CARGO_PKG_VERSION")),
        );
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("provider request: {e}"))?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| format!("provider unreachable: {e}"))?;
            let status = resp.status().as_u16();
            let mut body = resp.into_body();
            let mut out = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| format!("provider answer unreadable: {e}"))?;
                if let Some(chunk) = frame.data_ref() {
                    out.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER - out.len())]);
                    if out.len() >= MAX_ANSWER {
                        break;
                    }
                }
            }
            Ok((status, String::from_utf8_lossy(&out).into_owned()))
        };
        tokio::time::timeout(TIMEOUT, exchange).await.map_err(|_| {
            format!(
                "provider unreachable: no answer within {} s",
                TIMEOUT.as_secs()
            )
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use tower_service::Service;

    #[tokio::test]
    async fn the_resolver_gives_no_private_address_unless_allowed() {
        let name = || Name::from_str("localhost").unwrap();
        assert!(
            Resolver {
                allow_private: false
            }
            .call(name())
            .await
            .is_err()
        );
        let found: Vec<SocketAddr> = Resolver {
            allow_private: true,
        }
        .call(name())
        .await
        .unwrap()
        .collect();
        assert!(!found.is_empty());
    }

    /// A redirect is an answer like any other: the client does not follow
    /// it to an address the settings would refuse.
    #[tokio::test]
    async fn redirects_are_not_followed_and_answers_are_bounded() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for answer in [
                "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n".to_owned(),
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}", 100_000, "x".repeat(100_000)),
            ] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await.unwrap();
                s.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let client = ProviderClient::new(true).unwrap();
        let url = format!("http://{addr}/sms");
        let headers = vec![("Content-Type".to_owned(), "text/plain".to_owned())];
        let (status, _) = client.post(&url, &headers, b"hi".to_vec()).await.unwrap();
        assert_eq!(status, 302);
        let (status, body) = client.post(&url, &headers, b"hi".to_vec()).await.unwrap();
        assert_eq!((status, body.len()), (200, MAX_ANSWER));
    }
}
