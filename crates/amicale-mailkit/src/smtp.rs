//! The SMTP client's side of the protocol (RFC 5321), without the socket:
//! reading replies, reading the EHLO extensions, writing commands and
//! dot-stuffing message data. The delivery engine drives a socket with
//! these, pipelining commands (RFC 2920) where the server allows it.

use std::fmt;

/// A server reply: its code and its text, one entry per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code (250, 354, 450, 550…).
    pub code: u16,
    /// The text of each line, without the code and separator.
    pub lines: Vec<String>,
}

impl Reply {
    /// 2xx and 3xx: the command was accepted.
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// 5xx: repeating the command will not help.
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// 421: the server is closing the connection.
    pub fn closes(&self) -> bool {
        self.code == 421
    }

    /// The enhanced status code (RFC 3463) the reply's text starts with,
    /// as class, subject and detail: `5.1.1` is (5, 1, 1).
    pub fn status(&self) -> Option<(u8, u16, u16)> {
        let first = self.lines.first()?.split_whitespace().next()?;
        let mut parts = first.split('.');
        let class: u8 = parts.next()?.parse().ok()?;
        let subject: u16 = parts.next()?.parse().ok()?;
        let detail: u16 = parts.next()?.parse().ok()?;
        (parts.next().is_none() && matches!(class, 2 | 4 | 5)).then_some((class, subject, detail))
    }

    /// A permanent refusal of the address itself (enhanced status 5.1.x:
    /// unknown mailbox, bad address syntax…): mailing it again will bounce
    /// again, unlike a full mailbox (5.2.x) or a policy refusal (5.7.x).
    pub fn address_unknown(&self) -> bool {
        self.is_permanent() && matches!(self.status(), Some((5, 1, _)))
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        for l in &self.lines {
            write!(f, " {l}")?;
        }
        Ok(())
    }
}

/// A line that is not part of an SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unreadable answer from the server: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// Gathers the lines of one reply (`250-first`, `250-second`, `250 last`).
#[derive(Debug, Default)]
pub struct ReplyReader {
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyReader {
    /// Reads one line (with or without its CRLF); gives the reply once its
    /// last line has been read.
    pub fn line(&mut self, raw: &[u8]) -> Result<Option<Reply>, ProtocolError> {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_end_matches(['\r', '\n']);
        let bad = || ProtocolError(text.chars().take(80).collect());
        let b = text.as_bytes();
        if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let code: u16 = text[..3].parse().map_err(|_| bad())?;
        if !(200..600).contains(&code) || self.code.is_some_and(|c| c != code) {
            return Err(bad());
        }
        let last = match b.get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => return Err(bad()),
        };
        self.code = Some(code);
        self.lines
            .push(text.get(4..).unwrap_or_default().trim_end().to_owned());
        if !last {
            return Ok(None);
        }
        self.code = None;
        Ok(Some(Reply {
            code,
            lines: std::mem::take(&mut self.lines),
        }))
    }
}

/// What a server said it supports in its EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// RFC 2920: commands may be sent without waiting for each reply.
    pub pipelining: bool,
    /// RFC 6152: 8-bit message bodies.
    pub eight_bit_mime: bool,
    /// RFC 6531: UTF-8 addresses and headers.
    pub smtputf8: bool,
    /// RFC 3207.
    pub starttls: bool,
    /// AUTH PLAIN offered.
    pub auth_plain: bool,
    /// AUTH LOGIN offered.
    pub auth_login: bool,
}

impl Extensions {
    /// Reads the EHLO reply (its first line is the server's greeting).
    pub fn of(ehlo: &Reply) -> Extensions {
        let mut e = Extensions::default();
        for line in ehlo.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => e.pipelining = true,
                "8BITMIME" => e.eight_bit_mime = true,
                "SMTPUTF8" => e.smtputf8 = true,
                "STARTTLS" => e.starttls = true,
                "AUTH" => {
                    for m in words {
                        match m.to_ascii_uppercase().as_str() {
                            "PLAIN" => e.auth_plain = true,
                            "LOGIN" => e.auth_login = true,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        e
    }
}

/// An envelope address that would break the command line it goes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadAddress(pub String);

impl fmt::Display for BadAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "address unusable in SMTP: {:?}", self.0)
    }
}

impl std::error::Error for BadAddress {}

fn checked(address: &str) -> Result<&str, BadAddress> {
    if address
        .chars()
        .any(|c| c.is_control() || c == '<' || c == '>' || c == ' ')
    {
        return Err(BadAddress(address.to_owned()));
    }
    Ok(address)
}

/// `MAIL FROM:<from>` with the parameters the message needs.
pub fn mail_from(
    out: &mut Vec<u8>,
    from: &str,
    eight_bit: bool,
    utf8: bool,
) -> Result<(), BadAddress> {
    out.extend_from_slice(b"MAIL FROM:<");
    out.extend_from_slice(checked(from)?.as_bytes());
    out.push(b'>');
    if eight_bit {
        out.extend_from_slice(b" BODY=8BITMIME");
    }
    if utf8 {
        out.extend_from_slice(b" SMTPUTF8");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// `RCPT TO:<to>`.
pub fn rcpt_to(out: &mut Vec<u8>, to: &str) -> Result<(), BadAddress> {
    out.extend_from_slice(b"RCPT TO:<");
    out.extend_from_slice(checked(to)?.as_bytes());
    out.extend_from_slice(b">\r\n");
    Ok(())
}

/// Appends `message` as DATA content: a `.` doubled at the start of each
/// line, bare line feeds made CRLF, and the closing `.` line.
pub fn data(out: &mut Vec<u8>, message: &[u8]) {
    out.reserve(message.len() + message.len() / 64 + 5);
    let mut rest = message;
    while !rest.is_empty() {
        if rest[0] == b'.' {
            out.push(b'.');
        }
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let line = &rest[..i];
                out.extend_from_slice(line);
                if !line.ends_with(b"\r") {
                    out.push(b'\r');
                }
                out.push(b'\n');
                rest = &rest[i + 1..];
            }
            None => {
                out.extend_from_slice(rest);
                out.extend_from_slice(b"\r\n");
                rest = &[];
            }
        }
    }
    out.extend_from_slice(b".\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, line: &str) -> Reply {
        Reply {
            code,
            lines: vec![line.to_owned()],
        }
    }

    #[test]
    fn enhanced_status_codes_tell_an_unknown_address_from_other_refusals() {
        let unknown = reply(550, "5.1.1 <x@y>: Recipient address rejected: User unknown");
        assert_eq!(unknown.status(), Some((5, 1, 1)));
        assert!(unknown.address_unknown());
        assert!(reply(550, "5.1.10 RESOLVER.ADR.RecipientNotFound").address_unknown());
        assert!(!reply(554, "5.7.1 rejected by policy").address_unknown());
        assert!(!reply(552, "5.2.2 mailbox full").address_unknown());
        assert!(!reply(550, "relay denied 15.1.1").address_unknown());
        assert_eq!(reply(550, "relay denied").status(), None);
        // A temporary answer is never a verdict on the address.
        assert!(!reply(450, "4.1.1 try later").address_unknown());
    }

    fn read(lines: &[&str]) -> Result<Vec<Reply>, ProtocolError> {
        let mut r = ReplyReader::default();
        let mut out = Vec::new();
        for l in lines {
            if let Some(reply) = r.line(l.as_bytes())? {
                out.push(reply);
            }
        }
        Ok(out)
    }

    #[test]
    fn replies_of_one_and_several_lines() {
        let got = read(&[
            "250-mx.example.org Hello\r\n",
            "250-PIPELINING\r\n",
            "250 8BITMIME\r\n",
            "354 go ahead\r\n",
            "550 5.1.1 <x@y>: unknown\r\n",
            "250\r\n",
        ])
        .unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].code, 250);
        assert_eq!(
            got[0].lines,
            ["mx.example.org Hello", "PIPELINING", "8BITMIME"]
        );
        assert!(got[1].is_positive() && !got[1].is_permanent());
        assert_eq!(got[2].to_string(), "550 5.1.1 <x@y>: unknown");
        assert!(got[2].is_permanent() && !got[2].is_positive());
        assert_eq!(got[3].lines, [""]);
    }

    #[test]
    fn lines_that_are_not_replies_are_refused() {
        for bad in [
            "hello\r\n",
            "25\r\n",
            "2500 x\r\n",
            "999 x\r\n",
            "250_x\r\n",
        ] {
            assert!(read(&[bad]).is_err(), "{bad}");
        }
        // A multi-line reply keeps one code.
        assert!(read(&["250-a\r\n", "251 b\r\n"]).is_err());
    }

    #[test]
    fn a_closing_server_is_recognised() {
        let r = read(&["421 4.3.2 shutting down\r\n"]).unwrap();
        assert!(r[0].closes() && !r[0].is_permanent() && !r[0].is_positive());
    }

    #[test]
    fn extensions_of_an_ehlo_reply() {
        let r = &read(&[
            "250-mx Hello\r\n",
            "250-pipelining\r\n",
            "250-SIZE 1000\r\n",
            "250-AUTH LOGIN plain CRAM-MD5\r\n",
            "250-STARTTLS\r\n",
            "250 SMTPUTF8\r\n",
        ])
        .unwrap()[0];
        let e = Extensions::of(r);
        assert!(e.pipelining && e.auth_plain && e.auth_login && e.starttls && e.smtputf8);
        assert!(!e.eight_bit_mime);
        // The greeting line is not an extension.
        let r = &read(&["250 PIPELINING\r\n"]).unwrap()[0];
        assert!(!Extensions::of(r).pipelining);
    }

    #[test]
    fn commands_refuse_addresses_that_would_inject() {
        let mut out = Vec::new();
        mail_from(&mut out, "a@b.fr", true, false).unwrap();
        rcpt_to(&mut out, "c@d.fr").unwrap();
        assert_eq!(
            out,
            b"MAIL FROM:<a@b.fr> BODY=8BITMIME\r\nRCPT TO:<c@d.fr>\r\n"
        );
        for bad in ["a@b.fr>\r\nRCPT TO:<x@y", "a b@c", "a@b\n", "<a@b>"] {
            assert!(rcpt_to(&mut Vec::new(), bad).is_err(), "{bad}");
            assert!(mail_from(&mut Vec::new(), bad, false, false).is_err());
        }
        let mut out = Vec::new();
        mail_from(&mut out, "", false, true).unwrap();
        assert_eq!(out, b"MAIL FROM:<> SMTPUTF8\r\n");
    }

    fn stuffed(m: &str) -> String {
        let mut out = Vec::new();
        data(&mut out, m.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn data_doubles_leading_dots_and_ends_with_a_dot_line() {
        assert_eq!(stuffed("a\r\nb\r\n"), "a\r\nb\r\n.\r\n");
        assert_eq!(stuffed(".a\r\n.\r\nb.c\r\n"), "..a\r\n..\r\nb.c\r\n.\r\n");
        assert_eq!(stuffed("no end"), "no end\r\n.\r\n");
        assert_eq!(stuffed("bare\nfeeds\n.x"), "bare\r\nfeeds\r\n..x\r\n.\r\n");
        assert_eq!(stuffed(""), ".\r\n");
        assert_eq!(stuffed("\r\n.\r\n"), "\r\n..\r\n.\r\n");
    }

    #[test]
    fn a_dot_line_inside_the_message_never_ends_the_data() {
        // Whatever the message holds, the only line that is a lone "." is
        // the last one.
        let samples = [".", "..", "\n.\n", "\r\n.\r\n.", "a\n.\r\n.\n", ".\r.\n."];
        for m in samples {
            let s = stuffed(m);
            let lines: Vec<&str> = s.split("\r\n").collect();
            let dots = lines.iter().filter(|l| **l == ".").count();
            assert_eq!(dots, 1, "{m:?} → {s:?}");
            assert!(s.ends_with("\r\n.\r\n") || s == ".\r\n", "{s:?}");
            assert!(!s.replace("\r\n", "").contains('\n'), "{s:?}");
        }
    }
}
