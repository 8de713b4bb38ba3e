//! Probable duplicates: persons with the same name once folded (case,
//! accents and word order ignored), and a merge that keeps one record —
//! the active account by default — and moves everything of the other to it.

pub mod pages;
pub mod service;
mod store;

pub use pages::{list, merge_page};
pub use service::merge;
