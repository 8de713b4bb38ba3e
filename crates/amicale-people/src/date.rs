//! Calendar dates as found in member spreadsheets (birth dates).

use core::fmt;
use core::str::FromStr;

use crate::FieldError;

/// A valid date of the Gregorian calendar, year between [`Date::MIN_YEAR`]
/// and [`Date::MAX_YEAR`].
///
/// Only the date is kept: this crate does no time-zone arithmetic, the
/// application converts to its date type with the accessors.
///
/// ```
/// use amicale_people::Date;
/// let d = Date::parse("29/02/2000").unwrap();
/// assert_eq!((d.year(), d.month(), d.day()), (2000, 2, 29));
/// assert_eq!(d.to_string(), "2000-02-29");
/// assert!(Date::parse("31/02/2000").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    // Field order gives the chronological derived ordering.
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// Earliest year accepted: older years in a member file are typos
    /// (`0198` for `1989`), not historical records.
    pub const MIN_YEAR: i32 = 1800;
    /// Latest year accepted, for the same reason.
    pub const MAX_YEAR: i32 = 2200;

    /// Checks that the date exists.
    ///
    /// # Errors
    ///
    /// [`FieldError::DateInvalid`].
    pub const fn new(year: i32, month: u32, day: u32) -> Result<Self, FieldError> {
        if year < Self::MIN_YEAR || year > Self::MAX_YEAR || month < 1 || month > 12 {
            return Err(FieldError::DateInvalid);
        }
        if day < 1 || day > days_in_month(year, month) {
            return Err(FieldError::DateInvalid);
        }
        // Both fit: month ≤ 12, day ≤ 31.
        Ok(Self {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// Parses `YYYY-MM-DD` (ISO 8601) or the French `DD/MM/YYYY`; day and
    /// month may have one digit, the year must have four. `DD-MM-YYYY` and
    /// `DD.MM.YYYY` are read like the French form, since no spreadsheet writes
    /// the year last with the month first in France. Two-digit years are
    /// refused rather than guessed.
    ///
    /// # Errors
    ///
    /// [`FieldError::Required`] when empty, [`FieldError::DateInvalid`]
    /// otherwise.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(FieldError::Required);
        }
        let sep = match s.bytes().find(|b| !b.is_ascii_digit()) {
            Some(b @ (b'-' | b'/' | b'.')) => b as char,
            _ => return Err(FieldError::DateInvalid),
        };
        let mut parts = s.split(sep);
        let (Some(a), Some(b), Some(c), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(FieldError::DateInvalid);
        };
        let (year, month, day) = if sep == '-' && a.len() == 4 {
            (a, b, c)
        } else {
            (c, b, a)
        };
        if year.len() != 4 || !(1..=2).contains(&month.len()) || !(1..=2).contains(&day.len()) {
            return Err(FieldError::DateInvalid);
        }
        let year = number(year)?;
        let month = number(month)?;
        let day = number(day)?;
        // Four digits at most, so the year fits an i32.
        Self::new(year as i32, month, day)
    }

    /// The year.
    pub const fn year(self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub const fn month(self) -> u32 {
        self.month as u32
    }

    /// The day of the month, from 1.
    pub const fn day(self) -> u32 {
        self.day as u32
    }
}

/// Digits only: `str::parse` would also take a sign.
fn number(s: &str) -> Result<u32, FieldError> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::DateInvalid);
    }
    s.parse().map_err(|_| FieldError::DateInvalid)
}

const fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

const fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// ISO 8601 (`2000-02-29`), the form stored and exchanged; the UI formats
/// dates for its locale.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(s: &str) -> (i32, u32, u32) {
        let d = Date::parse(s).unwrap_or_else(|e| panic!("{s:?} refused: {e}"));
        (d.year(), d.month(), d.day())
    }

    #[test]
    fn formats() {
        assert_eq!(ymd("2000-02-29"), (2000, 2, 29));
        assert_eq!(ymd("29/02/2000"), (2000, 2, 29));
        assert_eq!(ymd(" 1/2/1985 "), (1985, 2, 1));
        assert_eq!(ymd("1985-2-1"), (1985, 2, 1));
        assert_eq!(ymd("01-02-1985"), (1985, 2, 1));
        assert_eq!(ymd("01.02.1985"), (1985, 2, 1));
        assert_eq!(ymd("31/12/1999"), (1999, 12, 31));
    }

    #[test]
    fn calendar_is_checked() {
        for s in [
            "31/02/2000",
            "30/02/2000",
            "29/02/1900", // divisible by 100, not by 400
            "29/02/2023",
            "31/04/2020",
            "31/06/2020",
            "31/09/2020",
            "31/11/2020",
            "00/01/2000",
            "01/00/2000",
            "01/13/2000",
            "32/01/2000",
            "2000-02-30",
            "2000-13-01",
        ] {
            assert_eq!(Date::parse(s), Err(FieldError::DateInvalid), "{s}");
        }
        assert_eq!(ymd("29/02/2024"), (2024, 2, 29));
        assert_eq!(ymd("2000-2-29"), (2000, 2, 29));
        assert_eq!(ymd("31/01/2000"), (2000, 1, 31));
        assert_eq!(ymd("30/04/2000"), (2000, 4, 30));
    }

    #[test]
    fn malformed() {
        assert_eq!(Date::parse(""), Err(FieldError::Required));
        assert_eq!(Date::parse("  "), Err(FieldError::Required));
        for s in [
            "01/02/85",
            "2000/02/01",
            "2000.02.01",
            "1/2",
            "1/2/3/2000",
            "01/02-2000",
            "001/02/2000",
            "1er janvier 2000",
            "2000-02-01T00:00:00",
            "36526",
            "+1/02/2000",
            "01/+2/2000",
            "0198-05-12",
            "2201-01-01",
            "１/2/2000",
            "/02/2000",
        ] {
            assert_eq!(Date::parse(s), Err(FieldError::DateInvalid), "{s:?}");
        }
    }

    #[test]
    fn new_and_display_round_trip() {
        let d = Date::new(2000, 2, 29).unwrap();
        assert_eq!(d.to_string(), "2000-02-29");
        assert_eq!(d.to_string().parse::<Date>(), Ok(d));
        assert_eq!(Date::new(1999, 2, 29), Err(FieldError::DateInvalid));
        assert_eq!(Date::new(2000, 1, 0), Err(FieldError::DateInvalid));
        assert!(Date::new(1999, 12, 31).unwrap() < Date::new(2000, 1, 1).unwrap());
        assert!(Date::new(2000, 1, 31).unwrap() < Date::new(2000, 2, 1).unwrap());
    }
}
