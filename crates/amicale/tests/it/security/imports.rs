//! Security tests: imports.
