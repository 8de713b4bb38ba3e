use core::fmt;

/// Why a field value was refused.
///
/// Deliberately a code, not a message: the web UI and the import report
/// localise it (French or English), and the code stays stable across
/// releases so that translations and stored import reports keep working.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldError {
    /// The value is empty (after trimming) but the field needs one.
    Required,
    /// The value exceeds the length allowed for the field.
    TooLong,
    /// Not a usable e-mail address.
    EmailInvalid,
    /// Not a usable phone number.
    PhoneInvalid,
    /// A number, but not a year between 1900 and 2100.
    PromoOutOfRange,
    /// Something that is not a whole number where one is expected
    /// (`"2015a"`, `"deux mille"`), kept apart from [`Self::PromoOutOfRange`]
    /// because the fix the user must make is different.
    NotANumber,
    /// None of the known community roles.
    RoleUnknown,
    /// None of the known civilities.
    CivilityUnknown,
    /// Not a date in an accepted format, or not a date of the calendar.
    DateInvalid,
    /// Not a yes/no value.
    BoolInvalid,
    /// A control character (CR, LF, NUL, escape…) where only text is
    /// accepted: see [`crate::Line`].
    ControlChar,
}

impl FieldError {
    /// Every error, so that a translation table can be checked for completeness.
    pub const ALL: &'static [Self] = &[
        Self::Required,
        Self::TooLong,
        Self::EmailInvalid,
        Self::PhoneInvalid,
        Self::PromoOutOfRange,
        Self::NotANumber,
        Self::RoleUnknown,
        Self::CivilityUnknown,
        Self::DateInvalid,
        Self::BoolInvalid,
        Self::ControlChar,
    ];

    /// Stable kebab-case code, the key of the localised message.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::TooLong => "too-long",
            Self::EmailInvalid => "email-invalid",
            Self::PhoneInvalid => "phone-invalid",
            Self::PromoOutOfRange => "promo-out-of-range",
            Self::NotANumber => "not-a-number",
            Self::RoleUnknown => "role-unknown",
            Self::CivilityUnknown => "civility-unknown",
            Self::DateInvalid => "date-invalid",
            Self::BoolInvalid => "bool-invalid",
            Self::ControlChar => "control-char",
        }
    }
}

// Displays the code, for logs only: users must get the localised message.
impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for FieldError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        for (i, e) in FieldError::ALL.iter().enumerate() {
            let code = e.code();
            assert!(!code.is_empty());
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{code}"
            );
            assert!(!code.starts_with('-') && !code.ends_with('-') && !code.contains("--"));
            for other in &FieldError::ALL[i + 1..] {
                assert_ne!(code, other.code());
            }
        }
    }

    #[test]
    fn display_is_the_code() {
        assert_eq!(FieldError::EmailInvalid.to_string(), "email-invalid");
        assert_eq!(FieldError::PromoOutOfRange.code(), "promo-out-of-range");
    }
}
