//! French and English through Fluent; every user-facing string goes through here.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "fr",
        // Isolation marks around arguments would end up inside e-mail subjects.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static FR: LanguageIdentifier = langid!("fr");
static EN: LanguageIdentifier = langid!("en");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    Fr,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Fr, Locale::En];

    pub fn code(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }

    /// A whole number as each language groups its digits: "5 000" (a
    /// narrow no-break space) in French, "5,000" in English.
    pub fn number(self, n: i64) -> String {
        let sep = match self {
            Locale::Fr => '\u{202f}',
            Locale::En => ',',
        };
        let digits = n.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if n < 0 {
            out.push('-');
        }
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(sep);
            }
            out.push(d);
        }
        out
    }

    /// A day as each language writes it: "12/03/2026" in French, "12 Mar
    /// 2026" in English (never the ambiguous 12/03/2026).
    pub fn date(self, d: chrono::NaiveDate) -> String {
        match self {
            Locale::Fr => d.format("%d/%m/%Y").to_string(),
            Locale::En => d.format("%-d %b %Y").to_string(),
        }
    }

    /// A day and a time: "12/03/2026 14:30" / "12 Mar 2026, 14:30".
    pub fn date_time(self, t: chrono::NaiveDateTime) -> String {
        match self {
            Locale::Fr => t.format("%d/%m/%Y %H:%M").to_string(),
            Locale::En => t.format("%-d %b %Y, %H:%M").to_string(),
        }
    }

    /// A share as a percentage: "42 %" in French, "42%" in English.
    pub fn percent(self, pct: i64) -> String {
        match self {
            Locale::Fr => format!("{pct}\u{a0}%"),
            Locale::En => format!("{pct}%"),
        }
    }

    /// The colon after a label, as each language writes it: French puts a
    /// no-break space before it (so it never starts a line), English none.
    pub fn colon(self) -> &'static str {
        match self {
            Locale::Fr => "\u{a0}: ",
            Locale::En => ": ",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Locale::Fr),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The first of our languages named in an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Locale)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            if let Some(l) = Locale::parse(primary)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l)
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Locale::Fr => &FR,
            Locale::En => &EN,
        }
    }

    pub fn t(self, key: &str) -> String {
        LOCALES.lookup(self.id(), key)
    }

    /// A message with one argument.
    pub fn t1(self, key: &str, name: &'static str, value: impl std::fmt::Display) -> String {
        self.t_args(key, &[(name, value.to_string())])
    }

    pub fn t_args(self, key: &str, args: &[(&'static str, String)]) -> String {
        // A whole number written as one (not "0612…") is passed as a number,
        // so plural variants ([one], [other]) select on it.
        let map: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| {
                let value = match v.parse::<i64>() {
                    Ok(n) if n.to_string() == *v => FluentValue::from(n),
                    _ => FluentValue::from(v.clone()),
                };
                (Cow::Borrowed(*k), value)
            })
            .collect();
        LOCALES.lookup_with_args(self.id(), key, &map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages of a language, comments left out.
    fn messages(ftl: &str) -> impl Iterator<Item = (usize, &str)> {
        ftl.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim_start().starts_with('#'))
    }

    #[test]
    fn counts_select_plural_variants_and_digits_stay_text() {
        assert_eq!(Locale::En.t1("home-sms-left", "count", 1), "segment left.");
        assert_eq!(Locale::En.t1("home-sms-left", "count", 2), "segments left.");
        // French: 0 and 1 are singular.
        assert_eq!(
            Locale::Fr.t1("home-sms-left", "count", 0),
            "segment restant."
        );
        assert_eq!(
            Locale::Fr.t1("home-sms-left", "count", 5),
            "segments restants."
        );
    }

    #[test]
    fn dates_are_written_per_language() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert_eq!(Locale::Fr.date(d), "02/03/2026");
        assert_eq!(Locale::En.date(d), "2 Mar 2026");
        let t = d.and_hms_opt(14, 30, 0).unwrap();
        assert_eq!(Locale::Fr.date_time(t), "02/03/2026 14:30");
        assert_eq!(Locale::En.date_time(t), "2 Mar 2026, 14:30");
    }

    #[test]
    fn numbers_are_grouped_per_language() {
        assert_eq!(Locale::Fr.number(5000), "5\u{202f}000");
        assert_eq!(Locale::En.number(5000), "5,000");
        assert_eq!(Locale::En.number(1234567), "1,234,567");
        assert_eq!(Locale::En.number(999), "999");
        assert_eq!(Locale::En.number(-12000), "-12,000");
        assert_eq!(Locale::Fr.number(0), "0");
        assert_eq!(Locale::Fr.percent(100), "100\u{a0}%");
        assert_eq!(Locale::En.percent(100), "100%");
    }

    #[test]
    fn french_puts_a_no_break_space_before_double_punctuation() {
        for (n, line) in messages(include_str!("../locales/fr/main.ftl")) {
            for mark in [" :", " ;", " !", " ?"] {
                assert!(!line.contains(mark), "fr line {}: {line}", n + 1);
            }
        }
        assert_eq!(Locale::Fr.colon(), "\u{a0}: ");
    }

    #[test]
    fn english_puts_no_space_before_punctuation() {
        for (n, line) in messages(include_str!("../locales/en/main.ftl")) {
            for mark in [" :", " ;", " !", " ?", "\u{a0}:", "\u{202f}"] {
                assert!(!line.contains(mark), "en line {}: {line}", n + 1);
            }
        }
        assert_eq!(Locale::En.colon(), ": ");
    }

    fn ids(src: &str) -> std::collections::BTreeSet<String> {
        src.lines()
            .filter(|l| {
                l.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && l.contains(" =")
            })
            .map(|l| l.split(" =").next().unwrap_or("").trim().to_owned())
            .collect()
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let fr = ids(include_str!("../locales/fr/main.ftl"));
        let en = ids(include_str!("../locales/en/main.ftl"));
        let only_fr: Vec<_> = fr.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&fr).collect();
        assert!(
            only_fr.is_empty() && only_en.is_empty(),
            "fr only: {only_fr:?}, en only: {only_en:?}"
        );
        assert!(fr.len() > 20);
    }

    /// A key defined twice makes the bundle fail to load at run time.
    #[test]
    fn no_key_is_defined_twice() {
        for src in [
            include_str!("../locales/fr/main.ftl"),
            include_str!("../locales/en/main.ftl"),
        ] {
            let mut seen = std::collections::BTreeSet::new();
            for l in src.lines() {
                if l.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && l.contains(" =") {
                    let id = l.split(" =").next().unwrap_or("").trim();
                    assert!(seen.insert(id.to_owned()), "{id} is defined twice");
                }
            }
        }
    }

    #[test]
    fn lookups_differ_by_language() {
        assert_eq!(Locale::Fr.t("nav-home"), "Accueil");
        assert_eq!(Locale::En.t("nav-home"), "Home");
    }

    #[test]
    fn accept_language() {
        assert_eq!(
            Locale::from_accept_language("en-GB,en;q=0.9,fr;q=0.8"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("de,fr;q=0.5"),
            Some(Locale::Fr)
        );
        assert_eq!(Locale::from_accept_language("de"), None);
    }
}
