//! Sending from a person page and from an event page: pick a channel and
//! one or more templates, one message per template; and the history of
//! what concerns a person or an event, whatever sent it.

mod pages;
pub mod service;
mod store;

pub use pages::{person_page, person_send, send_event};
pub use service::{
    CHANNELS, HistoryRow, SendPanel, TemplateChoice, allowed_templates, event_history, event_panel,
    identity_choices, next_batch, person_history, sender,
};
