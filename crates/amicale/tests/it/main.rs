//! Black-box tests through `spawn_app`: real HTTP, real SMTP, real databases,
//! real Chromium. One binary, so the application is linked once.

mod support;

mod auth;
mod browser;
mod cli;
mod compose;
mod copies;
mod delivery;
mod events;
mod followup;
mod identities;
mod optout;
mod outbox;
mod people;
mod scheduler;
mod security;
mod shell;
mod sms;
mod templates;
mod tracking;
mod transports;
