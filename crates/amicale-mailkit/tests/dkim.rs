//! DKIM keys and signatures, checked with ring's verifier, another
//! implementation than the AWS-LC signer (the check with dkimpy, a third
//! one, is in `dkimpy.rs`).

mod common;

use amicale_mailkit::dkim::{Algorithm, DkimError, Signer, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature::{ED25519, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

fn tag<'a>(header: &'a str, name: &str) -> &'a str {
    let unfolded: &'a str = header;
    let needle = format!(" {name}=");
    let start = unfolded
        .find(&needle)
        .map(|i| i + needle.len())
        .unwrap_or_else(|| panic!("no {name}= in {header}"));
    let rest = &unfolded[start..];
    &rest[..rest.find(';').unwrap_or(rest.len())]
}

#[test]
fn pkcs1_import_gives_the_openssl_public_key() -> Result<(), DkimError> {
    let key = common::rsa_key();
    assert_eq!(key.algorithm(), Algorithm::RsaSha256);
    assert_eq!(
        key.dns_txt_record(),
        format!("v=DKIM1; k=rsa; p={}", common::RSA2048_SPKI_B64.trim())
    );
    // Exported as PKCS#8 and read back, same key.
    let pem = key.to_pkcs8_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(pem.lines().all(|l| l.len() <= 64));
    let again = SigningKey::from_pkcs8_pem(&pem)?;
    assert_eq!(again.dns_txt_record(), key.dns_txt_record());
    Ok(())
}

#[test]
fn small_rsa_keys_are_refused() {
    let err = SigningKey::from_pkcs8_pem(common::RSA1024_PKCS1_PEM);
    assert!(matches!(err, Err(DkimError::InvalidKey(_))), "{err:?}");
}

#[test]
fn rsa_generation() -> Result<(), DkimError> {
    let key = SigningKey::generate(Algorithm::RsaSha256)?;
    assert_eq!(key.algorithm(), Algorithm::RsaSha256);
    let record = key.dns_txt_record();
    let p = record
        .strip_prefix("v=DKIM1; k=rsa; p=")
        .unwrap_or_default();
    // SubjectPublicKeyInfo of a 2048-bit key with e=65537: 294 bytes.
    assert_eq!(B64.decode(p).map(|d| d.len()).ok(), Some(294));
    let again = SigningKey::from_pkcs8_pem(&key.to_pkcs8_pem())?;
    assert_eq!(again.dns_txt_record(), record);
    let shown = format!("{key:?}");
    assert!(!shown.contains(&p[40..80]));
    Ok(())
}

/// Rebuilds what a verifier hashes, with ring's verifier, to make sure the
/// signature matches the header we emit (folding included).
fn verify_with_ring(signed_header: &str, message: &[u8], public: &[u8], alg: Algorithm) {
    // Header fields signed, in h= order, bottom-up for repeats: here each
    // appears once, so a simple relaxed canonicalization is enough.
    let unfolded = signed_header.replace("\r\n", "");
    let h = tag(&unfolded, "h").replace([' ', '\t'], "");
    let text = String::from_utf8_lossy(message);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((n, v)) = line.split_once(':') {
            fields.push((n.to_string(), v.to_string()));
        }
    }
    let relax = |name: &str, value: &str| {
        let v: Vec<&str> = value.split_whitespace().collect();
        format!("{}:{}", name.trim().to_ascii_lowercase(), v.join(" "))
    };
    let mut data = String::new();
    for name in h.split(':') {
        let (n, v) = fields
            .iter()
            .rev()
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .unwrap_or_else(|| panic!("{name} not in message"));
        data.push_str(&relax(n, v));
        data.push_str("\r\n");
    }
    let b_start = signed_header.find(" b=").map(|i| i + 3).unwrap_or(0);
    let without_b = &signed_header[..b_start];
    let (n, v) = without_b.split_once(':').unwrap_or(("", ""));
    data.push_str(&relax(n, v));
    let b = B64
        .decode(tag(&unfolded, "b").replace([' ', '\t'], ""))
        .unwrap_or_default();
    let result = match alg {
        Algorithm::Ed25519Sha256 => {
            let hash = ring::digest::digest(&ring::digest::SHA256, data.as_bytes());
            UnparsedPublicKey::new(&ED25519, public).verify(hash.as_ref(), &b)
        }
        Algorithm::RsaSha256 => {
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public).verify(data.as_bytes(), &b)
        }
    };
    assert!(result.is_ok(), "ring rejects the signature over {data:?}");
}

#[test]
fn signatures_verify_with_ring() -> Result<(), DkimError> {
    let message = common::newsletter(5 * 1024);
    for key in [
        SigningKey::generate(Algorithm::Ed25519Sha256)?,
        common::rsa_key(),
    ] {
        let alg = key.algorithm();
        let record = key.dns_txt_record();
        let p = B64
            .decode(record.split("p=").nth(1).unwrap_or(""))
            .unwrap_or_default();
        let public = match alg {
            Algorithm::Ed25519Sha256 => p,
            // ring wants the bare PKCS#1 key: strip the 24-byte SPKI prefix
            // of a 2048-bit key.
            Algorithm::RsaSha256 => p[24..].to_vec(),
        };
        let signer = Signer::new("amicale.example", "mail2024", key);
        let header = signer.sign_at(&message, 1_715_673_728)?;
        assert!(header.contains(&format!("a={alg};")));
        assert!(header.contains(" t=1715673728;"));
        verify_with_ring(&header, &message, &public, alg);
    }
    Ok(())
}

#[test]
fn sign_uses_the_clock() -> Result<(), DkimError> {
    let signer = Signer::new(
        "amicale.example",
        "s",
        SigningKey::generate(Algorithm::Ed25519Sha256)?,
    );
    let header = signer.sign(b"From: a@amicale.example\r\n\r\nhi\r\n")?;
    let t: u64 = tag(&header.replace("\r\n", ""), "t").parse().unwrap_or(0);
    assert!(t > 1_700_000_000, "{header}");
    Ok(())
}
