//! Constructs that would print template text past the HTML cleaning.
//!
//! The application cleans a template's HTML with merge tags set aside, then
//! trusts the engine to escape what the tags print. Three constructs break
//! that: a raw block (whose content, set aside as if it were a tag, is
//! printed verbatim), `autoescape` (turns escaping off) and the `safe`
//! filter. They are found on the engine's own token stream, so whitespace
//! control (`{%+ raw %}`, `{%- raw -%}`), spacing or line breaks inside a
//! tag change nothing: what minijinja reads is what is checked.

use minijinja::machinery::{Token, WhitespaceConfig, tokenize};
use minijinja::syntax::SyntaxConfig;

/// The first construct of `source` that would print unescaped text:
/// `"raw"`, `"autoescape"` or `"safe"`; `None` when there is none. A source
/// the lexer cannot read is reported as `"syntax"` (validation refuses it
/// anyway, with a located message).
pub fn unescaped_output(source: &str) -> Option<&'static str> {
    #[allow(clippy::default_constructed_unit_structs)]
    let tokens = tokenize(
        source,
        false,
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    );
    let mut prev: Option<Token<'_>> = None;
    let mut end = 0;
    for t in tokens {
        let Ok((token, span)) = t else {
            return Some("syntax");
        };
        // What the lexer skipped before this token: whitespace control,
        // comments, or the opening tag of a raw block, whose content then
        // comes as text. Only a raw block's skipped part starts a block tag.
        let start = span.start_offset as usize;
        let skipped = source.get(end..start).unwrap_or("").trim_start();
        end = span.end_offset as usize;
        if matches!(token, Token::TemplateData(_)) && skipped.starts_with("{%") {
            return Some("raw");
        }
        match (&prev, &token) {
            // Outside tags the lexer hands out text; a tag delimiter in it
            // can only come from a raw block.
            (_, Token::TemplateData(text))
                if text.contains("{{") || text.contains("{%") || text.contains("{#") =>
            {
                return Some("raw");
            }
            (Some(Token::BlockStart), Token::Ident("raw" | "autoescape")) => {
                return Some("autoescape");
            }
            (Some(Token::Pipe), Token::Ident("safe")) => return Some("safe"),
            (Some(Token::Pipe), Token::Ident("escape" | "e")) => {
                // `escape(false)` is the one spelling minijinja gives to
                // "do not escape"; any argument is refused to keep it simple.
                prev = Some(token);
                continue;
            }
            (Some(Token::Ident("escape" | "e")), Token::ParenOpen) => return Some("safe"),
            _ => {}
        }
        prev = Some(token);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_blocks_are_found_whatever_the_whitespace_control() {
        for src in [
            "{% raw %}<script>{% endraw %}",
            "{%raw%}{#x#}{%endraw%}",
            "{%- raw -%}{{ x }}{%- endraw -%}",
            "{%+ raw %}{#<img src=x onerror=alert(1)><script>alert(1)</script>#}{% endraw %}",
            "{%\n raw\n %}{% x %}{% endraw %}",
        ] {
            assert_eq!(unescaped_output(src), Some("raw"), "{src}");
        }
    }

    #[test]
    fn escaping_switches_are_found() {
        assert_eq!(
            unescaped_output("{%+ autoescape false %}{{ x }}{% endautoescape %}"),
            Some("autoescape")
        );
        assert_eq!(unescaped_output("{{ x | safe }}"), Some("safe"));
        assert_eq!(unescaped_output("{{ x\n|\nsafe }}"), Some("safe"));
        assert_eq!(unescaped_output("{{ x|escape(false) }}"), Some("safe"));
    }

    #[test]
    fn ordinary_templates_pass() {
        for src in [
            "<p>Bonjour {{ person.first_name | upper }}</p>",
            "{% if person.promo_year > 2020 %}<b>{{ person.city }}</b>{% endif %}",
            "{# a comment #}<p>{ not a tag }</p>",
            "{{ person.first_name | escape }}",
        ] {
            assert_eq!(unescaped_output(src), None, "{src}");
        }
    }
}
