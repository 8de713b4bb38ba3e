//! Server-side allow-list for rich text. Merge tags (`{{ … }}`, `{% … %}`)
//! are set aside before cleaning so the HTML parser cannot mangle them
//! (`>` in a condition would become `&gt;`), then put back.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// Replaces each merge tag by a private-use placeholder; returns the tags.
fn set_aside(source: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(source.len());
    let mut tags = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find(['{']) {
        let (before, from) = rest.split_at(start);
        let close = match from.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                out.push_str(before);
                out.push('{');
                rest = &from[1..];
                continue;
            }
        };
        match from[2..].find(close) {
            Some(end) => {
                let tag_len = 2 + end + 2;
                out.push_str(before);
                out.push(OPEN);
                out.push_str(&tags.len().to_string());
                out.push(CLOSE);
                tags.push(from[..tag_len].to_owned());
                rest = &from[tag_len..];
            }
            None => {
                out.push_str(before);
                out.push_str(from);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    (out, tags)
}

fn put_back(cleaned: &str, tags: &[String]) -> String {
    let mut out = String::with_capacity(cleaned.len());
    let mut rest = cleaned;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len_utf8()..];
        match after.find(CLOSE) {
            Some(end) => {
                if let Some(tag) = after[..end].parse::<usize>().ok().and_then(|i| tags.get(i)) {
                    out.push_str(tag);
                }
                rest = &after[end + CLOSE.len_utf8()..];
            }
            None => {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_video_embed(url: &str) -> bool {
    [
        "https://www.youtube-nocookie.com/embed/",
        "https://www.youtube.com/embed/",
    ]
    .iter()
    .any(|p| {
        url.strip_prefix(p).is_some_and(|id| {
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '?' | '=' | '&'))
        })
    })
}

/// Cleans rich text to our allow-list. `allow_video` lets YouTube embeds
/// through (news, pages); e-mail bodies never carry frames.
pub fn clean(html: &str, allow_video: bool) -> String {
    let (protected, tags) = set_aside(html);
    let cleaned = builder(allow_video).clean(&protected).to_string();
    put_back(&cleaned, &tags)
}

/// Cleans a rendered e-mail body, merge data included, with the same
/// allow-list: the last line of defence at delivery. Whatever a template
/// author found to slip past the checks at save time (a construct we did
/// not foresee, `href="{{ person.city }}"` with a `javascript:` city), no
/// script, frame, form, event handler or `javascript:` URL leaves in a
/// message. Nothing is set aside here: the text is final.
pub fn clean_rendered(html: &str) -> String {
    static EMAIL: std::sync::LazyLock<ammonia::Builder<'static>> =
        std::sync::LazyLock::new(|| builder(false));
    EMAIL.clean(html).to_string()
}

/// [`clean_rendered`] for a message merged from `source`, skipped when the
/// source alone proves the message clean (measured: 25 µs a message for a
/// 1 KB body in a release build, a tenth of a message's delivery cost):
///
/// - the source is a fixed point of the allow-list (cleaning it changes
///   nothing, so every tag and attribute in it is allowed);
/// - no merge syntax stands inside a tag (attribute values are the
///   source's own, never merged text);
/// - nothing prints unescaped (`raw`, `autoescape`, `safe`).
///
/// Then a message is whole allowed tags of the source around escaped text:
/// blocks keep or repeat text between tags, expressions print escaped text,
/// and text cannot become a tag. Any other source is cleaned message by
/// message. The verdict is kept per source.
pub fn clean_merged(source: &str, rendered: String) -> String {
    if proven_clean(source) {
        rendered
    } else {
        clean_rendered(&rendered)
    }
}

/// Whether `source` proves its messages clean (see [`clean_merged`]).
fn proven_clean(source: &str) -> bool {
    static PROVEN: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, bool>>> =
        std::sync::LazyLock::new(Default::default);
    let known = PROVEN.lock().ok().and_then(|m| m.get(source).copied());
    match known {
        Some(p) => p,
        None => {
            let p = amicale_merge::unescaped_output(source).is_none()
                && !merge_syntax_in_tags(source)
                && clean_rendered(source) == source;
            if let Ok(mut m) = PROVEN.lock() {
                // A few hundred templates at most are live at once.
                if m.len() >= 512 {
                    m.clear();
                }
                m.insert(source.to_owned(), p);
            }
            p
        }
    }
}

/// Whether `{{`, `{%` or `{#` appears inside a tag of `source` anywhere
/// but in a quoted `href` or `src` whose scheme the source itself fixes
/// (`https://…{{ x }}`, `mailto:{{ x }}`), or that is exactly our own
/// signed link `{{ unsubscribe_url }}`. A `>` in quotes does not end a tag;
/// a tag left open at the end counts as syntax in it.
fn merge_syntax_in_tags(source: &str) -> bool {
    let b = source.as_bytes();
    let syntax_at = |i: usize| b[i] == b'{' && matches!(b.get(i + 1), Some(b'{' | b'%' | b'#'));
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        i += 1;
        let mut attribute = "";
        loop {
            let Some(&c) = b.get(i) else {
                return true;
            };
            match c {
                b'>' => {
                    i += 1;
                    break;
                }
                b'"' | b'\'' => {
                    let start = i + 1;
                    let Some(len) = b[start..].iter().position(|&x| x == c) else {
                        return true;
                    };
                    let value = &source[start..start + len];
                    let merged =
                        value.contains("{{") || value.contains("{%") || value.contains("{#");
                    if merged && !fixed_url(attribute, value) {
                        return true;
                    }
                    attribute = "";
                    i = start + len + 1;
                }
                b'=' => {
                    let end = source[..i].trim_end().len();
                    let begin = source[..end]
                        .rfind(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'))
                        .map_or(0, |p| p + 1);
                    attribute = &source[begin..end];
                    i += 1;
                }
                _ if syntax_at(i) => return true,
                _ => i += 1,
            }
        }
    }
    false
}

/// A URL attribute value whose scheme merged text cannot change.
fn fixed_url(attribute: &str, value: &str) -> bool {
    if !(attribute.eq_ignore_ascii_case("href") || attribute.eq_ignore_ascii_case("src")) {
        return false;
    }
    // Ours: the signed link the product puts in every message's data.
    if value.trim() == "{{ unsubscribe_url }}" {
        return true;
    }
    let first = value.find('{').unwrap_or(value.len());
    ["https://", "http://", "mailto:", "tel:"]
        .iter()
        .any(|scheme| {
            value.len() >= scheme.len()
                && value[..scheme.len()].eq_ignore_ascii_case(scheme)
                && first >= scheme.len()
                && !value[..first]
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control())
        })
}

fn builder(allow_video: bool) -> ammonia::Builder<'static> {
    let mut allowed: HashSet<&str> = [
        "p",
        "br",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "s",
        "strike",
        "del",
        "a",
        "ul",
        "ol",
        "li",
        "h2",
        "h3",
        "h4",
        "blockquote",
        "hr",
        "span",
        "div",
    ]
    .into_iter()
    .collect();
    let mut attrs: HashMap<&str, HashSet<&str>> = HashMap::new();
    attrs.insert("a", ["href", "title"].into_iter().collect());
    if allow_video {
        allowed.insert("iframe");
        attrs.insert(
            "iframe",
            ["src", "width", "height", "title", "allowfullscreen"]
                .into_iter()
                .collect(),
        );
    }
    let mut b = ammonia::Builder::default();
    b.tags(allowed)
        .tag_attributes(attrs)
        .generic_attributes(HashSet::new())
        .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect())
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(|element, attribute, value| {
            if element == "iframe" && attribute == "src" && !is_video_embed(value) {
                None
            } else {
                Some(Cow::Borrowed(value))
            }
        });
    b
}

/// Template constructs that would print raw HTML past the cleaning: refused.
pub fn unsafe_construct(source: &str) -> Option<&'static str> {
    // The engine's own lexer decides: `{%+ raw %}` and any other spelling
    // it accepts are found there, not by matching text.
    if let Some(found) = amicale_merge::unescaped_output(source) {
        return Some(if found == "syntax" { "raw" } else { found });
    }
    let (_, tags) = set_aside(source);
    for t in &tags {
        let inner: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        if inner.starts_with("{%raw") || inner.starts_with("{%-raw") {
            return Some("raw");
        }
        if inner.starts_with("{%autoescape") || inner.starts_with("{%-autoescape") {
            return Some("autoescape");
        }
        if inner.contains("|safe") || inner.contains("|escape(false") {
            return Some("safe");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_go_merge_tags_stay() {
        let dirty = r#"<p onclick="x()">Bonjour {{ person.first_name }} <script>alert(1)</script>
{% if person.promo_year > 2020 %}<b>jeune</b>{% endif %}<a href="javascript:alert(1)">x</a>
<a href="{{ unsubscribe_url }}">stop</a><img src=x onerror=alert(1)></p>"#;
        let clean = clean(dirty, false);
        assert!(!clean.contains("script"), "{clean}");
        assert!(
            !clean.contains("onclick") && !clean.contains("onerror") && !clean.contains("<img")
        );
        assert!(!clean.contains("javascript:"));
        assert!(clean.contains("{{ person.first_name }}"));
        assert!(
            clean.contains("{% if person.promo_year > 2020 %}"),
            "{clean}"
        );
        assert!(clean.contains(r#"href="{{ unsubscribe_url }}""#), "{clean}");
    }

    #[test]
    fn word_markup_is_dropped() {
        let word = r#"<p class="MsoNormal" style="mso-line-height:1"><span lang="FR" style="font-family:Calibri">Texte</span><o:p></o:p></p>"#;
        assert_eq!(clean(word, false), "<p><span>Texte</span></p>");
    }

    #[test]
    fn only_youtube_frames_and_only_when_allowed() {
        let yt = r#"<iframe src="https://www.youtube-nocookie.com/embed/abc_DEF-1" width="560"></iframe>"#;
        assert!(clean(yt, true).contains("youtube-nocookie.com/embed/abc_DEF-1"));
        assert!(!clean(yt, false).contains("iframe"));
        let evil = r#"<iframe src="https://evil.example/"></iframe>"#;
        assert!(!clean(evil, true).contains("evil"));
    }

    #[test]
    fn raw_output_is_refused() {
        assert_eq!(
            unsafe_construct("{% raw %}<script>{% endraw %}"),
            Some("raw")
        );
        assert_eq!(
            unsafe_construct("{{ person.first_name | safe }}"),
            Some("safe")
        );
        assert_eq!(unsafe_construct("{{ person.first_name | upper }}"), None);
        // Whitespace control used to slip past a prefix match.
        assert_eq!(
            unsafe_construct("{%+ raw %}{#<img onerror=alert(1)><script>x</script>#}{% endraw %}"),
            Some("raw")
        );
        assert_eq!(
            unsafe_construct("{%+ autoescape false %}{{ x }}{% endautoescape %}"),
            Some("autoescape")
        );
    }

    /// Whether `html` carries something active: a script, frame, form or
    /// object, an event handler, or a script URL (entity-decoded) in a tag.
    /// Text outside tags is escaped, so "javascript:" there is just words.
    fn active(html: &str) -> Option<String> {
        let lower = html.to_ascii_lowercase();
        for bad in [
            "<script", "<iframe", "<form", "<object", "<embed", "<svg", "<img", "<style",
        ] {
            if lower.contains(bad) {
                return Some(bad.into());
            }
        }
        // Attributes as a browser reads them: name, then a quoted or bare
        // value.
        for (open, _) in lower.match_indices('<') {
            let tag = &lower[open + 1..lower[open..].find('>').map_or(lower.len(), |e| open + e)];
            let mut rest = tag.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '/');
            loop {
                rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
                if rest.is_empty() {
                    break;
                }
                let name_end = rest
                    .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
                    .unwrap_or(rest.len());
                let name = &rest[..name_end];
                rest = rest[name_end..].trim_start();
                let mut value = "";
                if let Some(after) = rest.strip_prefix('=') {
                    let after = after.trim_start();
                    let (v, r) = match after.chars().next() {
                        Some(q @ ('"' | '\'')) => {
                            let body = &after[1..];
                            let end = body.find(q).unwrap_or(body.len());
                            (&body[..end], body.get(end + 1..).unwrap_or(""))
                        }
                        _ => {
                            let end = after.find(char::is_whitespace).unwrap_or(after.len());
                            (&after[..end], &after[end..])
                        }
                    };
                    value = v;
                    rest = r;
                }
                if name.starts_with("on") {
                    return Some(format!("handler {name} in <{tag}>"));
                }
                let decoded: String = value
                    .replace("&#x61;", "a")
                    .replace("&#97;", "a")
                    .replace("&#106;", "j")
                    .replace("&colon;", ":")
                    .replace("&#58;", ":")
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect();
                if ["javascript:", "vbscript:", "data:"]
                    .iter()
                    .any(|b| decoded.starts_with(b))
                {
                    return Some(format!("script URL in <{tag}>"));
                }
            }
        }
        None
    }

    #[test]
    fn merge_syntax_is_found_inside_tags_only() {
        assert!(!merge_syntax_in_tags("<p>Bonjour {{ x }}</p>"));
        assert!(merge_syntax_in_tags(r#"<a href="{{ x }}">y</a>"#));
        assert!(merge_syntax_in_tags(r#"<a title=">" href="{{ x }}">y</a>"#));
        assert!(merge_syntax_in_tags("<a {% if x %}href=y{% endif %}>"));
        assert!(merge_syntax_in_tags("<p>x</p><a href=y"));
        // Merged text after a scheme the source fixes, or our own link.
        assert!(!merge_syntax_in_tags(
            r#"<a href="https://jobs.example/?ville={{ person.city }}">y</a>"#
        ));
        assert!(!merge_syntax_in_tags(
            r#"<a href="{{ unsubscribe_url }}">y</a>"#
        ));
        assert!(!merge_syntax_in_tags(
            r#"<a href="mailto:{{ sender.email }}">y</a>"#
        ));
        assert!(merge_syntax_in_tags(r#"<a href="{{ person.city }}">y</a>"#));
        assert!(merge_syntax_in_tags(r#"<a href="https:{{ x }}">y</a>"#));
        assert!(merge_syntax_in_tags(
            r#"<a title="{{ x }}" href="https://a/">y</a>"#
        ));
        assert!(merge_syntax_in_tags(r#"<img alt="https://{{ x }}">"#));
        assert!(merge_syntax_in_tags(r#"<a href=https://a/{{ x }}>y</a>"#));
    }

    /// Property: whatever the template (built at random from harmless and
    /// hostile pieces) and whatever the merge data, the message that leaves
    /// (template checked and cleaned at save, rendered, cleaned again)
    /// holds nothing active.
    #[test]
    fn nothing_active_reaches_a_rendered_message() {
        use amicale_merge::{Engine, Kind, Locale};
        use rand::{Rng, SeedableRng};
        const PIECES: &[&str] = &[
            "<p>",
            "</p>",
            "Bonjour ",
            "{{ person.city }}",
            "{{ person.first_name }}",
            "<a href=\"{{ person.city }}\">lien</a>",
            "<a href='{{ person.first_name }}'>x</a>",
            "<a href=\"java{{ person.city }}\">",
            "<a href=\"{{ person.city }}script:alert(1)\">",
            "<a href=\"jav&#x61;script:alert(1)\">",
            "<script>alert(1)</script>",
            "<iframe src=x>",
            "<img src=x onerror=alert(1)>",
            "<form action=x><input></form>",
            "<b onclick=x()>",
            "{%+ raw %}",
            "{% raw %}",
            "{%- raw -%}",
            "{% endraw %}",
            "{#",
            "#}",
            "{# <script>alert(1)</script> #}",
            "{%+ autoescape false %}",
            "{% endautoescape %}",
            "{{ person.city | safe }}",
            "{% if person.city %}",
            "{% endif %}",
            "<",
            ">",
            "\"",
            "'",
            "<svg onload=alert(1)>",
            "<style>x{}</style>",
            "{{ '<script>' }}",
            "{{ 'javascript:alert(1)' }}",
            "<a href=\"https://jobs.example/?v={{ person.city }}\">offres</a>",
            "<a href=\"mailto:{{ person.first_name }}\">m</a>",
            "<a href=\"{{ unsubscribe_url }}\">stop</a>",
            "<a href=\"https://{{ person.city }}\">h</a>",
        ];
        const DATA: &[&str] = &[
            "Paris",
            "javascript:alert(1)",
            " JaVaScRiPt:alert(1)",
            "java\tscript:x",
            "\"><script>alert(1)</script>",
            "' onmouseover='alert(1)",
            "<img src=x onerror=alert(1)>",
            "{{ x }}",
            "{%+ raw %}",
            "vbscript:msgbox",
            "data:text/html,<script>alert(1)</script>",
            "&#106;avascript:alert(1)",
        ];
        let engine = Engine::new();
        let mut rng = rand::rngs::StdRng::seed_from_u64(20);
        let mut rendered_count = 0;
        let mut proven_count = 0;
        for _ in 0..3000 {
            let n = rng.gen_range(1..8);
            let source: String = (0..n)
                .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
                .collect();
            let ctx = serde_json::json!({
                "person": {
                    "city": DATA[rng.gen_range(0..DATA.len())],
                    "first_name": DATA[rng.gen_range(0..DATA.len())],
                },
                // Set by the product, never from a person's data.
                "unsubscribe_url": "https://amicale.example/unsubscribe/YWJj.c2ln",
            });
            // What saving a template does: refuse, then clean.
            if unsafe_construct(&source).is_some() {
                continue;
            }
            let saved = clean(&source, false);
            let Ok(out) = engine.render(&saved, Kind::Html, Locale::Fr, &ctx) else {
                continue;
            };
            rendered_count += 1;
            let sent = clean_rendered(&out);
            assert_eq!(
                active(&sent),
                None,
                "template {source:?} data {ctx} gave {sent:?}"
            );
            // The delivery path, which skips cleaning for proven sources.
            proven_count += usize::from(proven_clean(&saved));
            let sent = clean_merged(&saved, out);
            assert_eq!(
                active(&sent),
                None,
                "(delivery) template {source:?} data {ctx} gave {sent:?}"
            );
        }
        assert!(
            rendered_count > 500,
            "only {rendered_count} templates rendered"
        );
        assert!(
            proven_count > 100,
            "only {proven_count} sources took the fast path"
        );
        // A usual body (links and merge fields in text) takes it.
        let usual = clean(
            r#"<p>Bonjour {{ person.first_name }}, <a href="https://reseau.example/x">voir</a>.</p>"#,
            false,
        );
        assert!(proven_clean(&usual), "{usual}");
    }

    #[test]
    fn a_javascript_city_in_a_link_is_dropped_at_delivery() {
        let out =
            r#"<p><a href="javascript:alert(1)">x</a><a href="https://ok.example/">y</a></p>"#;
        let sent = clean_rendered(out);
        assert!(!sent.contains("javascript"), "{sent}");
        assert!(sent.contains("https://ok.example/"), "{sent}");
    }
}
