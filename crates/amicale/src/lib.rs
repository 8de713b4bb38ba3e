//! Amicale: a self-hosted platform for alumni and partner networks.

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod comms;
pub mod config;
pub mod crypto;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod error;
pub mod events;
pub mod home;
pub mod ops;
pub mod people;
pub mod schedule;
pub mod uploads;
pub mod web;

/// TLS (SMTP, PostgreSQL) uses rustls with ring; the provider must be chosen
/// once per process before any connection, or rustls panics at run time.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
