//! Promotion (graduation) years.

use core::fmt;
use core::str::FromStr;

use crate::FieldError;

/// The year of a member's promotion, between [`PromoYear::MIN`] and
/// [`PromoYear::MAX`].
///
/// ```
/// use amicale_people::{FieldError, PromoYear};
/// assert_eq!(PromoYear::parse(" 2015 ").unwrap().get(), 2015);
/// assert_eq!(PromoYear::parse("1850"), Err(FieldError::PromoOutOfRange));
/// assert_eq!(PromoYear::parse("2015a"), Err(FieldError::NotANumber));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PromoYear(i32);

impl PromoYear {
    /// Earliest year accepted.
    pub const MIN: i32 = 1900;
    /// Latest year accepted; future years are allowed for current students.
    pub const MAX: i32 = 2100;

    /// Checks that `year` is in range.
    ///
    /// # Errors
    ///
    /// [`FieldError::PromoOutOfRange`].
    pub const fn new(year: i32) -> Result<Self, FieldError> {
        if year >= Self::MIN && year <= Self::MAX {
            Ok(Self(year))
        } else {
            Err(FieldError::PromoOutOfRange)
        }
    }

    /// Parses a year typed as a whole number (surrounding whitespace ignored).
    ///
    /// # Errors
    ///
    /// [`FieldError::Required`] when empty, [`FieldError::NotANumber`] when
    /// the text is not a whole number (so the user knows to retype it rather
    /// than to check the year), [`FieldError::PromoOutOfRange`] for a number
    /// outside the range, however large.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(FieldError::Required);
        }
        let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::NotANumber);
        }
        // Digits only: a parse failure can only be an overflow.
        s.parse::<i32>()
            .map_err(|_| FieldError::PromoOutOfRange)
            .and_then(Self::new)
    }

    /// The year.
    pub const fn get(self) -> i32 {
        self.0
    }
}

impl TryFrom<i32> for PromoYear {
    type Error = FieldError;

    fn try_from(year: i32) -> Result<Self, Self::Error> {
        Self::new(year)
    }
}

impl From<PromoYear> for i32 {
    fn from(p: PromoYear) -> Self {
        p.0
    }
}

impl FromStr for PromoYear {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for PromoYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_bounds() {
        assert_eq!(PromoYear::new(1900).map(PromoYear::get), Ok(1900));
        assert_eq!(PromoYear::new(2100).map(PromoYear::get), Ok(2100));
        assert_eq!(PromoYear::new(1899), Err(FieldError::PromoOutOfRange));
        assert_eq!(PromoYear::new(2101), Err(FieldError::PromoOutOfRange));
        assert_eq!(PromoYear::try_from(0), Err(FieldError::PromoOutOfRange));
        assert_eq!(
            PromoYear::try_from(i32::MIN),
            Err(FieldError::PromoOutOfRange)
        );
        assert_eq!(PromoYear::try_from(2015).map(i32::from), Ok(2015));
    }

    #[test]
    fn parse_text() {
        assert_eq!(PromoYear::parse("2015").map(PromoYear::get), Ok(2015));
        assert_eq!(PromoYear::parse("\t1998 ").map(PromoYear::get), Ok(1998));
        assert_eq!(PromoYear::parse("+2015").map(PromoYear::get), Ok(2015));
        assert_eq!(PromoYear::parse(""), Err(FieldError::Required));
        assert_eq!(PromoYear::parse("   "), Err(FieldError::Required));
        assert_eq!(PromoYear::parse("15"), Err(FieldError::PromoOutOfRange));
        assert_eq!(PromoYear::parse("-2015"), Err(FieldError::PromoOutOfRange));
        assert_eq!(
            PromoYear::parse("99999999999999"),
            Err(FieldError::PromoOutOfRange)
        );
        for s in [
            "2015a",
            "deux mille",
            "2015.0",
            "2 015",
            "-",
            "+",
            "20-15",
            "２０１５",
            "0x7DF",
        ] {
            assert_eq!(PromoYear::parse(s), Err(FieldError::NotANumber), "{s:?}");
        }
    }

    #[test]
    fn round_trip() {
        for y in [1900, 1999, 2024, 2100] {
            let p = PromoYear::new(y).unwrap();
            assert_eq!(p.to_string().parse::<PromoYear>(), Ok(p));
        }
        assert!(PromoYear::new(1999).unwrap() < PromoYear::new(2000).unwrap());
    }
}
