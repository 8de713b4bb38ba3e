//! Network time: dates and times as people type them, and local times in
//! the network's zone turned into the UTC instants we store.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A local date and time in the network zone, as UTC. A time that does not
/// exist (the spring-forward hour) is refused; an ambiguous one takes the
/// earlier instant.
pub fn local_to_utc(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|d| d.with_timezone(&Utc))
}

/// `2027-03-14` or `14/03/2027`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}

/// `18:30`, `18h30` or `18:30:00`.
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%Hh%M"))
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_become_utc_in_the_network_zone() {
        let tz = chrono_tz::Europe::Paris;
        let d = parse_date("12/03/2026").unwrap();
        let t = parse_time("14:30").unwrap();
        let utc = local_to_utc(tz, d, t).unwrap();
        assert_eq!(utc.to_rfc3339(), "2026-03-12T13:30:00+00:00");
        // 29 March 2026, 02:30 does not exist in Paris.
        let gap = local_to_utc(
            tz,
            parse_date("2026-03-29").unwrap(),
            parse_time("02:30").unwrap(),
        );
        assert_eq!(gap, None);
    }
}
