//! Security tests: transport.
