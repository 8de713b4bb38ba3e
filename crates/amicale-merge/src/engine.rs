//! The rendering engine: a locked-down minijinja environment per locale.

use std::io;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Template, UndefinedBehavior, Value};

use crate::check::{self, FilterInputs, Mode};
use crate::{ErrorKind, Kind, Locale, MergeError, filters};

/// Fuel of [`Engine::new`]: minijinja instructions one render may execute.
/// The 5 KB invitation of `examples/merge_bench.rs` uses about 250 with 5
/// participants and 6,500 with 300, so this leaves room for any real
/// message while stopping a runaway loop within milliseconds.
pub const DEFAULT_FUEL: u64 = 100_000;

/// Largest output one render may produce; an e-mail body is far smaller.
pub const MAX_OUTPUT: usize = 4 * 1024 * 1024;

/// Auto-escaping is chosen by template name in minijinja, so the kind is
/// encoded in the name.
fn template_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Html => "merge.html",
        Kind::Text => "merge.txt",
    }
}

fn build_env(locale: Locale, fuel: u64) -> Environment<'static> {
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(fuel));
    // Debug mode snapshots locals into every error; spans are kept anyway.
    env.set_debug(false);
    // A text part or an SMS ending with a newline keeps it.
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // An optional field left empty is null in the data: print nothing rather
    // than minijinja's "none". Yes/no fields print as words of the
    // recipient's language rather than minijinja's "true" or Python's "True".
    let (yes, no) = match locale {
        Locale::Fr => ("oui", "non"),
        Locale::En => ("yes", "no"),
    };
    env.set_formatter(move |out, state, value| {
        if value.is_none() {
            Ok(())
        } else if value.kind() == ValueKind::Bool {
            out.write_str(if value.is_true() { yes } else { no })
                .map_err(|_| minijinja::Error::from(minijinja::ErrorKind::WriteFailure))
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    filters::register(&mut env, locale);
    env
}

/// Templates [`Engine::render`] keeps compiled. A network has a few dozen
/// templates; the application renders each part of one of them for every
/// recipient through that one-shot call.
const CACHE_SIZE: usize = 64;

/// Recently compiled templates, most recent last.
type Cache = Mutex<Vec<(Kind, Arc<Compiled<'static>>)>>;

/// The merge engine. Cheap to share between threads (`Send + Sync`); build
/// one per process.
#[derive(Debug, Clone)]
pub struct Engine {
    fr: Environment<'static>,
    en: Environment<'static>,
    fuel: u64,
    // Shared by clones: they compile identically.
    cache: Arc<Cache>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

/// A template compiled once, to be rendered for many recipients. It holds
/// its own copy of the engine's configuration; the lifetime only keeps the
/// API free to borrow from the engine later.
#[derive(Debug)]
pub struct Compiled<'e> {
    // One environment per locale because the `date` filter is bound to its
    // locale; each holds its own copy of the compiled template.
    fr: Environment<'static>,
    en: Environment<'static>,
    name: &'static str,
    source: String,
    inputs: FilterInputs,
    fuel: u64,
    _engine: PhantomData<&'e Engine>,
}

/// Collects output and stops the render once it exceeds [`MAX_OUTPUT`].
struct CappedOutput {
    buf: Vec<u8>,
}

impl io::Write for CappedOutput {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data).map(|()| data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        if self.buf.len() + data.len() > MAX_OUTPUT {
            return Err(io::Error::other("output limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn first_error(errors: Vec<MergeError>) -> MergeError {
    errors.into_iter().next().unwrap_or_else(|| MergeError {
        message: "invalid template".to_owned(),
        line: None,
        column: None,
        kind: ErrorKind::Syntax,
    })
}

/// The leading dotted name of an expression (`person.nickname` in
/// `person.nickname | upper`), to name the field in an undefined error.
fn leading_path(snippet: &str) -> &str {
    let s = snippet.trim_start();
    let end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(s.len(), |(i, _)| i);
    s[..end].trim_end_matches('.')
}

fn render_error(
    err: &minijinja::Error,
    source: &str,
    inputs: &FilterInputs,
    fuel: u64,
) -> MergeError {
    use minijinja::ErrorKind as Mj;
    let mut offset = err.range().map(|r| r.start);
    let mut snippet = err.range().and_then(|r| source.get(r)).unwrap_or("");
    if err.kind() == Mj::UndefinedError {
        // Raised inside a filter: point at what the filter received.
        if let Some((input_offset, text)) = offset.and_then(|o| inputs.input_of(o)) {
            offset = Some(input_offset);
            snippet = text;
        }
    }
    let detail = err.detail().unwrap_or("");
    let (kind, message) = match err.kind() {
        Mj::OutOfFuel => (
            ErrorKind::Fuel,
            format!("the template ran out of fuel ({fuel} steps): a loop runs too long"),
        ),
        Mj::WriteFailure => (
            ErrorKind::Fuel,
            format!(
                "the output is larger than {} MiB",
                MAX_OUTPUT / (1024 * 1024)
            ),
        ),
        Mj::InvalidOperation if detail == filters::RANGE_TOO_LARGE => {
            (ErrorKind::Fuel, detail.to_owned())
        }
        Mj::UndefinedError => {
            let path = leading_path(snippet);
            let message = if path.is_empty() {
                "a value used here is not defined".to_owned()
            } else {
                format!("`{path}` is not defined (unknown field, or missing from the data)")
            };
            (ErrorKind::Render, message)
        }
        Mj::SyntaxError => (ErrorKind::Syntax, detail.to_owned()),
        other if detail.is_empty() => (ErrorKind::Render, other.to_string()),
        other => (ErrorKind::Render, format!("{other}: {detail}")),
    };
    match offset {
        Some(offset) => check::error_at(source, offset, kind, message),
        None => MergeError {
            message,
            line: err.line(),
            column: None,
            kind,
        },
    }
}

fn run(
    tmpl: &Template<'_, '_>,
    ctx: &Value,
    source: &str,
    inputs: &FilterInputs,
    fuel: u64,
) -> Result<String, MergeError> {
    // Output is usually a little longer than the source (merged values
    // replace shorter tags, escaping adds a few bytes).
    let mut out = CappedOutput {
        buf: Vec::with_capacity(source.len() + source.len() / 4 + 64),
    };
    tmpl.render_captured_to(ctx, &mut out)
        .map_err(|err| render_error(&err, source, inputs, fuel))?;
    String::from_utf8(out.buf).map_err(|_| MergeError {
        message: "the output is not valid UTF-8".to_owned(),
        line: None,
        column: None,
        kind: ErrorKind::Render,
    })
}

impl Engine {
    /// An engine with [`DEFAULT_FUEL`].
    pub fn new() -> Self {
        Self::with_fuel(DEFAULT_FUEL)
    }

    /// An engine whose renders stop after `fuel` template instructions.
    pub fn with_fuel(fuel: u64) -> Self {
        Engine {
            fr: build_env(Locale::Fr, fuel),
            en: build_env(Locale::En, fuel),
            fuel,
            cache: Arc::new(Mutex::new(Vec::with_capacity(CACHE_SIZE))),
        }
    }

    /// The fuel each render receives.
    pub fn fuel(&self) -> u64 {
        self.fuel
    }

    /// Renders `source` for one recipient. The compiled form of the last
    /// few dozen sources is kept, so calling this per recipient does not
    /// recompile; [`Engine::compile`] with [`Compiled::render_value`] remains
    /// the fastest way through a mailing.
    pub fn render(
        &self,
        source: &str,
        kind: Kind,
        locale: Locale,
        ctx: &serde_json::Value,
    ) -> Result<String, MergeError> {
        self.cached(source, kind)?.render(locale, ctx)
    }

    /// [`Engine::render`] from a context already converted with
    /// [`Value::from_serialize`]: the parts of one message (subject, HTML,
    /// text) share one conversion.
    pub fn render_value(
        &self,
        source: &str,
        kind: Kind,
        locale: Locale,
        ctx: &Value,
    ) -> Result<String, MergeError> {
        self.cached(source, kind)?.render_value(locale, ctx)
    }

    /// The compiled form of `source`, from the cache or compiled now.
    fn cached(&self, source: &str, kind: Kind) -> Result<Arc<Compiled<'static>>, MergeError> {
        // No hash of the source: it would read every byte of a 5 KB body
        // for each render, where comparing strings stops at a different
        // length (or first differing byte) for every other entry.
        // A panic elsewhere cannot leave the list inconsistent: every
        // operation on it is a single push, remove or clear.
        let lock = || self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        {
            let mut cache = lock();
            if let Some(i) = cache
                .iter()
                .rposition(|(kd, c)| *kd == kind && c.source == source)
            {
                let compiled = Arc::clone(&cache[i].1);
                // Most recently used last.
                cache[i..].rotate_left(1);
                return Ok(compiled);
            }
        }
        // Compiled outside the lock: other threads keep rendering meanwhile.
        let compiled = Arc::new(self.compile_owned(source, kind)?);
        let mut cache = lock();
        if cache.len() >= CACHE_SIZE {
            cache.remove(0);
        }
        cache.push((kind, Arc::clone(&compiled)));
        Ok(compiled)
    }

    /// Compiles `source` once for rendering many times. Fails on syntax
    /// errors and on constructs merge templates refuse (see
    /// [`crate::validate`] for the full check including fields).
    pub fn compile(&self, source: &str, kind: Kind) -> Result<Compiled<'_>, MergeError> {
        self.compile_owned(source, kind)
    }

    fn compile_owned(&self, source: &str, kind: Kind) -> Result<Compiled<'static>, MergeError> {
        let inputs = check::check(source, Mode::SAFETY).map_err(first_error)?;
        let name = template_name(kind);
        let mut fr = self.fr.clone();
        fr.add_template_owned(name, source.to_owned())
            .map_err(|err| check::syntax_error(source, &err))?;
        let mut en = self.en.clone();
        en.add_template_owned(name, source.to_owned())
            .map_err(|err| check::syntax_error(source, &err))?;
        Ok(Compiled {
            fr,
            en,
            name,
            source: source.to_owned(),
            inputs,
            fuel: self.fuel,
            _engine: PhantomData,
        })
    }
}

impl Engine {
    /// The top-level names a template reads (`event`, `participant`,
    /// `participants`, `unsubscribe_url`…): a sender leaves out of each
    /// message's stored data what its template never reads.
    pub fn roots(
        &self,
        source: &str,
        kind: Kind,
    ) -> Result<std::collections::BTreeSet<String>, MergeError> {
        let tmpl = self
            .fr
            .template_from_named_str(template_name(kind), source)
            .map_err(|err| check::syntax_error(source, &err))?;
        Ok(tmpl.undeclared_variables(false).into_iter().collect())
    }

    /// Compiles `source` without keeping it: the last step of validation.
    pub(crate) fn check_compiles(&self, source: &str, kind: Kind) -> Result<(), MergeError> {
        self.fr
            .template_from_named_str(template_name(kind), source)
            .map(|_| ())
            .map_err(|err| check::syntax_error(source, &err))
    }
}

impl Compiled<'_> {
    /// Renders for one recipient.
    pub fn render(&self, locale: Locale, ctx: &serde_json::Value) -> Result<String, MergeError> {
        self.render_value(locale, &Value::from_serialize(ctx))
    }

    /// Renders for one recipient from a context already built as a
    /// [`minijinja::Value`]: the fast path for mass sends, which can build
    /// the shared parts (event, network, sender) once and only the
    /// recipient's part per message.
    pub fn render_value(&self, locale: Locale, ctx: &Value) -> Result<String, MergeError> {
        let env = match locale {
            Locale::Fr => &self.fr,
            Locale::En => &self.en,
        };
        let tmpl = env
            .get_template(self.name)
            .map_err(|err| check::syntax_error(&self.source, &err))?;
        run(&tmpl, ctx, &self.source, &self.inputs, self.fuel)
    }

    /// The template source.
    pub fn source(&self) -> &str {
        &self.source
    }
}

#[cfg(test)]
mod roots_tests {
    use super::*;

    #[test]
    fn roots_are_the_top_level_names_read() {
        let e = Engine::new();
        let r = e
            .roots(
                "{{ event.title }} {% for p in participants %}{{ p.first_name }}{% endfor %} {{ participant.first_name | upper }}",
                Kind::Html,
            )
            .unwrap();
        let got: Vec<&str> = r.iter().map(String::as_str).collect();
        assert_eq!(got, vec!["event", "participant", "participants"]);
        assert!(e.roots("{{ broken", Kind::Text).is_err());
    }
}
