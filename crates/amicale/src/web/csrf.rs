//! CSRF protection for every state-changing request: the browser must say the
//! request comes from our own pages (Origin / Sec-Fetch-Site), and the form or
//! header must carry the token of the signed `amicale_csrf` cookie.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::app::AppState;
use crate::error::AppError;
use crate::web::cookies;
use amicale_kernel::crypto::{SecretKey, random_token};

pub const COOKIE: &str = "amicale_csrf";
pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
/// Most bytes read before the end of a multipart body's first part (which
/// must be the token) is found; the token part itself is about 100 bytes.
const FIRST_PART_LIMIT: usize = 8 * 1024;
const PURPOSE: &str = "csrf";

/// Paths that receive POSTs from outside a browser session and carry their own
/// proof (signed one-click unsubscribe links, provider webhooks).
const EXEMPT_PREFIXES: &[&str] = &["/hooks/", "/unsubscribe/"];

/// The token for forms rendered by this request.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

pub fn new_token(key: &SecretKey) -> String {
    let nonce = random_token(24);
    let sig = key.sign(PURPOSE, nonce.as_bytes());
    format!("{nonce}.{sig}")
}

fn is_valid(key: &SecretKey, token: &str) -> bool {
    token
        .split_once('.')
        .is_some_and(|(nonce, sig)| key.verify(PURPOSE, nonce.as_bytes(), sig))
}

fn check_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err("cross-site request");
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // A page sent with `Referrer-Policy: no-referrer` (those whose
        // address holds a secret) makes the browser post `Origin: null`; the
        // browser's own Sec-Fetch-Site still says where the form came from.
        // Without it, `null` (sandboxed frames, data: pages) is refused.
        if origin == "null" {
            return match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
                Some("same-origin") => Ok(()),
                _ => Err("opaque Origin"),
            };
        }
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .ok_or("no Host header")?;
        let origin_host = url::Url::parse(origin)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_owned(),
                })
            })
            .ok_or("unreadable Origin")?;
        if !origin_host.eq_ignore_ascii_case(host) {
            return Err("foreign Origin");
        }
    }
    Ok(())
}

fn form_token(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

/// Where the first part of a multipart body ends: just past the delimiter
/// that closes it and the two bytes after it (`\r\n`, or `--` when it was
/// the only part), so that the parser sees the part complete.
fn first_part_end(buf: &[u8], boundary: &str) -> Option<usize> {
    let open = format!("--{boundary}");
    let start = memchr::memmem::find(buf, open.as_bytes())? + open.len();
    let close = format!("\r\n--{boundary}");
    let end = start + memchr::memmem::find(&buf[start..], close.as_bytes())? + close.len() + 2;
    (buf.len() >= end).then_some(end)
}

/// The token of a multipart form, which must be its first part (our forms
/// put it first). Only the bytes up to the end of that part are read, at
/// most [`FIRST_PART_LIMIT`] plus one chunk, before anyone is authenticated;
/// the body handed back replays them and streams the rest untouched, under
/// the upload route's own limit once the handler has checked the user.
async fn multipart_token(body: Body, boundary: String) -> (Option<String>, Body) {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let end = loop {
        if let Some(end) = first_part_end(&buf, &boundary) {
            break end;
        }
        if buf.len() > FIRST_PART_LIMIT {
            return (None, Body::empty());
        }
        match stream.next().await {
            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
            _ => return (None, Body::empty()),
        }
    };
    let prefix = Bytes::from(buf);
    let head = prefix.slice(..end);
    let first = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) });
    let mut mp = multer::Multipart::new(first, boundary);
    let token = match mp.next_field().await {
        Ok(Some(field)) if field.name() == Some(FIELD) => field.text().await.ok(),
        _ => None,
    };
    let replay = futures_util::stream::once(async move { Ok::<_, axum::Error>(prefix) });
    (token, Body::from_stream(replay.chain(stream)))
}

pub async fn protect(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let existing = cookies::read(req.headers(), COOKIE).filter(|t| is_valid(&state.secret, t));
    let unsafe_method = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    let exempt = EXEMPT_PREFIXES
        .iter()
        .any(|p| req.uri().path().starts_with(p));

    let mut req = req;
    if unsafe_method && !exempt {
        if let Err(why) = check_origin(req.headers()) {
            return AppError::Csrf(why).into_response();
        }
        let Some(expected) = existing.as_deref() else {
            return AppError::Csrf("no CSRF cookie").into_response();
        };
        let header_token = req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let is_form = content_type.starts_with("application/x-www-form-urlencoded");
        let boundary = multer::parse_boundary(&content_type).ok();
        let (parts, body) = req.into_parts();
        let (submitted, body) = match (header_token, boundary) {
            // The body is the handler's business.
            (Some(t), _) => (Some(t), body),
            (None, Some(b)) => multipart_token(body, b).await,
            (None, None) if is_form => {
                let bytes = match to_bytes(body, state.config.max_form_bytes).await {
                    Ok(b) => b,
                    Err(_) => return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response(),
                };
                (form_token(&bytes), Body::from(bytes))
            }
            (None, None) => (None, body),
        };
        if !submitted.is_some_and(|s| {
            amicale_kernel::crypto::constant_time_eq(s.as_bytes(), expected.as_bytes())
        }) {
            return AppError::Csrf("missing or wrong token").into_response();
        }
        req = Request::from_parts(parts, body);
    }

    let (token, fresh) = match existing {
        Some(t) => (t, false),
        None => (new_token(&state.secret), true),
    };
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.run(req).await;
    if fresh {
        res.headers_mut().append(
            header::SET_COOKIE,
            cookies::build(COOKIE, &token, None, state.secure_cookies),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_must_be_signed_by_our_key() {
        let k = SecretKey::from_config(&"a".repeat(32)).unwrap();
        let other = SecretKey::from_config(&"b".repeat(32)).unwrap();
        let t = new_token(&k);
        assert!(is_valid(&k, &t));
        assert!(!is_valid(&other, &t));
        assert!(!is_valid(&k, "plain"));
    }

    #[test]
    fn origin_rules() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(check_origin(&h).is_ok());
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(check_origin(&h).is_ok());
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(check_origin(&h).is_err());
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(check_origin(&h).is_err());
        // `Origin: null` from a no-referrer page of ours, and from elsewhere.
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(check_origin(&h).is_err());
        h.remove("sec-fetch-site");
        assert!(check_origin(&h).is_err());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(check_origin(&h).is_ok());
    }
}
