//! The SMS settings pages: provider account, credit packages, threshold.

pub mod pages;
