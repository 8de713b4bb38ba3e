//! An SMTP server that accepts everything and keeps what it received.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    /// The DATA content exactly as it came off the socket: dot-stuffed,
    /// closing `.` line included, line ends untouched. What a real MTA
    /// would parse, so bare CR/LF can be looked for.
    pub raw: Vec<u8>,
}

impl Received {
    /// Offsets of CR not followed by LF and LF not preceded by CR in
    /// [`Self::raw`].
    pub fn bare_line_ends(&self) -> Vec<usize> {
        let b = &self.raw;
        (0..b.len())
            .filter(|&i| match b[i] {
                b'\r' => b.get(i + 1) != Some(&b'\n'),
                b'\n' => i == 0 || b[i - 1] != b'\r',
                _ => false,
            })
            .collect()
    }
}

impl Received {
    /// The decoded text part.
    pub fn text(&self) -> String {
        let msg = mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("parsable message");
        msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
    }

    pub fn subject(&self) -> String {
        let msg = mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("parsable message");
        msg.subject().unwrap_or_default().to_owned()
    }
}

/// How the sink answers RCPT TO for addresses containing a given text, e.g.
/// `("gone@", "550 5.1.1 user unknown")`. A 421 answer also closes the connection.
pub type Rules = Arc<Vec<(String, String)>>;

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    notify: Arc<Notify>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    /// Listens on a given port (to bring a "down" server back up).
    pub async fn start_on(port: u16) -> SmtpSink {
        Self::start_with(port, Vec::new()).await
    }

    /// A sink that refuses some recipients with the given answers.
    pub async fn start_with(port: u16, rules: Vec<(&str, &str)>) -> SmtpSink {
        let rules: Rules = Arc::new(
            rules
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
        );
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind SMTP sink");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let notify = Arc::new(Notify::new());
        let (r, n) = (received.clone(), notify.clone());
        // The accept loop lives as long as the test's runtime.
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (r, n, rules) = (r.clone(), n.clone(), rules.clone());
                tokio::spawn(async move {
                    let _ = session(sock, r, n, rules).await;
                });
            }
        });
        SmtpSink {
            port,
            received,
            notify,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits until at least `n` messages arrived; panics after `secs`.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let notified = self.notify.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "SMTP sink: expected {n} messages, got {}",
                    self.received().len()
                );
            }
        }
    }
}

async fn session(
    sock: tokio::net::TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    notify: Arc<Notify>,
    rules: Rules,
) -> std::io::Result<()> {
    let (rd, mut wr) = sock.into_split();
    let mut rd = BufReader::new(rd);
    wr.write_all(b"220 sink ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if rd.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            wr.write_all(b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n")
                .await?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            wr.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            wr.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = cmd[10..].trim().to_owned();
            wr.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            let address = cmd[8..].trim().trim_matches(['<', '>']).to_owned();
            if let Some((_, answer)) = rules
                .iter()
                .find(|(needle, _)| address.contains(needle.as_str()))
            {
                wr.write_all(format!("{answer}\r\n").as_bytes()).await?;
                if answer.starts_with("421") {
                    return Ok(());
                }
                continue;
            }
            to.push(address);
            wr.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            wr.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            let mut raw = Vec::new();
            let mut bytes = Vec::new();
            loop {
                bytes.clear();
                if rd.read_until(b'\n', &mut bytes).await? == 0 {
                    return Ok(());
                }
                raw.extend_from_slice(&bytes);
                if bytes == b".\r\n" || bytes == b".\n" {
                    break;
                }
                let l = bytes.strip_prefix(b".").unwrap_or(&bytes);
                data.push_str(&String::from_utf8_lossy(l));
            }
            received.lock().expect("lock").push(Received {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
                raw,
            });
            wr.write_all(b"250 2.0.0 queued\r\n").await?;
            notify.notify_waiters();
        } else if upper.starts_with("QUIT") {
            wr.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            wr.write_all(b"502 command not implemented\r\n").await?;
        }
    }
}
