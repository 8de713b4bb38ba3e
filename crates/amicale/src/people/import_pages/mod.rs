//! The import screens: upload, a preview with every rejected row and
//! why, then the import itself as a background job with its progress page.
//! The uploaded file waits in its job row (not on one node's disk), so any
//! node can run it.

pub mod pages;
pub mod service;
mod store;

pub use pages::{confirm, form, preview};
pub use service::{MAX_FILE, Payload, execute};
