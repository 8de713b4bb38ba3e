//! Who is asking, for per-client limits: the connection's peer address, or
//! behind a reverse proxy (`behind_proxy`) the last address it appended to
//! `X-Forwarded-For` (earlier ones are the client's own word).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::app::AppState;

/// The client's IP address; `None` when the server was not given it (a
/// router served without connection info, as in some unit tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client(pub Option<IpAddr>);

impl Client {
    /// The throttle key of this client: IPv6 clients are grouped by /64,
    /// which one subscriber usually holds whole.
    pub fn key(&self) -> String {
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d:
        // keyed as itself, not as the one /64 all such clients share.
        match self.0.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(a)) => a.to_string(),
            Some(IpAddr::V6(a)) => {
                let s = a.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            None => "unknown".into(),
        }
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.config.behind_proxy
            && let Some(ip) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse::<IpAddr>().ok())
                .next_back()
        {
            return Ok(Client(Some(ip)));
        }
        Ok(Client(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}
