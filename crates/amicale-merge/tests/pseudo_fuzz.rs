//! A deterministic stand-in for the cargo-fuzz targets (which need nightly):
//! thousands of generated templates and JUNGO2 texts built from the tokens
//! most likely to break a parser, checking the same properties.

use std::time::{Duration, Instant};

use amicale_merge::{Engine, ErrorKind, Kind, Locale, MAX_OUTPUT, catalogue, jungo2, validate};

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const TEMPLATE_TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    " ",
    "\n",
    "\r\n",
    "é",
    "<b>",
    "&",
    "x",
    "1",
    "\"",
    "'",
    "|",
    ".",
    "(",
    ")",
    "[",
    "]",
    ",",
    "~",
    "*",
    "+",
    "-",
    " for p in participants ",
    " endfor ",
    " if ",
    " else ",
    " endif ",
    " set a = ",
    " recursive ",
    "person",
    "person.first_name",
    "event.start",
    "p.first_name",
    "participants",
    "loop.index",
    "| date(\"l j F Y\")",
    "| date",
    "| phone",
    "| upper",
    "| default(\"-\")",
    "| join(\",\")",
    "range(5)",
    "range(100000)",
    " in ",
    "unsubscribe_url",
    "{{ person.nickname }}",
    "{% raw %}",
    "{% endraw %}",
    "{%- ",
    " -%}",
    "nope",
    "==",
    " is defined ",
];

const JUNGO_TOKENS: &[&str] = &[
    "${",
    "}",
    "{",
    "{{",
    "{%",
    "{#",
    "%",
    "#",
    "$",
    "\\",
    "\n",
    "\r\n",
    " ",
    "é",
    "à",
    "<p>",
    "personne/personne_nom",
    "personne/personne_prenom",
    "tableN.action_beneficiaire_personne/personne_civilite",
    "tab.action_beneficiaire_personne/personne_nom",
    "action_date",
    "# j F Y à H:i",
    "# l \\h",
    "action_site/site_adresse_ville",
    "action_animateur_intervenant/personne_prenom",
    "inconnu",
    "\"",
    "'",
    "-",
    "}}",
    "%}",
];

fn generate(rng: &mut Rng, tokens: &[&str]) -> String {
    let len = 1 + rng.next() % 24;
    (0..len).map(|_| rng.pick(tokens)).collect()
}

#[test]
fn generated_templates_never_panic_and_always_stop() {
    let engine = Engine::new();
    let ctx = catalogue::sample_context(Locale::Fr);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut rendered = 0;
    for i in 0..4000 {
        let source = generate(&mut rng, TEMPLATE_TOKENS);
        let kind = if i % 2 == 0 { Kind::Html } else { Kind::Text };
        let started = Instant::now();
        let result = engine.render(&source, kind, Locale::Fr, &ctx);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{source:?} took {:?}",
            started.elapsed()
        );
        if let Ok(out) = &result {
            assert!(out.len() <= MAX_OUTPUT);
            rendered += 1;
        }
        if validate(&source, kind, &[]).is_ok() {
            assert!(engine.compile(&source, kind).is_ok(), "{source:?}");
            if let Err(e) = &result {
                assert_ne!(e.kind, ErrorKind::Syntax, "{source:?}: {e}");
            }
        }
    }
    // The generator must reach the renderer, not only the parser's errors.
    assert!(rendered > 200, "only {rendered} templates rendered");
}

#[test]
fn generated_jungo2_texts_convert_to_working_templates() {
    let engine = Engine::new();
    let ctx = catalogue::sample_context(Locale::Fr);
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..4000 {
        let source = generate(&mut rng, JUNGO_TOKENS);
        let conversion = jungo2::convert(&source);
        let out = engine
            .render(&conversion.output, Kind::Text, Locale::Fr, &ctx)
            .unwrap_or_else(|e| panic!("{source:?} -> {:?}: {e}", conversion.output));
        if !source.contains("${") {
            assert_eq!(out, source);
        }
        for u in &conversion.unknown {
            assert!(u.line >= 1 && u.column >= 1);
        }
    }
}
