//! Static checks on a template's syntax tree.
//!
//! Two jobs share one walk. The *safety* check always runs before a template
//! is compiled: fuel bounds the number of instructions, but a handful of
//! constructs can grow memory geometrically in few instructions (`{% set a =
//! a ~ a %}` repeated, string repetition with `*`, recursive loops, `with`
//! nesting), so they are refused outright; merge templates only need output,
//! conditions, loops and filters. The *field* check runs on validation
//! before a template is saved: every field path must exist in the catalogue
//! and be available under the template's triggers, and every filter, test
//! and function must exist, each problem reported with its line and column.

use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, Stmt};
use minijinja::machinery::{self, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;

use crate::catalogue::{self, Field, FieldType};
use crate::{ErrorKind, MergeError, Trigger, filters};

/// Largest template source accepted; far above any real message and keeps
/// parsing cost bounded.
pub(crate) const MAX_SOURCE_LEN: usize = 1024 * 1024;

/// Most tokens one `{{ … }}` or `{% … %}` may hold. Chains such as
/// `a.b.c…` or `1 - 1 - 1…` are parsed by a loop but build a tree as deep as
/// they are long, which minijinja's compiler and this walker then recurse
/// through: past about a thousand levels a 2 MiB thread stack overflows.
/// Real tags hold a few dozen tokens.
pub(crate) const MAX_TAG_TOKENS: usize = 500;

/// What a walk checks besides safety.
#[derive(Clone, Copy)]
pub(crate) struct Mode<'t> {
    /// Check fields, filters, tests and functions against the catalogue.
    pub fields: bool,
    /// Triggers every used field must be available under.
    pub triggers: &'t [Trigger],
}

impl Mode<'static> {
    /// Safety only: what compiling and rendering always enforce.
    pub const SAFETY: Mode<'static> = Mode {
        fields: false,
        triggers: &[],
    };
}

/// Converts a byte offset into a 1-based line and a 1-based column counted
/// in characters, which is what an editor shows.
pub(crate) fn locate(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let mut start = offset;
    while !source.is_char_boundary(start) {
        start -= 1;
    }
    let before = &source[..start];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Builds an error located at `offset` in `source`.
pub(crate) fn error_at(
    source: &str,
    offset: usize,
    kind: ErrorKind,
    message: String,
) -> MergeError {
    let (line, column) = locate(source, offset);
    MergeError {
        message,
        line: Some(line),
        column: Some(column),
        kind,
    }
}

/// Turns a parse error of minijinja into a located syntax error.
pub(crate) fn syntax_error(source: &str, err: &minijinja::Error) -> MergeError {
    let message = err
        .detail()
        .map_or_else(|| err.kind().to_string(), str::to_owned);
    match err.range() {
        Some(range) => error_at(source, range.start, ErrorKind::Syntax, message),
        None => MergeError {
            message,
            line: err.line(),
            column: None,
            kind: ErrorKind::Syntax,
        },
    }
}

/// Where a filter is applied and what it is applied to. minijinja locates an
/// error raised inside a filter (an undefined field piped into `date`) at
/// the filter's name; this lets the error name and point at the field.
#[derive(Debug, Clone, Default)]
pub(crate) struct FilterInputs(Vec<(usize, usize, String)>);

impl FilterInputs {
    /// The offset and text of the expression filtered by the filter whose
    /// name starts at `filter_offset`.
    pub(crate) fn input_of(&self, filter_offset: usize) -> Option<(usize, &str)> {
        self.0
            .iter()
            .find(|(f, _, _)| *f == filter_offset)
            .map(|(_, offset, text)| (*offset, text.as_str()))
    }
}

/// Parses `source` and checks it; returns every problem found, sorted by
/// position.
pub(crate) fn check(source: &str, mode: Mode<'_>) -> Result<FilterInputs, Vec<MergeError>> {
    if source.len() > MAX_SOURCE_LEN {
        return Err(vec![MergeError {
            message: format!("the template is larger than {} KiB", MAX_SOURCE_LEN / 1024),
            line: None,
            column: None,
            kind: ErrorKind::Syntax,
        }]);
    }
    check_tag_sizes(source)?;
    // `SyntaxConfig` is a unit struct only while no crate of the build turns
    // on minijinja's `custom_syntax`; `default()` works in both cases.
    #[allow(clippy::default_constructed_unit_structs)]
    let tree = machinery::parse(
        source,
        "template",
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    )
    .map_err(|err| vec![syntax_error(source, &err)])?;
    let mut walker = Walker {
        source,
        mode,
        scopes: Vec::new(),
        problems: Vec::new(),
        filter_inputs: FilterInputs::default(),
    };
    walker.stmt(&tree, 0);
    if walker.problems.is_empty() {
        return Ok(walker.filter_inputs);
    }
    let mut problems = walker.problems;
    problems.sort_by_key(|p| (p.0, p.1.kind as u8));
    Err(problems
        .into_iter()
        .map(|(offset, p)| error_at(source, offset, p.kind, p.message))
        .collect())
}

/// Refuses a tag holding more than [`MAX_TAG_TOKENS`] tokens, before the
/// parser builds a tree deep enough to overflow the stack. Lexing is
/// iterative, so this pass is safe on any input; a lexing error is left for
/// the parser to report with its usual message.
fn check_tag_sizes(source: &str) -> Result<(), Vec<MergeError>> {
    use machinery::Token;
    // See `check` for why `default()` is used on what may be a unit struct.
    #[allow(clippy::default_constructed_unit_structs)]
    let tokens = machinery::tokenize(
        source,
        false,
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    );
    let mut open: Option<(usize, usize)> = None;
    for token in tokens {
        let Ok((token, span)) = token else {
            return Ok(());
        };
        match token {
            Token::VariableStart | Token::BlockStart => {
                open = Some((span.start_offset as usize, 0))
            }
            Token::VariableEnd | Token::BlockEnd => open = None,
            _ => {
                if let Some((start, count)) = &mut open {
                    *count += 1;
                    if *count > MAX_TAG_TOKENS {
                        return Err(vec![error_at(
                            source,
                            *start,
                            ErrorKind::Syntax,
                            format!(
                                "this tag is too long (more than {MAX_TAG_TOKENS} words and symbols): split it"
                            ),
                        )]);
                    }
                }
            }
        }
    }
    Ok(())
}

struct Problem {
    kind: ErrorKind,
    message: String,
}

/// What a local name stands for.
#[derive(Clone, Copy)]
enum Binding {
    /// One participant, from `{% for p in participants %}`.
    Participant,
    /// The `loop` object of a for loop.
    Loop,
    /// Anything else (loop over a literal, tuple unpacking): not checked.
    Opaque,
}

/// What an expression evaluates to, as far as the check can tell.
#[derive(Clone, Copy)]
enum Shape<'s> {
    Namespace(&'s str),
    Field,
    Participants,
    Participant,
    Loop,
    Opaque,
}

struct Walker<'s, 't> {
    source: &'s str,
    mode: Mode<'t>,
    scopes: Vec<Vec<(&'s str, Binding)>>,
    problems: Vec<(usize, Problem)>,
    filter_inputs: FilterInputs,
}

fn trigger_name(t: Trigger) -> &'static str {
    match t {
        Trigger::Person => "a person",
        Trigger::Event => "an event",
    }
}

fn statement_name(source: &str, offset: usize) -> String {
    // Best effort for statements the walker does not know by type: quote
    // the tag's keyword.
    source[offset..]
        .trim_start_matches(['{', '%', '-', '+', ' ', '\t', '\r', '\n'])
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("")
        .to_owned()
}

impl<'s> Walker<'s, '_> {
    fn problem(&mut self, offset: usize, kind: ErrorKind, message: String) {
        self.problems.push((offset, Problem { kind, message }));
    }

    fn unsafe_construct(&mut self, offset: usize, what: &str) {
        self.problem(
            offset,
            ErrorKind::Syntax,
            format!("{what} is not available in merge templates"),
        );
    }

    fn text(&self, span: machinery::Span) -> &'s str {
        self.source
            .get(span.start_offset as usize..span.end_offset as usize)
            .unwrap_or("")
    }

    fn lookup(&self, name: &str) -> Option<Binding> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
    }

    fn use_field(&mut self, offset: usize, field: &'static Field) {
        if !self.mode.fields || field.fits(self.mode.triggers) {
            return;
        }
        let allowed: Vec<&str> = field.triggers.iter().map(|t| trigger_name(*t)).collect();
        let sent_for: Vec<&str> = self
            .mode
            .triggers
            .iter()
            .filter(|t| !field.triggers.contains(t))
            .map(|t| trigger_name(*t))
            .collect();
        self.problem(
            offset,
            ErrorKind::WrongTrigger,
            format!(
                "`{}` is only available when {} triggers the send, but this template may be sent for {}",
                field.path(),
                allowed.join(" or "),
                sent_for.join(" or "),
            ),
        );
    }

    fn unknown_field(&mut self, offset: usize, message: String) {
        if self.mode.fields {
            self.problem(offset, ErrorKind::UnknownField, message);
        }
    }

    fn stmts(&mut self, stmts: &[Stmt<'s>], parent_offset: usize) {
        let mut previous_end = parent_offset;
        for stmt in stmts {
            previous_end = self.stmt(stmt, previous_end);
        }
    }

    /// Checks one statement; returns where it ends so that a statement of an
    /// unknown type can be located after its predecessor.
    fn stmt(&mut self, stmt: &Stmt<'s>, previous_end: usize) -> usize {
        match stmt {
            Stmt::Template(t) => {
                self.stmts(&t.children, 0);
                t.span().end_offset as usize
            }
            Stmt::EmitExpr(e) => {
                self.value(&e.expr);
                e.span().end_offset as usize
            }
            Stmt::EmitRaw(r) => r.span().end_offset as usize,
            Stmt::IfCond(c) => {
                let start = c.span().start_offset as usize;
                self.value(&c.expr);
                self.stmts(&c.true_body, start);
                self.stmts(&c.false_body, start);
                c.span().end_offset as usize
            }
            Stmt::ForLoop(f) => {
                let start = f.span().start_offset as usize;
                if f.recursive {
                    self.unsafe_construct(start, "a recursive loop");
                }
                let iterated = self.value(&f.iter);
                let mut scope = vec![("loop", Binding::Loop)];
                let element = match iterated {
                    Shape::Participants => Binding::Participant,
                    _ => Binding::Opaque,
                };
                self.bind_target(&f.target, element, &mut scope);
                self.scopes.push(scope);
                if let Some(filter) = &f.filter_expr {
                    self.value(filter);
                }
                self.stmts(&f.body, start);
                self.scopes.pop();
                self.stmts(&f.else_body, start);
                f.span().end_offset as usize
            }
            Stmt::FilterBlock(b) => {
                let start = b.span().start_offset as usize;
                self.value(&b.filter);
                self.stmts(&b.body, start);
                b.span().end_offset as usize
            }
            Stmt::Set(s) => self.refuse(s.span(), "`{% set %}`"),
            Stmt::SetBlock(s) => self.refuse(s.span(), "`{% set %}`"),
            Stmt::WithBlock(s) => self.refuse(s.span(), "`{% with %}`"),
            Stmt::AutoEscape(s) => self.refuse(s.span(), "`{% autoescape %}`"),
            Stmt::Do(s) => self.refuse(s.span(), "`{% do %}`"),
            // Statements that only exist when another crate of the build
            // turns on more minijinja features (macros, includes, loop
            // controls): refused, located after the previous statement.
            #[allow(unreachable_patterns)]
            _ => {
                let offset = self.source[previous_end.min(self.source.len())..]
                    .find("{%")
                    .map_or(previous_end, |i| previous_end + i);
                let name = statement_name(self.source, offset.min(self.source.len()));
                self.unsafe_construct(offset, &format!("`{{% {name} %}}`"));
                offset
            }
        }
    }

    fn refuse(&mut self, span: machinery::Span, what: &str) -> usize {
        self.unsafe_construct(span.start_offset as usize, what);
        span.end_offset as usize
    }

    fn bind_target(
        &mut self,
        target: &Expr<'s>,
        element: Binding,
        scope: &mut Vec<(&'s str, Binding)>,
    ) {
        match target {
            Expr::Var(v) => scope.push((v.id, element)),
            Expr::List(l) => {
                for item in &l.items {
                    self.bind_target(item, Binding::Opaque, scope);
                }
            }
            _ => {}
        }
    }

    /// Checks an expression used as a value: a bare namespace is a mistake
    /// there (`{{ person }}` prints a whole record).
    fn value(&mut self, expr: &Expr<'s>) -> Shape<'s> {
        let shape = self.expr(expr);
        if let Shape::Namespace(ns) = shape {
            let example = catalogue::all()
                .iter()
                .find(|f| f.namespace == ns)
                .map_or_else(String::new, |f| format!(", e.g. `{}`", f.path()));
            self.unknown_field(
                expr.span().start_offset as usize,
                format!("`{ns}` is a group of fields: use one of its fields{example}"),
            );
            return Shape::Opaque;
        }
        shape
    }

    fn args(&mut self, args: &[CallArg<'s>]) {
        for arg in args {
            match arg {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => {
                    self.value(e);
                }
            }
        }
    }

    fn expr(&mut self, expr: &Expr<'s>) -> Shape<'s> {
        let offset = expr.span().start_offset as usize;
        match expr {
            Expr::Var(v) => self.var(v.id, offset),
            Expr::Const(_) => Shape::Opaque,
            Expr::GetAttr(g) => {
                let base = self.expr(&g.expr);
                self.step(base, g.name, offset, expr.span())
            }
            Expr::GetItem(g) => {
                let base = self.expr(&g.expr);
                match &g.subscript_expr {
                    Expr::Const(c) if c.value.as_str().is_some() => {
                        let name = c.value.as_str().unwrap_or("");
                        self.step(base, name, offset, expr.span())
                    }
                    Expr::Const(c) if c.value.as_i64().is_some() => match base {
                        Shape::Participants => Shape::Participant,
                        Shape::Namespace(_) | Shape::Field | Shape::Participant => {
                            let text = self.text(expr.span());
                            self.unknown_field(offset, format!("unknown field `{text}`"));
                            Shape::Opaque
                        }
                        _ => Shape::Opaque,
                    },
                    other => {
                        self.value(other);
                        if let Shape::Namespace(ns) = base {
                            self.unknown_field(
                                offset,
                                format!("fields of `{ns}` must be named (`{ns}.first_name`), not computed"),
                            );
                        }
                        Shape::Opaque
                    }
                }
            }
            Expr::Filter(f) => {
                if let Some(input) = &f.expr {
                    let span = input.span();
                    let text = self.text(span).to_owned();
                    self.filter_inputs
                        .0
                        .push((offset, span.start_offset as usize, text));
                }
                let base = f.expr.as_ref().map(|e| self.value(e));
                if self.mode.fields && !filters::has_filter(f.name) {
                    self.problem(
                        offset,
                        ErrorKind::Syntax,
                        format!("unknown filter `{}`", f.name),
                    );
                }
                self.args(&f.args);
                match (base, f.name) {
                    (
                        Some(Shape::Participants),
                        "selectattr" | "rejectattr" | "select" | "reject" | "sort" | "reverse"
                        | "unique" | "list",
                    ) => Shape::Participants,
                    (Some(Shape::Participants), "first" | "last") => Shape::Participant,
                    _ => Shape::Opaque,
                }
            }
            Expr::Test(t) => {
                self.value(&t.expr);
                if self.mode.fields && !filters::has_test(t.name) {
                    self.problem(
                        offset,
                        ErrorKind::Syntax,
                        format!("unknown test `{}`", t.name),
                    );
                }
                self.args(&t.args);
                Shape::Opaque
            }
            Expr::Call(c) => {
                let known = match &c.expr {
                    Expr::Var(v) => {
                        self.lookup(v.id).is_none() && filters::FUNCTIONS.contains(&v.id)
                    }
                    Expr::GetAttr(g) => {
                        matches!(&g.expr, Expr::Var(v) if matches!(self.lookup(v.id), Some(Binding::Loop)))
                            && matches!(g.name, "cycle" | "changed")
                    }
                    _ => false,
                };
                if !known && self.mode.fields {
                    let callee = self.text(c.expr.span());
                    self.problem(
                        offset,
                        ErrorKind::Syntax,
                        format!("unknown function `{callee}`"),
                    );
                }
                if !known {
                    // Still check the callee so a field misspelt there is
                    // reported, but without complaining twice about a
                    // namespace used as a function.
                    if !matches!(&c.expr, Expr::Var(_)) {
                        self.expr(&c.expr);
                    }
                }
                self.args(&c.args);
                Shape::Opaque
            }
            Expr::BinOp(b) => {
                let is_number = |e: &Expr<'_>| matches!(e, Expr::Const(c) if c.value.is_number());
                match b.op {
                    BinOpKind::Mul => self.unsafe_construct(offset, "the `*` operator"),
                    BinOpKind::Concat => self.unsafe_construct(
                        offset,
                        "the `~` operator (write the parts next to each other instead)",
                    ),
                    // `+` also joins strings and lists; with a number on one
                    // side it can only add.
                    BinOpKind::Add if !is_number(&b.left) && !is_number(&b.right) => self
                        .unsafe_construct(
                            offset,
                            "`+` between two non-constant values (write the parts next to each other instead)",
                        ),
                    _ => {}
                }
                self.value(&b.left);
                self.value(&b.right);
                Shape::Opaque
            }
            Expr::UnaryOp(u) => {
                self.value(&u.expr);
                Shape::Opaque
            }
            Expr::Compare(c) => {
                self.value(&c.expr);
                for op in &c.ops {
                    self.value(&op.expr);
                }
                Shape::Opaque
            }
            Expr::IfExpr(i) => {
                self.value(&i.test_expr);
                self.value(&i.true_expr);
                if let Some(e) = &i.false_expr {
                    self.value(e);
                }
                Shape::Opaque
            }
            Expr::Slice(s) => {
                let base = self.value(&s.expr);
                for e in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.value(e);
                }
                match base {
                    Shape::Participants => Shape::Participants,
                    _ => Shape::Opaque,
                }
            }
            Expr::List(l) => {
                for item in &l.items {
                    self.value(item);
                }
                Shape::Opaque
            }
            Expr::Map(m) => {
                for e in m.keys.iter().chain(&m.values) {
                    self.value(e);
                }
                Shape::Opaque
            }
        }
    }

    fn var(&mut self, name: &'s str, offset: usize) -> Shape<'s> {
        match self.lookup(name) {
            Some(Binding::Participant) => return Shape::Participant,
            Some(Binding::Loop) => return Shape::Loop,
            Some(Binding::Opaque) => return Shape::Opaque,
            None => {}
        }
        if catalogue::is_namespace(name) {
            // Triggers are checked on the field reached through it.
            return Shape::Namespace(name);
        }
        match catalogue::find(name) {
            Some(field) => {
                self.use_field(offset, field);
                if field.ty == FieldType::List {
                    Shape::Participants
                } else {
                    Shape::Field
                }
            }
            None => {
                let hint = if name == "loop" {
                    " (`loop` only exists inside a for loop)"
                } else {
                    ""
                };
                self.unknown_field(offset, format!("unknown field `{name}`{hint}"));
                Shape::Opaque
            }
        }
    }

    fn step(
        &mut self,
        base: Shape<'s>,
        name: &str,
        offset: usize,
        span: machinery::Span,
    ) -> Shape<'s> {
        match base {
            Shape::Namespace(ns) => match catalogue::find(&format!("{ns}.{name}")) {
                Some(field) => {
                    self.use_field(offset, field);
                    Shape::Field
                }
                None => {
                    self.unknown_field(offset, format!("unknown field `{ns}.{name}`"));
                    Shape::Opaque
                }
            },
            Shape::Participant => match catalogue::find(&format!("participant.{name}")) {
                Some(field) => {
                    self.use_field(offset, field);
                    Shape::Field
                }
                None => {
                    let text = self.text(span);
                    self.unknown_field(
                        offset,
                        format!("unknown field `{text}`: a participant has no field `{name}`"),
                    );
                    Shape::Opaque
                }
            },
            Shape::Participants | Shape::Field => {
                let text = self.text(span);
                self.unknown_field(offset, format!("unknown field `{text}`"));
                Shape::Opaque
            }
            Shape::Loop | Shape::Opaque => Shape::Opaque,
        }
    }
}
