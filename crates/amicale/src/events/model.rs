//! The values an event, a participation and a rule hold, parsed once: a
//! stored code is always one of these.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Declares a closed set of stable codes (stored in the database, posted
/// by forms, used as locale key suffixes).
macro_rules! codes {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s)
            }
        }
    };
}
pub(crate) use codes;

codes!(
    /// Individual (one beneficiary, an appointment) or collective (a workshop).
    Nature { Individual = "individual", Collective = "collective" }
);

codes!(
    /// How the event takes place.
    Mode { Onsite = "onsite", Remote = "remote" }
);

codes!(
    /// Attendance of a participant, once the event took place.
    Presence { Present = "present", Absent = "absent", Excused = "excused" }
);

codes!(
    /// The channel of a rule, a campaign or a direct send.
    SendChannel { Email = "email", Newsletter = "newsletter", Sms = "sms" }
);

impl SendChannel {
    /// The template kind this channel sends.
    pub fn template_kind(self) -> crate::comms::templates::model::TemplateKind {
        use crate::comms::templates::model::TemplateKind;
        match self {
            SendChannel::Email => TemplateKind::Email,
            SendChannel::Newsletter => TemplateKind::Newsletter,
            SendChannel::Sms => TemplateKind::Sms,
        }
    }

    pub fn is_email(self) -> bool {
        !matches!(self, SendChannel::Sms)
    }

    /// The outbox channel that delivers it.
    pub fn outbox(self) -> crate::delivery::outbox::Channel {
        use crate::delivery::outbox::Channel;
        if self.is_email() {
            Channel::Email
        } else {
            Channel::Sms
        }
    }
}

codes!(
    /// Which participants of an event a send from the event page reaches.
    Audience {
        All = "all",
        Confirmed = "confirmed",
        Registered = "registered",
        Waiting = "waiting",
        Present = "present",
        Absent = "absent",
    }
);

/// A rule's offset in days: −3 is three days before the event, +7 seven
/// days after. JUNGO2 offers the same window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset(i32);

impl Offset {
    pub const MIN: i32 = -30;
    pub const MAX: i32 = 30;

    pub fn new(days: i32) -> Option<Self> {
        (Self::MIN..=Self::MAX)
            .contains(&days)
            .then_some(Offset(days))
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s
            .strip_prefix("J")
            .or_else(|| s.strip_prefix("D"))
            .unwrap_or(s);
        s.trim_start_matches('+')
            .trim()
            .parse()
            .ok()
            .and_then(Self::new)
    }

    pub fn days(self) -> i32 {
        self.0
    }

    /// `J-2`, `J+3`, `J` as JUNGO2 writes them.
    pub fn label(self) -> String {
        match self.0 {
            0 => "J".into(),
            d if d > 0 => format!("J+{d}"),
            d => format!("J{d}"),
        }
    }
}

/// A local date and time in the network zone, as UTC. A time that does not
/// exist (the spring-forward hour) is refused; an ambiguous one takes the
/// earlier instant.
pub fn local_to_utc(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|d| d.with_timezone(&Utc))
}

/// A video-conference link as the event stores it: an `https` URL with a
/// host, in the `url` crate's serialisation; `None` for anything else. The
/// raw text is checked for control characters first because URL parsing
/// silently drops tabs and newlines, and a link that needed them is not the
/// link the user meant. What comes out holds no CR or LF, so it cannot add
/// lines to an `.ics` file or a message.
pub fn video_link(s: &str) -> Option<String> {
    let s = s.trim();
    amicale_people::check_line(s).ok()?;
    let url = url::Url::parse(s).ok()?;
    (url.scheme() == "https" && url.host_str().is_some_and(|h| !h.is_empty()))
        .then(|| url.as_str().to_owned())
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}

pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%Hh%M"))
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .ok()
}

/// `2(1)/10`: registered (waiting list)/capacity, as JUNGO2 shows it.
pub fn fill_label(registered: u64, waiting: u64, capacity: Option<i32>) -> String {
    match capacity {
        Some(c) => format!("{registered}({waiting})/{c}"),
        None => format!("{registered}({waiting})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_links_are_https_urls_without_control_characters() {
        assert_eq!(
            video_link(" https://meet.example.org/abc?x=1 ").as_deref(),
            Some("https://meet.example.org/abc?x=1")
        );
        for bad in [
            "https://meet.example.org/\r\nATTENDEE:mailto:x@y",
            "https://meet.example.org/a\tb",
            "http://meet.example.org/",
            "javascript:alert(1)",
            "https://",
            "meet.example.org",
            "",
        ] {
            assert_eq!(video_link(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for n in Nature::ALL {
            assert_eq!(Nature::parse(n.as_str()), Some(*n));
        }
        assert_eq!(Presence::parse("excused"), Some(Presence::Excused));
        assert_eq!(Presence::parse("Excused"), None);
        assert_eq!(Mode::parse(""), None);
    }

    #[test]
    fn offsets_read_as_jungo2_writes_them() {
        assert_eq!(Offset::parse("-2").unwrap().days(), -2);
        assert_eq!(Offset::parse("J-2").unwrap().days(), -2);
        assert_eq!(Offset::parse("+7").unwrap().days(), 7);
        assert_eq!(Offset::parse("J+3").unwrap().label(), "J+3");
        assert_eq!(Offset::parse("0").unwrap().label(), "J");
        assert_eq!(Offset::parse("-31"), None);
        assert_eq!(Offset::parse("two"), None);
        assert_eq!(Offset::new(-2).unwrap().label(), "J-2");
    }

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

    #[test]
    fn fill_labels() {
        assert_eq!(fill_label(2, 0, Some(10)), "2(0)/10");
        assert_eq!(fill_label(10, 3, Some(10)), "10(3)/10");
        assert_eq!(fill_label(4, 0, None), "4(0)");
    }
}
