//! Self-registration: a public form whose requests wait in a
//! moderation queue; the person is told by e-mail when accepted or refused.
//! Recruiters are accepted at once, once their address is proven.
//!
//! Nothing touches `persons` or `users` before the address is proven: the
//! form only stores the request and mails a single-use, expiring link to
//! the address (a visitor typing an alumnus's address could otherwise take
//! over or hide that record). The answer never tells a visitor whether an
//! address already has an account: that person gets an e-mail instead.

pub mod pages;
pub mod service;
pub(crate) mod store;

pub use service::{ROLES, purge_expired};
