//! The web shell: middleware stack, shared extractors, layout, assets.

pub mod assets;
pub mod client;
pub mod cookies;
pub mod csrf;
pub mod errors;
pub mod extract;
pub mod form;
pub mod headers;
pub mod nav;
pub mod page;
pub mod server;
pub mod session;
