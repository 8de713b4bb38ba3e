//! E-mail building blocks of Amicale's delivery engine, free of I/O so that
//! they can be tested exhaustively:
//!
//! - [`dsn`] reads bounces: RFC 3464 delivery status notifications with
//!   RFC 3463 status codes, plus a cautious reading of the plain-text bounces
//!   that older MTAs still send, and decides whether an address is dead
//!   ([`dsn::Severity::Hard`]) or the problem is passing
//!   ([`dsn::Severity::Soft`]).
//! - [`dkim`] signs outgoing messages (RFC 6376, relaxed/relaxed) with
//!   Ed25519-SHA256 (RFC 8463) or RSA-SHA256 keys, generates those keys and
//!   gives the DNS record to publish.
//! - [`smtp`] speaks the client's side of SMTP without the socket: replies,
//!   extensions, commands and dot-stuffed message data.
//!
//! Nothing here reads files, the network or a database; the only outside
//! inputs are the system clock ([`dkim::Signer::sign`]) and the system random
//! source (key generation, RSA blinding).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dkim;
pub mod dsn;
pub mod smtp;
