//! SMS delivery: the provider account, credit packages, the worker
//! that hands SMS to the provider, delivery receipts and the admin pages.

pub mod account;
pub mod credit;
pub mod outbound;
pub mod pages;
pub mod pricing;
pub mod receipts;
pub mod worker;
