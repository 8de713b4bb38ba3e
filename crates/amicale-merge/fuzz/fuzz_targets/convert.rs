//! Any JUNGO2 text: conversion never panics, always yields a template that
//! compiles and renders with the sample context, and text without signets
//! renders exactly as written.
#![no_main]

use std::sync::LazyLock;

use amicale_merge::{Engine, Kind, Locale, catalogue, jungo2};
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::new);
static CONTEXT: LazyLock<serde_json::Value> =
    LazyLock::new(|| catalogue::sample_context(Locale::Fr));

fuzz_target!(|source: &str| {
    let conversion = jungo2::convert(source);
    for unknown in &conversion.unknown {
        assert!(unknown.line >= 1 && unknown.column >= 1);
    }
    let out = ENGINE.render(&conversion.output, Kind::Text, Locale::Fr, &CONTEXT);
    let out = match out {
        Ok(out) => out,
        Err(e) => panic!("converted template fails: {e}\n{}", conversion.output),
    };
    if !source.contains("${") {
        assert_eq!(out, source);
    }
});
