//! DKIM signing (RFC 6376) with Ed25519-SHA256 (RFC 8463) or RSA-SHA256.
//!
//! - Canonicalization is `relaxed/relaxed`, the one that survives the
//!   re-folding and white-space changes relays make.
//! - The signed header fields are those of [`Signer::headers`] that the message
//!   has; a field present *n* times is listed *n* times in `h=` (RFC 6376
//!   §5.4.2, taken from the bottom up), and absent fields are skipped.
//! - The signature itself, and key generation, are AWS-LC's (`aws-lc-rs`):
//!   RSA PKCS#1 v1.5 with SHA-256, or Ed25519 over the SHA-256 of the data.
//!
//! ```
//! use amicale_mailkit::dkim::{Algorithm, Signer, SigningKey};
//!
//! let key = SigningKey::generate(Algorithm::Ed25519Sha256)?;
//! // Publish this at mail2025._domainkey.amicale.example:
//! let record = key.dns_txt_record();
//! assert!(record.starts_with("v=DKIM1; k=ed25519; p="));
//!
//! let signer = Signer::new("amicale.example", "mail2025", key);
//! let message = b"From: Amicale <noreply@amicale.example>\r\n\
//!                 To: alice@example.org\r\n\
//!                 Subject: Hello\r\n\
//!                 \r\n\
//!                 Hi Alice!\r\n";
//! let header = signer.sign_at(message, 1_700_000_000)?;
//! assert!(header.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;"));
//! assert!(header.ends_with("\r\n"));
//! let signed = [header.as_bytes(), message].concat();
//! # let _ = signed;
//! # Ok::<(), amicale_mailkit::dkim::DkimError>(())
//! ```

mod canon;
mod key;

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

pub use key::SigningKey;

/// Header fields signed by default, when present, in this order.
///
/// Besides the RFC 6376 §5.4.1 recommendations, `List-Unsubscribe` and
/// `List-Unsubscribe-Post` are signed because Gmail and Yahoo require them to
/// be covered by the DKIM signature for one-click unsubscribe (RFC 8058 §4).
pub const DEFAULT_SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Reply-To",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// Signature algorithm, named after the `a=` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `ed25519-sha256` (RFC 8463). Small keys and fast, but not every
    /// verifier knows it yet: send it alongside an RSA signature.
    Ed25519Sha256,
    /// `rsa-sha256` with a 2048-bit key: understood everywhere.
    RsaSha256,
}

impl Algorithm {
    /// The `a=` tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Ed25519Sha256 => "ed25519-sha256",
            Algorithm::RsaSha256 => "rsa-sha256",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What can go wrong when creating keys or signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DkimError {
    /// The system random source failed, or RSA prime search failed.
    KeyGeneration(String),
    /// The PEM/DER key could not be read or is not usable for DKIM.
    InvalidKey(String),
    /// `d=` is empty or not an ASCII domain name (use the A-label of an
    /// internationalized domain).
    InvalidDomain(String),
    /// `s=` is empty or has characters a DNS label cannot hold.
    InvalidSelector(String),
    /// A name in [`Signer::headers`] is not a valid header field name.
    InvalidHeaderName(String),
    /// [`Signer::headers`] does not contain `From`, which RFC 6376 §5.4
    /// requires to be signed.
    FromNotSigned,
    /// The message has no `From` header field.
    MissingFrom,
    /// The system clock is set before 1970.
    Clock,
    /// The cryptographic library refused to sign (should not happen with a
    /// key it accepted).
    Signing,
}

impl fmt::Display for DkimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DkimError::KeyGeneration(why) => write!(f, "DKIM key generation failed: {why}"),
            DkimError::InvalidKey(why) => write!(f, "invalid DKIM private key: {why}"),
            DkimError::InvalidDomain(d) => write!(f, "invalid DKIM signing domain {d:?}"),
            DkimError::InvalidSelector(s) => write!(f, "invalid DKIM selector {s:?}"),
            DkimError::InvalidHeaderName(h) => write!(f, "invalid header field name {h:?}"),
            DkimError::FromNotSigned => f.write_str("the From header field must be signed"),
            DkimError::MissingFrom => f.write_str("the message has no From header field"),
            DkimError::Clock => f.write_str("the system clock is before 1970"),
            DkimError::Signing => f.write_str("DKIM signing failed"),
        }
    }
}

impl std::error::Error for DkimError {}

/// Signs messages for one domain and selector.
#[derive(Debug)]
pub struct Signer {
    /// The `d=` domain, ASCII (A-labels for internationalized names).
    pub domain: String,
    /// The `s=` selector: the key is published at
    /// `<selector>._domainkey.<domain>`.
    pub selector: String,
    /// The private key; its algorithm gives `a=`.
    pub key: SigningKey,
    /// Header field names to sign when present (case-insensitive). Must
    /// contain `From`.
    pub headers: Vec<String>,
}

/// Longest line we emit in the signature header, folding included.
const MAX_LINE: usize = 76;

impl Signer {
    /// A signer that signs [`DEFAULT_SIGNED_HEADERS`].
    pub fn new(domain: impl Into<String>, selector: impl Into<String>, key: SigningKey) -> Self {
        Self {
            domain: domain.into(),
            selector: selector.into(),
            key,
            headers: DEFAULT_SIGNED_HEADERS
                .iter()
                .map(|h| (*h).to_string())
                .collect(),
        }
    }

    /// The DNS name where the public key must be published.
    pub fn dns_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain)
    }

    /// Signs `message` with `t=` set to the current time. See
    /// [`Signer::sign_at`].
    pub fn sign(&self, message: &[u8]) -> Result<String, DkimError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| DkimError::Clock)?;
        self.sign_at(message, now.as_secs())
    }

    /// Signs `message` (the complete message, header and body, as it will be
    /// sent) with `t=unix_time`, and returns the `DKIM-Signature: …\r\n`
    /// header field to put in front of it. The header is folded to lines of
    /// at most 76 characters.
    ///
    /// The message must not change afterwards, except for header fields that
    /// are not signed being added (e.g. `Received`, `Return-Path`).
    pub fn sign_at(&self, message: &[u8], unix_time: u64) -> Result<String, DkimError> {
        validate_domain(&self.domain)?;
        validate_selector(&self.selector)?;
        let wanted = self.wanted_headers()?;

        let (fields, body) = canon::split_message(message);
        let body_hash = B64.encode(canon::relaxed_body_hash(body));

        // h= lists each wanted name once per occurrence in the message.
        let mut h_names: Vec<&str> = Vec::new();
        for name in &wanted {
            let count = fields
                .iter()
                .filter(|f| f.trimmed_name().eq_ignore_ascii_case(name.as_bytes()))
                .count();
            h_names.extend(std::iter::repeat_n(name.as_str(), count));
        }
        if !h_names.contains(&"from") {
            return Err(DkimError::MissingFrom);
        }

        let mut header = String::with_capacity(512);
        header.push_str("DKIM-Signature: v=1; a=");
        header.push_str(self.key.algorithm().as_str());
        header.push_str("; c=relaxed/relaxed;");
        let mut col = header.len();
        for tag in [
            format!("d={};", self.domain),
            format!("s={};", self.selector),
            format!("t={unix_time};"),
        ] {
            push_token(&mut header, &mut col, &tag, true);
        }
        // h= folds after colons, where RFC 6376 §3.5 allows FWS.
        let last = h_names.len().saturating_sub(1);
        for (i, name) in h_names.iter().enumerate() {
            let token = match (i == 0, i == last) {
                (true, true) => format!("h={name};"),
                (true, false) => format!("h={name}:"),
                (false, true) => format!("{name};"),
                (false, false) => format!("{name}:"),
            };
            push_token(&mut header, &mut col, &token, i == 0);
        }
        push_token(&mut header, &mut col, &format!("bh={body_hash};"), true);
        push_token(&mut header, &mut col, "b=", true);

        let data = signing_input(&fields, &h_names, header.as_bytes());
        let signature = B64.encode(self.key.sign(&data)?);

        // The b= value may be folded anywhere: verifiers remove it, white
        // space included, before hashing.
        let mut rest = signature.as_str();
        while !rest.is_empty() {
            let room = MAX_LINE.saturating_sub(col).max(1);
            if room < 8 && col > 1 {
                header.push_str("\r\n ");
                col = 1;
                continue;
            }
            let take = room.min(rest.len());
            let (chunk, tail) = rest.split_at(take);
            header.push_str(chunk);
            col += take;
            rest = tail;
        }
        header.push_str("\r\n");
        Ok(header)
    }

    /// The configured names, validated, lower-cased and de-duplicated.
    fn wanted_headers(&self) -> Result<Vec<String>, DkimError> {
        let mut wanted: Vec<String> = Vec::with_capacity(self.headers.len());
        for name in &self.headers {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b':' && b != b';');
            if !valid {
                return Err(DkimError::InvalidHeaderName(name.clone()));
            }
            let lower = name.to_ascii_lowercase();
            // Signing our own signature, or a previous one, makes no sense.
            if lower == "dkim-signature" {
                return Err(DkimError::InvalidHeaderName(name.clone()));
            }
            if !wanted.contains(&lower) {
                wanted.push(lower);
            }
        }
        if !wanted.iter().any(|h| h == "from") {
            return Err(DkimError::FromNotSigned);
        }
        Ok(wanted)
    }
}

/// Appends `token` after a space, or on a new folded line when it would not
/// fit. `space` is false for h= continuation names, which follow a colon.
fn push_token(header: &mut String, col: &mut usize, token: &str, space: bool) {
    let sep = usize::from(space);
    if *col + sep + token.len() > MAX_LINE {
        header.push_str("\r\n ");
        *col = 1;
    } else if space {
        header.push(' ');
        *col += 1;
    }
    header.push_str(token);
    *col += token.len();
}

/// The data to sign (RFC 6376 §3.7): each field named in `h=`, taking repeated
/// names from the bottom of the header up (§5.4.2), then the DKIM-Signature
/// field itself with an empty b= and no trailing CRLF, all canonicalized.
/// Names with no (more) instance contribute nothing, as verifiers do.
fn signing_input(
    fields: &[canon::HeaderField<'_>],
    h_names: &[&str],
    dkim_header: &[u8],
) -> Vec<u8> {
    let mut data = Vec::with_capacity(1024);
    let mut used: Vec<(&str, usize)> = Vec::new();
    for name in h_names {
        let already = used
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, c)| {
                *c += 1;
                *c - 1
            });
        let skip = match already {
            Some(n) => n,
            None => {
                used.push((name, 1));
                0
            }
        };
        if let Some(field) = fields
            .iter()
            .rev()
            .filter(|f| f.trimmed_name().eq_ignore_ascii_case(name.as_bytes()))
            .nth(skip)
        {
            canon::relaxed_header(field.name, field.value, true, &mut data);
        }
    }
    let (sig_fields, _) = canon::split_message(dkim_header);
    if let Some(sig) = sig_fields.first() {
        canon::relaxed_header(sig.name, sig.value, false, &mut data);
    }
    data
}

fn validate_domain(domain: &str) -> Result<(), DkimError> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(DkimError::InvalidDomain(domain.to_string()))
    }
}

fn validate_selector(selector: &str) -> Result<(), DkimError> {
    // Selectors may contain dots (RFC 6376 §3.1 allows sub-selectors) and
    // underscores are common in practice.
    let ok = !selector.is_empty()
        && selector.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(DkimError::InvalidSelector(selector.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8463 appendix A: the Ed25519 key of RFC 8032 §7.1 test 1.
    const RFC8463_SEED: &str = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    const RFC8463_PUBLIC: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const RFC8463_MESSAGE: &str = "From: Joe SixPack <joe@football.example.com>\r\n\
To: Suzie Q <suzie@shopping.example.net>\r\n\
Subject: Is dinner ready?\r\n\
Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n\
Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n\
\r\n\
Hi.\r\n\
\r\n\
We lost the game.  Are you hungry yet?\r\n\
\r\n\
Joe.\r\n";

    fn rfc8463_key() -> SigningKey {
        let seed = B64.decode(RFC8463_SEED).unwrap_or_default();
        match SigningKey::from_ed25519_seed(&seed) {
            Ok(key) => key,
            Err(e) => panic!("RFC 8463 seed rejected: {e}"),
        }
    }

    #[test]
    fn rfc8463_body_hash() {
        let (_, body) = canon::split_message(RFC8463_MESSAGE.as_bytes());
        assert_eq!(
            B64.encode(canon::relaxed_body_hash(body)),
            "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
        );
    }

    #[test]
    fn rfc8463_public_key() {
        assert_eq!(
            rfc8463_key().dns_txt_record(),
            format!("v=DKIM1; k=ed25519; p={RFC8463_PUBLIC}")
        );
    }

    /// Reproduces the RFC 8463 appendix A.3 Ed25519 signature bit for bit
    /// (Ed25519 is deterministic), with the RFC's own DKIM-Signature field:
    /// its h= signs From, Subject and Date twice (over-signing), which also
    /// checks that names without a further instance contribute nothing.
    #[test]
    fn rfc8463_signature() -> Result<(), DkimError> {
        let sig_header = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n \
d=football.example.com; i=@football.example.com;\r\n \
q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n \
subject : date : message-id : from : subject : date;\r\n \
bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n \
b=";
        let (fields, _) = canon::split_message(RFC8463_MESSAGE.as_bytes());
        let h = [
            "from",
            "to",
            "subject",
            "date",
            "message-id",
            "from",
            "subject",
            "date",
        ];
        let data = signing_input(&fields, &h, sig_header.as_bytes());
        let sig = B64.encode(rfc8463_key().sign(&data)?);
        assert_eq!(
            sig,
            "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="
        );
        Ok(())
    }

    #[test]
    fn header_shape() -> Result<(), DkimError> {
        let signer = Signer::new("football.example.com", "brisbane", rfc8463_key());
        let header = signer.sign_at(RFC8463_MESSAGE.as_bytes(), 1_528_637_909)?;
        for line in header.split("\r\n") {
            assert!(line.len() <= MAX_LINE, "line too long: {line:?}");
        }
        assert!(header.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;"));
        let unfolded = header.replace("\r\n ", " ");
        assert!(unfolded.contains(" d=football.example.com; s=brisbane; t=1528637909; "));
        // Folding may fall after any colon of h=.
        assert!(
            unfolded
                .replace(": ", ":")
                .contains("h=from:to:subject:date:message-id;"),
            "{header}"
        );
        assert!(unfolded.contains("bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;"));
        assert!(header.ends_with("\r\n"));
        assert!(!header[..header.len() - 2].ends_with('\n'));
        Ok(())
    }

    #[test]
    fn repeated_and_absent_headers() -> Result<(), DkimError> {
        let message = b"From: a@example.org\r\nTo: b@example.org\r\nTo: c@example.org\r\n\
Subject: x\r\n\r\nbody\r\n";
        let signer = Signer::new("example.org", "s1", rfc8463_key());
        let header = signer.sign_at(message, 1)?;
        let unfolded = header.replace("\r\n ", " ");
        assert!(unfolded.contains("h=from:to:to:subject;"), "{unfolded}");
        Ok(())
    }

    #[test]
    fn configuration_errors() {
        let message = b"From: a@example.org\r\n\r\nx\r\n";
        let mut signer = Signer::new("example.org", "s1", rfc8463_key());
        signer.domain = "exa mple.org".into();
        assert!(matches!(
            signer.sign_at(message, 1),
            Err(DkimError::InvalidDomain(_))
        ));
        signer.domain = "example.org".into();
        signer.selector = "a;b".into();
        assert!(matches!(
            signer.sign_at(message, 1),
            Err(DkimError::InvalidSelector(_))
        ));
        signer.selector = "s1".into();
        signer.headers = vec!["To".into()];
        assert_eq!(signer.sign_at(message, 1), Err(DkimError::FromNotSigned));
        signer.headers = vec!["From".into(), "Bad Name".into()];
        assert!(matches!(
            signer.sign_at(message, 1),
            Err(DkimError::InvalidHeaderName(_))
        ));
        signer.headers = vec!["From".into()];
        assert_eq!(
            signer.sign_at(b"To: x@example.org\r\n\r\nhi\r\n", 1),
            Err(DkimError::MissingFrom)
        );
        assert!(signer.sign_at(message, 1).is_ok());
    }
}
