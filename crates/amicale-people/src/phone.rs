//! Phone numbers, stored in E.164 form so that SMS gateways and `tel:` links
//! take them as they are.

use core::fmt;

use crate::FieldError;

/// Country whose national numbering plan applies to a number typed without an
/// international prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Country {
    /// France, including the overseas departments that share its ten-digit
    /// plan (`0692…` is Réunion, `+262692…`, not `+33692…`).
    #[default]
    France,
    /// Belgium (`0` then 8 or 9 digits).
    Belgium,
    /// Switzerland (`0` then 9 digits).
    Switzerland,
    /// No national plan known: only international forms (`+…`, `00…`) are
    /// accepted, because guessing the country would store a wrong number.
    Unknown,
}

impl Country {
    /// Country calling code, without the `+`.
    pub const fn dial_code(self) -> Option<&'static str> {
        match self {
            Self::France => Some("33"),
            Self::Belgium => Some("32"),
            Self::Switzerland => Some("41"),
            Self::Unknown => None,
        }
    }
}

/// Most digits of an E.164 number, country code included (ITU-T E.164).
const MAX_DIGITS: usize = 15;
/// Fewest digits accepted: shorter numbers exist only in a few small
/// countries and, in a member directory, are mostly truncated input.
const MIN_DIGITS: usize = 8;
/// Longer input is not a phone number, and bounding it bounds the work.
const MAX_INPUT_LEN: usize = 48;

/// Numbering areas of the French plan reached from metropolitan France with
/// a `0` trunk prefix: first three digits of the national significant number,
/// and the country code they belong to. Any other `0X…` number is `+33`.
const FRENCH_OVERSEAS: [(&str, &str); 13] = [
    ("262", "262"), // Réunion, fixed
    ("692", "262"), // Réunion, mobile
    ("693", "262"), // Réunion, mobile
    ("269", "262"), // Mayotte, fixed
    ("639", "262"), // Mayotte, mobile
    ("590", "590"), // Guadeloupe, Saint-Martin, Saint-Barthélemy, fixed
    ("690", "590"), // same, mobile
    ("691", "590"), // same, mobile
    ("594", "594"), // French Guiana, fixed
    ("694", "594"), // French Guiana, mobile
    ("596", "596"), // Martinique, fixed
    ("696", "596"), // Martinique, mobile
    ("697", "596"), // Martinique, mobile
];

/// Country codes whose numbers are written nationally with a `0` trunk prefix
/// that must not appear after the country code, with the length of their
/// national significant numbers.
const TRUNK_ZERO_PLANS: [(&str, &[usize]); 7] = [
    ("33", &[9]),
    ("262", &[9]),
    ("590", &[9]),
    ("594", &[9]),
    ("596", &[9]),
    ("32", &[8, 9]),
    ("41", &[9]),
];

/// Country codes sharing the French ten-digit national format.
const FRENCH_PLAN: [&str; 5] = ["33", "262", "590", "594", "596"];

/// A phone number in E.164 form (`+33612345678`).
///
/// ```
/// use amicale_people::{Country, Phone};
/// let p = Phone::parse("06 12 34 56 78", Country::France).unwrap();
/// assert_eq!(p.e164(), "+33612345678");
/// assert_eq!(p.display_national(), "06 12 34 56 78");
/// assert!(p.is_mobile_fr());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    /// Parses a number as people write it: spaces, dots, dashes, slashes and
    /// parentheses are ignored; `+CC…` and `00CC…` are international; a number
    /// starting with a single `0` is national to `default_country`. The trunk
    /// `0` that people keep after the country code (`+33 (0)6…`,
    /// `+33 06…`) is dropped for the plans known to use one.
    ///
    /// # Errors
    ///
    /// [`FieldError::Required`] when empty, [`FieldError::PhoneInvalid`]
    /// otherwise.
    pub fn parse(input: &str, default_country: Country) -> Result<Self, FieldError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(FieldError::Required);
        }
        if s.len() > MAX_INPUT_LEN {
            return Err(FieldError::PhoneInvalid);
        }
        let (plus, rest) = match s.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let digits = collect_digits(rest, plus)?;
        let international = if plus {
            digits
        } else if let Some(intl) = digits.strip_prefix("00") {
            intl.to_owned()
        } else {
            national_to_international(&digits, default_country)?
        };
        Self::from_international_digits(international)
    }

    /// Validates the digits following the `+`.
    fn from_international_digits(mut digits: String) -> Result<Self, FieldError> {
        if let Some((code, lengths)) = TRUNK_ZERO_PLANS
            .iter()
            .find(|(code, _)| digits.starts_with(code))
        {
            if digits[code.len()..].starts_with('0') {
                digits.remove(code.len());
            }
            let national = &digits[code.len()..];
            if !lengths.contains(&national.len()) || national.starts_with('0') {
                return Err(FieldError::PhoneInvalid);
            }
        }
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) || digits.starts_with('0') {
            return Err(FieldError::PhoneInvalid);
        }
        let mut e164 = String::with_capacity(digits.len() + 1);
        e164.push('+');
        e164.push_str(&digits);
        Ok(Self(e164))
    }

    /// The number in E.164 form, `+` included.
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// Same as [`Self::e164`], for symmetry with the other values.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as French users write it (`06 12 34 56 78`) when it belongs
    /// to the French plan, overseas departments included; the E.164 form
    /// otherwise, which any user can dial.
    ///
    /// Parsing the result with [`Country::France`] gives the same number back.
    pub fn display_national(&self) -> String {
        let digits = &self.0[1..];
        let national = FRENCH_PLAN.iter().find_map(|code| {
            digits
                .strip_prefix(code)
                .filter(|n| n.len() == 9 && french_code_for(n) == *code)
        });
        let Some(national) = national else {
            return self.0.clone();
        };
        let mut out = String::with_capacity(14);
        for (i, c) in core::iter::once('0').chain(national.chars()).enumerate() {
            if i > 0 && i % 2 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }

    /// Whether this is a metropolitan French mobile number (`+336…`,
    /// `+337…`), the ones French SMS routes are priced for. Overseas mobiles
    /// (`+262 692…`) are not included.
    pub fn is_mobile_fr(&self) -> bool {
        self.0.starts_with("+336") || self.0.starts_with("+337")
    }

    /// Consumes the value, for storage.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Keeps the digits of `s`, refusing anything but the usual separators.
/// `(0)` is skipped when it follows the country code of an international
/// number, where it notes the trunk prefix for national callers.
fn collect_digits(s: &str, plus: bool) -> Result<String, FieldError> {
    let mut digits = String::with_capacity(MAX_DIGITS + 2);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let international = plus || digits.starts_with("00");
        if c == '(' && international && !digits.is_empty() {
            if let Some(after) = rest.strip_prefix("(0)") {
                rest = after;
                continue;
            }
        }
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '/' | '(' | ')' | '\u{A0}' | '\u{202F}' | '\u{2010}' | '\u{2011}'
            | '\u{2013}' => {}
            _ => return Err(FieldError::PhoneInvalid),
        }
        rest = &rest[c.len_utf8()..];
    }
    if digits.is_empty() {
        return Err(FieldError::PhoneInvalid);
    }
    Ok(digits)
}

/// Country code of a French-plan number from its 9-digit national
/// significant number.
fn french_code_for(national: &str) -> &'static str {
    let prefix = national.get(..3).unwrap_or("");
    FRENCH_OVERSEAS
        .iter()
        .find(|(p, _)| *p == prefix)
        .map_or("33", |(_, code)| code)
}

fn national_to_international(digits: &str, country: Country) -> Result<String, FieldError> {
    let national = digits.strip_prefix('0').ok_or(FieldError::PhoneInvalid)?;
    if national.starts_with('0') {
        return Err(FieldError::PhoneInvalid);
    }
    let code = match country {
        Country::France if national.len() == 9 => french_code_for(national),
        Country::Belgium if matches!(national.len(), 8 | 9) => "32",
        Country::Switzerland if national.len() == 9 => "41",
        _ => return Err(FieldError::PhoneInvalid),
    };
    let mut out = String::with_capacity(code.len() + national.len());
    out.push_str(code);
    out.push_str(national);
    Ok(out)
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> Self {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr(s: &str) -> String {
        match Phone::parse(s, Country::France) {
            Ok(p) => p.e164().to_owned(),
            Err(e) => panic!("{s:?} refused: {e}"),
        }
    }

    fn fr_err(s: &str) -> FieldError {
        match Phone::parse(s, Country::France) {
            Ok(p) => panic!("{s:?} accepted as {p}"),
            Err(e) => e,
        }
    }

    #[test]
    fn french_national_forms() {
        for s in [
            "0612345678",
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "06/12/34/56/78",
            " 06 12 34 56 78 ",
            "(06) 12 34 56 78",
            "06\u{A0}12\u{A0}34\u{A0}56\u{A0}78",
            "06\u{202F}12\u{202F}34\u{202F}56\u{202F}78",
        ] {
            assert_eq!(fr(s), "+33612345678", "{s:?}");
        }
        assert_eq!(fr("01 23 45 67 89"), "+33123456789");
        assert_eq!(fr("09 87 65 43 21"), "+33987654321");
        assert_eq!(fr("07 11 22 33 44"), "+33711223344");
    }

    #[test]
    fn international_forms() {
        for s in [
            "+33612345678",
            "+33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "+33(0)612345678",
            "+33 06 12 34 56 78",
            "0033 6 12 34 56 78",
            "0033 (0)6 12 34 56 78",
            "+33.6.12.34.56.78",
        ] {
            assert_eq!(fr(s), "+33612345678", "{s:?}");
        }
        assert_eq!(fr("+44 20 7946 0958"), "+442079460958");
        assert_eq!(fr("+44 (0)20 7946 0958"), "+442079460958");
        assert_eq!(fr("001 415 555 2671"), "+14155552671");
        assert_eq!(fr("+1 (415) 555-2671"), "+14155552671");
        assert_eq!(fr("+39 06 1234 5678"), "+390612345678");
        assert_eq!(fr("+32 470 12 34 56"), "+32470123456");
        assert_eq!(fr("+41 (0)44 123 45 67"), "+41441234567");
    }

    #[test]
    fn french_overseas_departments() {
        assert_eq!(fr("0692 12 34 56"), "+262692123456");
        assert_eq!(fr("0262 12 34 56"), "+262262123456");
        assert_eq!(fr("0639 12 34 56"), "+262639123456");
        assert_eq!(fr("0690 12 34 56"), "+590690123456");
        assert_eq!(fr("0594 12 34 56"), "+594594123456");
        assert_eq!(fr("0696 12 34 56"), "+596696123456");
        assert_eq!(fr("0697 12 34 56"), "+596697123456");
        assert_eq!(fr("+262 (0)692 12 34 56"), "+262692123456");
        assert_eq!(fr("+262 0692 12 34 56"), "+262692123456");
        // Not an overseas block: stays metropolitan.
        assert_eq!(fr("0698 12 34 56"), "+33698123456");
    }

    #[test]
    fn other_default_countries() {
        let be = Phone::parse("0470 12 34 56", Country::Belgium).unwrap();
        assert_eq!(be.e164(), "+32470123456");
        let be_fixed = Phone::parse("02 123 45 67", Country::Belgium).unwrap();
        assert_eq!(be_fixed.e164(), "+3221234567");
        let ch = Phone::parse("044 123 45 67", Country::Switzerland).unwrap();
        assert_eq!(ch.e164(), "+41441234567");
        assert_eq!(
            Phone::parse("06 12 34 56 78", Country::Unknown),
            Err(FieldError::PhoneInvalid)
        );
        assert_eq!(
            Phone::parse("+33 6 12 34 56 78", Country::Unknown)
                .unwrap()
                .e164(),
            "+33612345678"
        );
        assert_eq!(
            Phone::parse("06 12 34 56 78", Country::Switzerland)
                .unwrap()
                .e164(),
            "+41612345678"
        );
        assert_eq!(Country::default(), Country::France);
        assert_eq!(Country::France.dial_code(), Some("33"));
        assert_eq!(Country::Unknown.dial_code(), None);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(fr_err(""), FieldError::Required);
        assert_eq!(fr_err("  "), FieldError::Required);
        for s in [
            "612345678",          // no trunk prefix, no country code
            "06 12 34 56 7",      // 9 digits
            "06 12 34 56 789",    // 11 digits
            "0012",               // "00" then too few digits
            "+33 6 12 34 56",     // +33 needs 9 national digits
            "+33 6 12 34 56 789", // too many for +33
            "+33 00 12 34 56 78",
            "+0 12 34 56 78",
            "+1234567",             // 7 digits
            "+1234567890123456",    // 16 digits
            "06 12 34 56 78 ext 2", // letters
            "06 12 34 56 78#",
            "+33 6 12 34 56 78 +",
            "++33612345678",
            "tel: 0612345678",
            "06 12 34 56 7８", // fullwidth digit
            "-",
            "()",
            "+",
        ] {
            assert_eq!(fr_err(s), FieldError::PhoneInvalid, "{s:?}");
        }
        assert_eq!(fr_err(&"0".repeat(60)), FieldError::PhoneInvalid);
    }

    #[test]
    fn trunk_zero_is_only_dropped_where_it_is_one() {
        // Italy keeps the leading 0 of fixed numbers after +39.
        assert_eq!(fr("+39 0612345678"), "+390612345678");
        // "(0)" in a national number is just a digit.
        assert_eq!(fr("(0)6 12 34 56 78"), "+33612345678");
    }

    #[test]
    fn national_display() {
        let p = Phone::parse("+33612345678", Country::Unknown).unwrap();
        assert_eq!(p.display_national(), "06 12 34 56 78");
        let p = Phone::parse("0692123456", Country::France).unwrap();
        assert_eq!(p.display_national(), "06 92 12 34 56");
        let p = Phone::parse("+442079460958", Country::France).unwrap();
        assert_eq!(p.display_national(), "+442079460958");
        let p = Phone::parse("+32470123456", Country::France).unwrap();
        assert_eq!(p.display_national(), "+32470123456");
        // +262 with a metropolitan-looking block is not written 0X in France.
        let p = Phone::parse("+262612345678", Country::France).unwrap();
        assert_eq!(p.display_national(), "+262612345678");
    }

    #[test]
    fn round_trips_through_display() {
        for s in [
            "06 12 34 56 78",
            "01 23 45 67 89",
            "0692 12 34 56",
            "0596 12 34 56",
            "+44 20 7946 0958",
            "+1 415 555 2671",
            "+262 612 34 56 78",
        ] {
            let p = Phone::parse(s, Country::France).unwrap();
            assert_eq!(
                Phone::parse(&p.display_national(), Country::France).unwrap(),
                p,
                "{s}"
            );
            assert_eq!(Phone::parse(p.e164(), Country::Unknown).unwrap(), p, "{s}");
            assert_eq!(p.to_string(), p.e164());
            assert_eq!(p.as_ref(), p.as_str());
        }
    }

    #[test]
    fn mobile_detection() {
        assert!(
            Phone::parse("06 12 34 56 78", Country::France)
                .unwrap()
                .is_mobile_fr()
        );
        assert!(
            Phone::parse("07 12 34 56 78", Country::France)
                .unwrap()
                .is_mobile_fr()
        );
        assert!(
            !Phone::parse("01 23 45 67 89", Country::France)
                .unwrap()
                .is_mobile_fr()
        );
        assert!(
            !Phone::parse("0692 12 34 56", Country::France)
                .unwrap()
                .is_mobile_fr()
        );
        assert!(
            !Phone::parse("+3261234567", Country::France)
                .unwrap()
                .is_mobile_fr()
        );
        assert!(
            !Phone::parse("+44 7700 900123", Country::France)
                .unwrap()
                .is_mobile_fr()
        );
    }
}
