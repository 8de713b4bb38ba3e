//! Delivery: the outbox, the workers that empty it, the transports, sends
//! that can be paused, and the suppression list.

pub mod archive;
pub mod batch;
pub mod bounce_mailbox;
pub mod bounces;
pub mod copies;
pub mod delivery_settings;
pub mod identities;
pub mod identity_pages;
pub mod mime;
pub mod outbox;
pub mod rate;
pub mod send_pages;
pub mod sends;
pub mod sms;
pub mod smtp_client;
pub mod smtp_url;
pub mod suppressions;
pub mod throttle;
pub mod tracking;
pub mod transport;
pub mod transport_pages;
pub mod worker;
