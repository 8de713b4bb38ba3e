//! One SMTP connection, as the delivery engine drives it: opened once,
//! reused for message after message, with commands pipelined (RFC 2920)
//! when the server offers it. A one-recipient message, the common case,
//! then costs two round trips (MAIL, RCPT and DATA together, then the
//! content) instead of four, and two writes instead of four.
//!
//! Our own socket also lets us set `TCP_NODELAY`: without it the final "."
//! of every message waits ~40 ms for a delayed ACK.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use amicale_mailkit::smtp::{self, Extensions, Reply, ReplyReader};
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::smtp_url::{SmtpUrl, TlsMode};

/// Why a command or a message did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpError {
    /// The server refused: its reply decides whether to try again.
    Refused(Reply),
    /// Connection, TLS or protocol trouble: worth another try later.
    Broken(String),
    /// Not attempted: a chain stopped before this message's content was
    /// written, so it can be sent again at once without risk of a double.
    NotSent(String),
}

impl SmtpError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SmtpError::Refused(r) if r.is_permanent())
    }
}

impl std::fmt::Display for SmtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmtpError::Refused(r) if r.is_permanent() => write!(f, "permanent error: {r}"),
            SmtpError::Refused(r) => write!(f, "transient error: {r}"),
            SmtpError::Broken(why) | SmtpError::NotSent(why) => f.write_str(why),
        }
    }
}

fn not_sent(why: &SmtpError) -> SmtpError {
    SmtpError::NotSent(why.to_string())
}

fn broken(e: impl std::fmt::Display) -> SmtpError {
    SmtpError::Broken(e.to_string())
}

/// A plain or TLS socket.
enum Socket {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_flush(cx),
            Socket::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// How to reach and greet a server.
pub struct Endpoint {
    pub url: SmtpUrl,
    /// The name given in EHLO.
    pub hello: String,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Endpoint {
    pub fn new(url: SmtpUrl, hello: String) -> Endpoint {
        let tls = (url.tls != TlsMode::None).then(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let config = rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth();
            tokio_rustls::TlsConnector::from(Arc::new(config))
        });
        Endpoint { url, hello, tls }
    }

    async fn handshake(&self, tcp: TcpStream) -> Result<Socket, SmtpError> {
        let Some(tls) = &self.tls else {
            return Ok(Socket::Plain(tcp));
        };
        let name = rustls::pki_types::ServerName::try_from(self.url.host.clone())
            .map_err(|e| broken(format!("TLS: invalid server name: {e}")))?;
        let s = tls
            .connect(name, tcp)
            .await
            .map_err(|e| broken(format!("TLS handshake with {} failed: {e}", self.url.host)))?;
        Ok(Socket::Tls(Box::new(s)))
    }
}

/// One message of [`Connection::send_chain`].
pub struct Outgoing<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub data: &'a [u8],
}

/// Longest reply line read; a server sending more is not speaking SMTP.
const MAX_LINE: u64 = 4096;

pub struct Connection {
    io: BufStream<Socket>,
    ext: Extensions,
    broken: bool,
    buf: Vec<u8>,
}

impl Connection {
    /// Connects, greets, secures (TLS or STARTTLS) and logs in as `url` says.
    pub async fn open(at: &Endpoint) -> Result<Connection, SmtpError> {
        let url = &at.url;
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| {
                broken(format!(
                    "connection to {}:{} failed: {e}",
                    url.host, url.port
                ))
            })?;
        tcp.set_nodelay(true).map_err(broken)?;
        let socket = match url.tls {
            TlsMode::Tls => at.handshake(tcp).await?,
            TlsMode::None | TlsMode::StartTls => Socket::Plain(tcp),
        };
        let mut c = Connection {
            io: BufStream::new(socket),
            ext: Extensions::default(),
            broken: false,
            buf: Vec::with_capacity(8192),
        };
        let greeting = c.reply().await?;
        if greeting.code != 220 {
            return Err(SmtpError::Refused(greeting));
        }
        c.hello(&at.hello).await?;
        if url.tls == TlsMode::StartTls {
            if !c.ext.starttls {
                return Err(broken("the server does not offer STARTTLS (TLS)"));
            }
            c.command(b"STARTTLS\r\n", 220).await?;
            let Socket::Plain(tcp) = c.io.into_inner() else {
                return Err(broken("STARTTLS on a TLS connection"));
            };
            c.io = BufStream::new(at.handshake(tcp).await?);
            c.hello(&at.hello).await?;
        }
        if let (Some(user), Some(password)) = (&url.user, &url.password) {
            c.login(user, password).await?;
        }
        Ok(c)
    }

    async fn hello(&mut self, name: &str) -> Result<(), SmtpError> {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '<' && *c != '>')
            .collect();
        let r = self.ask(format!("EHLO {name}\r\n").as_bytes()).await?;
        self.ext = if r.code == 250 {
            Extensions::of(&r)
        } else {
            // A server from before ESMTP.
            self.command(format!("HELO {name}\r\n").as_bytes(), 250)
                .await?;
            Extensions::default()
        };
        Ok(())
    }

    async fn login(&mut self, user: &str, password: &str) -> Result<(), SmtpError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let refused = |e: SmtpError| match e {
            SmtpError::Refused(r) => broken(format!("authentication failed: {r}")),
            other => other,
        };
        if self.ext.auth_plain || !self.ext.auth_login {
            let token = b64.encode(format!("\0{user}\0{password}"));
            return self
                .command(format!("AUTH PLAIN {token}\r\n").as_bytes(), 235)
                .await
                .map(|_| ())
                .map_err(refused);
        }
        self.command(b"AUTH LOGIN\r\n", 334)
            .await
            .map_err(refused)?;
        self.command(format!("{}\r\n", b64.encode(user)).as_bytes(), 334)
            .await
            .map_err(refused)?;
        self.command(format!("{}\r\n", b64.encode(password)).as_bytes(), 235)
            .await
            .map(|_| ())
            .map_err(refused)
    }

    /// Whether message content may be 8-bit.
    pub fn eight_bit(&self) -> bool {
        self.ext.eight_bit_mime
    }

    /// The connection can no longer be used.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Sends one message; the server's final reply when it took it.
    pub async fn send(
        &mut self,
        from: &str,
        to: &[&str],
        message: &[u8],
    ) -> Result<Reply, SmtpError> {
        if to.is_empty() {
            return Err(broken("no recipient"));
        }
        let r = self.transaction(from, to, message).await;
        if let Err(SmtpError::Refused(reply)) = &r {
            if reply.closes() {
                self.broken = true;
            } else if !self.broken {
                // Leaves the refused transaction so the connection serves
                // the next message.
                if self.command(b"RSET\r\n", 250).await.is_err() {
                    self.broken = true;
                }
            }
        }
        r
    }

    async fn transaction(
        &mut self,
        from: &str,
        to: &[&str],
        message: &[u8],
    ) -> Result<Reply, SmtpError> {
        // Every address is checked before anything is written.
        let mut cmds = Vec::with_capacity(64 * (to.len() + 2));
        self.mail(&mut cmds, from, to, message)?;
        let mut rcpts = Vec::with_capacity(to.len());
        for a in to {
            let mut r = Vec::with_capacity(64);
            smtp::rcpt_to(&mut r, a).map_err(broken)?;
            rcpts.push(r);
        }
        if self.ext.pipelining {
            // With one recipient DATA joins the group: if the recipient is
            // refused, so is DATA (no valid recipient), and nothing is sent.
            let with_data = to.len() == 1;
            cmds.extend(rcpts.concat());
            if with_data {
                cmds.extend_from_slice(b"DATA\r\n");
            }
            self.write(&cmds).await?;
            if let Some(r) = self.envelope_replies(to.len(), with_data).await? {
                return Err(SmtpError::Refused(r));
            }
            if !with_data {
                self.command(b"DATA\r\n", 354).await?;
            }
        } else {
            self.command(&cmds, 250).await?;
            for r in &rcpts {
                self.ask(r).await.and_then(|reply| {
                    if reply.is_positive() {
                        Ok(())
                    } else {
                        Err(SmtpError::Refused(reply))
                    }
                })?;
            }
            self.command(b"DATA\r\n", 354).await?;
        }
        let mut body = std::mem::take(&mut self.buf);
        body.clear();
        data(&mut body, message);
        let written = self.write(&body).await;
        self.buf = body;
        written?;
        let r = self.reply().await?;
        if r.code == 250 {
            Ok(r)
        } else {
            Err(SmtpError::Refused(r))
        }
    }

    /// Reads the replies to a pipelined MAIL and `rcpts` RCPT commands,
    /// and DATA with `data`; the first refusal, if any.
    async fn envelope_replies(
        &mut self,
        rcpts: usize,
        data: bool,
    ) -> Result<Option<Reply>, SmtpError> {
        let mut first_refusal = None;
        for _ in 0..=rcpts {
            let r = self.reply().await?;
            if r.closes() {
                // Nothing more will come: this is the answer.
                return Ok(Some(r));
            }
            if !r.is_positive() && first_refusal.is_none() {
                first_refusal = Some(r);
            }
        }
        let d = self.reply_if(data).await;
        if let Some(r) = first_refusal {
            if matches!(&d, Ok(Some(d)) if d.code == 354) {
                // A server that opens DATA without a recipient has lost
                // track: ending the data here could deliver an empty
                // message, so the connection is given up.
                self.broken = true;
            }
            return Ok(Some(r));
        }
        Ok(d?.filter(|d| d.code != 354))
    }

    /// Sends one-recipient messages back to back. With PIPELINING each
    /// message's content goes out in the same write as the next message's
    /// MAIL, RCPT and DATA, so n messages cost n + 1 round trips instead of
    /// 2n; without it they are sent one by one. One result per message, in
    /// order; once the connection breaks, the rest fail with it.
    pub async fn send_chain(&mut self, msgs: &[Outgoing<'_>]) -> Vec<Result<Reply, SmtpError>> {
        let mut out = Vec::with_capacity(msgs.len());
        if !self.ext.pipelining || msgs.len() < 2 {
            for m in msgs {
                out.push(self.send(m.from, &[m.to], m.data).await);
            }
            return out;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut after_refusal = false;
        let mut failed = None;
        if let Err(e) = self.envelope(&mut buf, &msgs[0]) {
            self.broken = true;
            failed = Some(e);
        } else if let Err(e) = self.write(&buf).await {
            failed = Some(e);
        }
        for (k, m) in msgs.iter().enumerate() {
            if let Some(e) = &failed {
                out.push(Err(not_sent(e)));
                continue;
            }
            let next = msgs.get(k + 1);
            let opened = async {
                if after_refusal {
                    // The RSET that ended the refused transaction.
                    let r = self.reply().await?;
                    if r.code != 250 {
                        self.broken = true;
                        return Err(SmtpError::Refused(r));
                    }
                }
                self.envelope_replies(1, true).await
            }
            .await;
            buf.clear();
            let result = match opened {
                Err(e) => Err(e),
                Ok(Some(refusal)) => {
                    after_refusal = true;
                    if !self.broken {
                        buf.extend_from_slice(b"RSET\r\n");
                    }
                    Err(SmtpError::Refused(refusal))
                }
                Ok(None) => {
                    after_refusal = false;
                    data(&mut buf, m.data);
                    Ok(())
                }
            };
            let mut queued_next = false;
            if !self.broken
                && let Some(n) = next
            {
                match self.envelope(&mut buf, n) {
                    Ok(()) => queued_next = true,
                    // An unusable address: the chain stops before it, and
                    // the connection, whose state is now half-written, goes.
                    Err(e) => {
                        self.broken = true;
                        failed = Some(e);
                    }
                }
            }
            if !buf.is_empty()
                && !self.broken
                && let Err(e) = self.write(&buf).await
            {
                failed = Some(e);
            }
            let result = match result {
                Ok(()) if failed.is_none() => match self.reply().await {
                    Ok(r) if r.code == 250 => Ok(r),
                    Ok(r) => Err(SmtpError::Refused(r)),
                    Err(e) => Err(e),
                },
                Ok(()) => Err(failed.as_ref().map_or_else(|| broken("not sent"), not_sent)),
                Err(e) => Err(e),
            };
            if self.broken && failed.is_none() && next.is_some() {
                failed = Some(broken("the connection was lost"));
            }
            if !queued_next && failed.is_none() && next.is_some() {
                failed = Some(broken("not sent"));
            }
            out.push(result);
        }
        if failed.is_some() {
            // Replies may still be on their way: the connection cannot be
            // trusted for another message.
            self.broken = true;
        } else if after_refusal && !self.broken {
            // The last message was refused: its RSET is still unanswered.
            if self.reply().await.map(|r| r.code != 250).unwrap_or(true) {
                self.broken = true;
            }
        }
        self.buf = buf;
        out
    }

    /// Appends MAIL FROM with the parameters the message needs.
    fn mail(
        &self,
        buf: &mut Vec<u8>,
        from: &str,
        to: &[&str],
        data: &[u8],
    ) -> Result<(), SmtpError> {
        let utf8 = self.ext.smtputf8 && !(from.is_ascii() && to.iter().all(|a| a.is_ascii()));
        let eight_bit = self.ext.eight_bit_mime && !data.is_ascii();
        smtp::mail_from(buf, from, eight_bit, utf8).map_err(broken)
    }

    /// Appends MAIL, RCPT and DATA for `m`.
    fn envelope(&self, buf: &mut Vec<u8>, m: &Outgoing<'_>) -> Result<(), SmtpError> {
        self.mail(buf, m.from, &[m.to], m.data)?;
        smtp::rcpt_to(buf, m.to).map_err(broken)?;
        buf.extend_from_slice(b"DATA\r\n");
        Ok(())
    }

    /// Says goodbye.
    pub async fn quit(&mut self) {
        if !self.broken {
            let _ = self.ask(b"QUIT\r\n").await;
        }
        let _ = self.io.shutdown().await;
        self.broken = true;
    }

    /// Sends `cmd` and expects `code`.
    async fn command(&mut self, cmd: &[u8], code: u16) -> Result<Reply, SmtpError> {
        let r = self.ask(cmd).await?;
        if r.code == code {
            Ok(r)
        } else {
            Err(SmtpError::Refused(r))
        }
    }

    async fn ask(&mut self, cmd: &[u8]) -> Result<Reply, SmtpError> {
        self.write(cmd).await?;
        self.reply().await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), SmtpError> {
        let r = async {
            self.io.write_all(bytes).await?;
            self.io.flush().await
        }
        .await;
        r.map_err(|e| {
            self.broken = true;
            broken(format!("connection lost: {e}"))
        })
    }

    /// The next reply when one is expected.
    async fn reply_if(&mut self, expected: bool) -> Result<Option<Reply>, SmtpError> {
        if expected {
            self.reply().await.map(Some)
        } else {
            Ok(None)
        }
    }

    async fn reply(&mut self) -> Result<Reply, SmtpError> {
        let mut reader = ReplyReader::default();
        let mut line = Vec::with_capacity(128);
        loop {
            line.clear();
            let n = (&mut self.io)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)
                .await;
            match n {
                Ok(0) => {
                    self.broken = true;
                    return Err(broken("the server closed the connection"));
                }
                Err(e) => {
                    self.broken = true;
                    return Err(broken(format!("connection lost: {e}")));
                }
                Ok(_) => {}
            }
            match reader.line(&line) {
                Ok(Some(r)) => {
                    if r.closes() {
                        self.broken = true;
                    }
                    return Ok(r);
                }
                Ok(None) => {}
                Err(e) => {
                    self.broken = true;
                    return Err(broken(e));
                }
            }
        }
    }
}

/// Appends `message` as DATA content: every line end, whether CRLF, a bare
/// LF or a bare CR, is written CRLF; a `.` is doubled at the start of each
/// line; the closing `.` line ends it. A bare CR or LF must never reach the
/// wire: servers disagree on whether it ends a line, and that disagreement
/// is what SMTP smuggling uses to slip a second message inside the first.
/// This writer is the last step before the socket, so it holds whatever
/// the MIME layer above let through.
pub fn data(out: &mut Vec<u8>, message: &[u8]) {
    out.reserve(message.len() + message.len() / 64 + 5);
    let mut rest = message;
    while !rest.is_empty() {
        if rest[0] == b'.' {
            out.push(b'.');
        }
        match memchr::memchr2(b'\r', b'\n', rest) {
            Some(i) => {
                out.extend_from_slice(&rest[..i]);
                out.extend_from_slice(b"\r\n");
                let crlf = rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n');
                rest = &rest[i + if crlf { 2 } else { 1 }..];
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
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    fn data_of(message: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        data(&mut out, message);
        out
    }

    #[test]
    fn data_makes_every_line_end_crlf_and_stuffs_dots() {
        assert_eq!(data_of(b"a\r\nb\r\n"), b"a\r\nb\r\n.\r\n");
        assert_eq!(data_of(b"a"), b"a\r\n.\r\n");
        assert_eq!(data_of(b""), b".\r\n");
        assert_eq!(data_of(b"a\nb"), b"a\r\nb\r\n.\r\n");
        // The smuggling shape: a bare CR then a dot line.
        assert_eq!(
            data_of(b"Ann\rBob\r.\rMAIL FROM:<x@y>\n\r"),
            b"Ann\r\nBob\r\n..\r\nMAIL FROM:<x@y>\r\n\r\n.\r\n"
        );
        assert_eq!(data_of(b".a\r\n.\r\n"), b"..a\r\n..\r\n.\r\n");
        assert_eq!(data_of(b"\n\n"), b"\r\n\r\n.\r\n");
        for m in [&b"x\r\ry\n\rz"[..], b"\r\n\r\r\n", b"\rq"] {
            let out = data_of(m);
            for (i, &c) in out.iter().enumerate() {
                if c == b'\r' {
                    assert_eq!(out.get(i + 1), Some(&b'\n'), "{m:?} -> {out:?}");
                }
                if c == b'\n' {
                    assert!(i > 0 && out[i - 1] == b'\r', "{m:?} -> {out:?}");
                }
            }
        }
    }
    use tokio::net::TcpListener;

    /// A server that answers each line as it comes, refusing recipients at
    /// `refused.example`; it records what it read. Without `pipelining` it
    /// fails when a client sends a command before the last one's answer.
    async fn server(pipelining: bool) -> (SmtpUrl, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (rd, mut wr) = sock.into_split();
            let mut rd = BufReader::new(rd);
            let mut log = Vec::new();
            wr.write_all(b"220 strict\r\n").await.unwrap();
            let mut in_data = false;
            let mut last_rcpt_refused = false;
            loop {
                let mut line = String::new();
                if rd.read_line(&mut line).await.unwrap() == 0 {
                    return log;
                }
                // Pipelined commands would already be waiting here.
                let waiting = !rd.buffer().is_empty();
                log.push(line.trim_end().to_owned());
                if line.starts_with("RCPT") {
                    last_rcpt_refused = line.contains("refused.example");
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        wr.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                    }
                    continue;
                }
                assert!(
                    pipelining || !waiting,
                    "client pipelined without PIPELINING: {log:?}"
                );
                let answer: &[u8] = match line.get(..4).unwrap_or_default() {
                    "EHLO" if pipelining => b"250-strict\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
                    "EHLO" => b"250-strict\r\n250 8BITMIME\r\n",
                    "DATA" if last_rcpt_refused => b"554 5.5.1 no valid recipients\r\n",
                    "RCPT" if line.contains("refused.example") => b"550 5.1.1 no such user\r\n",
                    "DATA" => {
                        in_data = true;
                        b"354 go ahead\r\n"
                    }
                    "QUIT" => {
                        wr.write_all(b"221 bye\r\n").await.unwrap();
                        return log;
                    }
                    _ => b"250 OK\r\n",
                };
                wr.write_all(answer).await.unwrap();
            }
        });
        let url = format!("smtp://127.0.0.1:{port}").parse().unwrap();
        (url, task)
    }

    /// Sends one more message to `to` (the connection must still be in
    /// step), says goodbye and returns what the server read.
    async fn last_message(
        mut c: Connection,
        server: tokio::task::JoinHandle<Vec<String>>,
        to: &str,
    ) -> Vec<String> {
        c.send("a@b.fr", &[to], b"Subject: last\r\n\r\nlast\r\n")
            .await
            .unwrap();
        c.quit().await;
        server.await.unwrap()
    }

    /// The commands a server read, and the end of each message's data.
    fn commands(log: &[String]) -> Vec<&str> {
        log.iter()
            .map(String::as_str)
            .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()) || *l == ".")
            .filter(|l| !l.starts_with("Subject"))
            .collect()
    }

    #[tokio::test]
    async fn without_pipelining_commands_wait_for_their_answers() {
        let (url, server) = server(false).await;
        let mut c = Connection::open(&Endpoint::new(url, "client.test".into()))
            .await
            .unwrap();
        assert!(c.eight_bit());
        let r = c
            .send(
                "a@b.fr",
                &["c@d.fr", "e@f.fr"],
                b"Subject: x\r\n\r\n.dot\r\n",
            )
            .await
            .unwrap();
        assert_eq!(r.code, 250);
        // A refused recipient refuses the message and leaves the
        // connection ready for the next one.
        let e = c
            .send(
                "a@b.fr",
                &["ok@d.fr", "x@refused.example"],
                b"Subject: y\r\n\r\nz\r\n",
            )
            .await
            .unwrap_err();
        assert!(e.is_permanent() && e.to_string().contains("5.1.1"), "{e}");
        assert!(!c.is_broken());
        let log = last_message(c, server, "c@d.fr").await;
        assert_eq!(
            commands(&log),
            [
                "EHLO client.test",
                "MAIL FROM:<a@b.fr>",
                "RCPT TO:<c@d.fr>",
                "RCPT TO:<e@f.fr>",
                "DATA",
                ".",
                "MAIL FROM:<a@b.fr>",
                "RCPT TO:<ok@d.fr>",
                "RCPT TO:<x@refused.example>",
                "RSET",
                "MAIL FROM:<a@b.fr>",
                "RCPT TO:<c@d.fr>",
                "DATA",
                ".",
                "QUIT"
            ]
        );
        assert!(log.contains(&"..dot".to_owned()), "{log:?}");
    }

    #[tokio::test]
    async fn a_chain_sends_each_message_with_the_next_envelope() {
        let (url, server) = server(true).await;
        let mut c = Connection::open(&Endpoint::new(url, "client.test".into()))
            .await
            .unwrap();
        let m = |to: &'static str, data: &'static [u8]| Outgoing {
            from: "a@b.fr",
            to,
            data,
        };
        let results = c
            .send_chain(&[
                m("one@d.fr", b"Subject: 1\r\n\r\n1\r\n"),
                m("x@refused.example", b"Subject: 2\r\n\r\n2\r\n"),
                m("three@d.fr", b"Subject: 3\r\n\r\n3\r\n"),
                m("y@refused.example", b"Subject: 4\r\n\r\n4\r\n"),
            ])
            .await;
        assert_eq!(results.len(), 4);
        assert_eq!(results[0].as_ref().unwrap().code, 250);
        let refused = results[1].as_ref().unwrap_err();
        assert!(refused.is_permanent() && refused.to_string().contains("5.1.1"));
        assert_eq!(results[2].as_ref().unwrap().code, 250);
        assert!(results[3].as_ref().unwrap_err().is_permanent());
        // The connection is in step: another message goes through.
        assert!(!c.is_broken());
        let log = last_message(c, server, "five@d.fr").await;
        assert_eq!(
            commands(&log),
            [
                "EHLO client.test",
                "MAIL FROM:<a@b.fr>",
                "RCPT TO:<one@d.fr>",
                "DATA",
                ".",
                "MAIL FROM:<a@b.fr>",
                "RCPT TO:<x@refused.example>",
                "DATA",
                "RSET",
                "MAIL FROM:<a@b.fr>",
                "RCPT TO:<three@d.fr>",
                "DATA",
                ".",
                "MAIL FROM:<a@b.fr>",
                "RCPT TO:<y@refused.example>",
                "DATA",
                "RSET",
                "MAIL FROM:<a@b.fr>",
                "RCPT TO:<five@d.fr>",
                "DATA",
                ".",
                "QUIT"
            ]
        );
    }
}
