//! Plain-text bounces (Exim, qmail, sendmail without DSN, old Exchange…).
//!
//! These follow no standard, so the reading is deliberately cautious: the
//! message must first look like a bounce, then only addresses that start a
//! line (possibly after a short label, `<`, a quote or `rfc822;`) open a
//! recipient block, and a block only counts with a status code or a failure
//! wording in it or around it.

use std::collections::HashSet;

use mail_parser::{Message, PartType};

use super::classify::{
    self, Code, find_enhanced_code, find_reply_code, mentions, says_full, says_gone, says_temporary,
};
use super::fields::{Field, get, header_block, message_id, recipient_address};
use super::{Action, Bounce, RecipientStatus, Severity};

/// Local parts of senders that write bounces.
const DAEMONS: &[&str] = &[
    "mailer-daemon",
    "mailerdaemon",
    "mail-daemon",
    "maildaemon",
    "postmaster",
];

/// Addresses that appear in bounce prose without being recipients.
const ROLE_ADDRESSES: &[&str] = &[
    "mailer-daemon",
    "mailerdaemon",
    "postmaster",
    "abuse",
    "hostmaster",
];

/// Bounce subjects, lower case, matched anywhere in the subject.
const SUBJECTS: &[&str] = &[
    "undeliver",
    "delivery status notification",
    "delivery failure",
    "delivery has failed",
    "delivery failed",
    "failure notice",
    "failed delivery",
    "returned mail",
    "returning message to sender",
    "could not be delivered",
    "couldn't be delivered",
    "non-delivery",
    "nondeliverable",
    "non remis",
    "not delivered",
    "delivery notification",
    "mail delivery system",
    "delivery delayed",
    "delayed mail",
    "message delayed",
    "warning: message",
];

/// Auto-reply subjects: never bounces, even when they mention an error.
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "auto:",
    "automatic reply",
    "autoreply",
    "auto-reply",
    "auto reply",
    "out of office",
    "out of the office",
    "réponse automatique",
    "abwesenheit",
    "absence",
];

/// Lines that start the copy of the returned message.
const COPY_MARKERS: &[&str] = &[
    "------ this is a copy of the message",
    "------ this is a copy of your message",
    "--- below this line is a copy of the message",
    "----- original message",
    "-----original message",
    "original message follows",
    "----- the original message",
    "------- returned message",
    "----- message header follows",
    "--- the header of the original message",
    "below is a copy of the original message",
    "return-path:",
    "received: from",
];

/// Wording of a report that still retries.
const DELAY: &[&str] = &[
    "not yet been delivered",
    "has not been delivered yet",
    "delayed",
    "will continue",
    "still trying",
    "will retry",
    "will be retried",
    "will keep trying",
    "temporar",
];

/// Wording of a report that gave up.
const GIVEN_UP: &[&str] = &[
    "permanent",
    "could not be delivered",
    "couldn't be delivered",
    "undeliverable",
    "failed",
    "given up",
    "giving up",
    "not delivered",
    "did not reach",
    "could not be reached",
    "cannot be reached",
    "couldn't be reached",
    "unable to deliver",
    "wasn't able to deliver",
    "rejected",
];

const UNAVAILABLE: &[&str] = &[
    "mailbox unavailable",
    "mailbox not available",
    "mailbox is unavailable",
];

/// Longest diagnostic kept from free text.
const MAX_DIAGNOSTIC: usize = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tone {
    GaveUp,
    Retrying,
    Unknown,
}

fn tone(lower: &str) -> Tone {
    // An explicit "permanent" beats the retry wording some bounces quote.
    if lower.contains("permanent") {
        Tone::GaveUp
    } else if mentions(lower, DELAY) {
        Tone::Retrying
    } else if mentions(lower, GIVEN_UP) {
        Tone::GaveUp
    } else {
        Tone::Unknown
    }
}

pub(crate) fn parse(
    message: &Message<'_>,
    headers: &[Field],
    returned_id: Option<String>,
    amicale_id: Option<String>,
) -> Option<Bounce> {
    let subject = message.subject().unwrap_or("").trim().to_lowercase();
    if AUTO_REPLY_SUBJECTS.iter().any(|s| subject.starts_with(s))
        || get(headers, "x-autoreply").is_some()
        || get(headers, "x-autorespond").is_some()
    {
        return None;
    }

    let from = message.from().and_then(|a| a.first());
    let from_address = from
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_ascii_lowercase();
    let from_name = from.and_then(|a| a.name()).unwrap_or("").to_lowercase();
    let from_local = from_address.split('@').next().unwrap_or("");

    let failed_header: Vec<String> = headers
        .iter()
        .filter(|f| f.name == "x-failed-recipients")
        .flat_map(|f| f.value.split(','))
        .filter_map(recipient_address)
        .collect();

    let looks_like_bounce = DAEMONS.contains(&from_local)
        || from_name.contains("mail delivery")
        || from_name.contains("mailer-daemon")
        || from_name.contains("system administrator")
        || mentions(&subject, SUBJECTS)
        || !failed_header.is_empty()
        || get(headers, "return-path").is_some_and(|v| v.trim() == "<>");
    if !looks_like_bounce {
        return None;
    }

    let text = body_text(message);
    let (prose, copy) = split_at_copy(&text);
    let prose_lower = prose.to_lowercase();
    let tone = tone(&prose_lower);

    // Our own addresses (the bounce's To) and the daemon's are not
    // recipients, even when the prose names them.
    let mut excluded: HashSet<String> = message
        .to()
        .into_iter()
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .map(str::to_ascii_lowercase)
        .collect();
    excluded.insert(from_address.clone());

    let mut recipients: Vec<RecipientStatus> = Vec::new();
    // A set rather than a scan of `recipients`: hostile input may list
    // thousands of addresses.
    let mut seen: HashSet<String> = HashSet::new();
    for block in blocks(prose, &excluded) {
        if let Some(r) = block.into_status(tone) {
            if seen.insert(r.address.to_ascii_lowercase()) {
                recipients.push(r);
            }
        }
    }

    if !failed_header.is_empty() {
        // Exim's X-Failed-Recipients is authoritative about who failed.
        let failed: HashSet<String> = failed_header
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .collect();
        recipients.retain(|r| failed.contains(&r.address.to_ascii_lowercase()));
        let mut seen: HashSet<String> = recipients
            .iter()
            .map(|r| r.address.to_ascii_lowercase())
            .collect();
        for address in &failed_header {
            if seen.insert(address.to_ascii_lowercase()) {
                recipients.push(RecipientStatus {
                    address: address.clone(),
                    action: Action::Failed,
                    status: "5.0.0".into(),
                    diagnostic: None,
                    severity: Severity::Soft,
                });
            }
        }
    }
    if recipients.is_empty() {
        return None;
    }

    // The inline copy, when the original was not attached as a MIME part.
    let (mut original_message_id, mut amicale_id) = (returned_id, amicale_id);
    if original_message_id.is_none() && amicale_id.is_none() && !copy.is_empty() {
        let copied = header_block(copy_headers(copy));
        original_message_id = get(&copied, "message-id").and_then(message_id);
        amicale_id = get(&copied, "x-amicale-id")
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string);
    }

    Some(Bounce {
        reporting_mta: reporting_mta(prose, &from_address, from_local),
        original_message_id,
        amicale_id,
        recipients,
        heuristic: true,
    })
}

/// The text of the bounce: its text bodies, HTML ones reduced to text.
fn body_text(message: &Message<'_>) -> String {
    let mut out = String::new();
    for part in message.text_bodies() {
        match &part.body {
            PartType::Text(t) => out.push_str(t),
            PartType::Html(h) => out.push_str(&html_to_text(h)),
            _ => continue,
        }
        out.push('\n');
    }
    out
}

/// Crude HTML to text: enough for the NDRs that only come as HTML.
fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name = tag
                    .trim_start_matches('/')
                    .split(|c: char| c.is_whitespace() || c == '/')
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if matches!(
                    name.as_str(),
                    "br" | "p" | "div" | "tr" | "li" | "table" | "h1" | "h2" | "h3"
                ) {
                    out.push('\n');
                } else if matches!(name.as_str(), "td" | "th") {
                    out.push(' ');
                }
            }
            (true, c) => {
                if tag.len() < 16 {
                    tag.push(c);
                }
            }
            (false, c) => out.push(c),
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Splits the text before the copy of the returned message.
fn split_at_copy(text: &str) -> (&str, &str) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let lower = line.trim().to_lowercase();
        if COPY_MARKERS.iter().any(|m| lower.starts_with(m)) {
            return (&text[..offset], &text[offset..]);
        }
        offset += line.len();
    }
    (text, "")
}

/// The header block of an inline copy: after the marker line, if the copy
/// starts with one.
fn copy_headers(copy: &str) -> &str {
    let first = copy
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if first.starts_with("return-path:") || first.starts_with("received:") {
        copy
    } else {
        copy.split_once('\n').map_or("", |(_, rest)| rest)
    }
}

/// A recipient address and the lines that follow it.
struct Block {
    address: String,
    lines: Vec<String>,
}

impl Block {
    fn into_status(self, tone: Tone) -> Option<RecipientStatus> {
        let text = self.lines.join(" ");
        let lower = text.to_lowercase();
        let full = says_full(&lower);
        let gone = says_gone(&lower);
        let retrying = tone == Tone::Retrying || says_temporary(&lower);

        let code = if let Some(code) = find_enhanced_code(&text) {
            code
        } else if let Some(reply) = find_reply_code(&text) {
            match reply / 100 {
                5 if full => Code::new(5, 2, 2),
                5 if gone => Code::new(5, 1, 1),
                5 => Code::new(5, 0, 0),
                4 if full => Code::new(4, 2, 2),
                4 => Code::new(4, 0, 0),
                _ => return None,
            }
        } else if full {
            if retrying {
                Code::new(4, 2, 2)
            } else {
                Code::new(5, 2, 2)
            }
        } else if gone {
            Code::new(5, 1, 1)
        } else if mentions(&lower, UNAVAILABLE) || tone == Tone::GaveUp {
            Code::new(5, 0, 0)
        } else if tone == Tone::Retrying {
            Code::new(4, 0, 0)
        } else {
            return None;
        };

        let diagnostic = self.diagnostic();
        let status = code.to_string();
        let severity = classify::classify_code(Some(code), diagnostic.as_deref().unwrap_or(""));
        Some(RecipientStatus {
            address: self.address,
            action: Action::from_class(code.class),
            status,
            diagnostic,
            severity,
        })
    }

    /// The block's lines, minus those that are only the address.
    fn diagnostic(&self) -> Option<String> {
        let mut out = String::new();
        for line in &self.lines {
            let rest = line
                .replace(&self.address, "")
                .replace(['<', '>', ':', '"', '\'', ','], "");
            if rest.trim().is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(line);
            if out.len() > MAX_DIAGNOSTIC {
                let mut cut = MAX_DIAGNOSTIC;
                while !out.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.truncate(cut);
                break;
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// Cuts the prose into recipient blocks. A block opens at a line that starts
/// with a new address and closes at a blank line once it has some text.
fn blocks(prose: &str, excluded: &HashSet<String>) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for line in prose.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if current.as_ref().is_some_and(|b| b.lines.len() > 1) {
                out.extend(current.take());
            }
            continue;
        }
        let lead = leading_address(trimmed).filter(|a| {
            let lower = a.to_ascii_lowercase();
            let local = lower.split('@').next().unwrap_or("");
            !excluded.contains(&lower) && !ROLE_ADDRESSES.contains(&local)
        });
        // Exim's "(generated from alias@x)" names the alias, not a new
        // recipient.
        let opens = match (&lead, &current) {
            (Some(a), Some(b)) => {
                !a.eq_ignore_ascii_case(&b.address)
                    && !trimmed.to_ascii_lowercase().contains("generated from")
            }
            (Some(_), None) => true,
            (None, _) => false,
        };
        if opens {
            out.extend(current.take());
            current = lead.map(|address| Block {
                address,
                lines: vec![trimmed.to_string()],
            });
        } else if let Some(block) = current.as_mut() {
            block.lines.push(trimmed.to_string());
        }
    }
    out.extend(current);
    out
}

/// The address a line starts with, possibly after a short label
/// (`Failed Recipient:`), `rfc822;`, `<` or a quote.
fn leading_address(line: &str) -> Option<String> {
    if let Some(a) = address_at_start(line) {
        return Some(a);
    }
    let (label, rest) = line.split_once(':')?;
    if label.contains('@') || label.len() > 40 || label.split_whitespace().count() > 4 {
        return None;
    }
    address_at_start(rest.trim_start())
}

fn address_at_start(s: &str) -> Option<String> {
    let mut s = s.trim_start();
    if s.len() >= 7 && s.is_char_boundary(7) && s[..7].eq_ignore_ascii_case("rfc822;") {
        s = s[7..].trim_start();
    }
    let s = s.trim_start_matches(['<', '"', '\'', '(']);
    let bytes = s.as_bytes();
    let is_local = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b);
    let local_len = bytes.iter().take_while(|&&b| is_local(b)).count();
    if local_len == 0 || bytes.get(local_len) != Some(&b'@') {
        return None;
    }
    let domain = &bytes[local_len + 1..];
    let domain_len = domain
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        .count();
    let domain_str = s[local_len + 1..local_len + 1 + domain_len].trim_end_matches('.');
    if !domain_str.contains('.') || domain_str.starts_with('.') {
        return None;
    }
    let local = s[..local_len].trim_start_matches('\'');
    if local.is_empty() {
        return None;
    }
    Some(format!("{local}@{domain_str}"))
}

/// A host name for `Bounce::reporting_mta`: qmail names itself, Exchange
/// signs `<host #5.1.1>`, and MAILER-DAEMON@host is the host.
fn reporting_mta(prose: &str, from_address: &str, from_local: &str) -> Option<String> {
    const QMAIL: &str = "this is the qmail-send program at ";
    // ASCII lower-casing keeps byte offsets valid in `prose`.
    if let Some(pos) = prose.to_ascii_lowercase().find(QMAIL) {
        let host: String = prose
            .get(pos + QMAIL.len()..)?
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
            .collect();
        let host = host.trim_end_matches('.');
        if !host.is_empty() {
            return Some(host.to_string());
        }
    }
    if let Some(hash) = prose.find(" #") {
        if let Some(open) = prose[..hash].rfind('<') {
            let host = &prose[open + 1..hash];
            if !host.is_empty()
                && host.contains('.')
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Some(host.to_string());
            }
        }
    }
    if from_local == "mailer-daemon" {
        if let Some((_, host)) = from_address.split_once('@') {
            if !host.is_empty() {
                return Some(host.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_addresses() {
        assert_eq!(
            leading_address("<bob@example.net>:").as_deref(),
            Some("bob@example.net")
        );
        assert_eq!(
            leading_address("jane.doe@example.org").as_deref(),
            Some("jane.doe@example.org")
        );
        assert_eq!(
            leading_address("'paul@corp.example.com' on 12/03/2009").as_deref(),
            Some("paul@corp.example.com")
        );
        assert_eq!(
            leading_address("Failed Recipient: x.y@example.org").as_deref(),
            Some("x.y@example.org")
        );
        assert_eq!(
            leading_address("Original-Recipient: rfc822;a@example.org").as_deref(),
            Some("a@example.org")
        );
        assert_eq!(
            leading_address("Please contact the administrator of a@b.c"),
            None
        );
        assert_eq!(leading_address("host 192.0.2.1 said:"), None);
        assert_eq!(leading_address("user@localhost"), None);
        assert_eq!(leading_address("é@é"), None);
    }

    #[test]
    fn copy_split() {
        let text = "prose\nmore\n------ This is a copy of the message, including all the headers. ------\nReturn-path: <a@b>\n";
        let (prose, copy) = split_at_copy(text);
        assert_eq!(prose, "prose\nmore\n");
        assert!(copy.starts_with("------ This is a copy"));
        assert_eq!(copy_headers(copy), "Return-path: <a@b>\n");
    }

    #[test]
    fn html() {
        assert_eq!(
            html_to_text("<p>Hello&nbsp;<b>x</b></p><br/>a&lt;b&gt;"),
            "\nHello x\n\na<b>"
        );
    }
}
