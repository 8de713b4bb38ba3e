//! A login: the address an account signs in with.

use std::fmt;

/// A login address: valid as a person's address ([`crate::Email`], one set
/// of rules), trimmed and lowercased, because logging in ignores case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login(String);

impl Login {
    /// Returns the locale key of the problem when the address is refused.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        match amicale_people::Email::parse(input) {
            Ok(e) => Ok(Login(e.key())),
            Err(amicale_people::FieldError::Required) => Err("form-email-required"),
            Err(_) => Err("form-email-invalid"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_trimmed_and_lowercased() {
        assert_eq!(
            Login::parse("  Alice@Example.FR ").unwrap().as_str(),
            "alice@example.fr"
        );
        assert_eq!(Login::parse(""), Err("form-email-required"));
        assert_eq!(Login::parse("not an email"), Err("form-email-invalid"));
    }
}
