//! The "relaxed" canonicalization algorithms of RFC 6376 §3.4.2 and §3.4.4,
//! and the split of a message into header fields and body.
//!
//! Everything works on bytes: header values may carry raw 8-bit text (RFC 6532)
//! and the signature must cover exactly what goes on the wire.

use aws_lc_rs::digest;

/// One header field as it appears in the message, folding included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderField<'a> {
    /// The field name, without the colon (may carry trailing white space in
    /// obsolete syntax; the canonicalization removes it).
    pub name: &'a [u8],
    /// Everything after the colon up to, not including, the final line break;
    /// inner folding line breaks are kept.
    pub value: &'a [u8],
}

impl HeaderField<'_> {
    /// The field name without surrounding white space, for comparisons.
    pub fn trimmed_name(&self) -> &[u8] {
        trim_wsp(self.name)
    }
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_wsp(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_wsp(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_wsp(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Splits a message at the first empty line. Both CRLF and bare LF line ends
/// are accepted, because the application may hand us either; a message with
/// no empty line is all header and has an empty body.
pub(crate) fn split_message(message: &[u8]) -> (Vec<HeaderField<'_>>, &[u8]) {
    let mut fields = Vec::new();
    // (start of the field, position of its colon)
    let mut current: Option<(usize, usize)> = None;
    let mut pos = 0;

    while pos < message.len() {
        let line_end = message[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(message.len(), |i| pos + i);
        let mut content_end = line_end;
        if content_end > pos && message[content_end - 1] == b'\r' {
            content_end -= 1;
        }
        let next = (line_end + 1).min(message.len());
        let line = &message[pos..content_end];

        if line.is_empty() {
            // The separator between header and body.
            if let Some((start, colon)) = current.take() {
                fields.push(field_from(message, start, colon, pos));
            }
            return (fields, &message[next..]);
        }

        if is_wsp(line[0]) {
            // A continuation line belongs to the field being read; one that
            // follows no field at all is garbage that no verifier would sign.
        } else {
            if let Some((start, colon)) = current.take() {
                fields.push(field_from(message, start, colon, pos));
            }
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                current = Some((pos, pos + colon));
            }
        }
        pos = next;
    }
    if let Some((start, colon)) = current.take() {
        fields.push(field_from(message, start, colon, message.len()));
    }
    (fields, &[])
}

/// Builds a field from `message[start..end]`, dropping the line break that
/// ends it.
fn field_from(message: &[u8], start: usize, colon: usize, end: usize) -> HeaderField<'_> {
    let mut value_end = end;
    if value_end > colon + 1 && message[value_end - 1] == b'\n' {
        value_end -= 1;
    }
    if value_end > colon + 1 && message[value_end - 1] == b'\r' {
        value_end -= 1;
    }
    HeaderField {
        name: &message[start..colon],
        value: &message[colon + 1..value_end],
    }
}

/// Relaxed header canonicalization (RFC 6376 §3.4.2): lower-case name,
/// unfolded value, runs of white space reduced to one space, white space
/// around the colon and at the end removed. Appends `name:value` and, when
/// `crlf` is set, a CRLF.
pub(crate) fn relaxed_header(name: &[u8], value: &[u8], crlf: bool, out: &mut Vec<u8>) {
    out.extend(trim_wsp(name).iter().map(u8::to_ascii_lowercase));
    out.push(b':');
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        match b {
            // Unfolding removes the line breaks themselves; the white space
            // that starts the next line is then reduced like any other.
            b'\r' | b'\n' => {}
            b' ' | b'\t' => pending_space = started,
            _ => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(b);
                started = true;
            }
        }
    }
    if crlf {
        out.extend_from_slice(b"\r\n");
    }
}

/// Feeds the relaxed canonical form of `body` (RFC 6376 §3.4.4) to `sink`,
/// without building it in memory.
///
/// - white space at the end of each line is removed and inner runs of white
///   space become one space;
/// - empty lines at the end of the body are removed;
/// - a non-empty result ends with CRLF; an empty body (or one made only of
///   empty lines) canonicalizes to nothing at all (RFC 6376 erratum 1384:
///   relaxed differs from simple there, which yields a single CRLF).
///
/// Bare LF is read as a line end, as the SMTP client will send CRLF anyway.
pub(crate) fn relaxed_body(body: &[u8], mut sink: impl FnMut(&[u8])) {
    // The canonical body is written to one buffer and handed over once:
    // hashing a whole buffer is much cheaper than a call per line.
    let mut out: Vec<u8> = Vec::with_capacity(body.len() + 2);
    let mut pending_empty_lines = 0usize;
    let mut rest = body;
    while !rest.is_empty() {
        let line = match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                line
            }
            None => std::mem::take(&mut rest),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);

        // A line of white space only is empty once canonicalised, and an
        // empty line only counts if something follows it.
        if line.iter().all(|&b| is_wsp(b)) {
            pending_empty_lines += 1;
            continue;
        }
        for _ in 0..pending_empty_lines {
            out.extend_from_slice(b"\r\n");
        }
        pending_empty_lines = 0;
        if is_canonical(line) {
            // Most lines (quoted-printable, HTML) have single spaces only.
            out.extend_from_slice(line);
        } else {
            let mut pending_space = false;
            for &b in line {
                if is_wsp(b) {
                    pending_space = true;
                } else {
                    if pending_space {
                        out.push(b' ');
                        pending_space = false;
                    }
                    out.push(b);
                }
            }
            // Trailing white space is dropped by never flushing `pending_space`.
        }
        out.extend_from_slice(b"\r\n");
    }
    if !out.is_empty() {
        sink(&out);
    }
}

/// True when relaxed canonicalisation leaves the (non-empty) line as it is:
/// no tab, no run of spaces, no trailing space.
fn is_canonical(line: &[u8]) -> bool {
    line.last() != Some(&b' ')
        && memchr::memchr(b'\t', line).is_none()
        && TWO_SPACES.find(line).is_none()
}

/// Built once: building a searcher costs about as much as searching a line.
static TWO_SPACES: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"  "));

/// SHA-256 of the relaxed canonical body.
pub(crate) fn relaxed_body_hash(body: &[u8]) -> digest::Digest {
    let mut ctx = digest::Context::new(&digest::SHA256);
    relaxed_body(body, |chunk| ctx.update(chunk));
    ctx.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon_body(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        relaxed_body(body, |c| out.extend_from_slice(c));
        out
    }

    fn canon_headers(message: &[u8]) -> Vec<u8> {
        let (fields, _) = split_message(message);
        let mut out = Vec::new();
        for f in fields {
            relaxed_header(f.name, f.value, true, &mut out);
        }
        out
    }

    /// RFC 6376 §3.4.5, the worked example.
    #[test]
    fn rfc6376_example() {
        let message = b"A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
        assert_eq!(canon_headers(message), b"a:X\r\nb:Y Z\r\n");
        let (_, body) = split_message(message);
        assert_eq!(canon_body(body), b" C\r\nD E\r\n");
    }

    #[test]
    fn empty_bodies() {
        assert_eq!(canon_body(b""), b"");
        assert_eq!(canon_body(b"\r\n"), b"");
        assert_eq!(canon_body(b"\r\n\r\n  \r\n\t\r\n"), b"");
        // A last line without its line break still gets one.
        assert_eq!(canon_body(b"abc"), b"abc\r\n");
        // Inner empty lines stay, trailing ones go.
        assert_eq!(canon_body(b"a\r\n\r\n\r\nb\r\n\r\n"), b"a\r\n\r\n\r\nb\r\n");
        // Bare LF reads as a line end.
        assert_eq!(canon_body(b"a \n\nb\t\n\n"), b"a\r\n\r\nb\r\n");
    }

    #[test]
    fn empty_body_hash_is_sha256_of_nothing() {
        let hash = relaxed_body_hash(b"\r\n\r\n");
        let empty = digest::digest(&digest::SHA256, b"");
        assert_eq!(hash.as_ref(), empty.as_ref());
    }

    #[test]
    fn split_keeps_folding_and_finds_body() {
        let message = b"Subject: one\r\n two\r\nTo: a@b\r\n\r\nbody\r\n";
        let (fields, body) = split_message(message);
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].name, b"Subject");
        assert_eq!(fields[0].value, b" one\r\n two");
        assert_eq!(fields[1].value, b" a@b");
        assert_eq!(body, b"body\r\n");

        let (fields, body) = split_message(b"From: x\nTo: y\n\nhello\n");
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1].value, b" y");
        assert_eq!(body, b"hello\n");

        let (fields, body) = split_message(b"From: x\r\n");
        assert_eq!(fields.len(), 1);
        assert_eq!(body, b"");
    }

    #[test]
    fn relaxed_header_trims_and_collapses() {
        let mut out = Vec::new();
        relaxed_header(b"SUBJect \t", b" \t hello \r\n\t  world\t ", true, &mut out);
        assert_eq!(out, b"subject:hello world\r\n");
        out.clear();
        relaxed_header(b"X", b"", false, &mut out);
        assert_eq!(out, b"x:");
    }
}
