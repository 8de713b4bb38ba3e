//! Deterministic pseudo-fuzzing of `dsn::parse`: 5,000 inputs made by
//! mutating the samples and by generating report-like messages from scratch.
//! `parse` must never panic, and what it returns must be well formed.
//! (The real fuzzer is in `fuzz/`, for `cargo +nightly fuzz run dsn_parse`.)

use amicale_mailkit::dsn;

/// Default run; `AMICALE_FUZZ_ITERATIONS` and `AMICALE_FUZZ_SEED` (decimal)
/// allow longer or different runs by hand.
const ITERATIONS: usize = 5_000;
const SEED: u64 = 0x00A1_1CA1_E5EE_D000;

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// SplitMix64: tiny, good enough, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Fragments that steer mutations towards the parser's interesting paths.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"\r\n ",
    b"\n\t",
    b":",
    b";",
    b"<",
    b">",
    b"@",
    b"\"",
    b"(",
    b"--",
    b"5.1.1",
    b"4.4.1",
    b"5.",
    b"550-",
    b"550 5.1.1 ",
    b"#5.1.1",
    b"rfc822;",
    b"rfc822;<user@example.org>",
    b"dns; mx.example.net",
    b"Final-Recipient: ",
    b"Original-Recipient: rfc822;",
    b"Action: failed\r\n",
    b"Action: delayed\r\n",
    b"Status: ",
    b"Diagnostic-Code: smtp; ",
    b"Reporting-MTA: dns;",
    b"X-Failed-Recipients: ",
    b"Message-ID: <",
    b"X-Amicale-Id: ",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n",
    b"Content-Type: message/delivery-status\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/rfc822-headers\r\n",
    b"Content-Type: multipart/mixed; boundary=",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"--b\r\n",
    b"--b--\r\n",
    b"=?utf-8?b?w6k=?=",
    b"=?iso-8859-1?q?=E9?=",
    b"=\r\n",
    b"=E9",
    b"From: MAILER-DAEMON@mx.example.net\r\n",
    b"Subject: Undelivered Mail\r\n",
    b"------ This is a copy of the message, including all the headers. ------\n",
    b"--- Below this line is a copy of the message.\n",
    b"<bob@example.net>:\n",
    b"User unknown",
    b"Mailbox full",
    b"mailbox unavailable",
    b"permanent error",
    b"\xff\xfe",
    b"\xc3",
    b"\xe2\x82",
    b"\0",
    b"\t",
    b" ",
];

fn token(rng: &mut Rng) -> &'static [u8] {
    TOKENS[rng.below(TOKENS.len())]
}

fn samples() -> Vec<Vec<u8>> {
    let dir = format!("{}/tests/samples", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => panic!("cannot list {dir}: {e}"),
    };
    names.sort();
    let mut out = Vec::new();
    for path in names {
        if let Ok(lf) = std::fs::read(&path) {
            let mut crlf = Vec::with_capacity(lf.len() + 64);
            for &b in &lf {
                if b == b'\n' {
                    crlf.push(b'\r');
                }
                crlf.push(b);
            }
            out.push(lf);
            out.push(crlf);
        }
    }
    assert!(out.len() >= 20, "samples missing");
    out
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(9) {
        // Flip a few bits.
        0 => {
            for _ in 0..=rng.below(8) {
                if !input.is_empty() {
                    let i = rng.below(input.len());
                    input[i] ^= 1 << rng.below(8);
                }
            }
        }
        // Insert a token.
        1 | 2 => {
            let at = rng.below(len + 1);
            let token = rng.pick(TOKENS);
            input.splice(at..at, token.iter().copied());
        }
        // Delete a range.
        3 => {
            if len > 0 {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                input.drain(a..b);
            }
        }
        // Duplicate a range (repeated fields, boundaries).
        4 => {
            if len > 0 {
                let a = rng.below(len);
                let b = (a + rng.below(256)).min(len);
                let copy = input[a..b].to_vec();
                let at = rng.below(input.len() + 1);
                input.splice(at..at, copy);
            }
        }
        // Truncate.
        5 => {
            let at = rng.below(len + 1);
            input.truncate(at);
        }
        // Splice with another sample.
        6 => {
            let other = rng.pick(corpus);
            let a = rng.below(len + 1);
            let b = rng.below(other.len() + 1);
            input.truncate(a);
            input.extend_from_slice(&other[b..]);
        }
        // Random bytes over a range.
        7 => {
            if len > 0 {
                let a = rng.below(len);
                let b = (a + rng.below(32)).min(len);
                for byte in &mut input[a..b] {
                    *byte = rng.next() as u8;
                }
            }
        }
        // Swap line ends.
        _ => {
            let crlf = input.windows(2).any(|w| w == b"\r\n");
            if crlf {
                input.retain(|&b| b != b'\r');
            } else {
                let mut out = Vec::with_capacity(input.len() + 64);
                for &b in input.iter() {
                    if b == b'\n' {
                        out.push(b'\r');
                    }
                    out.push(b);
                }
                *input = out;
            }
        }
    }
}

/// A report-like message from scratch: random headers, random parts made of
/// tokens and random field lines.
fn generate(rng: &mut Rng) -> Vec<u8> {
    let mut m = Vec::new();
    for _ in 0..rng.below(6) {
        m.extend_from_slice(token(rng));
        if rng.below(2) == 0 {
            m.extend_from_slice(b"\r\n");
        }
    }
    m.extend_from_slice(
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n",
    );
    for _ in 0..rng.below(5) {
        m.extend_from_slice(b"--b\r\n");
        for _ in 0..rng.below(4) {
            m.extend_from_slice(token(rng));
        }
        m.extend_from_slice(b"\r\n");
        for _ in 0..rng.below(20) {
            m.extend_from_slice(token(rng));
            if rng.below(3) == 0 {
                m.extend_from_slice(b"\r\n");
            }
        }
    }
    if rng.below(2) == 0 {
        m.extend_from_slice(b"--b--\r\n");
    }
    m
}

fn check(input: &[u8]) {
    if let Some(b) = dsn::parse(input) {
        assert!(!b.recipients.is_empty(), "Some(bounce) without recipients");
        for r in &b.recipients {
            assert!(!r.address.is_empty(), "empty address in {b:?}");
            let parts: Vec<&str> = r.status.split('.').collect();
            assert!(
                parts.len() == 3
                    && matches!(parts[0], "2" | "4" | "5")
                    && parts[1..].iter().all(|p| !p.is_empty()
                        && p.len() <= 3
                        && p.bytes().all(|c| c.is_ascii_digit())),
                "malformed status {:?}",
                r.status
            );
        }
        if let Some(id) = &b.original_message_id {
            assert!(
                id.starts_with('<') && id.ends_with('>') && id.len() > 2,
                "{id:?}"
            );
        }
    }
}

#[test]
fn parse_never_panics_on_5000_mutated_inputs() {
    let corpus = samples();
    let iterations = env_number("AMICALE_FUZZ_ITERATIONS").map_or(ITERATIONS, |n| n as usize);
    let mut rng = Rng(env_number("AMICALE_FUZZ_SEED").unwrap_or(SEED));
    let mut recognized = 0usize;
    for i in 0..iterations {
        let input = if i % 10 == 9 {
            generate(&mut rng)
        } else {
            let mut input = rng.pick(&corpus).clone();
            for _ in 0..=rng.below(4) {
                mutate(&mut rng, &mut input, &corpus);
            }
            input
        };
        check(&input);
        if dsn::parse(&input).is_some() {
            recognized += 1;
        }
    }
    // Most mutants of real bounces are still bounces: a sanity check that
    // the test exercises the parser rather than rejecting everything.
    assert!(recognized > iterations / 4, "only {recognized} recognized");
}

#[test]
fn pathological_inputs() {
    let mut cases: Vec<Vec<u8>> = vec![
        vec![b'\n'; 100_000],
        vec![b' '; 100_000],
        vec![b':'; 100_000],
        vec![b'@'; 100_000],
        b"From: MAILER-DAEMON@x.example\r\nSubject: failure notice\r\n\r\n"
            .iter()
            .copied()
            .chain(b"<a@b.example>:\n550 5.1.1 x\n\n".repeat(5_000))
            .collect(),
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
            .iter()
            .copied()
            .chain(b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n".repeat(2_000))
            .collect(),
        b"Content-Type: message/rfc822\r\n\r\n".repeat(2_000),
        b"Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
            .iter()
            .copied()
            .chain(b"Final-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.1.1\r\n".repeat(5_000))
            .collect(),
    ];
    cases.push(b"Diagnostic-Code: smtp; 550-5.1.1 ".repeat(10_000));
    for case in &cases {
        check(case);
    }
}
