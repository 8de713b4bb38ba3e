//! Header-like fields: the groups of a `message/delivery-status` body
//! (RFC 3464 §2.1) and the header block of a returned message.

/// One unfolded field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    /// Lower-cased name.
    pub name: String,
    /// Value with folding removed: each line trimmed, joined by one space.
    pub value: String,
}

/// What a line of header-like text is.
enum Line<'a> {
    Blank,
    Continuation(&'a str),
    Field(&'a str, &'a str),
    Other,
}

fn classify_line(line: &str) -> Line<'_> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return Line::Blank;
    }
    if line.starts_with([' ', '\t']) {
        return Line::Continuation(line.trim());
    }
    match line.split_once(':') {
        Some((name, value)) => {
            let name = name.trim_end();
            // Field names are printable ASCII without spaces (RFC 5322 §2.2).
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()) {
                Line::Field(name, value.trim())
            } else {
                Line::Other
            }
        }
        None => Line::Other,
    }
}

fn push_continuation(fields: &mut [Field], text: &str) {
    if let Some(last) = fields.last_mut() {
        if !text.is_empty() {
            if !last.value.is_empty() {
                last.value.push(' ');
            }
            last.value.push_str(text);
        }
    }
}

/// Splits text into groups of fields separated by blank lines. Lines that are
/// neither fields nor continuations are skipped: some gateways add prose to
/// the delivery-status part.
pub(crate) fn field_groups(text: &str) -> Vec<Vec<Field>> {
    let mut groups = Vec::new();
    let mut current: Vec<Field> = Vec::new();
    for line in text.split('\n') {
        match classify_line(line) {
            Line::Blank => {
                if !current.is_empty() {
                    groups.push(std::mem::take(&mut current));
                }
            }
            Line::Continuation(more) => push_continuation(&mut current, more),
            Line::Field(name, value) => current.push(Field {
                name: name.to_ascii_lowercase(),
                value: value.to_string(),
            }),
            Line::Other => {}
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// Reads a header block: leading blank lines are skipped, the block ends at
/// the next blank line. Used for returned messages and headers.
pub(crate) fn header_block(text: &str) -> Vec<Field> {
    let mut fields: Vec<Field> = Vec::new();
    for line in text.split('\n') {
        match classify_line(line) {
            Line::Blank => {
                if !fields.is_empty() {
                    break;
                }
            }
            Line::Continuation(more) => push_continuation(&mut fields, more),
            Line::Field(name, value) => fields.push(Field {
                name: name.to_ascii_lowercase(),
                value: value.to_string(),
            }),
            // Inline copies are sometimes indented or cut: a stray line does
            // not end the block.
            Line::Other => {}
        }
    }
    fields
}

/// First value of the field `name` (lower case).
pub(crate) fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
}

/// Strips a leading `type;` (`rfc822;`, `dns;`, `smtp;`, `X-Postfix;`) when
/// the part before the semicolon is a single token.
pub(crate) fn strip_type(value: &str) -> &str {
    match value.split_once(';') {
        Some((ty, rest))
            if !ty.trim().is_empty()
                && ty.trim().len() <= 32
                && ty
                    .trim()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') =>
        {
            rest.trim()
        }
        _ => value.trim(),
    }
}

/// An address from a `Final-Recipient`/`Original-Recipient` value, in
/// `rfc822;<user@x>`, `rfc822; user@x` or bare form. A trailing comment is
/// dropped. Returns `None` when nothing is left.
pub(crate) fn recipient_address(value: &str) -> Option<String> {
    let mut v = strip_type(value);
    if let (Some(open), Some(close)) = (v.find('<'), v.rfind('>')) {
        if open < close {
            v = &v[open + 1..close];
        }
    } else if v.ends_with(')') {
        if let Some(open) = v.find('(') {
            v = &v[..open];
        }
    }
    let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
    if v.is_empty() || v.contains(char::is_whitespace) && !v.contains('"') {
        // "rfc822; John Doe" or similar junk is not an address.
        return None;
    }
    Some(v.to_string())
}

/// The `<id>` of a Message-ID value, angle brackets included (how the outbox
/// stores it). A bare id gets its brackets back.
pub(crate) fn message_id(value: &str) -> Option<String> {
    let v = value.trim();
    if let Some(open) = v.find('<') {
        let close = v[open..].find('>')? + open;
        let inner = v[open + 1..close].trim();
        if inner.is_empty() {
            return None;
        }
        return Some(format!("<{inner}>"));
    }
    let token = v.split_whitespace().next()?;
    Some(format!("<{token}>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_folding() {
        let text = "\r\nReporting-MTA: dns;\r\n  mx.example.org\r\n\r\n\
                    Final-Recipient: rfc822; a@b\r\nStatus: 5.1.1\r\n\
                    Diagnostic-Code: smtp; 550 5.1.1\r\n\tUser unknown\r\n\r\n\r\n";
        let groups = field_groups(text);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            get(&groups[0], "reporting-mta"),
            Some("dns; mx.example.org")
        );
        assert_eq!(
            get(&groups[1], "diagnostic-code"),
            Some("smtp; 550 5.1.1 User unknown")
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(
            recipient_address("rfc822;<user@x.org>").as_deref(),
            Some("user@x.org")
        );
        assert_eq!(
            recipient_address("rfc822; user@x.org").as_deref(),
            Some("user@x.org")
        );
        assert_eq!(
            recipient_address("user@x.org").as_deref(),
            Some("user@x.org")
        );
        assert_eq!(
            recipient_address("<user@x.org>").as_deref(),
            Some("user@x.org")
        );
        assert_eq!(
            recipient_address("RFC822; user@x.org (Jane)").as_deref(),
            Some("user@x.org")
        );
        assert_eq!(recipient_address("rfc822;"), None);
        assert_eq!(recipient_address("rfc822; John Doe"), None);
    }

    #[test]
    fn message_ids() {
        assert_eq!(message_id(" <a.b@c> ").as_deref(), Some("<a.b@c>"));
        assert_eq!(message_id("a.b@c").as_deref(), Some("<a.b@c>"));
        assert_eq!(message_id("<>"), None);
        assert_eq!(message_id(""), None);
        assert_eq!(message_id("<unterminated"), None);
    }

    #[test]
    fn diagnostic_type() {
        assert_eq!(
            strip_type("smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found"),
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found"
        );
        assert_eq!(strip_type("550 5.1.1 foo; bar"), "550 5.1.1 foo; bar");
    }
}
