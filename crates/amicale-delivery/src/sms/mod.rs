//! SMS delivery: the provider account, credit packages, the worker that
//! hands SMS to the provider, and delivery receipts.

pub mod account;
pub mod credit;
pub mod http;
pub mod outbound;
pub mod pricing;
pub mod receipts;
pub mod trial;
pub mod worker;
