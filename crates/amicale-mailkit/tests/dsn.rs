//! Bounce samples written after real ones of each MTA (addresses and hosts
//! replaced). Each is read as stored (LF line ends) and with CRLF, as it
//! arrives over SMTP.

use amicale_mailkit::dsn::{self, Action, Bounce, RecipientStatus, Severity};

fn sample(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => panic!("cannot read {path}: {e}"),
    }
}

fn crlf(lf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 20);
    for &b in lf {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Parses the sample both ways and checks both give the same answer.
fn parse_sample(name: &str) -> Option<Bounce> {
    let lf = sample(name);
    let from_lf = dsn::parse(&lf);
    let from_crlf = dsn::parse(&crlf(&lf));
    assert_eq!(from_lf, from_crlf, "{name}: LF and CRLF readings differ");
    from_lf
}

fn bounce(name: &str) -> Bounce {
    match parse_sample(name) {
        Some(b) => b,
        None => panic!("{name}: not recognized as a bounce"),
    }
}

fn only_recipient(b: &Bounce) -> &RecipientStatus {
    assert_eq!(b.recipients.len(), 1, "{b:#?}");
    &b.recipients[0]
}

#[test]
fn postfix_user_unknown() {
    let b = bounce("postfix_user_unknown.eml");
    assert!(!b.heuristic);
    assert_eq!(b.reporting_mta.as_deref(), Some("mx1.amicale.example"));
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("<k3J9sQ2mXvTq8LrZ0aBc@amicale.example>")
    );
    assert_eq!(b.amicale_id.as_deref(), Some("01HXR7Z5N8Q4W2K6M3T9V0B1CD"));
    let r = only_recipient(&b);
    assert_eq!(r.address, "jean.dupont@lycee-hugo.example.fr");
    assert_eq!(r.action, Action::Failed);
    assert_eq!(r.status, "5.1.1");
    // Folded over two lines in the report.
    assert_eq!(
        r.diagnostic.as_deref(),
        Some(
            "550 5.1.1 <jean.dupont@lycee-hugo.example.fr>: Recipient address rejected: \
             User unknown in virtual mailbox table"
        )
    );
    assert_eq!(r.severity, Severity::Hard);
}

#[test]
fn gmail_account_does_not_exist() {
    let b = bounce("gmail_no_such_user.eml");
    assert!(!b.heuristic);
    assert_eq!(b.reporting_mta.as_deref(), Some("googlemail.com"));
    // From the text/rfc822-headers part, where both fields are folded.
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("<Zr8v1QmHc4aT2pLx@amicale.example>")
    );
    assert_eq!(b.amicale_id.as_deref(), Some("01HXRA2M3N4P5Q6R7S8T9V0W1X"));
    let r = only_recipient(&b);
    assert_eq!(r.address, "claire.martin.1987@gmail.com");
    assert_eq!((r.action, r.status.as_str()), (Action::Failed, "5.1.1"));
    assert_eq!(
        r.diagnostic.as_deref(),
        Some(
            "550 5.1.1 The email account that you tried to reach does not exist. Please try \
             double-checking the recipient's email address for typos or unnecessary spaces. \
             For more information, go to https://support.google.com/mail/?p=NoSuchUser \
             a640c23a62f3a-a5a17b0f3c1si112233ed.412 - gsmtp"
        )
    );
    assert_eq!(r.severity, Severity::Hard);
}

#[test]
fn office365_recipient_not_found_5_1_10() {
    let b = bounce("o365_recipient_not_found.eml");
    assert!(!b.heuristic);
    assert_eq!(
        b.reporting_mta.as_deref(),
        Some("AM9PR01MB7155.eurprd01.prod.exchangelabs.com")
    );
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("<Pq7Rt2Vw9Xy3Za1Bc5De@amicale.example>")
    );
    assert_eq!(b.amicale_id.as_deref(), Some("01HXT0K9ZP6S4R2Q8N0M7L5J3H"));
    let r = only_recipient(&b);
    // rfc822;<user@x> form.
    assert_eq!(r.address, "ghost@contoso.example");
    assert_eq!((r.action, r.status.as_str()), (Action::Failed, "5.1.10"));
    assert_eq!(
        r.diagnostic.as_deref(),
        Some(
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
        )
    );
    assert_eq!(r.severity, Severity::Hard);
}

#[test]
fn postfix_delayed_4_4_1() {
    let b = bounce("postfix_delayed.eml");
    assert!(!b.heuristic);
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("<Wd8Yh3Jk5Lm7Np9Qr1St@amicale.example>")
    );
    assert_eq!(b.amicale_id.as_deref(), Some("01HXTJ4B6C8D0E2F4G6H8J0K2M"));
    let r = only_recipient(&b);
    assert_eq!(r.address, "prof.moreau@univ-lente.example.edu");
    assert_eq!((r.action, r.status.as_str()), (Action::Delayed, "4.4.1"));
    assert_eq!(
        r.diagnostic.as_deref(),
        Some("connect to mx.univ-lente.example.edu[198.51.100.7]:25: Connection timed out")
    );
    assert_eq!(r.severity, Severity::Soft);
}

#[test]
fn mailbox_full_5_2_2() {
    let b = bounce("sendmail_mailbox_full.eml");
    assert!(!b.heuristic);
    assert_eq!(b.reporting_mta.as_deref(), Some("smtp.orange-like.example"));
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("<Fg4Hj6Kl8Mn0Pq2Rs4Tu@amicale.example>")
    );
    let r = only_recipient(&b);
    // "RFC822; addr" upper case type, bare address.
    assert_eq!(r.address, "marie.leroy@orange-like.example");
    assert_eq!((r.action, r.status.as_str()), (Action::Failed, "5.2.2"));
    assert_eq!(r.severity, Severity::Soft);
}

#[test]
fn several_recipients_without_blank_lines() {
    let b = bounce("multi_recipient.eml");
    assert!(!b.heuristic);
    // Folded Reporting-MTA.
    assert_eq!(b.reporting_mta.as_deref(), Some("relay.example.net"));
    assert_eq!(b.original_message_id, None);
    let got: Vec<(&str, Action, &str, Severity)> = b
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.action, r.status.as_str(), r.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("a.one@example.org", Action::Failed, "5.1.1", Severity::Hard),
            // Bare address, no type.
            (
                "b.two@example.org",
                Action::Delayed,
                "4.2.2",
                Severity::Soft
            ),
            // A spam block of *our* server must not suppress the address.
            (
                "c.three@example.org",
                Action::Failed,
                "5.7.1",
                Severity::Soft
            ),
            (
                "d.four@example.org",
                Action::Delivered,
                "2.0.0",
                Severity::Soft
            ),
        ]
    );
}

#[test]
fn exim_plain_text_bounce() {
    let b = bounce("exim_plain.eml");
    assert!(b.heuristic);
    assert_eq!(b.reporting_mta.as_deref(), Some("mx.ancien-reseau.example"));
    // From the inline copy, with a folded Message-ID.
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("<Ab1Cd2Ef3Gh4Ij5Kl6Mn@amicale.example>")
    );
    assert_eq!(b.amicale_id.as_deref(), Some("01HXRB3C5D7E9F1G3H5J7K9M1N"));
    let r = only_recipient(&b);
    assert_eq!(r.address, "luc.bernard@ancien-reseau.example");
    assert_eq!((r.action, r.status.as_str()), (Action::Failed, "5.1.1"));
    let diagnostic = r.diagnostic.as_deref().unwrap_or("");
    assert!(
        diagnostic.contains("User unknown in local recipient table"),
        "{diagnostic}"
    );
    assert_eq!(r.severity, Severity::Hard);
}

#[test]
fn qmail_plain_text_bounce() {
    let b = bounce("qmail_plain.eml");
    assert!(b.heuristic);
    assert_eq!(b.reporting_mta.as_deref(), Some("mail.vieux-fai.example"));
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("<Qm1Rs2Tu3Vw4Xy5Za6Bc@amicale.example>")
    );
    assert_eq!(b.amicale_id.as_deref(), Some("01HXRBQ1R2S3T4U5V6W7X8Y9Z0"));
    let got: Vec<(&str, &str, Severity)> = b
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.status.as_str(), r.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("paul.girard@vieux-fai.example", "5.1.1", Severity::Hard),
            ("anne.roux@vieux-fai.example", "5.2.2", Severity::Soft),
        ]
    );
    assert_eq!(
        b.recipients[0].diagnostic.as_deref(),
        Some("Sorry, no mailbox here by that name. (#5.1.1)")
    );
}

#[test]
fn old_exchange_plain_text_bounce() {
    let b = bounce("exchange2003_plain.eml");
    assert!(b.heuristic);
    assert_eq!(b.reporting_mta.as_deref(), Some("mail.corp.example.com"));
    let r = only_recipient(&b);
    assert_eq!(r.address, "paul.martin@corp.example.com");
    assert_eq!((r.action, r.status.as_str()), (Action::Failed, "5.1.1"));
    assert_eq!(r.severity, Severity::Hard);
}

#[test]
fn ordinary_mail_is_not_a_bounce() {
    assert_eq!(parse_sample("not_a_bounce.eml"), None);
    assert_eq!(parse_sample("out_of_office.eml"), None);
    assert_eq!(dsn::parse(b""), None);
    assert_eq!(dsn::parse(b"\r\n\r\n"), None);
    assert_eq!(dsn::parse(b"just some text"), None);
}

/// Plain-text bounce without any code: the wording decides.
#[test]
fn plain_text_wording_only() {
    let raw = b"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n\
To: bounces@amicale.example\r\n\
Subject: Mail delivery failed\r\n\
\r\n\
Delivery to the following recipients failed.\r\n\
\r\n\
   olga@example.net\r\n\
   Mailbox full\r\n\
\r\n\
   igor@example.net\r\n\
   mailbox unavailable\r\n\
\r\n\
   vera@example.net\r\n\
   User unknown\r\n";
    let b = dsn::parse(raw).unwrap_or_else(|| panic!("not a bounce"));
    assert!(b.heuristic);
    let got: Vec<(&str, &str, Severity)> = b
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.status.as_str(), r.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("olga@example.net", "5.2.2", Severity::Soft),
            ("igor@example.net", "5.0.0", Severity::Soft),
            ("vera@example.net", "5.1.1", Severity::Hard),
        ]
    );
}

/// A report whose delivery-status part is base64-encoded, with a Status
/// of 5.0.0 made precise by the diagnostic (Postfix does that).
#[test]
fn encoded_report_and_unspecific_status() {
    use base64::Engine as _;
    let report = "Reporting-MTA: dns; mx.example.net\r\n\r\n\
Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.0.0\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>: User unknown\r\n";
    let b64 = base64::engine::general_purpose::STANDARD;
    let encoded = b64.encode(report);
    // The returned message is base64-encoded too (against RFC 2046, seen
    // in the wild): mail-parser decodes it before we read its headers.
    let original = b64.encode(
        "From: Amicale <noreply@amicale.example>\r\nMessage-ID: <enc0ded@amicale.example>\r\n\
X-Amicale-Id: 01HXZZZZZZZZZZZZZZZZZZZZZZ\r\nSubject: x\r\n\r\nbody\r\n",
    );
    let raw = format!(
        "From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"XX\"\r\n\r\n\
--XX\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n\
--XX\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n\
{encoded}\r\n--XX\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n\
{original}\r\n--XX--\r\n"
    );
    let b = dsn::parse(raw.as_bytes()).unwrap_or_else(|| panic!("not a bounce"));
    assert!(!b.heuristic);
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("<enc0ded@amicale.example>")
    );
    assert_eq!(b.amicale_id.as_deref(), Some("01HXZZZZZZZZZZZZZZZZZZZZZZ"));
    let r = only_recipient(&b);
    assert_eq!(r.address, "gone@example.net");
    assert_eq!(r.status, "5.0.0");
    assert_eq!(r.severity, Severity::Hard);
}

#[test]
fn classification_rules() {
    use dsn::classify;
    let cases: &[(&str, &str, Severity)] = &[
        ("5.1.1", "", Severity::Hard),
        ("5.1.2", "Host or domain name not found", Severity::Hard),
        ("5.1.10", "RecipientNotFound", Severity::Hard),
        (
            "5.2.1",
            "550 5.2.1 The email account that you tried to reach is disabled",
            Severity::Hard,
        ),
        (
            "5.4.1",
            "550 5.4.1 Recipient address rejected: Access denied",
            Severity::Hard,
        ),
        (
            "5.1.8",
            "550 5.1.8 Access denied, bad outbound sender",
            Severity::Soft,
        ),
        ("5.2.2", "552 5.2.2 Mailbox full", Severity::Soft),
        (
            "5.3.4",
            "552 5.3.4 Message size exceeds fixed limit",
            Severity::Soft,
        ),
        (
            "5.7.1",
            "550 5.7.1 Message rejected due to content restrictions",
            Severity::Soft,
        ),
        (
            "5.7.1",
            "550 5.7.1 Email rejected per DMARC policy",
            Severity::Soft,
        ),
        (
            "5.7.1",
            "550 5.7.1 <x@y>: Recipient address rejected: user does not exist",
            Severity::Hard,
        ),
        (
            "5.7.1",
            "550 5.7.1 Unknown user, and blocked by policy",
            Severity::Soft,
        ),
        (
            "5.0.0",
            "550 Requested action not taken: mailbox unavailable",
            Severity::Soft,
        ),
        ("5.0.0", "550 No such user here", Severity::Hard),
        (
            "4.2.2",
            "452 4.2.2 The email account that you tried to reach is over quota",
            Severity::Soft,
        ),
        (
            "4.1.1",
            "450 4.1.1 <x@y>: Recipient address rejected: unverified address",
            Severity::Soft,
        ),
        ("", "550 5.1.1 user unknown", Severity::Hard),
        ("", "550 user unknown", Severity::Hard),
        ("", "user unknown (temporary failure)", Severity::Soft),
        ("", "", Severity::Soft),
        ("garbage", "garbage", Severity::Soft),
    ];
    for (status, diagnostic, expected) in cases {
        assert_eq!(
            classify(status, diagnostic),
            *expected,
            "classify({status:?}, {diagnostic:?})"
        );
    }
}

#[test]
fn types_can_cross_threads() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Bounce>();
    send_sync::<amicale_mailkit::dkim::Signer>();
    send_sync::<amicale_mailkit::dkim::SigningKey>();
    send_sync::<amicale_mailkit::dkim::DkimError>();
}
