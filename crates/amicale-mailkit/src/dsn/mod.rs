//! Bounce intake: delivery status notifications (RFC 3464) and the common
//! non-standard bounces.
//!
//! [`parse`] reads a raw message received at the bounce address and tells,
//! per recipient, what happened and whether the address should be
//! suppressed ([`Severity::Hard`]) or merely noted ([`Severity::Soft`]).
//!
//! **Standard reports.** A `multipart/report; report-type=delivery-status`
//! message carries a `message/delivery-status` part (or
//! `message/global-delivery-status`, RFC 6533): a group of per-message fields
//! (`Reporting-MTA`…) then one group per recipient (`Final-Recipient`,
//! `Action`, `Status`, `Diagnostic-Code`…). Folded fields are unfolded; groups
//! that lack their blank-line separator are still told apart. The returned
//! original (`message/rfc822`, `message/global`, `text/rfc822-headers` or
//! `message/global-headers`, usually the third part) gives the `Message-ID`
//! and `X-Amicale-Id` that tie the bounce to the outbox row.
//!
//! **Other bounces.** Exim, qmail, old Exchange and friends send plain text.
//! When the message looks like a bounce (sender `MAILER-DAEMON`/`postmaster`,
//! a bounce subject, an `X-Failed-Recipients` header or an empty
//! `Return-Path`), the text is searched for recipient addresses and, near
//! them, status codes (`550 5.1.1`, `#5.1.1`) or wording ("User unknown",
//! "Mailbox full", "mailbox unavailable"). Such results carry
//! `heuristic: true`. Auto-replies ("Out of office") are never bounces.
//!
//! ```
//! use amicale_mailkit::dsn::{self, Action, Severity};
//!
//! let raw = b"From: MAILER-DAEMON@mx.amicale.example\r\n\
//! To: bounces@amicale.example\r\n\
//! Subject: Undelivered Mail Returned to Sender\r\n\
//! MIME-Version: 1.0\r\n\
//! Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\
//! \r\n\
//! --b\r\n\
//! Content-Type: text/plain\r\n\
//! \r\n\
//! Your message could not be delivered.\r\n\
//! --b\r\n\
//! Content-Type: message/delivery-status\r\n\
//! \r\n\
//! Reporting-MTA: dns; mx.amicale.example\r\n\
//! \r\n\
//! Final-Recipient: rfc822; nobody@example.org\r\n\
//! Action: failed\r\n\
//! Status: 5.1.1\r\n\
//! Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: User unknown\r\n\
//! --b--\r\n";
//! let bounce = dsn::parse(raw).expect("a bounce");
//! assert_eq!(bounce.reporting_mta.as_deref(), Some("mx.amicale.example"));
//! let r = &bounce.recipients[0];
//! assert_eq!(r.address, "nobody@example.org");
//! assert_eq!((r.action, r.status.as_str(), r.severity), (Action::Failed, "5.1.1", Severity::Hard));
//! ```

mod classify;
mod fields;
mod heuristic;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

use fields::{Field, field_groups, get, header_block, message_id, recipient_address, strip_type};

/// What a bounce says about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The MTA that wrote the report (`Reporting-MTA`, without its `dns;`
    /// type), or a host name found in a plain-text bounce.
    pub reporting_mta: Option<String>,
    /// `Message-ID` of the returned original, angle brackets included
    /// (`<id@host>`, as the outbox stores it).
    pub original_message_id: Option<String>,
    /// `X-Amicale-Id` header of the returned original, unfolded and trimmed.
    pub amicale_id: Option<String>,
    /// One entry per recipient reported on, in report order. Besides
    /// failures a report may list delayed, delivered, relayed or expanded
    /// recipients: look at [`RecipientStatus::action`].
    pub recipients: Vec<RecipientStatus>,
    /// True when read from a plain-text bounce rather than a
    /// `message/delivery-status` part: less certain.
    pub heuristic: bool,
}

/// The fate of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    /// The address we sent to: `Original-Recipient` when present (it is our
    /// RCPT TO, before forwarding or alias expansion), else
    /// `Final-Recipient`; without `rfc822;` and angle brackets.
    pub address: String,
    /// What the reporting MTA did.
    pub action: Action,
    /// Enhanced status code `class.subject.detail` (e.g. `5.1.1`). When the
    /// report has none, it is taken from the diagnostic, else `5.0.0`,
    /// `4.0.0` or `2.0.0` after the action.
    pub status: String,
    /// The `Diagnostic-Code` text without its `smtp;` type, unfolded, with the
    /// repeated `550-5.1.1` prefixes of multi-line SMTP replies removed; for
    /// plain-text bounces, the text next to the address.
    pub diagnostic: Option<String>,
    /// Whether to suppress the address, see [`classify`].
    pub severity: Severity,
}

/// The `Action` field of RFC 3464 §2.3.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Delivery failed; the MTA gave up.
    Failed,
    /// Not delivered yet; the MTA keeps trying.
    Delayed,
    /// Delivered (only reported when asked with NOTIFY=SUCCESS).
    Delivered,
    /// Handed to a system that does not report (no DSN support).
    Relayed,
    /// Delivered to a list or alias that expanded to several addresses.
    Expanded,
}

impl Action {
    fn parse(value: &str) -> Option<Self> {
        let word = value
            .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
            .next()?
            .to_ascii_lowercase();
        match word.as_str() {
            "failed" => Some(Action::Failed),
            "delayed" => Some(Action::Delayed),
            "delivered" => Some(Action::Delivered),
            "relayed" => Some(Action::Relayed),
            "expanded" => Some(Action::Expanded),
            _ => None,
        }
    }

    fn from_class(class: u8) -> Self {
        match class {
            5 => Action::Failed,
            4 => Action::Delayed,
            _ => Action::Delivered,
        }
    }

    /// The lower-case RFC 3464 keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Delivered => "delivered",
            Action::Relayed => "relayed",
            Action::Expanded => "expanded",
        }
    }
}

/// Whether a bounce condemns the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The address does not work and will not: stop sending to it.
    Hard,
    /// A temporary or message-related problem (full mailbox, too big, spam
    /// filter, delay): the address stays; repeated soft bounces are the
    /// application's call.
    Soft,
}

/// Decides whether a status means the address is dead.
///
/// The code used is `status` (an RFC 3463 code, trailing comment allowed); if
/// it is only `X.0.0`, a more precise code of the same class found in
/// `diagnostic` wins (Postfix reports `5.0.0` with `550 5.1.1 …`); if it is
/// unreadable, the first enhanced code of `diagnostic`, then its basic SMTP
/// reply code (`550` → `5.0.0`).
///
/// | code | severity | why |
/// |---|---|---|
/// | `2.x.x`, `4.x.x` | Soft | success or temporary failure |
/// | `5.1.x` (`5.1.1`, `5.1.2`, `5.1.3`, `5.1.6`, `5.1.10`…) | **Hard** | bad mailbox, domain or syntax; Microsoft's 5.1.10 "recipient not found" |
/// | `5.1.5`, `5.1.7`, `5.1.8` | Soft | "address valid" or problems of *our sender* address |
/// | `5.2.1` | **Hard** | mailbox disabled |
/// | `5.4.1`, `5.4.4` | **Hard** | Microsoft's "Recipient address rejected: Access denied" for unknown users; domain that cannot be routed |
/// | `5.2.2`, `5.2.3`, `5.3.4` | Soft | mailbox full, message too big |
/// | anything else in class 5 (`5.0.0`, `5.5.x`, `5.7.x` policy/spam blocks…) | Soft, **Hard** if the text says the recipient does not exist ("user unknown", "does not exist", "no such user", "recipient not found", "account disabled"…) and says nothing of spam, blocks, policy, reputation, SPF/DKIM/DMARC or rate limits | blocks of our mail must not suppress good addresses |
/// | no code at all | same wording rule as above, also Soft if the text says "temporary" | |
///
/// ```
/// use amicale_mailkit::dsn::{classify, Severity};
///
/// assert_eq!(classify("5.1.1", "550 5.1.1 User unknown"), Severity::Hard);
/// assert_eq!(classify("5.2.2", "552 Mailbox full"), Severity::Soft);
/// assert_eq!(classify("5.7.1", "550 5.7.1 Message rejected as spam"), Severity::Soft);
/// assert_eq!(classify("5.7.1", "550 5.7.1 Recipient does not exist here"), Severity::Hard);
/// assert_eq!(classify("4.4.1", "Connection timed out"), Severity::Soft);
/// assert_eq!(classify("5.0.0", "smtp; 550 5.1.1 <a@b>: User unknown"), Severity::Hard);
/// ```
pub fn classify(status: &str, diagnostic: &str) -> Severity {
    classify::classify_code(classify::effective_code(status, diagnostic), diagnostic)
}

/// Reads a raw bounce. Returns `None` when the message is not a bounce, or
/// when no recipient could be identified.
///
/// Never panics, whatever the input (see the pseudo-fuzz test and `fuzz/`).
/// In debug builds, input that trips one of mail-parser's internal debug
/// assertions still prints a panic message through the panic hook, then
/// yields `None`.
pub fn parse(raw: &[u8]) -> Option<Bounce> {
    // mail-parser 0.11 has `debug_assert!(false, …)` on some malformed MIME
    // structures (the pseudo-fuzz test finds them within ~10,000 mutants):
    // debug builds panic where release builds recover. Bounces are hostile
    // input from the Internet, so a panic inside the MIME parser is turned
    // into "not a bounce" instead of taking the intake task down. Our own
    // code below is panic-free and stays outside the guard.
    let message = std::panic::catch_unwind(|| MessageParser::new().parse(raw)).ok()??;
    let (returned_id, amicale_id) = returned_ids(&message);

    if let Some(mut bounce) = delivery_status(&message) {
        if returned_id.is_some() {
            bounce.original_message_id = returned_id;
        }
        bounce.amicale_id = amicale_id;
        return Some(bounce);
    }

    let top_headers = top_header_block(&message);
    heuristic::parse(&message, &top_headers, returned_id, amicale_id)
}

/// Whether `part` is of `ctype/` one of `subtypes`.
fn is_type(part: &MessagePart<'_>, ctype: &str, subtypes: &[&str]) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case(ctype)
            && ct
                .subtype()
                .is_some_and(|st| subtypes.iter().any(|s| st.eq_ignore_ascii_case(s)))
    })
}

/// The header block of the top-level message.
fn top_header_block(message: &Message<'_>) -> Vec<Field> {
    message
        .parts
        .first()
        .and_then(|root| {
            message
                .raw_message
                .get(root.offset_header as usize..root.offset_body as usize)
        })
        .map(|bytes| header_block(&String::from_utf8_lossy(bytes)))
        .unwrap_or_default()
}

/// The header fields of a returned original message part, if it is one.
fn returned_headers(part: &MessagePart<'_>) -> Option<Vec<Field>> {
    if let PartType::Message(nested) = &part.body {
        // A parsed message/rfc822: its raw bytes and offsets locate the
        // header block (offsets are relative to `raw_message`, which is the
        // outer buffer or the decoded one when the part was encoded).
        let root = nested.parts.first()?;
        let bytes = nested
            .raw_message
            .get(root.offset_header as usize..root.offset_body as usize)?;
        return Some(header_block(&String::from_utf8_lossy(bytes)));
    }
    if is_type(part, "message", &["rfc822", "global", "global-headers"])
        || is_type(part, "text", &["rfc822-headers"])
    {
        // Headers only, or a message mail-parser could not parse: the
        // content starts with the header block either way.
        return Some(header_block(&String::from_utf8_lossy(part.contents())));
    }
    None
}

/// `Message-ID` and `X-Amicale-Id` of the first returned original found.
fn returned_ids(message: &Message<'_>) -> (Option<String>, Option<String>) {
    // Skip the root: its own headers are the bounce's, not the original's.
    for part in message.parts.iter().skip(1) {
        if let Some(headers) = returned_headers(part) {
            let id = get(&headers, "message-id").and_then(message_id);
            let amicale = get(&headers, "x-amicale-id")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            if id.is_some() || amicale.is_some() {
                return (id, amicale);
            }
        }
    }
    (None, None)
}

/// Fields of one recipient group as read.
#[derive(Default)]
struct RawRecipient {
    original: Option<String>,
    final_: Option<String>,
    action: Option<String>,
    status: Option<String>,
    diagnostic: Option<String>,
}

impl RawRecipient {
    fn has_details(&self) -> bool {
        self.action.is_some() || self.status.is_some() || self.diagnostic.is_some()
    }

    fn into_status(self) -> Option<RecipientStatus> {
        let address = self
            .original
            .as_deref()
            .and_then(recipient_address)
            .or_else(|| self.final_.as_deref().and_then(recipient_address))?;
        let diagnostic = self
            .diagnostic
            .as_deref()
            .map(|d| tidy_diagnostic(strip_type(d)))
            .filter(|d| !d.is_empty());
        let diag_text = diagnostic.as_deref().unwrap_or("");
        let action = self.action.as_deref().and_then(Action::parse);
        let code = self
            .status
            .as_deref()
            .and_then(classify::parse_status)
            .or_else(|| classify::find_enhanced_code(diag_text));
        let (action, status) = match (action, code) {
            (Some(a), Some(c)) => (a, c.to_string()),
            (Some(a), None) => (
                a,
                match a {
                    Action::Failed => "5.0.0",
                    Action::Delayed => "4.0.0",
                    _ => "2.0.0",
                }
                .to_string(),
            ),
            (None, Some(c)) => (Action::from_class(c.class), c.to_string()),
            (None, None) => return None,
        };
        let severity = classify(&status, diag_text);
        Some(RecipientStatus {
            address,
            action,
            status,
            diagnostic,
            severity,
        })
    }
}

/// Reads the first `message/delivery-status` part that names a recipient.
fn delivery_status(message: &Message<'_>) -> Option<Bounce> {
    message
        .parts
        .iter()
        .filter(|p| is_type(p, "message", &["delivery-status", "global-delivery-status"]))
        .find_map(|part| {
            let bounce = read_report(&String::from_utf8_lossy(part.contents()));
            (!bounce.recipients.is_empty()).then_some(bounce)
        })
}

/// Reads the fields of a delivery-status body (RFC 3464 §2.2 and §2.3).
fn read_report(text: &str) -> Bounce {
    let mut bounce = Bounce {
        reporting_mta: None,
        original_message_id: None,
        amicale_id: None,
        recipients: Vec::new(),
        heuristic: false,
    };
    fn flush(raw: RawRecipient, out: &mut Vec<RecipientStatus>) {
        out.extend(raw.into_status());
    }
    for group in field_groups(text) {
        let mut cur = RawRecipient::default();
        for field in group {
            let value = field.value;
            match field.name.as_str() {
                "reporting-mta" if bounce.reporting_mta.is_none() => {
                    let mta = strip_type(&value);
                    if !mta.is_empty() {
                        bounce.reporting_mta = Some(mta.to_string());
                    }
                }
                // Not in RFC 3464, but Gmail and others add it; the returned
                // original, when present, takes precedence.
                "x-original-message-id" | "original-message-id"
                    if bounce.original_message_id.is_none() =>
                {
                    bounce.original_message_id = message_id(&value);
                }
                // A new recipient starts when the current one already has
                // this field, or has gone past its addresses: this copes with
                // reports that omit the blank line between recipients, in
                // either order of Original-/Final-Recipient (Postfix writes
                // Final first).
                "original-recipient" => {
                    if cur.original.is_some() || (cur.final_.is_some() && cur.has_details()) {
                        flush(std::mem::take(&mut cur), &mut bounce.recipients);
                    }
                    cur.original = Some(value);
                }
                "final-recipient" => {
                    if cur.final_.is_some() || (cur.original.is_some() && cur.has_details()) {
                        flush(std::mem::take(&mut cur), &mut bounce.recipients);
                    }
                    cur.final_ = Some(value);
                }
                "action" if cur.action.is_none() => cur.action = Some(value),
                "status" if cur.status.is_none() => cur.status = Some(value),
                "diagnostic-code" if cur.diagnostic.is_none() => cur.diagnostic = Some(value),
                _ => {}
            }
        }
        flush(cur, &mut bounce.recipients);
    }
    bounce
}

/// Removes the repeated prefixes of a multi-line SMTP reply once unfolded:
/// `550-5.1.1 The email account … Please try 550-5.1.1 double-checking …`
/// becomes `550 5.1.1 The email account … Please try double-checking …`.
fn tidy_diagnostic(text: &str) -> String {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let Some(first) = tokens.first() else {
        return String::new();
    };
    let fb = first.as_bytes();
    let is_reply = fb.len() >= 3 && fb[..3].iter().all(u8::is_ascii_digit);
    if !is_reply {
        return tokens.join(" ");
    }
    let code = &first[..3];
    // The enhanced code is glued to a "550-" first token or is the second
    // token.
    let (enhanced, body_start) = match first.get(3..) {
        Some(rest) if rest.starts_with('-') && rest.len() > 1 => (Some(&rest[1..]), 1),
        Some("") | Some("-") => match tokens.get(1) {
            Some(t) if classify::parse_status(t).is_some() => (Some(*t), 2),
            _ => (None, 1),
        },
        _ => return tokens.join(" "),
    };
    let Some(enhanced) = enhanced.filter(|e| classify::parse_status(e).is_some()) else {
        return tokens.join(" ");
    };
    let glued_dash = format!("{code}-{enhanced}");
    let dash = format!("{code}-");
    let mut out: Vec<&str> = vec![code, enhanced];
    let mut i = body_start;
    while i < tokens.len() {
        let t = tokens[i];
        if t == glued_dash {
            i += 1;
            continue;
        }
        if (t == code || t == dash) && tokens.get(i + 1) == Some(&enhanced) {
            i += 2;
            continue;
        }
        out.push(t);
        i += 1;
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_multiline_reply() {
        assert_eq!(
            tidy_diagnostic(
                "550-5.1.1 The email account that you tried to reach does not exist. Please try \
                 550-5.1.1 double-checking the recipient's email address for typos or \
                 550-5.1.1 unnecessary spaces. \
                 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser - gsmtp"
            ),
            "550 5.1.1 The email account that you tried to reach does not exist. Please try \
             double-checking the recipient's email address for typos or unnecessary spaces. \
             https://support.google.com/mail/?p=NoSuchUser - gsmtp"
        );
        assert_eq!(
            tidy_diagnostic("550  5.1.1 <a@b>:\tUser unknown"),
            "550 5.1.1 <a@b>: User unknown"
        );
        assert_eq!(
            tidy_diagnostic("connect to x:  timed out"),
            "connect to x: timed out"
        );
        assert_eq!(
            tidy_diagnostic("550 Mailbox unavailable"),
            "550 Mailbox unavailable"
        );
        assert_eq!(tidy_diagnostic(""), "");
    }

    #[test]
    fn actions() {
        assert_eq!(Action::parse("failed"), Some(Action::Failed));
        assert_eq!(Action::parse("Delayed (will retry)"), Some(Action::Delayed));
        assert_eq!(Action::parse("bogus"), None);
        assert_eq!(Action::parse(""), None);
    }
}
