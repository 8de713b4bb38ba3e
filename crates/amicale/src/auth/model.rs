//! Input types of the accounts feature: once built, they are valid.

pub use amicale_kernel::Login;

use std::fmt;

/// A password acceptable for a new or changed account. Its `Debug` hides it.
#[derive(Clone)]
pub struct NewPassword(String);

pub const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 256;

impl NewPassword {
    /// Returns the locale key of the problem when the password is refused.
    pub fn parse(password: &str, confirm: &str) -> Result<Self, &'static str> {
        let n = password.chars().count();
        if n < MIN_PASSWORD {
            return Err("form-password-too-short");
        }
        if n > MAX_PASSWORD {
            return Err("form-password-too-long");
        }
        if password != confirm {
            return Err("form-password-mismatch");
        }
        Ok(NewPassword(password.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        assert!(NewPassword::parse("short", "short").is_err());
        assert_eq!(
            NewPassword::parse("long enough pass", "other").unwrap_err(),
            "form-password-mismatch"
        );
        let p = NewPassword::parse("long enough pass", "long enough pass").unwrap();
        assert!(!format!("{p:?}").contains("long"));
    }
}
