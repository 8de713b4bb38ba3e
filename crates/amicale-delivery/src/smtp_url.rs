//! The `AMICALE_SMTP_URL` format.

use std::fmt;
use std::str::FromStr;

use amicale_store::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain SMTP (a local relay or a test sink).
    None,
    /// STARTTLS required after the greeting.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// A parsed SMTP address. Its `Display` never shows the password, so it can
/// be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl FromStr for SmtpUrl {
    type Err = AppError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| AppError::Config(format!("smtp_url: {why}"));
        let url = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
        let (tls, default_port) = match url.scheme() {
            "smtp" => (TlsMode::None, 25),
            "smtp+starttls" => (TlsMode::StartTls, 587),
            "smtps" => (TlsMode::Tls, 465),
            other => {
                return Err(bad(&format!(
                    "unknown scheme `{other}` (use smtp, smtp+starttls or smtps)"
                )));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_owned();
        let decode = |v: &str| {
            percent_decode(v).map_err(|_| bad("user or password is not valid UTF-8 once decoded"))
        };
        let user = match url.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = url.password().map(decode).transpose()?;
        Ok(SmtpUrl {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            user,
            password,
        })
    }
}

fn percent_decode(v: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes: Vec<u8> = form_urlencoded::parse(format!("x={}", v.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default();
    String::from_utf8(bytes)
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.tls {
            TlsMode::None => "smtp",
            TlsMode::StartTls => "smtp+starttls",
            TlsMode::Tls => "smtps",
        };
        write!(f, "{scheme}://")?;
        if let Some(u) = &self.user {
            write!(f, "{u}")?;
            if self.password.is_some() {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        let u: SmtpUrl = "smtp://127.0.0.1:2525".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("127.0.0.1", 2525, TlsMode::None)
        );
        let u: SmtpUrl = "smtp+starttls://me%40x.fr:p%40ss@mail.x.fr"
            .parse()
            .unwrap();
        assert_eq!(u.port, 587);
        assert_eq!(u.tls, TlsMode::StartTls);
        assert_eq!(u.user.as_deref(), Some("me@x.fr"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        let u: SmtpUrl = "smtps://mail.x.fr".parse().unwrap();
        assert_eq!((u.port, u.tls), (465, TlsMode::Tls));
        assert!("http://x".parse::<SmtpUrl>().is_err());
    }

    #[test]
    fn display_hides_the_password() {
        let u: SmtpUrl = "smtps://user:secret@mail.x.fr:465".parse().unwrap();
        let shown = format!("{u} {u:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("user:***@mail.x.fr:465"));
    }
}
