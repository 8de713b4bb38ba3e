//! The `phone` filter: readable telephone numbers.
//!
//! French numbers are shown in the national form everybody dials
//! (`06 12 34 56 78`), whether stored as `+33612345678` or `0612345678`;
//! other E.164 numbers keep their `+CC` prefix. Anything that does not look
//! like a telephone number is returned unchanged so a bad record never breaks
//! a mailing.

// E.164 country codes of one and two digits; every other code has three.
const ONE_DIGIT: [&str; 2] = ["1", "7"];
const TWO_DIGITS: [&str; 44] = [
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];
// Francophone numbering plans that are read in pairs like the French one.
const PAIRED: [&str; 13] = [
    "32", "41", "212", "213", "216", "262", "352", "377", "508", "590", "594", "596", "689",
];

fn country_code_len(digits: &str) -> usize {
    if ONE_DIGIT.iter().any(|cc| digits.starts_with(cc)) {
        1
    } else if TWO_DIGITS.iter().any(|cc| digits.starts_with(cc)) {
        2
    } else {
        3
    }
}

fn pairs(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 2 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Groups of three, the last group taking a lone trailing digit so that no
/// group is a single digit ("415 555 2671").
fn triples(digits: &str) -> String {
    let n = digits.len();
    let mut out = String::with_capacity(n + n / 3);
    let mut i = 0;
    while i < n {
        let remaining = n - i;
        let take = if remaining == 4 { 4 } else { remaining.min(3) };
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&digits[i..i + take]);
        i += take;
    }
    out
}

/// Formats a telephone number for reading; returns the input unchanged when
/// it is not one.
pub(crate) fn format(input: &str) -> String {
    let trimmed = input.trim();
    // "+33 (0)6 …" is a common way of writing a French number; the "(0)" is
    // not dialled from abroad.
    let cleaned = trimmed.replace("(0)", "");
    let (international, body) = if let Some(rest) = cleaned.strip_prefix('+') {
        (true, rest)
    } else if let Some(rest) = cleaned.strip_prefix("00") {
        (true, rest)
    } else {
        (false, cleaned.as_str())
    };
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '/' | '(' | ')'))
    {
        return input.to_owned();
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    if !international {
        return if digits.len() == 10 && digits.starts_with('0') {
            pairs(&digits)
        } else {
            input.to_owned()
        };
    }
    // E.164 allows at most 15 digits; fewer than 8 is no real subscriber number.
    if !(8..=15).contains(&digits.len()) {
        return input.to_owned();
    }
    if let Some(national) = digits.strip_prefix("33") {
        return match national.len() {
            9 if !national.starts_with('0') => pairs(&format!("0{national}")),
            _ => input.to_owned(),
        };
    }
    let cc_len = country_code_len(&digits);
    let (cc, national) = digits.split_at(cc_len);
    if national.len() < 4 {
        return input.to_owned();
    }
    let grouped = if PAIRED.contains(&cc) {
        // An odd count leads with three digits, as in "+32 470 12 34 56".
        if national.len() % 2 == 1 {
            format!("{} {}", &national[..3], pairs(&national[3..]))
        } else {
            pairs(national)
        }
    } else {
        triples(national)
    };
    format!("+{cc} {grouped}")
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn french_numbers_in_national_form() {
        assert_eq!(format("+33612345678"), "06 12 34 56 78");
        assert_eq!(format("0612345678"), "06 12 34 56 78");
        assert_eq!(format("06.12.34.56.78"), "06 12 34 56 78");
        assert_eq!(format("0033 6 12 34 56 78"), "06 12 34 56 78");
        assert_eq!(format("+33 (0)1 45 67 89 01"), "01 45 67 89 01");
    }

    #[test]
    fn foreign_numbers_keep_country_code() {
        assert_eq!(format("+14155552671"), "+1 415 555 2671");
        assert_eq!(format("+442079460958"), "+44 207 946 0958");
        assert_eq!(format("+32470123456"), "+32 470 12 34 56");
        assert_eq!(format("+262692123456"), "+262 692 12 34 56");
        assert_eq!(format("+4930123456"), "+49 301 234 56");
    }

    #[test]
    fn garbage_is_unchanged() {
        for s in [
            "",
            "n/a",
            "+33 6 12",
            "12345",
            "+336123456789012345",
            "06 12 ab 56 78",
            "+",
        ] {
            assert_eq!(format(s), s);
        }
    }
}
