//! Shared by the DKIM tests.

#![allow(dead_code)]

use amicale_mailkit::dkim::SigningKey;

/// Throw-away RSA-2048 key made for these tests with
/// `openssl genrsa -traditional 2048` (PKCS#1 PEM, as opendkim-genkey writes).
pub const RSA2048_PKCS1_PEM: &str = include_str!("../keys/test-rsa2048-pkcs1.pem");
/// Its SubjectPublicKeyInfo, base64, from `openssl pkey -pubout -outform DER`.
pub const RSA2048_SPKI_B64: &str = include_str!("../keys/test-rsa2048-spki.b64");
/// A 1024-bit key, which ring refuses to sign with.
pub const RSA1024_PKCS1_PEM: &str = include_str!("../keys/test-rsa1024-pkcs1.pem");

pub fn rsa_key() -> SigningKey {
    match SigningKey::from_pkcs8_pem(RSA2048_PKCS1_PEM) {
        Ok(k) => k,
        Err(e) => panic!("test RSA key: {e}"),
    }
}

/// A message shaped like the outbox's: multipart/alternative, folded and
/// encoded headers, list headers, lines with trailing white space, tabs and
/// trailing empty lines, so that canonicalization matters. The body is padded
/// to about `size` bytes.
pub fn newsletter(size: usize) -> Vec<u8> {
    let mut m = String::with_capacity(size + 2048);
    m.push_str(
        "From: =?utf-8?q?Amicale_des_anciens_du_lyc=C3=A9e_Hugo?= <noreply@amicale.example>\r\n",
    );
    m.push_str("Reply-To: bureau@amicale.example\r\n");
    m.push_str("To: Jean Dupont <jean.dupont@example.org>\r\n");
    m.push_str("Cc: tresorier@amicale.example,\r\n  secretaire@amicale.example\r\n");
    m.push_str("Subject: =?utf-8?q?R=C3=A9union_annuelle_du_15_juin_:_programme?=\r\n =?utf-8?q?_et_inscriptions?=\r\n");
    m.push_str("Date: Tue, 14 May 2024 08:02:08 +0000\r\n");
    m.push_str("Message-ID: <k3J9sQ2mXvTq8LrZ0aBc@amicale.example>\r\n");
    m.push_str("X-Amicale-Id: 01HXR7Z5N8Q4W2K6M3T9V0B1CD\r\n");
    m.push_str("List-Unsubscribe: <https://amicale.example/u/01HXR7Z5N8Q4W2K6M3T9V0B1CD>,\r\n\t<mailto:unsubscribe+01HXR7Z5@amicale.example>\r\n");
    m.push_str("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str("Content-Type: multipart/alternative;\r\n boundary=\"=_amicale_0123456789\"\r\n");
    m.push_str("\r\n");
    m.push_str("--=_amicale_0123456789\r\n");
    m.push_str(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    m.push_str("Bonjour Jean,   \r\n\r\nLa   réunion\tannuelle aura lieu le 15 juin.\t \r\n\r\n");
    let mut n = 0;
    while m.len() < size.saturating_sub(200) {
        n += 1;
        m.push_str(&format!(
            "Ligne {n} du programme :  atelier, repas\tet   discussions.  \r\n"
        ));
    }
    m.push_str("--=_amicale_0123456789\r\n");
    m.push_str("Content-Type: text/html; charset=utf-8\r\n\r\n");
    m.push_str("<p>Bonjour Jean,</p>\r\n<p>La réunion annuelle aura lieu le 15 juin.</p>\r\n");
    m.push_str("--=_amicale_0123456789--\r\n\r\n\r\n \r\n");
    m.into_bytes()
}
