//! Merge-field engine of Amicale: renders e-mail and SMS templates such as
//! `Bonjour {{ person.civility }} {{ person.last_name }}` for each recipient.
//!
//! * [`Engine`] renders with minijinja, locked down for templates written by
//!   network staff: strict undefined (a misspelt field is an error, not an
//!   empty string), HTML auto-escaping for [`Kind::Html`] and none for
//!   [`Kind::Text`] (plain-text parts and SMS), a fuel limit and an output
//!   limit so that no template loops forever or exhausts memory, and only the
//!   filters listed in [`filters`](#filters).
//! * [`validate`] reports syntax errors, unknown fields and fields that do
//!   not fit the template's [`Trigger`]s, each with line and column, before a
//!   template is saved.
//! * [`catalogue`] lists every merge field with its type, descriptions and
//!   example, and builds a sample context for previews.
//! * [`jungo2`] converts templates written in JUNGO2's `${…}` syntax.
//!
//! # Syntax
//!
//! Fields live in the namespaces `person`, `event`, `participant`, `org`,
//! `offer`, `network` and `sender`, plus the top-level `unsubscribe_url` and,
//! for collective events, the list `participants`:
//!
//! ```text
//! Bonjour {{ participant.first_name }},
//! l'atelier « {{ event.title }} » aura lieu le {{ event.start | date("full") }}.
//! {% for p in participants %}{{ p.first_name }} {{ p.last_name }}
//! {% endfor %}
//! ```
//!
//! Statements: `{% if %}`/`{% elif %}`/`{% else %}`, `{% for %}` (not
//! recursive) and `{% filter %}`. `set`, `with`, macros, includes,
//! recursive loops, the `*` and `~` operators and `+` other than with a
//! number constant are refused because they can build values that grow
//! geometrically in a few steps, which fuel alone does not bound.
//! `{% autoescape %}` and the `safe` filter do not exist either: merged
//! values come from members' records and are always escaped in HTML.
//!
//! # Filters
//!
//! * `date(format)`: `format` is a PHP `date()` string as JUNGO2 used them
//!   (`"j F Y à H:i"`, letters `d D j l N w S F m M n y Y H G h g i s a A`,
//!   backslash escapes) or one of `short` (12/03/2026), `long`
//!   (12 mars 2026, the default), `full` (jeudi 12 mars 2026 à 14:30),
//!   `time` (14:30), `datetime` (12/03/2026 14:30). Month and day names
//!   follow the render's [`Locale`]. Values are `YYYY-MM-DD[ HH:MM[:SS]]` or
//!   RFC 3339 strings already in the network's local time: the offset is
//!   ignored, never converted.
//! * `phone`: French numbers as `06 12 34 56 78`, other E.164 numbers as
//!   `+CC …` in groups; anything else unchanged.
//! * `default(value)`: `value` when the field is undefined, null or empty.
//! * `upper`, `lower`, `title`, `capitalize`, `trim` (null stays empty),
//!   `length`, `first`, `last`, `join` (result capped at 256 KiB), `escape`,
//!   `string`, `int`, `float`, `abs`, `round`, `reverse`, `sort`, `unique`,
//!   `list`, `select`, `reject`, `selectattr`, `rejectattr`, `map`, `min`,
//!   `max`, `sum`, `bool`; function `range` (at most 1000 items); the usual
//!   tests (`defined`, `none`, `odd`, `eq`…).
//!
//! A null field prints as nothing, a yes/no field as `oui`/`non` (`yes`/`no`
//! in English); a field absent from the data is an error naming it. A tag
//! holds at most 500 tokens and a template at most 1 MiB.
//!
//! # Mass sends
//!
//! [`Engine::compile`] once per mailing, then [`Compiled::render`] per
//! recipient ([`Engine::render`] keeps the last 64 templates compiled, so it
//! is only about 10 % slower than [`Compiled::render`]). Faster still, [`Compiled::render_value`] takes a context built
//! directly as a [`Value`] with [`record`]: the shared parts (event,
//! network, sender) are built once and cloned for free, only `person` is
//! built per recipient, and no JSON is converted. `examples/merge_bench.rs`
//! shows the pattern (`bench/merge.sh` measures it).
//!
//! # Fuzzing
//!
//! `fuzz/` is a cargo-fuzz project outside the workspace (it has its own
//! `[workspace]` table, so `cargo test` never builds it). Its targets check
//! that rendering arbitrary templates and converting arbitrary JUNGO2 text
//! never panic and that every render stops within the fuel limit:
//!
//! ```text
//! cd crates/amicale-merge/fuzz
//! cargo +nightly fuzz run render
//! cargo +nightly fuzz run convert
//! ```
//!
//! (`cargo install cargo-fuzz` and a nightly toolchain are needed.)

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::sync::LazyLock;

mod check;
mod dates;
mod engine;
mod filters;
mod phone;
mod record;
mod safety;

pub mod catalogue;
pub mod jungo2;

pub use engine::{Compiled, DEFAULT_FUEL, Engine, MAX_OUTPUT};
pub use minijinja::Value;
pub use record::record;
pub use safety::unescaped_output;

/// The kind of text a template produces, which decides escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An HTML e-mail body: merged values are HTML-escaped.
    Html,
    /// A plain-text part, a subject or an SMS: values are inserted as they are.
    Text,
}

/// The language of month and day names in dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    /// French, the default of a French network.
    #[default]
    Fr,
    /// English.
    En,
}

/// What triggers a send, which decides the fields available (JUNGO2 §2.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// A send to people chosen by their record (campaign, message from a
    /// person's record): `person.*`.
    Person,
    /// A send to the participants of an event (from the event's record, or
    /// an automatic reminder): `event.*`, `participant.*`, `participants`.
    Event,
}

/// The class of a [`MergeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The template does not parse, or uses a construct, filter, test or
    /// function merge templates do not have.
    Syntax,
    /// A field that is not in the catalogue.
    UnknownField,
    /// A field that exists but not for the template's trigger.
    WrongTrigger,
    /// Rendering failed (a field missing from the data, a bad date…).
    Render,
    /// Rendering hit a resource limit (fuel, output size, range size).
    Fuel,
}

/// An error of validation, compilation or rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError {
    /// What is wrong, in English, naming the field or construct.
    pub message: String,
    /// 1-based line in the template, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// Class of the error.
    pub kind: ErrorKind,
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for MergeError {}

/// Checks a template before it is saved: syntax, constructs, filters,
/// fields against the catalogue and, when `triggers` is not empty, that
/// every field is available under each of them (a template offered for both
/// person and event sends may only use fields common to both). Returns every
/// problem, in source order, each with its line and column.
pub fn validate(source: &str, kind: Kind, triggers: &[Trigger]) -> Result<(), Vec<MergeError>> {
    check::check(
        source,
        check::Mode {
            fields: true,
            triggers,
        },
    )?;
    // minijinja's own compiler may still refuse what its parser accepted.
    static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::new);
    ENGINE.check_compiles(source, kind).map_err(|err| vec![err])
}
