//! `dsn::parse` must never panic, and what it returns must be well formed.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(bounce) = amicale_mailkit::dsn::parse(data) {
        assert!(!bounce.recipients.is_empty());
        for r in &bounce.recipients {
            assert!(!r.address.is_empty());
            assert_eq!(r.status.split('.').count(), 3);
        }
    }
});
