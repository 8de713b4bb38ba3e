//! The members' directory: quick and advanced search, result cards,
//! profiles. Members and administrators only.

pub mod pages;
pub mod service;
pub mod store;

pub use pages::{initials, serde_urlencoded_criteria};
pub use service::{COUNT_CAP, PER_PAGE, ProfileView, profile_view};
pub use store::organisation_names;
