//! DKIM signing throughput, single thread, over 5 KB messages:
//!
//! ```text
//! cargo run --release -p amicale-mailkit --example dkim_bench
//! ```
//!
//! Each signature includes the body hash and header canonicalization, i.e.
//! the whole cost of `Signer::sign_at`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use amicale_mailkit::dkim::{Algorithm, DkimError, Signer, SigningKey};

/// A 5 KB newsletter-like message (headers, text and HTML parts).
fn message() -> Vec<u8> {
    let mut m = String::with_capacity(6 * 1024);
    m.push_str("From: Amicale <noreply@amicale.example>\r\n");
    m.push_str("To: Jean Dupont <jean.dupont@example.org>\r\n");
    m.push_str("Subject: =?utf-8?q?R=C3=A9union_annuelle?=\r\n");
    m.push_str("Date: Tue, 14 May 2024 08:02:08 +0000\r\n");
    m.push_str("Message-ID: <k3J9sQ2mXvTq8LrZ0aBc@amicale.example>\r\n");
    m.push_str("List-Unsubscribe: <https://amicale.example/u/01HXR7Z5N8Q4W2K6M3T9V0B1CD>\r\n");
    m.push_str("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str("Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n");
    m.push_str("--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    let mut n = 0;
    while m.len() < 2600 {
        n += 1;
        m.push_str(&format!(
            "Ligne {n} : atelier, repas et discussions entre anciens.\r\n"
        ));
    }
    m.push_str("--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n");
    while m.len() < 5 * 1024 - 8 {
        n += 1;
        m.push_str(&format!("<p>Ligne {n} : atelier et repas.</p>\r\n"));
    }
    m.push_str("--b--\r\n");
    m.into_bytes()
}

fn bench(alg: Algorithm, msg: &[u8]) -> Result<(), DkimError> {
    let signer = Signer::new("amicale.example", "bench", SigningKey::generate(alg)?);
    // Warm-up, and a first error surfaces before timing.
    for _ in 0..10 {
        black_box(signer.sign_at(msg, 1_715_673_728)?);
    }
    let budget = Duration::from_secs(2);
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < budget {
        for _ in 0..50 {
            black_box(signer.sign_at(black_box(msg), 1_715_673_728)?);
        }
        count += 50;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{:<15} {:>9.0} signatures/s  ({:>7.1} µs each, {} in {:.2} s)",
        alg.as_str(),
        count as f64 / secs,
        secs * 1e6 / count as f64,
        count,
        secs
    );
    Ok(())
}

fn main() -> Result<(), DkimError> {
    let msg = message();
    println!(
        "DKIM signing, 1 thread, {}-byte message, relaxed/relaxed",
        msg.len()
    );
    bench(Algorithm::Ed25519Sha256, &msg)?;
    bench(Algorithm::RsaSha256, &msg)?;
    Ok(())
}
