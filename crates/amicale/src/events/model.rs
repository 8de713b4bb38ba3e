//! The values an event, a participation and a rule hold, parsed once: a
//! stored code is always one of these.

use amicale_kernel::codes;

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

/// `2(1)/10`: registered (waiting list)/capacity, as JUNGO2 shows it.
/// How full an event is, in words: "3 of 10 places taken, 2 waiting".
pub fn fill_label(
    l: amicale_kernel::Locale,
    registered: u64,
    waiting: u64,
    capacity: Option<i32>,
) -> String {
    let mut s = match capacity {
        Some(c) => l.t_args(
            "event-fill-of",
            &[
                ("count", registered.to_string()),
                ("capacity", c.to_string()),
            ],
        ),
        None => l.t1("event-fill-registered", "count", registered),
    };
    if waiting > 0 {
        s.push_str(", ");
        s.push_str(&l.t1("event-fill-waiting", "count", waiting));
    }
    s
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
    fn fill_labels() {
        use amicale_kernel::Locale;
        assert_eq!(
            fill_label(Locale::En, 2, 0, Some(10)),
            "2 of 10 places taken"
        );
        assert_eq!(
            fill_label(Locale::En, 10, 3, Some(10)),
            "10 of 10 places taken, 3 waiting"
        );
        assert_eq!(
            fill_label(Locale::En, 1, 1, None),
            "1 registered, 1 waiting"
        );
        assert_eq!(fill_label(Locale::Fr, 1, 0, Some(1)), "1 place prise sur 1");
        assert_eq!(
            fill_label(Locale::Fr, 4, 2, Some(10)),
            "4 places prises sur 10, 2 en attente"
        );
    }
}
