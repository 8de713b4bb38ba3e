//! Secret key, random tokens, digests and HMAC signatures.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use ring::aead;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The network's secret: signs CSRF tokens and links, encrypts stored secrets.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A configured key is stretched to 32 bytes with SHA-256 so any long
    /// random string works.
    pub fn from_config(value: &str) -> Result<Self, &'static str> {
        if value.len() < 32 {
            return Err("secret_key must be at least 32 characters");
        }
        Ok(SecretKey(Sha256::digest(value.as_bytes()).into()))
    }

    pub fn sign(&self, purpose: &str, data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, data).finalize().into_bytes())
    }

    pub fn verify(&self, purpose: &str, data: &[u8], signature: &str) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.mac(purpose, data).verify_slice(&sig).is_ok()
    }

    /// Encrypts a stored secret (a provider token, an SMTP password) with a
    /// key derived for `purpose`: a copied database without the secret key
    /// reveals nothing. Output: URL-safe base64 of nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, purpose: &str, plaintext: &str) -> String {
        let mut nonce = [0u8; aead::NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut buf = plaintext.as_bytes().to_vec();
        self.aead_key(purpose)
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(purpose.as_bytes()),
                &mut buf,
            )
            .expect("ChaCha20-Poly1305 seals any length we store");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The plaintext of [`SecretKey::seal`]; `None` when it was sealed with
    /// another key or purpose, or altered.
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<String> {
        let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if raw.len() < aead::NONCE_LEN + aead::CHACHA20_POLY1305.tag_len() {
            return None;
        }
        let (nonce, rest) = raw.split_at(aead::NONCE_LEN);
        let mut buf = rest.to_vec();
        let plain = self
            .aead_key(purpose)
            .open_in_place(
                aead::Nonce::try_assume_unique_for_key(nonce).ok()?,
                aead::Aad::from(purpose.as_bytes()),
                &mut buf,
            )
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }

    fn aead_key(&self, purpose: &str) -> aead::LessSafeKey {
        let derived = self.mac("seal", purpose.as_bytes()).finalize().into_bytes();
        aead::LessSafeKey::new(
            aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &derived)
                .expect("a 32-byte key fits ChaCha20-Poly1305"),
        )
    }

    fn mac(&self, purpose: &str, data: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(data);
        mac
    }
}

/// `bytes` random bytes from the OS generator, URL-safe base64.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Tokens are stored hashed, so a leaked database holds no usable link or session.
pub fn sha256_hex(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_tamper() {
        let k = SecretKey::from_config(&"k".repeat(40)).unwrap();
        let s = k.sign("csrf", b"abc");
        assert!(k.verify("csrf", b"abc", &s));
        assert!(!k.verify("csrf", b"abd", &s));
        assert!(!k.verify("link", b"abc", &s));
        assert!(!k.verify("csrf", b"abc", "not-base64!"));
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_purpose() {
        let k = SecretKey::from_config(&"k".repeat(40)).unwrap();
        let sealed = k.seal("sms", "tok-123");
        assert!(!sealed.contains("tok-123"));
        assert_ne!(sealed, k.seal("sms", "tok-123"), "a fresh nonce each time");
        assert_eq!(k.open("sms", &sealed).as_deref(), Some("tok-123"));
        assert_eq!(k.open("smtp", &sealed), None);
        let other = SecretKey::from_config(&"j".repeat(40)).unwrap();
        assert_eq!(other.open("sms", &sealed), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        bytes[14] ^= 1;
        assert_eq!(k.open("sms", &URL_SAFE_NO_PAD.encode(bytes)), None);
        assert_eq!(k.open("sms", "short"), None);
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(random_token(32), random_token(32));
        assert_eq!(sha256_hex("a").len(), 64);
    }
}
