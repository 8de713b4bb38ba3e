//! Text parts as the wire carries them. A server that announces 8BITMIME
//! (RFC 6152; every current MTA does) takes UTF-8 text as it is, which
//! spares quoted-printable encoding: a tenth of the delivery CPU time and a
//! larger message for every accented letter. 8bit only requires CRLF line
//! ends and lines of at most 998 bytes, so long HTML lines are folded after
//! block-level closing tags, where a line break changes nothing on screen.
//! Whatever cannot be made so goes quoted-printable as before.

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, SinglePart};

/// RFC 5322 §2.1.1, without the CRLF.
const MAX_LINE: usize = 998;

/// Tags after which a line break is invisible (HTML collapses whitespace
/// between blocks and table cells).
const BREAKABLE: &[&str] = &[
    "/p",
    "/div",
    "/h1",
    "/h2",
    "/h3",
    "/h4",
    "/h5",
    "/h6",
    "/li",
    "/ul",
    "/ol",
    "/tr",
    "/td",
    "/th",
    "/tbody",
    "/thead",
    "/table",
    "/blockquote",
    "/section",
    "/header",
    "/footer",
    "br",
    "br/",
    "br /",
];

pub fn plain(text: String, eight_bit: bool) -> SinglePart {
    part(ContentType::TEXT_PLAIN, text, eight_bit, false)
}

pub fn html(html: String, eight_bit: bool) -> SinglePart {
    part(ContentType::TEXT_HTML, html, eight_bit, true)
}

fn part(ct: ContentType, text: String, eight_bit: bool, is_html: bool) -> SinglePart {
    let wire = if eight_bit {
        wire_lines(&text, is_html)
    } else {
        None
    };
    let body = match wire {
        Some(w) => {
            let enc = if w.is_ascii() {
                ContentTransferEncoding::SevenBit
            } else {
                ContentTransferEncoding::EightBit
            };
            Body::dangerous_pre_encoded(w.into_bytes(), enc)
        }
        // A bare CR would go out as is in a 7bit part (lettre only turns
        // bare LFs into CRLF): quoted-printable writes it `=0D`, so no
        // line end the receiving server could read differently from ours
        // reaches DATA (the precondition of SMTP smuggling).
        None if has_bare_line_end(&text) => {
            Body::new_with_encoding(text, ContentTransferEncoding::QuotedPrintable)
                .unwrap_or_else(Body::new)
        }
        // lettre picks 7bit, quoted-printable or base64.
        None => Body::new(text),
    };
    SinglePart::builder().header(ct).body(body)
}

/// Whether `text` holds a CR not followed by LF, or an LF not preceded by
/// CR.
fn has_bare_line_end(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr2_iter(b'\r', b'\n', b).any(|i| match b[i] {
        b'\r' => b.get(i + 1) != Some(&b'\n'),
        _ => i == 0 || b[i - 1] != b'\r',
    })
}

/// `text` with CRLF line ends and no line longer than SMTP allows, HTML
/// folded where it may be; `None` when that cannot be done (a bare CR, a
/// long line without a place to fold it).
pub fn wire_lines(text: &str, is_html: bool) -> Option<String> {
    let bytes = text.as_bytes();
    // A CR is only allowed as the first half of a line end.
    if memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n')) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + text.len() / 64 + 2);
    let mut start = 0;
    loop {
        let end = memchr::memchr(b'\n', &bytes[start..]).map(|i| start + i);
        let line = &text[start..end.unwrap_or(text.len())];
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() <= MAX_LINE {
            out.push_str(line);
        } else if !is_html || !fold(line, &mut out) {
            return None;
        }
        match end {
            Some(e) => {
                out.push_str("\r\n");
                start = e + 1;
            }
            None => return Some(out),
        }
    }
}

/// Appends `line` to `out` broken after block ends into pieces of at most
/// [`MAX_LINE`] bytes; false when a piece would still be too long.
fn fold(line: &str, out: &mut String) -> bool {
    let mut breaks = break_points(line).peekable();
    let mut start = 0;
    while line.len() - start > MAX_LINE {
        let limit = start + MAX_LINE;
        // The last break point within reach of `start`.
        let mut cut = None;
        while let Some(&b) = breaks.peek().filter(|&&b| b <= limit) {
            breaks.next();
            if b > start {
                cut = Some(b);
            }
        }
        let Some(cut) = cut else {
            return false;
        };
        out.push_str(&line[start..cut]);
        out.push_str("\r\n");
        start = cut;
    }
    out.push_str(&line[start..]);
    true
}

/// Byte offsets just after each breakable tag's `>`, in order.
fn break_points(line: &str) -> impl Iterator<Item = usize> + '_ {
    let b = line.as_bytes();
    memchr::memchr_iter(b'<', b).filter_map(move |o| {
        // Every breakable tag starts with `/` or `b`: most tags are
        // rejected on their first letter.
        if !matches!(b.get(o + 1), Some(b'/' | b'b' | b'B')) {
            return None;
        }
        // The longest breakable name is 11 bytes; a few spaces may follow.
        let window = &b[o + 1..b.len().min(o + 20)];
        let close = memchr::memchr(b'>', window)?;
        let name = line[o + 1..o + 1 + close].trim_end();
        BREAKABLE
            .iter()
            .any(|t| t.eq_ignore_ascii_case(name))
            .then_some(o + 2 + close)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_become_crlf() {
        assert_eq!(
            wire_lines("a\nb\r\nc", false).as_deref(),
            Some("a\r\nb\r\nc")
        );
        assert_eq!(wire_lines("a\n", false).as_deref(), Some("a\r\n"));
        assert_eq!(wire_lines("", false).as_deref(), Some(""));
        assert_eq!(wire_lines("a\rb", false), None);
    }

    #[test]
    fn long_html_lines_fold_after_blocks_only() {
        let para = format!("<p>{}é</p>", "x".repeat(300));
        let html = para.repeat(10);
        let wire = wire_lines(&html, true).expect("foldable");
        assert!(wire.split("\r\n").all(|l| l.len() <= MAX_LINE));
        assert_eq!(wire.replace("\r\n", ""), html);
        assert!(wire.split("\r\n").all(|l| l.ends_with("</p>")));
    }

    #[test]
    fn folds_at_the_last_block_end_within_reach() {
        // Upper case, self-closing and spaced forms count; inline tags and
        // tags with attributes do not.
        let piece = |tag: &str| format!("{}{tag}", "w".repeat(400));
        let html = [
            piece("</P>"),
            piece("<b>"),
            piece("<br />"),
            piece("<span class=\"a\">"),
            piece("</td >"),
            piece("</i>"),
        ]
        .concat();
        let wire = wire_lines(&html, true).expect("foldable");
        let lines: Vec<&str> = wire.split("\r\n").collect();
        assert_eq!(wire.replace("\r\n", ""), html);
        assert!(lines.iter().all(|l| l.len() <= MAX_LINE), "{lines:?}");
        let ends: Vec<&str> = lines.iter().map(|l| &l[l.rfind('<').unwrap()..]).collect();
        assert_eq!(ends, ["</P>", "<br />", "</td >", "</i>"]);
    }

    #[test]
    fn unfoldable_lines_are_refused() {
        let inline = format!("<b>{}</b>", "y".repeat(2000));
        assert_eq!(wire_lines(&inline, true), None);
        assert_eq!(wire_lines(&"z".repeat(1200), false), None);
    }

    #[test]
    fn a_bare_cr_never_reaches_the_wire() {
        for eight_bit in [false, true] {
            for text in ["Ann\rBob", "a\r\nb\rc\n", "\r", "x\r\n.\r\n"] {
                for p in [plain(text.into(), eight_bit), html(text.into(), eight_bit)] {
                    let f = p.formatted();
                    let bare = f.iter().enumerate().any(|(i, &c)| {
                        (c == b'\r' && f.get(i + 1) != Some(&b'\n'))
                            || (c == b'\n' && (i == 0 || f[i - 1] != b'\r'))
                    });
                    assert!(
                        !bare,
                        "{eight_bit} {text:?}: {:?}",
                        String::from_utf8_lossy(&f)
                    );
                }
            }
        }
        assert!(has_bare_line_end("a\rb"));
        assert!(has_bare_line_end("a\nb"));
        assert!(has_bare_line_end("\n"));
        assert!(!has_bare_line_end("a\r\nb\r\n"));
    }

    #[test]
    fn eight_bit_parts_keep_the_text_as_is() {
        let p = html("<p>Hélène</p>".into(), true);
        let f = String::from_utf8(p.formatted()).expect("utf-8");
        assert!(f.contains("Content-Transfer-Encoding: 8bit"), "{f}");
        assert!(f.contains("<p>Hélène</p>"), "{f}");
        let p = html("<p>Hélène</p>".into(), false);
        let f = String::from_utf8(p.formatted()).expect("utf-8");
        assert!(f.contains("quoted-printable"), "{f}");
    }
}
