//! Opens and clicks. At delivery, the links of a templated e-mail go
//! through `/t/c/…` and a one-pixel image `/t/o/…` is added; both are signed
//! with the network's secret, so a click link redirects only to the URL it
//! was made for (no open redirect) and nobody can forge opens for another
//! message. Only the first open of a message and the first click of each
//! link are kept, without IP address or browser: enough for the reports,
//! nothing more about the reader. A network setting turns tracking off.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use crate::state::Engine;
use amicale_store::entities::outbox::{self, Channel, Origin};
use amicale_store::entities::tracking_events;
use amicale_store::error::{AppError, AppResult};
use amicale_store::setting;

const SETTING: &str = "tracking";

/// A transparent 1×1 GIF.
pub const PIXEL: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// On unless an administrator turned it off.
pub async fn enabled(db: &DatabaseConnection) -> AppResult<bool> {
    Ok(setting::get(db, SETTING).await?.as_deref() != Some("off"))
}

pub async fn set_enabled(db: &DatabaseConnection, on: bool) -> AppResult<()> {
    setting::put(db, SETTING, if on { "on" } else { "off" }).await
}

/// Templated e-mails of a send, a rule or a page are tracked; system mails
/// (password resets, invitations) and tests are not.
pub fn applies(msg: &outbox::Model) -> bool {
    msg.channel == Channel::Email && msg.template_version_id.is_some() && msg.origin != Origin::Test
}

fn open_url(state: &Engine, id: i64) -> String {
    let sig = state.secret.sign("open", id.to_string().as_bytes());
    state.url(&format!("/t/o/{id}/{sig}"))
}

fn click_url(state: &Engine, id: i64, url: &str) -> String {
    let sig = state
        .secret
        .sign("click", format!("{id}\n{url}").as_bytes());
    let target = URL_SAFE_NO_PAD.encode(url);
    state.url(&format!("/t/c/{id}/{target}/{sig}"))
}

/// The few entities a URL in an attribute may carry.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Web links are tracked; the unsubscribe link is not (it must work as is,
/// and one-click clients post to it), nor mailto: and anchors.
fn trackable(own: &str, url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains("/unsubscribe/")
        && !url.starts_with(own)
}

/// Rewrites the links of `html` and adds the pixel before `</body>`.
pub fn instrument(state: &Engine, id: i64, html: &str) -> String {
    // Tags and attribute names are ASCII: lowering ASCII letters only keeps
    // every byte offset of `html` valid in `lower`.
    let lower = html.to_ascii_lowercase();
    let own = state.url("/t/");
    let mut out = String::with_capacity(html.len() + 1024);
    let body_end = lower.rfind("</body>").unwrap_or(html.len());
    links(state, id, &own, html, &lower, 0..body_end, &mut out);
    out.push_str("<img src=\"");
    out.push_str(&open_url(state, id));
    out.push_str("\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0\">");
    links(
        state,
        id,
        &own,
        html,
        &lower,
        body_end..html.len(),
        &mut out,
    );
    out
}

/// Built once: building a searcher costs about as much as one search.
static HREF: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"href="));

/// Appends `html[range]` to `out` with its trackable `href`s rewritten.
fn links(
    state: &Engine,
    id: i64,
    own: &str,
    html: &str,
    lower: &str,
    range: std::ops::Range<usize>,
    out: &mut String,
) {
    let mut at = range.start;
    let end = range.end;
    while let Some(found) = HREF.find(&lower.as_bytes()[at..end]) {
        let value = at + found + 5;
        out.push_str(&html[at..value]);
        at = value;
        let Some(q) = html[value..end]
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
        else {
            continue;
        };
        let Some(len) = html[value + 1..end].find(q) else {
            break;
        };
        let raw = &html[value + 1..value + 1 + len];
        let url = if raw.contains('&') {
            unescape(raw)
        } else {
            raw.to_owned()
        };
        out.push(q);
        if trackable(own, &url) {
            out.push_str(&click_url(state, id, &url));
        } else {
            out.push_str(raw);
        }
        out.push(q);
        at = value + len + 2;
    }
    out.push_str(&html[at..end]);
}

async fn record(state: &Engine, id: i64, kind: &str, url: &str) -> AppResult<()> {
    let Some(msg) = outbox::Entity::find_by_id(id).one(&state.db).await? else {
        return Ok(());
    };
    tracking_events::Entity::insert(tracking_events::ActiveModel {
        outbox_id: Set(id),
        send_id: Set(msg.send_id),
        rule_id: Set((msg.origin == Origin::Rule)
            .then_some(msg.origin_id)
            .flatten()),
        kind: Set(kind.to_owned()),
        url: Set(url.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&state.db)
    .await?;
    Ok(())
}

/// Records the open a signed pixel address stands for; a forged or
/// altered address records nothing.
pub async fn opened(state: &Engine, id: i64, sig: &str) {
    if state.secret.verify("open", id.to_string().as_bytes(), sig)
        && let Err(e) = record(state, id, "open", "").await
    {
        tracing::warn!(error = %e, "open not recorded");
    }
}

/// The URL a signed click address leads to, the click recorded; not found
/// when the address was not made by us for this message and this URL.
pub async fn clicked(state: &Engine, id: i64, target: &str, sig: &str) -> AppResult<String> {
    let url = URL_SAFE_NO_PAD
        .decode(target)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(AppError::NotFound)?;
    if !state
        .secret
        .verify("click", format!("{id}\n{url}").as_bytes(), sig)
    {
        return Err(AppError::NotFound);
    }
    if let Err(e) = record(state, id, "click", &url).await {
        tracing::warn!(error = %e, "click not recorded");
    }
    Ok(url)
}
