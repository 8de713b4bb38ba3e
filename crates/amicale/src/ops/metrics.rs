//! Prometheus metrics. Counters live in the application state (not a global
//! recorder), so several applications in one test process stay apart.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::{AppResult, ErrorPage};
use amicale_delivery::outbox;

/// Method, route pattern, status.
type Series = (String, String, u16);

#[derive(Default)]
pub struct Metrics {
    /// Count and total seconds of each series.
    http: Mutex<BTreeMap<Series, (u64, f64)>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut m = self.http.lock().unwrap_or_else(|e| e.into_inner());
        let e = m
            .entry((method.to_owned(), route.to_owned(), status))
            .or_insert((0, 0.0));
        e.0 += 1;
        e.1 += secs;
    }
}

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method()).to_owned();
    // The route pattern, not the path: /password/reset/{token} must not
    // put tokens into metrics or explode the number of series.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let res = next.run(req).await;
    state.metrics.observe(
        &method,
        &route,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

/// Any token is a valid HTTP method: unknown ones share one label, or each
/// made-up method would add series without end.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// The answer to a client that may not read the metrics (they tell the
/// traffic, the routes and the outbox's size), `None` for one that may:
/// with `metrics_token` set, a client sending it as a bearer token; without,
/// only a client on this host that came straight to us (a reverse proxy on
/// the same host adds `X-Forwarded-For` / `Forwarded`).
fn refusal(state: &AppState, req: &Request) -> Option<Response> {
    let headers = req.headers();
    if let Some(expected) = state.config.metrics_token.as_deref() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if amicale_kernel::crypto::constant_time_eq(given.trim().as_bytes(), expected.as_bytes()) {
            return None;
        }
        let mut res = StatusCode::UNAUTHORIZED.into_response();
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Some(res);
    }
    let local = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    let relayed =
        headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED);
    (!local || relayed).then(|| ErrorPage::NotFound.into_response())
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn render(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    if let Some(refused) = refusal(&state, &req) {
        return Ok(refused);
    }
    let mut out = String::new();
    out.push_str("# HELP amicale_http_requests_total HTTP requests by route and status.\n");
    out.push_str("# TYPE amicale_http_requests_total counter\n");
    let snapshot = state
        .metrics
        .http
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    for ((m, r, s), (n, _)) in &snapshot {
        let _ = writeln!(
            out,
            "amicale_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{s}\"}} {n}",
            escape(m),
            escape(r)
        );
    }
    out.push_str(
        "# HELP amicale_http_request_duration_seconds_sum Time spent answering, by route.\n",
    );
    out.push_str("# TYPE amicale_http_request_duration_seconds_sum counter\n");
    for ((m, r, s), (_, secs)) in &snapshot {
        let _ = writeln!(
            out,
            "amicale_http_request_duration_seconds_sum{{method=\"{}\",route=\"{}\",status=\"{s}\"}} {secs:.6}",
            escape(m),
            escape(r)
        );
    }
    out.push_str("# HELP amicale_outbox_messages Messages in the outbox by state.\n");
    out.push_str("# TYPE amicale_outbox_messages gauge\n");
    for (st, n) in outbox::counts(&state.db).await? {
        let _ = writeln!(
            out,
            "amicale_outbox_messages{{state=\"{}\"}} {n}",
            st.as_str()
        );
    }
    let mut res = out.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}
