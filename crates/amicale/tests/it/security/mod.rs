//! Regression tests of the security review (issue 20): each refusal here
//! failed before its fix. Grouped by the part of the product they attack.

mod accounts;
mod content;
mod fields;
mod imports;
mod registration;
mod transport;
