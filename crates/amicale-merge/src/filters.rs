//! The filters, tests and functions a merge template may call.
//!
//! The environment starts empty and receives only what is listed here:
//! builtins that can amplify memory in a single step (`replace`, `indent`,
//! `format`, `batch`, `slice`, string repetition…) are left out, `join` and
//! `range` are capped, and the string filters treat a null field as empty so
//! that a missing optional value prints nothing instead of "none".

use minijinja::value::Rest;
use minijinja::{Environment, Error, ErrorKind, Value, filters, tests};

use crate::{Locale, dates, phone};

/// Largest string `join` may build; keeps nested joins from multiplying
/// memory.
pub(crate) const MAX_JOIN_LEN: usize = 256 * 1024;
/// Largest `range()`; enough for any loop a message needs.
pub(crate) const MAX_RANGE: usize = 1000;
/// Detail of the error raised by `range()` past [`MAX_RANGE`], recognised to
/// report it as a resource limit.
pub(crate) const RANGE_TOO_LARGE: &str = "range() is limited to 1000 items in merge templates";

/// Filter names available to templates.
pub(crate) const FILTERS: &[&str] = &[
    "default",
    "d",
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "date",
    "phone",
    "length",
    "count",
    "first",
    "last",
    "join",
    "escape",
    "e",
    "string",
    "int",
    "float",
    "abs",
    "round",
    "reverse",
    "sort",
    "unique",
    "list",
    "select",
    "reject",
    "selectattr",
    "rejectattr",
    "map",
    "min",
    "max",
    "sum",
    "bool",
];

/// Test names available to templates (`x is defined`).
pub(crate) const TESTS: &[&str] = &[
    "defined",
    "undefined",
    "none",
    "true",
    "false",
    "boolean",
    "number",
    "integer",
    "float",
    "string",
    "sequence",
    "mapping",
    "odd",
    "even",
    "divisibleby",
    "startingwith",
    "endingwith",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "in",
];

/// Functions available to templates.
pub(crate) const FUNCTIONS: &[&str] = &["range"];

/// Strict undefined must stay strict inside filters: a misspelt field piped
/// into `upper` is as wrong as one printed directly.
fn reject_undefined(value: &Value) -> Result<(), Error> {
    if value.is_undefined() {
        Err(Error::from(ErrorKind::UndefinedError))
    } else {
        Ok(())
    }
}

/// Applies `f` to the text of `value`, passing null through so it prints as
/// nothing.
fn map_text(value: &Value, f: impl FnOnce(&str) -> String) -> Result<Value, Error> {
    reject_undefined(value)?;
    if value.is_none() {
        return Ok(Value::from(()));
    }
    Ok(Value::from(match value.as_str() {
        Some(s) => f(s),
        None => f(&value.to_string()),
    }))
}

fn default(value: &Value, args: Rest<Value>) -> Value {
    // Unlike Jinja2's `default`, empty and null count as missing without the
    // boolean flag: an optional field left blank is the common case here.
    let missing = value.is_undefined()
        || value.is_none()
        || value.as_str().is_some_and(|s| s.trim().is_empty());
    if missing {
        args.first().cloned().unwrap_or_else(|| Value::from(""))
    } else {
        value.clone()
    }
}

fn date(locale: Locale, value: &Value, format: Option<&str>) -> Result<Value, Error> {
    reject_undefined(value)?;
    if value.is_none() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
        return Ok(Value::from(()));
    }
    let Some(text) = value.as_str() else {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("date: expected a date string, got {}", value.kind()),
        ));
    };
    let Some(parsed) = dates::parse(text) else {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "date: \"{text}\" is not a date (expected YYYY-MM-DD[ HH:MM[:SS]] or RFC 3339)"
            ),
        ));
    };
    Ok(Value::from(dates::format(
        &parsed,
        format.unwrap_or("long"),
        locale,
    )))
}

fn join(value: &Value, separator: Option<&str>) -> Result<String, Error> {
    reject_undefined(value)?;
    if value.is_none() {
        return Ok(String::new());
    }
    let separator = separator.unwrap_or("");
    let mut out = String::new();
    for (i, item) in value.try_iter()?.enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        if !item.is_none() {
            use std::fmt::Write as _;
            let _ = write!(out, "{item}");
        }
        if out.len() > MAX_JOIN_LEN {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "join: the result is larger than 256 KiB",
            ));
        }
    }
    Ok(out)
}

fn range(lower: i64, upper: Option<i64>, step: Option<i64>) -> Result<Value, Error> {
    let (start, stop) = match upper {
        Some(upper) => (lower, upper),
        None => (0, lower),
    };
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "range() step cannot be 0",
        ));
    }
    let span = if step > 0 {
        stop.saturating_sub(start)
    } else {
        start.saturating_sub(stop)
    };
    let count = if span <= 0 {
        0
    } else {
        let step_abs = step.unsigned_abs();
        span.unsigned_abs().div_ceil(step_abs)
    };
    if count > MAX_RANGE as u64 {
        return Err(Error::new(ErrorKind::InvalidOperation, RANGE_TOO_LARGE));
    }
    let items: Vec<Value> = (0..count as i64)
        .map(|i| Value::from(start + i * step))
        .collect();
    Ok(Value::from(items))
}

/// Registers every filter, test and function of merge templates on `env`,
/// with the date filter bound to `locale`.
pub(crate) fn register(env: &mut Environment<'static>, locale: Locale) {
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("upper", |v: &Value| map_text(v, str::to_uppercase));
    env.add_filter("lower", |v: &Value| map_text(v, str::to_lowercase));
    env.add_filter("title", |v: &Value| {
        map_text(v, |s| filters::title(s.into()))
    });
    env.add_filter("capitalize", |v: &Value| {
        map_text(v, |s| {
            let mut chars = s.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
    });
    env.add_filter("trim", |v: &Value| map_text(v, |s| s.trim().to_owned()));
    env.add_filter("date", move |v: &Value, f: Option<&str>| date(locale, v, f));
    env.add_filter("phone", |v: &Value| map_text(v, phone::format));
    env.add_filter("length", filters::length);
    env.add_filter("count", filters::length);
    env.add_filter("first", filters::first);
    env.add_filter("last", filters::last);
    env.add_filter("join", join);
    env.add_filter("escape", filters::escape);
    env.add_filter("e", filters::escape);
    env.add_filter("string", filters::string);
    env.add_filter("int", filters::int);
    env.add_filter("float", filters::float);
    env.add_filter("abs", filters::abs);
    env.add_filter("round", filters::round);
    env.add_filter("reverse", filters::reverse);
    env.add_filter("sort", filters::sort);
    env.add_filter("unique", filters::unique);
    env.add_filter("list", filters::list);
    env.add_filter("select", filters::select);
    env.add_filter("reject", filters::reject);
    env.add_filter("selectattr", filters::selectattr);
    env.add_filter("rejectattr", filters::rejectattr);
    env.add_filter("map", filters::map);
    env.add_filter("min", filters::min);
    env.add_filter("max", filters::max);
    env.add_filter("sum", filters::sum);
    env.add_filter("bool", filters::bool);

    env.add_test("defined", tests::is_defined);
    env.add_test("undefined", tests::is_undefined);
    env.add_test("none", tests::is_none);
    env.add_test("true", tests::is_true);
    env.add_test("false", tests::is_false);
    env.add_test("boolean", tests::is_boolean);
    env.add_test("number", tests::is_number);
    env.add_test("integer", tests::is_integer);
    env.add_test("float", tests::is_float);
    env.add_test("string", tests::is_string);
    env.add_test("sequence", tests::is_sequence);
    env.add_test("mapping", tests::is_mapping);
    env.add_test("odd", tests::is_odd);
    env.add_test("even", tests::is_even);
    env.add_test("divisibleby", tests::is_divisibleby);
    env.add_test("startingwith", tests::is_startingwith);
    env.add_test("endingwith", tests::is_endingwith);
    env.add_test("eq", tests::is_eq);
    env.add_test("ne", tests::is_ne);
    env.add_test("lt", tests::is_lt);
    env.add_test("le", tests::is_le);
    env.add_test("gt", tests::is_gt);
    env.add_test("ge", tests::is_ge);
    env.add_test("in", tests::is_in);

    env.add_function("range", range);
}

/// Whether a filter of this name exists; used by validation.
pub(crate) fn has_filter(name: &str) -> bool {
    FILTERS.contains(&name)
}

/// Whether a test of this name exists; used by validation.
pub(crate) fn has_test(name: &str) -> bool {
    TESTS.contains(&name)
}
