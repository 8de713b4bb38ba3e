//! Folding of names and search text, so that `Hélène DUPRÉ`, `helene dupre`
//! and `Hélène-Dupré` compare equal.
//!
//! Folding is lossy on purpose and only meant for comparison keys and search
//! terms; the values shown to users keep their original spelling.

/// ASCII replacement of every letter of Latin-1 Supplement and Latin
/// Extended-A (U+00C0–U+017F), indexed from U+00C0. An empty entry is a
/// symbol of the block (`×`, `÷`) and separates words.
///
/// Checked against Unicode NFKD decomposition when written; the letters that
/// do not decompose (`æ ð ø þ ß đ ħ ı ĸ ł ŋ œ ŧ`) are given their usual
/// transliteration.
const LATIN: [&str; 192] = [
    // U+00C0 À Á Â Ã Ä Å Æ Ç
    "a", "a", "a", "a", "a", "a", "ae", "c", //
    // U+00C8 È É Ê Ë Ì Í Î Ï
    "e", "e", "e", "e", "i", "i", "i", "i", //
    // U+00D0 Ð Ñ Ò Ó Ô Õ Ö ×
    "d", "n", "o", "o", "o", "o", "o", "", //
    // U+00D8 Ø Ù Ú Û Ü Ý Þ ß
    "o", "u", "u", "u", "u", "y", "th", "ss", //
    // U+00E0 à á â ã ä å æ ç
    "a", "a", "a", "a", "a", "a", "ae", "c", //
    // U+00E8 è é ê ë ì í î ï
    "e", "e", "e", "e", "i", "i", "i", "i", //
    // U+00F0 ð ñ ò ó ô õ ö ÷
    "d", "n", "o", "o", "o", "o", "o", "", //
    // U+00F8 ø ù ú û ü ý þ ÿ
    "o", "u", "u", "u", "u", "y", "th", "y", //
    // U+0100 Ā ā Ă ă Ą ą Ć ć
    "a", "a", "a", "a", "a", "a", "c", "c", //
    // U+0108 Ĉ ĉ Ċ ċ Č č Ď ď
    "c", "c", "c", "c", "c", "c", "d", "d", //
    // U+0110 Đ đ Ē ē Ĕ ĕ Ė ė
    "d", "d", "e", "e", "e", "e", "e", "e", //
    // U+0118 Ę ę Ě ě Ĝ ĝ Ğ ğ
    "e", "e", "e", "e", "g", "g", "g", "g", //
    // U+0120 Ġ ġ Ģ ģ Ĥ ĥ Ħ ħ
    "g", "g", "g", "g", "h", "h", "h", "h", //
    // U+0128 Ĩ ĩ Ī ī Ĭ ĭ Į į
    "i", "i", "i", "i", "i", "i", "i", "i", //
    // U+0130 İ ı Ĳ ĳ Ĵ ĵ Ķ ķ
    "i", "i", "ij", "ij", "j", "j", "k", "k", //
    // U+0138 ĸ Ĺ ĺ Ļ ļ Ľ ľ Ŀ
    "k", "l", "l", "l", "l", "l", "l", "l", //
    // U+0140 ŀ Ł ł Ń ń Ņ ņ Ň
    "l", "l", "l", "n", "n", "n", "n", "n", //
    // U+0148 ň ŉ Ŋ ŋ Ō ō Ŏ ŏ
    "n", "n", "n", "n", "o", "o", "o", "o", //
    // U+0150 Ő ő Œ œ Ŕ ŕ Ŗ ŗ
    "o", "o", "oe", "oe", "r", "r", "r", "r", //
    // U+0158 Ř ř Ś ś Ŝ ŝ Ş ş
    "r", "r", "s", "s", "s", "s", "s", "s", //
    // U+0160 Š š Ţ ţ Ť ť Ŧ ŧ
    "s", "s", "t", "t", "t", "t", "t", "t", //
    // U+0168 Ũ ũ Ū ū Ŭ ŭ Ů ů
    "u", "u", "u", "u", "u", "u", "u", "u", //
    // U+0170 Ű ű Ų ų Ŵ ŵ Ŷ ŷ
    "u", "u", "u", "u", "w", "w", "y", "y", //
    // U+0178 Ÿ Ź ź Ż ż Ž ž ſ
    "y", "z", "z", "z", "z", "z", "z", "s", //
];

/// Most search terms kept from one query: more would only slow the query
/// down without narrowing the result in practice.
pub const MAX_TERMS: usize = 8;
/// Longest search term, in characters; longer input is pasted garbage and
/// would make `LIKE` patterns needlessly expensive.
pub const MAX_TERM_CHARS: usize = 64;

/// What a character becomes once folded.
enum Folded {
    /// A single character, already lowercase.
    Char(char),
    /// A transliteration from [`LATIN`].
    Text(&'static str),
    /// A letter or digit outside the transliteration table, still to lowercase.
    Other(char),
    /// A word boundary.
    Separator,
    /// Nothing at all: invisible characters and combining marks, which must
    /// not split a word (`e` + U+0301 is the decomposed spelling of `é`).
    Skip,
}

fn fold_char(c: char) -> Folded {
    if c.is_ascii() {
        return if c.is_ascii_alphanumeric() {
            Folded::Char(c.to_ascii_lowercase())
        } else {
            Folded::Separator
        };
    }
    let cp = c as u32;
    if (0xC0..0x180).contains(&cp) {
        return match LATIN[(cp - 0xC0) as usize] {
            "" => Folded::Separator,
            s => Folded::Text(s),
        };
    }
    match c {
        // Combining diacritical marks, soft hyphen, zero-width characters and
        // the byte order mark that spreadsheets put before the first header.
        '\u{0300}'..='\u{036F}'
        | '\u{00AD}'
        | '\u{200B}'..='\u{200D}'
        | '\u{2060}'
        | '\u{FEFF}' => Folded::Skip,
        // Modifier-letter apostrophes are "letters" for Unicode, yet used as
        // apostrophes (`dʼArtagnan`).
        '\u{02BB}' | '\u{02BC}' => Folded::Separator,
        c if c.is_alphanumeric() => Folded::Other(c),
        _ => Folded::Separator,
    }
}

/// Folds `s` for comparison and search: lowercase, diacritics removed from
/// Latin letters (`é` → `e`, `ł` → `l`), ligatures spelt out (`œ` → `oe`,
/// `ß` → `ss`), every run of spaces, punctuation, apostrophes and hyphens
/// turned into a single space, no leading or trailing space.
///
/// Letters of other scripts are lowercased and kept.
///
/// ```
/// use amicale_people::normalise::fold;
/// assert_eq!(fold("  Hélène DUPRÉ-d’Aubigné "), "helene dupre d aubigne");
/// assert_eq!(fold("Œuvre & Straße"), "oeuvre strasse");
/// ```
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out, false);
    out
}

/// [`fold`] appending to `out`, so that callers folding many values can
/// reuse one buffer. With `keep_symbols`, punctuation and symbols are kept
/// as they are instead of separating words, and only whitespace separates.
fn fold_into(s: &str, out: &mut String, keep_symbols: bool) {
    let start = out.len();
    let mut pending_space = false;
    for c in s.chars() {
        let folded = match fold_char(c) {
            Folded::Skip => continue,
            Folded::Separator if keep_symbols && !c.is_whitespace() => Folded::Char(c),
            Folded::Separator => {
                // Deferred so that trailing separators never produce a space.
                pending_space = out.len() > start;
                continue;
            }
            other => other,
        };
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match folded {
            Folded::Char(c) => out.push(c),
            Folded::Text(t) => out.push_str(t),
            Folded::Other(c) => out.extend(c.to_lowercase()),
            Folded::Separator | Folded::Skip => {}
        }
    }
}

/// Like [`fold`] but keeping punctuation and symbols, for comparing values
/// where they matter: the skills `C++`, `C#` and `C` are different, while
/// `Français` and `FRANCAIS` are the same language.
pub(crate) fn fold_keeping_symbols(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out, true);
    out
}

/// Search terms of a free-text query: the words of the folded query, without
/// repeats, in their original order, at most [`MAX_TERMS`] of them, each cut
/// to [`MAX_TERM_CHARS`] characters.
///
/// ```
/// use amicale_people::normalise::terms;
/// assert_eq!(terms("Dupré, dupre  Lyon"), ["dupre", "lyon"]);
/// ```
pub fn terms(query: &str) -> Vec<String> {
    let folded = fold(query);
    let mut out: Vec<String> = Vec::new();
    for word in folded.split(' ') {
        if out.len() == MAX_TERMS {
            break;
        }
        if word.is_empty() {
            continue;
        }
        let word = match word.char_indices().nth(MAX_TERM_CHARS) {
            Some((end, _)) => &word[..end],
            None => word,
        };
        // A linear scan beats hashing for at most eight short terms.
        if !out.iter().any(|t| t == word) {
            out.push(word.to_owned());
        }
    }
    out
}

/// Key under which two persons are suspected to be the same: the folded words
/// of both names, sorted, so that swapped first and last names, case, accents
/// and hyphens do not hide a duplicate.
///
/// ```
/// use amicale_people::normalise::name_key;
/// assert_eq!(name_key("Hélène", "Dupré"), name_key("DUPRE", "helene"));
/// assert_eq!(name_key("Jean-Pierre", "Le Gall"), "gall jean le pierre");
/// ```
pub fn name_key(first: &str, last: &str) -> String {
    let mut folded = String::with_capacity(first.len() + last.len() + 1);
    fold_into(first, &mut folded, false);
    folded.push(' ');
    fold_into(last, &mut folded, false);
    let mut words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_case() {
        assert_eq!(fold("Hélène Dupré"), fold("helene dupre"));
        assert_eq!(fold("Hélène Dupré"), "helene dupre");
        assert_eq!(fold("ÉLODIE"), "elodie");
        assert_eq!(fold("François Çağlar"), "francois caglar");
        assert_eq!(fold("Noël Zoë Anaïs"), "noel zoe anais");
        assert_eq!(fold("Ñúñez Ångström"), "nunez angstrom");
        assert_eq!(fold("Søren Łukasz Đorđe"), "soren lukasz dorde");
        assert_eq!(fold("Dvořák Šťastný Žižek"), "dvorak stastny zizek");
        assert_eq!(fold("Őrsi Ŧ İstanbul ı"), "orsi t istanbul i");
        assert_eq!(fold("ÿ Ÿ ý Ý þ Þ ð Ð"), "y y y y th th d d");
    }

    #[test]
    fn ligatures() {
        assert_eq!(fold("Œdipe cœur"), "oedipe coeur");
        assert_eq!(fold("Lætitia ÆSOP"), "laetitia aesop");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Ĳsselmeer"), "ijsselmeer");
    }

    #[test]
    fn whole_latin_table_folds_to_lowercase_ascii() {
        for cp in 0xC0u32..0x180 {
            let c = char::from_u32(cp).unwrap_or(' ');
            let f = fold(&c.to_string());
            if c == '×' || c == '÷' {
                assert_eq!(f, "", "{c}");
            } else {
                assert!(!f.is_empty(), "{c}");
                assert!(f.bytes().all(|b| b.is_ascii_lowercase()), "{c} → {f}");
            }
            // Upper and lower case of a letter fold the same.
            let lower: String = c.to_lowercase().collect();
            if lower.chars().count() == 1 {
                assert_eq!(fold(&lower), f, "{c}");
            }
        }
    }

    #[test]
    fn punctuation_becomes_single_spaces() {
        assert_eq!(fold("d'Artagnan"), "d artagnan");
        assert_eq!(fold("d’Artagnan"), "d artagnan");
        assert_eq!(fold("dʼArtagnan"), "d artagnan");
        assert_eq!(fold("Jean-Pierre"), "jean pierre");
        assert_eq!(fold("  Marie -- Claire  "), "marie claire");
        assert_eq!(fold("a.b,c;d/e_f(g)h"), "a b c d e f g h");
        assert_eq!(fold("Ville\u{00A0}:\u{202F}Paris\t\n"), "ville paris");
        assert_eq!(fold("3 × 4 ÷ 2"), "3 4 2");
        assert_eq!(fold("«Lyon»"), "lyon");
        assert_eq!(fold(""), "");
        assert_eq!(fold(" - ' . "), "");
    }

    #[test]
    fn invisible_characters_do_not_split_words() {
        // Decomposed (NFD) input, as some macOS exports produce.
        assert_eq!(fold("He\u{301}le\u{300}ne"), "helene");
        assert_eq!(fold("\u{FEFF}Prénom"), "prenom");
        assert_eq!(fold("Hé\u{AD}lène"), "helene");
        assert_eq!(fold("ab\u{200B}cd"), "abcd");
    }

    #[test]
    fn other_scripts_are_lowercased_and_kept() {
        assert_eq!(fold("ΑΘΗΝΑ"), "αθηνα");
        assert_eq!(fold("Москва"), "москва");
        assert_eq!(fold("東京 2024"), "東京 2024");
        assert_eq!(fold("Nguyễn"), "nguyễn");
    }

    #[test]
    fn fold_is_idempotent() {
        for s in ["Hélène Dupré", "Œ ß ł", "  a--b  ", "ΑΘΗΝΑ d’x"] {
            let once = fold(s);
            assert_eq!(fold(&once), once);
        }
    }

    #[test]
    fn terms_split_dedupe_and_cap() {
        assert_eq!(terms("  Hélène   DUPRÉ "), ["helene", "dupre"]);
        assert_eq!(terms("Dupré dupre DUPRE"), ["dupre"]);
        assert_eq!(terms("lyon, paris; lyon"), ["lyon", "paris"]);
        assert!(terms("").is_empty());
        assert!(terms(" ,;- ").is_empty());
        let many = terms("a b c d e f g h i j");
        assert_eq!(many, ["a", "b", "c", "d", "e", "f", "g", "h"]);
        // Repeats do not use up the budget of terms.
        assert_eq!(terms("a a a a a a a a a b").len(), 2);
    }

    #[test]
    fn terms_are_cut_on_char_boundaries() {
        let long = "é".repeat(100);
        let t = terms(&long);
        assert_eq!(t, ["e".repeat(MAX_TERM_CHARS)]);
        let greek = "α".repeat(70);
        let t = terms(&greek);
        assert_eq!(t[0].chars().count(), MAX_TERM_CHARS);
        // Two long words equal on their first 64 characters are one term.
        let a = format!("{}x", "a".repeat(64));
        let b = format!("{}y", "a".repeat(64));
        assert_eq!(terms(&format!("{a} {b}")).len(), 1);
    }

    #[test]
    fn name_key_ignores_order_case_and_accents() {
        assert_eq!(name_key("Hélène", "Dupré"), "dupre helene");
        assert_eq!(name_key("Dupré", "Hélène"), "dupre helene");
        assert_eq!(name_key("HELENE", "dupre"), "dupre helene");
        assert_eq!(name_key("Dupré Hélène", ""), name_key("Helene", "DUPRE"));
        assert_eq!(
            name_key("Marie-Claire", "de La Tour"),
            name_key("Marie Claire", "DE LA TOUR")
        );
        assert_eq!(name_key("", ""), "");
        assert_eq!(name_key("  ", "Dupont"), "dupont");
    }

    #[test]
    fn folding_that_keeps_symbols() {
        assert_eq!(fold_keeping_symbols("  C++ "), "c++");
        assert_eq!(fold_keeping_symbols("C#"), "c#");
        assert_eq!(fold_keeping_symbols("FRANÇAIS"), "francais");
        assert_eq!(
            fold_keeping_symbols("Gestion   de\tprojet"),
            "gestion de projet"
        );
        assert_eq!(fold_keeping_symbols("d’Artagnan"), "d’artagnan");
        assert_eq!(fold_keeping_symbols("He\u{301}le\u{300}ne"), "helene");
    }

    #[test]
    fn name_key_keeps_distinct_people_apart() {
        assert_ne!(name_key("Jean", "Martin"), name_key("Jeanne", "Martin"));
        // Repeated words are significant: "Martin Martin" is not "Martin".
        assert_ne!(name_key("Martin", "Martin"), name_key("", "Martin"));
    }
}
