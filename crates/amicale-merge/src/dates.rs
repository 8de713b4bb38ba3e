//! Date parsing and formatting for the `date` filter.
//!
//! Values arrive as strings already expressed in the network's local time, so
//! the offset of an RFC 3339 value is ignored on purpose: converting here
//! would shift a meeting announced "à 14:30" to whatever zone the server runs
//! in.

use chrono::{Datelike, NaiveDate};
use std::fmt::Write as _;

use crate::Locale;

/// A calendar date with an optional wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalDateTime {
    pub date: NaiveDate,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub has_time: bool,
}

const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
// Abbreviations follow CLDR, which is what French readers see in calendars.
const MONTHS_FR_SHORT: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_EN_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
// Monday first, as chrono's `num_days_from_monday` counts.
const DAYS_FR: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const DAYS_FR_SHORT: [&str; 7] = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."];
const DAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const DAYS_EN_SHORT: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0')),
    )
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` and RFC 3339
/// (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`). Returns `None` for anything else.
pub(crate) fn parse(input: &str) -> Option<LocalDateTime> {
    let s = input.trim().as_bytes();
    if s.len() < 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let year = digits(&s[0..4])?;
    let month = digits(&s[5..7])?;
    let day = digits(&s[8..10])?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let mut out = LocalDateTime {
        date,
        hour: 0,
        minute: 0,
        second: 0,
        has_time: false,
    };
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(out);
    }
    if !matches!(rest[0], b' ' | b'T' | b't') || rest.len() < 6 || rest[3] != b':' {
        return None;
    }
    out.hour = digits(&rest[1..3])?;
    out.minute = digits(&rest[4..6])?;
    let mut tail = &rest[6..];
    if tail.first() == Some(&b':') {
        out.second = digits(tail.get(1..3)?)?;
        tail = &tail[3..];
        if tail.first() == Some(&b'.') {
            let frac = tail[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if frac == 0 {
                return None;
            }
            tail = &tail[1 + frac..];
        }
    }
    // The zone designator is accepted and ignored (see the module comment).
    match tail {
        [] | [b'Z' | b'z'] => {}
        [b'+' | b'-', h1, h2, b':', m1, m2] | [b'+' | b'-', h1, h2, m1, m2]
            if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => {}
        _ => return None,
    }
    if out.hour > 23 || out.minute > 59 || out.second > 60 {
        return None;
    }
    out.has_time = true;
    Some(out)
}

fn month_name(locale: Locale, month0: usize) -> &'static str {
    match locale {
        Locale::Fr => MONTHS_FR[month0],
        Locale::En => MONTHS_EN[month0],
    }
}

fn day_name(locale: Locale, day0: usize) -> &'static str {
    match locale {
        Locale::Fr => DAYS_FR[day0],
        Locale::En => DAYS_EN[day0],
    }
}

/// French writes the first day of a month as an ordinal ("1er mars").
fn long_day(locale: Locale, day: u32) -> String {
    match (locale, day) {
        (Locale::Fr, 1) => "1er".to_owned(),
        _ => day.to_string(),
    }
}

fn english_suffix(day: u32) -> &'static str {
    match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// Formats with a named format (`short`, `long`, `full`, `time`, `datetime`)
/// or, failing that, with PHP `date()` letters.
pub(crate) fn format(dt: &LocalDateTime, fmt: &str, locale: Locale) -> String {
    let month0 = dt.date.month0() as usize;
    let day0 = dt.date.weekday().num_days_from_monday() as usize;
    let (d, y) = (dt.date.day(), dt.date.year());
    match fmt {
        "short" => format!("{d:02}/{:02}/{y}", month0 + 1),
        "long" => format!("{} {} {y}", long_day(locale, d), month_name(locale, month0)),
        "time" => format!("{:02}:{:02}", dt.hour, dt.minute),
        "datetime" => format!(
            "{d:02}/{:02}/{y} {:02}:{:02}",
            month0 + 1,
            dt.hour,
            dt.minute
        ),
        "full" => {
            let mut out = format!(
                "{} {} {} {y}",
                day_name(locale, day0),
                long_day(locale, d),
                month_name(locale, month0)
            );
            if dt.has_time {
                let at = match locale {
                    Locale::Fr => "à",
                    Locale::En => "at",
                };
                let _ = write!(out, " {at} {:02}:{:02}", dt.hour, dt.minute);
            }
            out
        }
        php => format_php(dt, php, locale),
    }
}

/// PHP `date()` letters as JUNGO2 used them; every other character is copied
/// and a backslash makes the next character literal.
pub(crate) fn format_php(dt: &LocalDateTime, fmt: &str, locale: Locale) -> String {
    let month0 = dt.date.month0() as usize;
    let weekday = dt.date.weekday();
    let day0 = weekday.num_days_from_monday() as usize;
    let (d, y) = (dt.date.day(), dt.date.year());
    let h12 = match dt.hour % 12 {
        0 => 12,
        h => h,
    };
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut chars = fmt.chars();
    // `write!` into a String cannot fail; the results are ignored for that reason.
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            'd' => _ = write!(out, "{d:02}"),
            'j' => _ = write!(out, "{d}"),
            'D' => out.push_str(match locale {
                Locale::Fr => DAYS_FR_SHORT[day0],
                Locale::En => DAYS_EN_SHORT[day0],
            }),
            'l' => out.push_str(day_name(locale, day0)),
            'N' => _ = write!(out, "{}", weekday.number_from_monday()),
            'w' => _ = write!(out, "{}", weekday.num_days_from_sunday()),
            'S' => out.push_str(match locale {
                Locale::Fr if d == 1 => "er",
                Locale::Fr => "",
                Locale::En => english_suffix(d),
            }),
            'F' => out.push_str(month_name(locale, month0)),
            'M' => out.push_str(match locale {
                Locale::Fr => MONTHS_FR_SHORT[month0],
                Locale::En => MONTHS_EN_SHORT[month0],
            }),
            'm' => _ = write!(out, "{:02}", month0 + 1),
            'n' => _ = write!(out, "{}", month0 + 1),
            'Y' => _ = write!(out, "{y}"),
            'y' => _ = write!(out, "{:02}", y.rem_euclid(100)),
            'H' => _ = write!(out, "{:02}", dt.hour),
            'G' => _ = write!(out, "{}", dt.hour),
            'h' => _ = write!(out, "{h12:02}"),
            'g' => _ = write!(out, "{h12}"),
            'i' => _ = write!(out, "{:02}", dt.minute),
            's' => _ = write!(out, "{:02}", dt.second),
            // PHP prints the meridiem in English whatever the locale.
            'a' => out.push_str(if dt.hour < 12 { "am" } else { "pm" }),
            'A' => out.push_str(if dt.hour < 12 { "AM" } else { "PM" }),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_accepted_shapes() {
        let p = |s| parse(s).map(|d| (d.date.to_string(), d.hour, d.minute, d.second, d.has_time));
        assert_eq!(p("2026-03-12"), Some(("2026-03-12".into(), 0, 0, 0, false)));
        assert_eq!(
            p("2026-03-12 14:30"),
            Some(("2026-03-12".into(), 14, 30, 0, true))
        );
        assert_eq!(
            p("2026-03-12 14:30:05"),
            Some(("2026-03-12".into(), 14, 30, 5, true))
        );
        assert_eq!(
            p("2026-03-12T14:30:05.123+01:00"),
            Some(("2026-03-12".into(), 14, 30, 5, true))
        );
        assert_eq!(
            p("2026-03-12T14:30:05Z"),
            Some(("2026-03-12".into(), 14, 30, 5, true))
        );
        for bad in [
            "",
            "2026-02-30",
            "2026-13-01",
            "12/03/2026",
            "2026-03-12 25:00",
            "2026-03-12x",
            "2026-03-12 14:3",
            "2026-03-12T14:30:05+1",
            "2026-03-12 14:30:05.",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn named_formats_in_both_locales() {
        let dt = parse("2026-03-12 14:30").unwrap();
        assert_eq!(format(&dt, "long", Locale::Fr), "12 mars 2026");
        assert_eq!(
            format(&dt, "full", Locale::Fr),
            "jeudi 12 mars 2026 à 14:30"
        );
        assert_eq!(format(&dt, "short", Locale::Fr), "12/03/2026");
        assert_eq!(format(&dt, "time", Locale::Fr), "14:30");
        assert_eq!(format(&dt, "datetime", Locale::En), "12/03/2026 14:30");
        assert_eq!(format(&dt, "long", Locale::En), "12 March 2026");
        assert_eq!(
            format(&dt, "full", Locale::En),
            "Thursday 12 March 2026 at 14:30"
        );
        let first = parse("2026-03-01").unwrap();
        assert_eq!(format(&first, "full", Locale::Fr), "dimanche 1er mars 2026");
        assert_eq!(format(&first, "long", Locale::En), "1 March 2026");
    }
}
