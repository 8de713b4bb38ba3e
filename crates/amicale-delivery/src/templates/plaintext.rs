//! The plain-text part derived from the cleaned HTML: paragraphs and line
//! breaks kept, lists as dashes, links as "text (address)".

fn decode(entity: &str) -> Option<&'static str> {
    Some(match entity {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "#39" | "apos" => "'",
        "nbsp" => "\u{a0}",
        _ => return None,
    })
}

pub fn from_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut link: Option<(String, usize)> = None;
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        let from = &rest[i..];
        if let Some(after_amp) = from.strip_prefix('&') {
            match from
                .find(';')
                .filter(|&e| e < 10)
                .and_then(|e| decode(&from[1..e]).map(|d| (d, e)))
            {
                Some((d, e)) => {
                    out.push_str(d);
                    rest = &from[e + 1..];
                }
                None => {
                    out.push('&');
                    rest = after_amp;
                }
            }
            continue;
        }
        let Some(end) = from.find('>') else {
            out.push_str(from);
            rest = "";
            break;
        };
        let tag = &from[1..end];
        rest = &from[end + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match (name.as_str(), closing) {
            ("br", _) => out.push('\n'),
            (
                "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "ul" | "ol"
                | "table" | "pre",
                true,
            ) => out.push_str("\n\n"),
            // A block that opens after text starts a line of its own: the
            // editor writes "Mathieu,<div>En tant que…</div>", which must not
            // read "Mathieu,En tant que…".
            (
                "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "ul" | "ol"
                | "table" | "tr" | "pre",
                false,
            ) if !out.is_empty() && !out.ends_with('\n') => out.push('\n'),
            ("tr", true) => out.push('\n'),
            ("li", false) => out.push_str("- "),
            ("li", true) => out.push('\n'),
            ("hr", _) => out.push_str("\n----\n"),
            ("a", false) => {
                let href = tag
                    .split("href=\"")
                    .nth(1)
                    .and_then(|h| h.split('"').next())
                    .unwrap_or("")
                    .replace("&amp;", "&");
                link = Some((href, out.len()));
            }
            ("a", true) => {
                if let Some((href, start)) = link.take() {
                    let text = out[start..].trim().to_owned();
                    if !href.is_empty() && text != href {
                        out.push_str(&format!(" ({href})"));
                    }
                }
            }
            _ => {}
        }
    }
    out.push_str(rest);
    // Collapse runs of blank lines and trailing spaces.
    let mut lines: Vec<String> = Vec::new();
    for line in out.lines() {
        let l = line.trim_end().to_owned();
        if l.trim().is_empty() && lines.last().is_some_and(|p: &String| p.trim().is_empty()) {
            continue;
        }
        lines.push(l.trim_start().to_owned());
    }
    lines.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::from_html;

    #[test]
    fn paragraphs_lists_links() {
        let html = "<p>Bonjour {{ person.first_name }},</p><p>Au programme&nbsp;:</p><ul><li>accueil</li><li>atelier &amp; échanges</li></ul><p><a href=\"https://amicale.example/e?a=1&amp;b=2\">Inscription</a><br>À bientôt</p>";
        assert_eq!(
            from_html(html),
            "Bonjour {{ person.first_name }},\n\nAu programme\u{a0}:\n\n- accueil\n- atelier & échanges\n\nInscription (https://amicale.example/e?a=1&b=2)\nÀ bientôt"
        );
    }

    #[test]
    fn a_block_after_text_starts_a_new_line() {
        assert_eq!(
            from_html("Mathieu,<div>En tant que membre</div><div>À bientôt</div>"),
            "Mathieu,\nEn tant que membre\n\nÀ bientôt"
        );
        assert_eq!(
            from_html("<h1>Titre</h1>Texte<p>Suite</p>"),
            "Titre\n\nTexte\nSuite"
        );
    }

    #[test]
    fn a_bare_link_is_not_repeated() {
        assert_eq!(
            from_html("<a href=\"https://x.fr\">https://x.fr</a>"),
            "https://x.fr"
        );
    }
}
