//! Groups and saved lists. Groups are named sets that members belong
//! to (promo, programme, chapter, interest). A saved list is made from a
//! directory or CRM search: "static" keeps the persons found when it was
//! saved, "re-evaluated" keeps the criteria and runs them again each time.

pub mod pages;
pub mod service;
mod store;

pub use service::{GROUP_KINDS, create_static, members_condition, static_lists};
