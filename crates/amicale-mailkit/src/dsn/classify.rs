//! Status codes (RFC 3463) and the hard/soft decision.

/// An RFC 3463 enhanced status code `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Code {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl Code {
    pub fn new(class: u8, subject: u16, detail: u16) -> Self {
        Self {
            class,
            subject,
            detail,
        }
    }

    pub fn is_unspecific(self) -> bool {
        self.subject == 0 && self.detail == 0
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Reads `digits(1..=max)` at `s[pos..]`, returning the number and the
/// position after it.
fn digits_at(s: &[u8], pos: usize, max: usize) -> Option<(u16, usize)> {
    let len = s
        .get(pos..)?
        .iter()
        .take(max + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if len == 0 || len > max {
        return None;
    }
    let mut n: u16 = 0;
    for &b in &s[pos..pos + len] {
        n = n * 10 + u16::from(b - b'0');
    }
    Some((n, pos + len))
}

/// Parses a code starting exactly at `pos`; `strict` limits the subject to
/// the eight that RFC 3463 defines, to avoid reading version numbers
/// ("Exim 4.96.2") as codes in free text.
fn code_at(s: &[u8], pos: usize, strict: bool) -> Option<(Code, usize)> {
    let class = match s.get(pos)? {
        b'2' => 2,
        b'4' => 4,
        b'5' => 5,
        _ => return None,
    };
    if s.get(pos + 1) != Some(&b'.') {
        return None;
    }
    let (subject, p) = digits_at(s, pos + 2, 3)?;
    if s.get(p) != Some(&b'.') {
        return None;
    }
    let (detail, end) = digits_at(s, p + 1, 3)?;
    if strict && subject > 7 {
        return None;
    }
    Some((Code::new(class, subject, detail), end))
}

/// Reads the `Status:` field value: a code at the start, possibly followed by
/// a comment (`5.1.1 (bad destination mailbox address)`).
pub(crate) fn parse_status(value: &str) -> Option<Code> {
    let s = value.trim_start().as_bytes();
    let (code, end) = code_at(s, 0, false)?;
    match s.get(end) {
        None => Some(code),
        Some(b)
            if b.is_ascii_digit()
                || (*b == b'.' && s.get(end + 1).is_some_and(u8::is_ascii_digit)) =>
        {
            None
        }
        Some(_) => Some(code),
    }
}

/// Finds the first enhanced status code in free text, e.g. in
/// `550-5.1.1 The email account…` or `(#5.1.1)`. Refuses what is part of a
/// longer dotted number (IP addresses, versions).
pub(crate) fn find_enhanced_code(text: &str) -> Option<Code> {
    let s = text.as_bytes();
    for i in 0..s.len() {
        if i > 0 {
            let prev = s[i - 1];
            if prev.is_ascii_alphanumeric() || prev == b'.' {
                continue;
            }
        }
        if let Some((code, end)) = code_at(s, i, true) {
            let next_ok = match s.get(end) {
                None => true,
                Some(b) if b.is_ascii_alphanumeric() => false,
                Some(b'.') => !s.get(end + 1).is_some_and(u8::is_ascii_digit),
                Some(_) => true,
            };
            if next_ok {
                return Some(code);
            }
        }
    }
    None
}

/// Finds a basic SMTP reply code (RFC 5321 §4.2) like `550` or `452-` in
/// free text, standing as its own word.
pub(crate) fn find_reply_code(text: &str) -> Option<u16> {
    let s = text.as_bytes();
    for i in 0..s.len().saturating_sub(2) {
        if !matches!(s[i], b'2' | b'4' | b'5') {
            continue;
        }
        if i > 0 && !matches!(s[i - 1], b' ' | b'\t' | b'(' | b'"' | b'\'' | b':' | b'#') {
            continue;
        }
        if !(s[i + 1].is_ascii_digit() && s[i + 2].is_ascii_digit()) {
            continue;
        }
        match s.get(i + 3) {
            None | Some(b' ' | b'-' | b')' | b'\t' | b',' | b'\r' | b'\n') => {}
            _ => continue,
        }
        return Some(
            u16::from(s[i] - b'0') * 100
                + u16::from(s[i + 1] - b'0') * 10
                + u16::from(s[i + 2] - b'0'),
        );
    }
    None
}

/// Wording that says the recipient does not exist or is closed.
const GONE: &[&str] = &[
    "user unknown",
    "unknown user",
    "no such user",
    "no such recipient",
    "no such mailbox",
    "no such address",
    "recipient unknown",
    "unknown recipient",
    "recipient not found",
    "recipientnotfound",
    "user not found",
    "address not found",
    "mailbox not found",
    "not exist",
    "doesn't exist",
    "no longer exists",
    "no mailbox here",
    "invalid recipient",
    "invalid mailbox",
    "unknown address",
    "address unknown",
    "unrouteable address",
    "unknown or illegal alias",
    "account disabled",
    "account has been disabled",
    "account is disabled",
    "mailbox disabled",
    "mailbox is disabled",
    "mailbox is inactive",
    "account is inactive",
    "couldn't be found",
    "could not be found",
];

/// Wording of blocks caused by us (reputation, content, rate), not by the
/// address: these must not suppress the recipient.
const POLICY: &[&str] = &[
    "spam",
    "blocked",
    "blocklist",
    "block list",
    "blacklist",
    "denylist",
    "policy",
    "reputation",
    "spamhaus",
    "dnsbl",
    "rate limit",
    "rate-limit",
    "too many",
    "spf",
    "dmarc",
    "dkim",
    "unsolicited",
    "suspicious",
    "virus",
    "malware",
];

/// Wording of a temporary condition.
const TEMPORARY: &[&str] = &[
    "temporar",
    "try again later",
    "try later",
    "greylist",
    "graylist",
    "deferred",
];

/// Wording of a full mailbox.
pub(crate) const FULL: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "mail box full",
    "mailbox has exceeded",
    "inbox is full",
    "quota exceeded",
    "exceeded quota",
    "exceeds quota",
    "over quota",
    "overquota",
    "exceeded storage",
    "insufficient storage",
    "out of storage",
    "mailbox size limit",
];

pub(crate) fn mentions(lower_text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| lower_text.contains(w))
}

pub(crate) fn says_gone(lower_text: &str) -> bool {
    mentions(lower_text, GONE)
}

pub(crate) fn says_full(lower_text: &str) -> bool {
    mentions(lower_text, FULL)
}

pub(crate) fn says_temporary(lower_text: &str) -> bool {
    mentions(lower_text, TEMPORARY)
}

/// The code that decides: the `Status` value, made more precise by the
/// diagnostic when the status is only `X.0.0` of the same class (Postfix
/// writes `Status: 5.0.0` with `550 5.1.1 …` in the diagnostic), or taken
/// from the diagnostic (enhanced code, then basic reply code) when the status
/// is unreadable.
pub(crate) fn effective_code(status: &str, diagnostic: &str) -> Option<Code> {
    let from_status = parse_status(status);
    let from_diag = find_enhanced_code(diagnostic);
    match (from_status, from_diag) {
        (Some(s), Some(d)) if s.is_unspecific() && d.class == s.class => Some(d),
        (Some(s), _) => Some(s),
        (None, Some(d)) => Some(d),
        (None, None) => find_reply_code(diagnostic).map(|c| Code::new((c / 100) as u8, 0, 0)),
    }
}

pub(crate) fn classify_code(code: Option<Code>, diagnostic: &str) -> super::Severity {
    use super::Severity::{Hard, Soft};
    let lower = diagnostic.to_ascii_lowercase();
    let by_words = || {
        if says_gone(&lower) && !mentions(&lower, POLICY) && !says_temporary(&lower) {
            Hard
        } else {
            Soft
        }
    };
    let Some(code) = code else {
        return by_words();
    };
    if code.class != 5 {
        return Soft;
    }
    match (code.subject, code.detail) {
        // 5.1.5 is "destination address valid"; 5.1.7 and 5.1.8 are about
        // *our* sender address: none says anything bad about the recipient.
        (1, 5 | 7 | 8) => Soft,
        // Bad mailbox, bad domain, bad syntax, moved, 5.1.10 (Microsoft's
        // "recipient not found", RFC 7505 null MX).
        (1, _) => Hard,
        // Mailbox disabled / not accepting messages.
        (2, 1) => Hard,
        // Microsoft answers 5.4.1 "Recipient address rejected: Access denied"
        // for unknown recipients of directory-checked domains; 5.4.4 is a
        // domain that cannot be routed at all (no MX, no A).
        (4, 1 | 4) => Hard,
        // Mailbox full, message too long, message too big for the system:
        // the address is fine.
        (2, 2 | 3) | (3, 4) => Soft,
        // Everything else (5.0.0, 5.2.0, 5.3.x, 5.4.x, 5.5.x, 5.6.x and the
        // 5.7.x policy blocks): soft, unless the text says the recipient
        // does not exist and nothing points at a block of our mail.
        _ => by_words(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_field() {
        assert_eq!(parse_status("5.1.1"), Some(Code::new(5, 1, 1)));
        assert_eq!(parse_status(" 5.1.10 "), Some(Code::new(5, 1, 10)));
        assert_eq!(
            parse_status("4.4.1 (persistent transient failure)"),
            Some(Code::new(4, 4, 1))
        );
        assert_eq!(parse_status("5.1"), None);
        assert_eq!(parse_status("6.1.1"), None);
        assert_eq!(parse_status("5.1.1.1"), None);
        assert_eq!(parse_status("5.1.1000"), None);
        assert_eq!(parse_status(""), None);
    }

    #[test]
    fn codes_in_text() {
        assert_eq!(
            find_enhanced_code("550-5.1.1 The email account"),
            Some(Code::new(5, 1, 1))
        );
        assert_eq!(
            find_enhanced_code("no mailbox here by that name. (#5.1.1)"),
            Some(Code::new(5, 1, 1))
        );
        assert_eq!(find_enhanced_code("host 192.0.2.5.1 said"), None);
        assert_eq!(find_enhanced_code("[10.5.1.1]"), None);
        assert_eq!(find_enhanced_code("Exim 4.96.2 here"), None);
        assert_eq!(
            find_enhanced_code("rejected 5.7.1."),
            Some(Code::new(5, 7, 1))
        );
        assert_eq!(find_reply_code("said: 550 Requested action"), Some(550));
        assert_eq!(find_reply_code("452-4.2.2 over quota"), Some(452));
        assert_eq!(find_reply_code("port 2525 open"), None);
        assert_eq!(find_reply_code("id 5501234"), None);
    }

    #[test]
    fn effective_code_refines_unspecific_status() {
        assert_eq!(
            effective_code("5.0.0", "550 5.1.1 <a@b>: User unknown"),
            Some(Code::new(5, 1, 1))
        );
        assert_eq!(
            effective_code("5.2.2", "550 5.1.1 whatever"),
            Some(Code::new(5, 2, 2))
        );
        assert_eq!(
            effective_code("", "550 No such user"),
            Some(Code::new(5, 0, 0))
        );
        assert_eq!(effective_code("", "nothing"), None);
    }
}
