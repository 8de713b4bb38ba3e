//! The delivery engine's pages and web doors: sends, SMS settings and
//! credit, sender identities, transport settings, "view as received", and
//! the tracking, bounce and receipt endpoints. The engine itself is the
//! `amicale-delivery` crate.

pub mod archive;
pub mod hooks;
pub mod identity_pages;
pub mod send_pages;
pub mod sms;
pub mod transport_pages;
