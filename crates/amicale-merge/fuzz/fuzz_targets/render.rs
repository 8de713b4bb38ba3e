//! Any template, rendered with the sample context: never panics, always
//! stops (fuel, output and range limits), and what `validate` accepts also
//! compiles and renders without a syntax error.
#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use amicale_merge::{Engine, ErrorKind, Kind, Locale, MAX_OUTPUT, Trigger, catalogue, validate};
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::new);
static CONTEXT: LazyLock<serde_json::Value> =
    LazyLock::new(|| catalogue::sample_context(Locale::Fr));

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(source) = std::str::from_utf8(rest) else {
        return;
    };
    let kind = if selector & 1 == 0 { Kind::Html } else { Kind::Text };
    let locale = if selector & 2 == 0 { Locale::Fr } else { Locale::En };
    let triggers: &[Trigger] = match (selector >> 2) % 3 {
        0 => &[],
        1 => &[Trigger::Person],
        _ => &[Trigger::Event],
    };

    let started = Instant::now();
    let rendered = ENGINE.render(source, kind, locale, &CONTEXT);
    // The fuel, output and range limits bound a render to well under a
    // second even in a debug build; a slower one means a limit leaks.
    assert!(started.elapsed() < Duration::from_secs(5), "render took {:?}", started.elapsed());
    if let Ok(out) = &rendered {
        assert!(out.len() <= MAX_OUTPUT);
    }

    let valid = validate(source, kind, triggers);
    if valid.is_ok() {
        let compiled = ENGINE.compile(source, kind);
        assert!(compiled.is_ok(), "validated but does not compile: {compiled:?}");
        if let Err(e) = &rendered {
            assert_ne!(e.kind, ErrorKind::Syntax, "validated but refused: {e}");
        }
    }
    if let Err(errors) = &valid {
        assert!(!errors.is_empty());
    }
});
