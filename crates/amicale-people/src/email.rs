//! E-mail addresses as members type them in forms and spreadsheets.

use core::fmt;
use core::str::FromStr;

use crate::FieldError;

/// Longest address, in characters (RFC 5321 path limit minus the brackets).
pub const MAX_LEN: usize = 254;
/// Longest local part (before the `@`), in characters (RFC 5321).
pub const MAX_LOCAL_LEN: usize = 64;
/// Longest domain label, in characters (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// A syntactically valid e-mail address.
///
/// The rules are those of the common dot-atom form, which is what every real
/// mailbox uses; quoted local parts and IP-literal domains are refused since
/// in a member directory they are typos far more often than genuine.
/// Internationalised domains are accepted in their Unicode form (`café.fr`).
///
/// The domain is stored lowercased; the local part keeps the case it was
/// typed in, because a few servers do treat it as case-sensitive and the
/// member expects to see their address as they wrote it. Uniqueness must use
/// [`Email::key`].
///
/// ```
/// use amicale_people::Email;
/// let e = Email::parse("  Helene.Dupre@Exemple.FR ").unwrap();
/// assert_eq!(e.as_str(), "Helene.Dupre@exemple.fr");
/// assert_eq!(e.key(), "helene.dupre@exemple.fr");
/// assert_eq!(e.domain(), "exemple.fr");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Validates and normalises `input` (surrounding whitespace is ignored).
    ///
    /// # Errors
    ///
    /// [`FieldError::Required`] when empty, [`FieldError::TooLong`] when the
    /// address exceeds [`MAX_LEN`] or its local part [`MAX_LOCAL_LEN`]
    /// characters, [`FieldError::EmailInvalid`] otherwise.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(FieldError::Required);
        }
        // Byte length bounds the character count, so the count is only
        // taken for the rare long input.
        if s.len() > MAX_LEN && s.chars().count() > MAX_LEN {
            return Err(FieldError::TooLong);
        }
        let (local, domain) = s.split_once('@').ok_or(FieldError::EmailInvalid)?;
        if domain.contains('@') {
            return Err(FieldError::EmailInvalid);
        }
        check_local(local)?;
        let domain = domain.to_lowercase();
        check_domain(&domain)?;
        let mut address = String::with_capacity(local.len() + 1 + domain.len());
        address.push_str(local);
        address.push('@');
        address.push_str(&domain);
        // Lowercasing may lengthen some Unicode letters.
        if address.len() > MAX_LEN && address.chars().count() > MAX_LEN {
            return Err(FieldError::TooLong);
        }
        Ok(Self(address))
    }

    /// The address, local part as typed and domain lowercased.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The whole address lowercased: two addresses with the same key are
    /// treated as the same mailbox (uniqueness, duplicate detection).
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        &self.0[..self.at()]
    }

    /// The lowercased part after the `@`.
    pub fn domain(&self) -> &str {
        &self.0[self.at() + 1..]
    }

    /// Consumes the value, for storage.
    pub fn into_string(self) -> String {
        self.0
    }

    fn at(&self) -> usize {
        // The domain cannot hold an '@', so the last one is the separator.
        self.0.rfind('@').unwrap_or(0)
    }
}

/// Characters of RFC 5322 `atext` besides letters and digits.
const ATEXT_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";

fn check_local(local: &str) -> Result<(), FieldError> {
    if local.is_empty() {
        return Err(FieldError::EmailInvalid);
    }
    if local.len() > MAX_LOCAL_LEN && local.chars().count() > MAX_LOCAL_LEN {
        return Err(FieldError::TooLong);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(FieldError::EmailInvalid);
    }
    let ok = local.chars().all(|c| {
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '.' || ATEXT_SPECIALS.contains(c)
        } else {
            // RFC 6531 mailboxes; limited to letters and digits so that
            // look-alike punctuation (fullwidth '@', quotes) stays out.
            c.is_alphanumeric()
        }
    });
    if ok {
        Ok(())
    } else {
        Err(FieldError::EmailInvalid)
    }
}

fn check_domain(domain: &str) -> Result<(), FieldError> {
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        if label.is_empty()
            || label.starts_with('-')
            || label.ends_with('-')
            || (label.len() > MAX_LABEL_LEN && label.chars().count() > MAX_LABEL_LEN)
            || !label.chars().all(|c| {
                c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphabetic())
            })
        {
            return Err(FieldError::EmailInvalid);
        }
        labels += 1;
        last = label;
    }
    // A single label is a local host name, and an all-digit TLD means an IP
    // address typed in place of a domain.
    if labels < 2 || last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::EmailInvalid);
    }
    Ok(())
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        match Email::parse(s) {
            Ok(e) => e.as_str().to_owned(),
            Err(err) => panic!("{s:?} refused: {err}"),
        }
    }

    fn err(s: &str) -> FieldError {
        match Email::parse(s) {
            Ok(e) => panic!("{s:?} accepted as {e}"),
            Err(err) => err,
        }
    }

    #[test]
    fn accepts_common_addresses() {
        assert_eq!(ok("jean.dupont@example.org"), "jean.dupont@example.org");
        assert_eq!(ok("  jean@example.org\t"), "jean@example.org");
        assert_eq!(ok("a@b.co"), "a@b.co");
        assert_eq!(
            ok("prenom.nom+amicale@sub.domaine.fr"),
            "prenom.nom+amicale@sub.domaine.fr"
        );
        assert_eq!(ok("o'brien@example.ie"), "o'brien@example.ie");
        assert_eq!(
            ok("x_y-z{1}|~@my-host.example"),
            "x_y-z{1}|~@my-host.example"
        );
        assert_eq!(ok("user@123.example.com"), "user@123.example.com");
        assert_eq!(ok("user@example.c0m"), "user@example.c0m");
    }

    #[test]
    fn domain_is_lowercased_local_part_kept() {
        let e = Email::parse("Helene.DUPRE@Example.ORG").unwrap();
        assert_eq!(e.as_str(), "Helene.DUPRE@example.org");
        assert_eq!(e.local_part(), "Helene.DUPRE");
        assert_eq!(e.domain(), "example.org");
        assert_eq!(e.key(), "helene.dupre@example.org");
        let other = Email::parse("helene.dupre@EXAMPLE.org").unwrap();
        assert_ne!(e, other);
        assert_eq!(e.key(), other.key());
    }

    #[test]
    fn international_domains_and_mailboxes() {
        assert_eq!(ok("contact@Café.FR"), "contact@café.fr");
        assert_eq!(ok("info@élèves-école.fr"), "info@élèves-école.fr");
        assert_eq!(ok("user@пример.рф"), "user@пример.рф");
        assert_eq!(ok("hélène@exemple.fr"), "hélène@exemple.fr");
        assert_eq!(err("a@exa€mple.fr"), FieldError::EmailInvalid);
        assert_eq!(err("a＠example.fr"), FieldError::EmailInvalid);
    }

    #[test]
    fn required_and_lengths() {
        assert_eq!(err(""), FieldError::Required);
        assert_eq!(err("   "), FieldError::Required);
        let local64 = "a".repeat(64);
        assert_eq!(ok(&format!("{local64}@example.org")).len(), 76);
        assert_eq!(
            err(&format!("{}@example.org", "a".repeat(65))),
            FieldError::TooLong
        );
        // 254 characters exactly: accepted; 255: refused.
        let domain = format!(
            "{}.{}.{}.{}",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63),
            "fr"
        );
        let at_limit = format!("{}@{domain}", "a".repeat(254 - 1 - domain.len()));
        assert_eq!(at_limit.len(), 254);
        assert_eq!(ok(&at_limit), at_limit);
        assert_eq!(err(&format!("a{at_limit}")), FieldError::TooLong);
        assert_eq!(
            err(&format!("a@{}.fr", "b".repeat(64))),
            FieldError::EmailInvalid
        );
        assert_eq!(ok(&format!("a@{}.fr", "b".repeat(63))).len(), 68);
    }

    #[test]
    fn at_sign() {
        assert_eq!(err("jean.example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@@example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@dupont@example.org"), FieldError::EmailInvalid);
        assert_eq!(err("@example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@"), FieldError::EmailInvalid);
    }

    #[test]
    fn forbidden_characters() {
        assert_eq!(err("jean dupont@example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@exa mple.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean\u{A0}d@example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean\u{7}@example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@example.org\u{0}x"), FieldError::EmailInvalid);
        assert_eq!(err("\"jean\"@example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean,dupont@example.org"), FieldError::EmailInvalid);
        assert_eq!(err("<jean@example.org>"), FieldError::EmailInvalid);
        assert_eq!(err("Jean <jean@example.org>"), FieldError::EmailInvalid);
        assert_eq!(err("jean@exam_ple.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@example.org;"), FieldError::EmailInvalid);
    }

    #[test]
    fn dots_in_local_part() {
        assert_eq!(err(".jean@example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean.@example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean..dupont@example.org"), FieldError::EmailInvalid);
        assert_eq!(ok("j.e.a.n@example.org"), "j.e.a.n@example.org");
    }

    #[test]
    fn domain_rules() {
        assert_eq!(err("jean@localhost"), FieldError::EmailInvalid);
        assert_eq!(err("jean@example..org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@.example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@example.org."), FieldError::EmailInvalid);
        assert_eq!(err("jean@-example.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@example-.org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@example.-org"), FieldError::EmailInvalid);
        assert_eq!(err("jean@192.168.1.1"), FieldError::EmailInvalid);
        assert_eq!(err("jean@[192.168.1.1]"), FieldError::EmailInvalid);
        assert_eq!(err("jean@example.123"), FieldError::EmailInvalid);
        assert_eq!(ok("jean@ex-am-ple.org"), "jean@ex-am-ple.org");
    }

    #[test]
    fn round_trips() {
        for s in ["Jean.Dupont@example.org", "hélène@café.fr", "a+b@c.de"] {
            let e = Email::parse(s).unwrap();
            assert_eq!(Email::parse(e.as_str()).unwrap(), e);
            assert_eq!(e.to_string().parse::<Email>().unwrap(), e);
            assert_eq!(e.as_ref(), e.as_str());
            assert_eq!(String::from(e.clone()), e.clone().into_string());
        }
    }
}
