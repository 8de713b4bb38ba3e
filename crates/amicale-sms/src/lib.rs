//! SMS encoding detection and segment counting (GSM 03.38 / 3GPP TS 23.038).
//!
//! Operators bill per segment, so the application must know, before sending,
//! how many segments a text will take. The rules implemented here:
//!
//! - **Encoding.** A text is sent in the 7-bit *GSM default alphabet* when every
//!   character belongs to it or to its *extension table*
//!   (`^ { } \ [ ~ ] | €` and form feed). Extension characters are sent as an
//!   escape septet (0x1B) followed by their own septet, so they count 2.
//!   A single character outside both tables (`ç`, `ê`, an emoji…) switches the
//!   whole message to UCS-2, counted in UTF-16 code units: a character outside
//!   the Basic Multilingual Plane (most emoji) counts 2.
//! - **Segments.** A GSM-7 message holds 160 septets in a single SMS; once
//!   concatenated, the user-data header leaves 153 per segment. UCS-2: 70 units
//!   single, 67 per segment. An escape and its extension character are never
//!   split across segments (a segment that would end with the escape leaves
//!   that septet unused), and neither is a UTF-16 surrogate pair, because
//!   handsets decode each segment on its own. An empty text is 0 segments.
//! - **Transliteration.** [`transliterate`] replaces characters that are absent
//!   from GSM-7 by close equivalents (`ê` → `e`, `œ` → `oe`, `’` → `'`,
//!   `…` → `...`) so that a French text stays in the cheaper encoding; letters
//!   that the alphabet does have (`é è à ù Ä ñ ß`…) are kept.
//!
//! ```
//! use amicale_sms::{analyse, transliterate, Encoding};
//!
//! let text = "Rappel : réunion jeudi — n’oubliez pas vos pièces d’identité…";
//! let before = analyse(text);
//! assert_eq!(before.encoding, Encoding::Ucs2);
//! assert_eq!(before.non_gsm, ['—', '’', '…']);
//! assert_eq!((before.segments, before.remaining), (1, 9));
//!
//! let cheaper = transliterate(text);
//! assert_eq!(cheaper, "Rappel : réunion jeudi - n'oubliez pas vos pièces d'identité...");
//! let after = analyse(&cheaper);
//! assert_eq!(after.encoding, Encoding::Gsm7);
//! assert_eq!((after.segments, after.remaining), (1, 97));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod provider;
#[cfg(test)]
mod tests;

/// Escape septet announcing that the next septet is read in the extension table.
const ESC: u8 = 0x1B;

/// Septets available in a message sent as one SMS.
const GSM7_SINGLE: usize = 160;
/// Septets per segment once the concatenation header takes its share.
const GSM7_MULTI: usize = 153;
/// UTF-16 units available in a UCS-2 message sent as one SMS.
const UCS2_SINGLE: usize = 70;
/// UTF-16 units per UCS-2 segment once the concatenation header takes its share.
const UCS2_MULTI: usize = 67;

/// GSM 03.38 default alphabet, indexed by septet value.
///
/// Slot 0x1B is the escape to the extension table, not a character: it holds
/// U+001B only to keep the indices right and [`basic_septet`] never matches it,
/// since a raw ESC control character in a text cannot be sent as GSM-7.
const BASIC: [char; 128] = [
    // 0x00
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
    // 0x10
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É',
    // 0x20
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
    // 0x30
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
    // 0x40
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
    // 0x50
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
    // 0x60
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    // 0x70
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
];

/// GSM 03.38 extension table: characters sent as [`ESC`] followed by this septet.
///
/// Only the characters of the default (non-national) extension table are
/// listed: national shift tables are not negotiated by the providers we use.
const EXTENSION: [(char, u8); 10] = [
    ('\u{0C}', 0x0A),
    ('^', 0x14),
    ('{', 0x28),
    ('}', 0x29),
    ('\\', 0x2F),
    ('[', 0x3C),
    ('~', 0x3D),
    (']', 0x3E),
    ('|', 0x40),
    ('€', 0x65),
];

/// How a message is encoded on the air, which decides how much fits in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// GSM 03.38 default alphabet, 7 bits per character (extension characters take 2).
    Gsm7,
    /// UCS-2, 16 bits per UTF-16 code unit: used as soon as one character is not GSM-7.
    Ucs2,
}

impl Encoding {
    /// Stable lower-case name, meant for storage, logs and the user interface.
    pub fn as_str(&self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }
}

/// What a text costs as an SMS, so the interface can show a live counter and
/// the delivery engine can estimate the bill before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// Encoding the text will be sent in.
    pub encoding: Encoding,
    /// Characters as the user sees them (Unicode scalar values), which is not
    /// what is billed: see `units`.
    pub characters: usize,
    /// Septets for GSM-7 (an extension character counts 2) or UTF-16 code
    /// units for UCS-2 (a character outside the BMP counts 2).
    pub units: usize,
    /// SMS segments needed; 0 for an empty text.
    pub segments: usize,
    /// Capacity of a segment for this text: 160 or 153 (GSM-7), 70 or 67
    /// (UCS-2), the smaller one as soon as the text needs several segments.
    /// An empty text reports the single-SMS capacity of GSM-7.
    pub per_segment: usize,
    /// Units still free in the last segment before another one is needed.
    /// In a GSM-7 message a last free septet cannot take an extension
    /// character, and in UCS-2 a last free unit cannot take a surrogate pair.
    pub remaining: usize,
    /// Distinct characters that forced UCS-2, in order of first appearance, so
    /// the interface can point the user at them; empty for GSM-7.
    pub non_gsm: Vec<char>,
}

/// Counts encoding, units and segments of `text` as an SMS.
pub fn analyse(text: &str) -> Analysis {
    let mut characters = 0;
    let mut septets = 0;
    let mut non_gsm: Vec<char> = Vec::new();
    for c in text.chars() {
        characters += 1;
        match gsm_septets(c) {
            Some(n) => septets += n,
            None => {
                if !non_gsm.contains(&c) {
                    non_gsm.push(c);
                }
            }
        }
    }

    if non_gsm.is_empty() {
        let packing = pack(
            septets,
            text.chars().filter_map(gsm_septets),
            GSM7_SINGLE,
            GSM7_MULTI,
        );
        Analysis {
            encoding: Encoding::Gsm7,
            characters,
            units: septets,
            segments: packing.segments,
            per_segment: packing.per_segment,
            remaining: packing.remaining,
            non_gsm,
        }
    } else {
        let units = text.chars().map(char::len_utf16).sum();
        let packing = pack(
            units,
            text.chars().map(char::len_utf16),
            UCS2_SINGLE,
            UCS2_MULTI,
        );
        Analysis {
            encoding: Encoding::Ucs2,
            characters,
            units,
            segments: packing.segments,
            per_segment: packing.per_segment,
            remaining: packing.remaining,
            non_gsm,
        }
    }
}

/// Whether every character of `text` can be sent in GSM-7 (default alphabet
/// or extension table). The empty text is GSM-7.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm_septets(c).is_some())
}

/// Encodes `text` as GSM-7 septet values, one byte per septet (not packed),
/// with the escape 0x1B before each extension character; `None` when a
/// character is not GSM-7.
///
/// Some providers take septet values directly, and the byte count is the
/// proof of the septet count reported by [`analyse`].
pub fn encode_gsm7(text: &str) -> Option<Vec<u8>> {
    let mut septets = Vec::with_capacity(text.len());
    for c in text.chars() {
        if let Some(septet) = basic_septet(c) {
            septets.push(septet);
        } else {
            septets.push(ESC);
            septets.push(extension_septet(c)?);
        }
    }
    Some(septets)
}

/// Best-effort rewrite of `text` towards GSM-7, to cut the cost of a message.
///
/// Characters absent from the GSM alphabet are replaced by close equivalents:
/// accented letters by their base letter (`ê` → `e`, `Â` → `A`; `ç` → `Ç`
/// because that is the only c-cedilla the alphabet has), ligatures by their
/// letters (`œ` → `oe`), typographic quotes, dashes, ellipsis and special
/// spaces by their plain forms, invisible characters (zero-width space, soft
/// hyphen, byte order mark) are dropped, and a combining accent is merged into
/// its letter when the result is GSM-7 (`e` + U+0301 → `é`) or dropped
/// otherwise. Characters of the GSM alphabet, extension table included, are
/// never changed.
///
/// Characters without a sensible equivalent (emoji, CJK, other scripts) are
/// left unchanged, so the result may still be UCS-2: call [`analyse`] or
/// [`is_gsm7`] on it to know. Since some replacements are longer than the
/// original character (`…` → `...`), a text made mostly of them could need
/// more segments once rewritten; in that case `text` is returned unchanged,
/// so the result never costs more than the input.
pub fn transliterate(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if gsm_septets(c).is_some() {
            out.push(c);
        } else if is_combining_mark(c) {
            match out.chars().next_back() {
                // A mark on a GSM letter is either part of a GSM letter written
                // decomposed (as some keyboards and macOS file names do) or an
                // accent the alphabet lacks, where the bare letter is closest.
                Some(base) if base.is_alphabetic() && gsm_septets(base).is_some() => {
                    if let Some(composed) = compose(base, c) {
                        out.pop();
                        out.push(composed);
                    }
                }
                // On anything else the mark may belong to a script we leave
                // alone, so it is kept with it.
                _ => out.push(c),
            }
        } else {
            match replacement(c) {
                Some(replacement) => out.push_str(replacement),
                None => out.push(c),
            }
        }
    }

    if analyse(&out).segments > analyse(text).segments {
        text.to_owned()
    } else {
        out
    }
}

/// Segment arithmetic shared by both encodings.
struct Packing {
    segments: usize,
    per_segment: usize,
    remaining: usize,
}

/// Packs items of the given weights (1 or 2 units each) into segments.
///
/// A text that fits the single-SMS capacity is one segment whatever its
/// content. Beyond that, items are packed greedily into `multi`-unit segments
/// and an item that does not fit whole opens the next segment: this is how an
/// escape/extension pair or a surrogate pair stays in one segment.
fn pack(
    total: usize,
    weights: impl Iterator<Item = usize>,
    single: usize,
    multi: usize,
) -> Packing {
    if total <= single {
        let segments = usize::from(total > 0);
        return Packing {
            segments,
            per_segment: single,
            remaining: single - total,
        };
    }
    let mut segments = 1;
    let mut used = 0;
    for weight in weights {
        if used + weight > multi {
            segments += 1;
            used = 0;
        }
        used += weight;
    }
    Packing {
        segments,
        per_segment: multi,
        remaining: multi.saturating_sub(used),
    }
}

/// Septet of `c` in the default alphabet.
fn basic_septet(c: char) -> Option<u8> {
    if c == '\u{1B}' {
        return None;
    }
    BASIC
        .iter()
        .position(|&b| b == c)
        .and_then(|index| u8::try_from(index).ok())
}

/// Septet of `c` in the extension table (to be sent after [`ESC`]).
fn extension_septet(c: char) -> Option<u8> {
    EXTENSION
        .iter()
        .find(|&&(e, _)| e == c)
        .map(|&(_, septet)| septet)
}

/// Septets `c` takes in GSM-7, `None` when it forces UCS-2.
fn gsm_septets(c: char) -> Option<usize> {
    if basic_septet(c).is_some() {
        Some(1)
    } else if extension_septet(c).is_some() {
        Some(2)
    } else {
        None
    }
}

/// Combining diacritical marks (U+0300–U+036F), the ones decomposed Latin
/// text is written with.
fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Letter + combining mark pairs whose composed form is GSM-7.
fn compose(base: char, mark: char) -> Option<char> {
    let composed = match (base, mark) {
        ('a', '\u{0300}') => 'à',
        ('e', '\u{0300}') => 'è',
        ('i', '\u{0300}') => 'ì',
        ('o', '\u{0300}') => 'ò',
        ('u', '\u{0300}') => 'ù',
        ('e', '\u{0301}') => 'é',
        ('E', '\u{0301}') => 'É',
        ('n', '\u{0303}') => 'ñ',
        ('N', '\u{0303}') => 'Ñ',
        ('a', '\u{0308}') => 'ä',
        ('o', '\u{0308}') => 'ö',
        ('u', '\u{0308}') => 'ü',
        ('A', '\u{0308}') => 'Ä',
        ('O', '\u{0308}') => 'Ö',
        ('U', '\u{0308}') => 'Ü',
        ('a', '\u{030A}') => 'å',
        ('A', '\u{030A}') => 'Å',
        // Same reasoning as the precomposed ç in `replacement`.
        ('c' | 'C', '\u{0327}') => 'Ç',
        _ => return None,
    };
    Some(composed)
}

/// GSM-7 replacement of a character that is not GSM-7, if there is a sensible one.
fn replacement(c: char) -> Option<&'static str> {
    let replacement = match c {
        // Latin-1 letters missing from the alphabet (those it has are never
        // looked up here).
        'À' | 'Á' | 'Â' | 'Ã' => "A",
        'È' | 'Ê' | 'Ë' => "E",
        'Ì' | 'Í' | 'Î' | 'Ï' => "I",
        'Ð' => "D",
        'Ò' | 'Ó' | 'Ô' | 'Õ' => "O",
        'Ù' | 'Ú' | 'Û' => "U",
        'Ý' => "Y",
        'Þ' => "Th",
        'á' | 'â' | 'ã' => "a",
        // The alphabet only has the capital Ç (0x09): keeping the cedilla
        // matters more to a French reader than the case.
        'ç' => "Ç",
        'ê' | 'ë' => "e",
        'í' | 'î' | 'ï' => "i",
        'ð' => "d",
        'ó' | 'ô' | 'õ' => "o",
        'ú' | 'û' => "u",
        'ý' | 'ÿ' => "y",
        'þ' => "th",
        // Latin Extended-A and the Romanian comma-below letters.
        'Ā' | 'Ă' | 'Ą' => "A",
        'ā' | 'ă' | 'ą' => "a",
        'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'Ď' | 'Đ' => "D",
        'ď' | 'đ' => "d",
        'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'Ĥ' | 'Ħ' => "H",
        'ĥ' | 'ħ' => "h",
        'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'Ĳ' => "IJ",
        'ĳ' => "ij",
        'Ĵ' => "J",
        'ĵ' => "j",
        'Ķ' => "K",
        'ķ' => "k",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'Ń' | 'Ņ' | 'Ň' => "N",
        'ń' | 'ņ' | 'ň' => "n",
        'Ō' | 'Ŏ' | 'Ő' => "O",
        'ō' | 'ŏ' | 'ő' => "o",
        'Œ' => "OE",
        'œ' => "oe",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "S",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' | 'ſ' => "s",
        'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "T",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
        'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'Ŵ' => "W",
        'ŵ' => "w",
        'Ŷ' | 'Ÿ' => "Y",
        'ŷ' => "y",
        'Ź' | 'Ż' | 'Ž' => "Z",
        'ź' | 'ż' | 'ž' => "z",
        // Typographic ligatures.
        'ﬀ' => "ff",
        'ﬁ' => "fi",
        'ﬂ' => "fl",
        // Quotes, apostrophes and primes.
        '‘' | '’' | '‚' | '‛' | '′' | '‹' | '›' | '`' | '´' => "'",
        '“' | '”' | '„' | '‟' | '″' | '«' | '»' => "\"",
        // Hyphens, dashes and the minus sign.
        '\u{2010}' | '\u{2011}' | '‒' | '–' | '—' | '―' | '−' => "-",
        '…' => "...",
        // Other punctuation and symbols common in notices.
        '•' => "-",
        // `·` is the French inclusive-writing point: "adhérent·e·s" is
        // commonly written "adhérent.e.s".
        '·' => ".",
        '°' | 'º' => "o",
        'ª' => "a",
        '×' => "x",
        '÷' => "/",
        '©' => "(c)",
        '®' => "(R)",
        '™' => "TM",
        // Spaces of every width, including the (narrow) no-break spaces that
        // French typography puts before `:;!?` and inside « ».
        '\t' | '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{2028}' | '\u{2029}' => "\n",
        // Invisible characters: zero-width space, word joiner, byte order
        // mark, soft hyphen. Zero-width (non-)joiners are kept because emoji
        // sequences and some scripts need them.
        '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}' => "",
        _ => return None,
    };
    Some(replacement)
}
