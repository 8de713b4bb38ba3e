//! Account lifecycle: invitations with a link to finish the
//! account and reminders at D+4, D+10 and D+60; deactivation by the member,
//! reactivation by logging in; a new login address proven by a link.

pub mod notice;
pub mod pages;
pub mod service;
mod store;

pub use notice::Notice;
pub use service::{
    EMAIL_CHANGE_HOURS, REMINDER_DAYS, Skip, VALID_DAYS, invite, open_account, reactivate, remind,
};
