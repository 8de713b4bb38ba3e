//! SeaORM entities, one module per table.

pub mod login_throttle;
pub mod organisations;
pub mod outbox;
pub mod password_resets;
pub mod persons;
pub mod programmes;
pub mod schedule_slots;
pub mod schedule_tasks;
pub mod sends;
pub mod sessions;
pub mod settings;
pub mod suppressions;
pub mod template_attachments;
pub mod template_versions;
pub mod templates;
pub mod users;
