//! Free text typed by people: names, cities, titles, notes.
//!
//! Every such value later travels into formats where a control character is
//! a command, not a letter: a bare CR in a name reaches SMTP `DATA` (the
//! precondition of SMTP smuggling), a newline in an event title becomes a
//! line of an `.ics` file. The writers of those formats escape what they
//! write, but a value that cannot hold a control character at all removes
//! the whole class at the door.
//!
//! [`Line`] is a single-line text: no character of the Unicode `Cc` category
//! at all. [`Text`] is a multi-line text: `\n` and `\t` are allowed, a CRLF
//! (what browsers submit from a `<textarea>`) is read as `\n`, and every
//! other `Cc` character, a lone CR included, is refused.
//!
//! ```
//! use amicale_people::{FieldError, Line, Text};
//! assert_eq!(Line::parse("  Ann Bob ").unwrap().as_str(), "Ann Bob");
//! assert_eq!(Line::parse("Ann\rBob"), Err(FieldError::ControlChar));
//! assert_eq!(Line::parse("Ann\nBob"), Err(FieldError::ControlChar));
//! assert_eq!(Text::parse("a\r\nb\tc").unwrap().as_str(), "a\nb\tc");
//! assert_eq!(Text::parse("a\rb"), Err(FieldError::ControlChar));
//! assert_eq!(Text::parse("a\u{7}b"), Err(FieldError::ControlChar));
//! ```

use core::fmt;

use crate::FieldError;

/// Whether `c` is in the Unicode `Cc` (control) category: U+0000–U+001F and
/// U+007F–U+009F.
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// Checks that `s` holds no control character: the test for a single-line
/// value that is kept as a plain `String` elsewhere.
///
/// # Errors
///
/// [`FieldError::ControlChar`].
pub fn check_line(s: &str) -> Result<(), FieldError> {
    if s.chars().any(is_control) {
        Err(FieldError::ControlChar)
    } else {
        Ok(())
    }
}

/// Checks that `s` holds no control character but `\n` and `\t` (a
/// multi-line value after [`Text::parse`] normalised its line ends).
///
/// # Errors
///
/// [`FieldError::ControlChar`].
pub fn check_text(s: &str) -> Result<(), FieldError> {
    if s.chars().any(|c| is_control(c) && c != '\n' && c != '\t') {
        Err(FieldError::ControlChar)
    } else {
        Ok(())
    }
}

/// A trimmed single-line text without any control character. May be empty:
/// whether a field is required is the caller's business.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Line(String);

impl Line {
    /// Trims `input` and refuses any control character (tab, CR and LF
    /// included).
    ///
    /// # Errors
    ///
    /// [`FieldError::ControlChar`].
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        check_line(s)?;
        Ok(Self(s.to_owned()))
    }

    /// Like [`Self::parse`], then refuses more than `max_chars` characters.
    ///
    /// # Errors
    ///
    /// [`FieldError::ControlChar`], [`FieldError::TooLong`].
    pub fn parse_max(input: &str, max_chars: usize) -> Result<Self, FieldError> {
        let line = Self::parse(input)?;
        check_max(&line.0, max_chars)?;
        Ok(line)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A trimmed multi-line text: line ends are `\n`, tabs are allowed, no other
/// control character. May be empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(String);

impl Text {
    /// Trims `input`, reads CRLF as `\n`, and refuses any other control
    /// character than `\n` and `\t` (a CR that is not followed by LF
    /// included).
    ///
    /// # Errors
    ///
    /// [`FieldError::ControlChar`].
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let s = if s.contains('\r') {
            s.replace("\r\n", "\n")
        } else {
            s.to_owned()
        };
        check_text(&s)?;
        Ok(Self(s))
    }

    /// Like [`Self::parse`], then refuses more than `max_chars` characters.
    ///
    /// # Errors
    ///
    /// [`FieldError::ControlChar`], [`FieldError::TooLong`].
    pub fn parse_max(input: &str, max_chars: usize) -> Result<Self, FieldError> {
        let text = Self::parse(input)?;
        check_max(&text.0, max_chars)?;
        Ok(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

fn check_max(s: &str, max_chars: usize) -> Result<(), FieldError> {
    // The byte length bounds the character count: count only when needed.
    if s.len() > max_chars && s.chars().count() > max_chars {
        Err(FieldError::TooLong)
    } else {
        Ok(())
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Line {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Line> for String {
    fn from(l: Line) -> Self {
        l.0
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_character_is_refused_in_a_line() {
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            assert_eq!(Line::parse(&s), Err(FieldError::ControlChar), "{c:?}");
        }
    }

    #[test]
    fn text_allows_only_newline_and_tab() {
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            let ok = c == '\n' || c == '\t';
            assert_eq!(Text::parse(&s).is_ok(), ok, "{c:?}");
        }
        assert_eq!(Text::parse("a\r\n\r\nb").unwrap().as_str(), "a\n\nb");
        assert_eq!(Text::parse("a\r\rb"), Err(FieldError::ControlChar));
        assert_eq!(Text::parse("a\n\rb"), Err(FieldError::ControlChar));
    }

    #[test]
    fn letters_of_every_script_pass() {
        for s in ["Hélène", "Ζωή", "李", "O'Brien-Smith", "Ann\u{a0}Bob"] {
            assert_eq!(Line::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert!(Line::parse_max("ééé", 3).is_ok());
        assert_eq!(Line::parse_max("éééé", 3), Err(FieldError::TooLong));
    }
}
