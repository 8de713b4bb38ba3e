//! The delivery engine: the outbox and the workers that empty it (claim →
//! render the frozen template version → sign → send → record), the SMTP
//! client and SMS providers, tracking tokens, bounce intake, sends that can
//! be paused, suppressions and throttles.
//!
//! It depends on the kernel, the store and the pure crates only: no web
//! framework, no page template, nothing of the application's features. The
//! application above calls it; it never calls the application.

pub mod archive;
pub mod batch;
pub mod bounce_mailbox;
pub mod bounces;
pub mod config;
pub mod copies;
pub mod delivery_settings;
pub mod identities;
pub mod mime;
pub mod outbox;
pub mod rate;
pub mod sends;
pub mod sms;
pub mod smtp_client;
pub mod smtp_url;
pub mod state;
pub mod suppressions;
pub mod templates;
pub mod throttle;
pub mod tracking;
pub mod transport;
pub mod transport_settings;
pub mod worker;

pub use state::{Engine, Shutdown};
