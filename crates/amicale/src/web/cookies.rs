//! Reading and writing our cookies.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_owned()))
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// An HttpOnly, SameSite=Lax cookie for the whole site. `max_age` None means
/// it ends with the browser session.
pub fn build(name: &str, value: &str, max_age_secs: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = Cookie::new(name.to_owned(), value.to_owned());
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(secure);
    if let Some(s) = max_age_secs {
        c.set_max_age(cookie::time::Duration::seconds(s));
    }
    HeaderValue::from_str(&c.to_string()).expect("cookie values are ASCII")
}

pub fn expire(name: &str, secure: bool) -> HeaderValue {
    build(name, "", Some(0), secure)
}
