//! Delivery: the outbox, the workers that empty it, and the transports.

pub mod outbox;
pub mod smtp;
pub mod transport;
pub mod worker;
