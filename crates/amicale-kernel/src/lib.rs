//! The types every floor of Amicale shares. Knows no database and no HTTP,
//! so anything can depend on it and it depends on nothing of ours but the
//! pure people crate.

pub mod channel;
pub mod crypto;
pub mod fields;
pub mod locale;
pub mod login;
pub mod permissions;
pub mod time;

pub use amicale_people::{Email, Line, Phone, Text};
pub use channel::{Channel, SendChannel};
pub use locale::Locale;
pub use login::Login;
