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
    let cleaned = ammonia::Builder::default()
        .tags(allowed)
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
        })
        .clean(&protected)
        .to_string();
    put_back(&cleaned, &tags)
}

/// Template constructs that would print raw HTML past the cleaning: refused.
pub fn unsafe_construct(source: &str) -> Option<&'static str> {
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
    }
}
