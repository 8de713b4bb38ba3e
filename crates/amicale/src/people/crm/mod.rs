//! The CRM list: every person with a status dot, cumulative filters,
//! a remembered choice of columns, sorting, paging, selection of some, a
//! page or all matching, and bulk actions.

pub mod pages;
pub mod service;
pub mod store;

pub use pages::hidden_criteria;
pub use service::{COLUMNS, PER_PAGE};
pub use store::{Named, Opt, choices, options};
