//! DKIM private keys: generation, PEM import/export and the DNS record.

use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use super::{Algorithm, DkimError};

/// Size of generated RSA keys. 2048 bits is what RFC 8301 recommends and what
/// every DNS host accepts in a TXT record (4096-bit records break some
/// providers' 255-character string handling).
const RSA_SIZE: KeySize = KeySize::Rsa2048;

/// DER of the rsaEncryption algorithm identifier:
/// SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }.
const RSA_ALGORITHM_ID: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

enum Pair {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A DKIM private key, ready to sign.
///
/// The PKCS#8 document is kept (zeroed on drop) so that the application can
/// export it once with [`SigningKey::to_pkcs8_pem`] and store it encrypted,
/// in the very bytes it was read from.
pub struct SigningKey {
    pair: Pair,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for SigningKey {
    // Never print key material: this type ends up in logged configuration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    /// Generates a new key: Ed25519 or RSA-2048.
    ///
    /// RSA generation takes from a fraction of a second to a few seconds (it
    /// searches for primes); run it off the async executor.
    pub fn generate(alg: Algorithm) -> Result<Self, DkimError> {
        match alg {
            Algorithm::Ed25519Sha256 => {
                let rng = SystemRandom::new();
                let doc = Ed25519KeyPair::generate_pkcs8(&rng)
                    .map_err(|_| DkimError::KeyGeneration("ed25519: no randomness".into()))?;
                Self::from_pkcs8_der(doc.as_ref())
            }
            Algorithm::RsaSha256 => {
                let fail = |_| DkimError::KeyGeneration("rsa: generation failed".into());
                let doc = RsaKeyPair::generate(RSA_SIZE)
                    .map_err(fail)?
                    .as_der()
                    .map_err(fail)?;
                Self::from_pkcs8_der(doc.as_ref())
            }
        }
    }

    /// Reads a PEM private key: `PRIVATE KEY` (PKCS#8, Ed25519 v1 or v2, or
    /// RSA) or `RSA PRIVATE KEY` (PKCS#1, what `opendkim-genkey` and older
    /// OpenSSL write), so that existing keys can be imported. Encrypted PEM is
    /// refused: the application decrypts before calling this.
    ///
    /// RSA keys must be 2048 to 8192 bits.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, DkimError> {
        let (label, der) = decode_pem(pem)?;
        let der = Zeroizing::new(der);
        match label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "RSA PRIVATE KEY" => Self::from_pkcs8_der(&pkcs1_to_pkcs8(&der)),
            "ENCRYPTED PRIVATE KEY" => Err(DkimError::InvalidKey(
                "encrypted PKCS#8 is not supported; decrypt it first".into(),
            )),
            other => Err(DkimError::InvalidKey(format!(
                "PEM block \"{other}\" is not a private key"
            ))),
        }
    }

    /// Reads a DER-encoded PKCS#8 private key (Ed25519 or RSA).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, DkimError> {
        // "maybe_unchecked" accepts PKCS#8 v1 (no public key inside), which
        // is what OpenSSL writes for Ed25519.
        let ed_err = match Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            Ok(pair) => {
                return Ok(Self {
                    pair: Pair::Ed25519(pair),
                    pkcs8: Zeroizing::new(der.to_vec()),
                });
            }
            Err(e) => e,
        };
        match RsaKeyPair::from_pkcs8(der) {
            Ok(pair) => Ok(Self {
                pair: Pair::Rsa(pair),
                pkcs8: Zeroizing::new(der.to_vec()),
            }),
            Err(rsa_err) => Err(DkimError::InvalidKey(format!(
                "neither an Ed25519 key ({ed_err}) nor a usable RSA key ({rsa_err})"
            ))),
        }
    }

    /// The key as PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`), for storage.
    /// The returned string is a secret: encrypt it before it touches a disk.
    pub fn to_pkcs8_pem(&self) -> String {
        encode_pem("PRIVATE KEY", &self.pkcs8)
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self.pair {
            Pair::Ed25519(_) => Algorithm::Ed25519Sha256,
            Pair::Rsa(_) => Algorithm::RsaSha256,
        }
    }

    /// The value of the `<selector>._domainkey.<domain>` TXT record:
    /// `v=DKIM1; k=ed25519; p=<32-byte key>` (RFC 8463) or
    /// `v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>`.
    ///
    /// For RSA the value is about 410 characters: DNS hosts must split it into
    /// several strings of at most 255 characters (most web interfaces do it
    /// themselves; in a zone file write `"…" "…"`).
    pub fn dns_txt_record(&self) -> String {
        let (k, p) = match &self.pair {
            Pair::Ed25519(pair) => ("ed25519", B64.encode(pair.public_key().as_ref())),
            // SubjectPublicKeyInfo rather than the bare PKCS#1 key, because
            // that is what OpenSSL tooling publishes and every verifier
            // accepts.
            Pair::Rsa(pair) => ("rsa", B64.encode(rsa_spki(pair.public_key().as_ref()))),
        };
        format!("v=DKIM1; k={k}; p={p}")
    }

    /// Signs the header hash input `data` (RFC 6376 §3.7).
    pub(crate) fn sign(&self, data: &[u8]) -> Result<Vec<u8>, DkimError> {
        match &self.pair {
            // RFC 8463 §3: Ed25519 (PureEdDSA) signs the SHA-256 hash of the
            // data, not the data itself.
            Pair::Ed25519(pair) => {
                let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
                Ok(pair.sign(hash.as_ref()).as_ref().to_vec())
            }
            Pair::Rsa(pair) => {
                // The random source is ignored (AWS-LC blinds with its own).
                let rng = SystemRandom::new();
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    data,
                    &mut sig,
                )
                .map_err(|_| DkimError::Signing)?;
                Ok(sig)
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn from_ed25519_seed(seed: &[u8]) -> Result<Self, DkimError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|e| DkimError::InvalidKey(e.to_string()))?;
        Ok(Self {
            pair: Pair::Ed25519(pair),
            pkcs8: Zeroizing::new(Vec::new()),
        })
    }
}

/// Finds the first PEM block and returns its label and decoded content.
fn decode_pem(pem: &str) -> Result<(String, Vec<u8>), DkimError> {
    let bad = |why: &str| DkimError::InvalidKey(format!("not a PEM key: {why}"));
    let begin = pem
        .find("-----BEGIN ")
        .ok_or_else(|| bad("no BEGIN line"))?;
    let after_begin = &pem[begin + "-----BEGIN ".len()..];
    let label_end = after_begin
        .find("-----")
        .ok_or_else(|| bad("unterminated BEGIN line"))?;
    let label = after_begin[..label_end].trim().to_string();
    let content_and_rest = &after_begin[label_end + "-----".len()..];
    let end_marker = format!("-----END {label}-----");
    let end = content_and_rest
        .find(&end_marker)
        .ok_or_else(|| bad("no matching END line"))?;
    let content = &content_and_rest[..end];
    if content.contains(':') {
        // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED") mean OpenSSL's
        // legacy encrypted format.
        return Err(DkimError::InvalidKey(
            "encrypted PEM is not supported; decrypt it first".into(),
        ));
    }
    let compact: Zeroizing<Vec<u8>> = Zeroizing::new(
        content
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect(),
    );
    let der = B64
        .decode(compact.as_slice())
        .map_err(|_| bad("invalid base64"))?;
    Ok((label, der))
}

fn encode_pem(label: &str, der: &[u8]) -> String {
    let b64 = Zeroizing::new(B64.encode(der));
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // 64-character lines, as RFC 7468 requires for strict parsers.
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Appends a DER length.
fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends a DER TLV.
fn der_tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    der_len(content.len(), out);
    out.extend_from_slice(content);
}

/// SubjectPublicKeyInfo around a PKCS#1 RSAPublicKey.
fn rsa_spki(pkcs1_public: &[u8]) -> Vec<u8> {
    let mut bit_string = Vec::with_capacity(pkcs1_public.len() + 1);
    bit_string.push(0); // no unused bits
    bit_string.extend_from_slice(pkcs1_public);
    let mut inner = RSA_ALGORITHM_ID.to_vec();
    der_tlv(0x03, &bit_string, &mut inner);
    let mut out = Vec::with_capacity(inner.len() + 4);
    der_tlv(0x30, &inner, &mut out);
    out
}

/// PKCS#8 PrivateKeyInfo (version 0) around a PKCS#1 RSAPrivateKey.
fn pkcs1_to_pkcs8(pkcs1_private: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut inner = Zeroizing::new(Vec::with_capacity(pkcs1_private.len() + 32));
    inner.extend_from_slice(&[0x02, 0x01, 0x00]); // INTEGER 0
    inner.extend_from_slice(RSA_ALGORITHM_ID);
    der_tlv(0x04, pkcs1_private, &mut inner);
    let mut out = Zeroizing::new(Vec::with_capacity(inner.len() + 4));
    der_tlv(0x30, &inner, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths() {
        let mut out = Vec::new();
        der_len(5, &mut out);
        der_len(0x80, &mut out);
        der_len(0x1234, &mut out);
        assert_eq!(out, [5, 0x81, 0x80, 0x82, 0x12, 0x34]);
    }

    #[test]
    fn ed25519_round_trip_and_record() -> Result<(), DkimError> {
        let key = SigningKey::generate(Algorithm::Ed25519Sha256)?;
        assert_eq!(key.algorithm(), Algorithm::Ed25519Sha256);
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
        let again = SigningKey::from_pkcs8_pem(&pem)?;
        assert_eq!(again.dns_txt_record(), key.dns_txt_record());
        let record = key.dns_txt_record();
        let p = record
            .strip_prefix("v=DKIM1; k=ed25519; p=")
            .ok_or(DkimError::Signing)?;
        assert_eq!(B64.decode(p).map(|v| v.len()).ok(), Some(32));
        Ok(())
    }

    /// An Ed25519 key as OpenSSL writes it (PKCS#8 v1, RFC 8410 §10.3).
    #[test]
    fn openssl_ed25519_v1_pem() -> Result<(), DkimError> {
        let pem = "-----BEGIN PRIVATE KEY-----\n\
                   MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
                   -----END PRIVATE KEY-----\n";
        let key = SigningKey::from_pkcs8_pem(pem)?;
        assert_eq!(key.algorithm(), Algorithm::Ed25519Sha256);
        // RFC 8410 §10.3 gives the public key of that private key.
        assert_eq!(
            key.dns_txt_record(),
            "v=DKIM1; k=ed25519; p=Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="
        );
        assert_eq!(
            SigningKey::from_pkcs8_pem(&key.to_pkcs8_pem())?.algorithm(),
            key.algorithm()
        );
        Ok(())
    }

    #[test]
    fn rejects_garbage_and_encrypted() {
        assert!(matches!(
            SigningKey::from_pkcs8_pem("hello"),
            Err(DkimError::InvalidKey(_))
        ));
        assert!(matches!(
            SigningKey::from_pkcs8_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ),
            Err(DkimError::InvalidKey(_))
        ));
        assert!(matches!(
            SigningKey::from_pkcs8_pem(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
            ),
            Err(DkimError::InvalidKey(_))
        ));
        assert!(matches!(
            SigningKey::from_pkcs8_pem(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"
            ),
            Err(DkimError::InvalidKey(_))
        ));
    }

    #[test]
    fn debug_redacts() -> Result<(), DkimError> {
        let key = SigningKey::generate(Algorithm::Ed25519Sha256)?;
        let shown = format!("{key:?}");
        assert!(shown.contains("redacted"));
        let pem = key.to_pkcs8_pem();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(!shown.contains(&body));
        assert!(!shown.contains(&body[body.len() - 20..]));
        Ok(())
    }
}
