//! Copies of a manual mail: CC addresses the recipient sees, BCC
//! addresses nobody sees. "Hide all recipients" turns every copy into a BCC.

use lettre::Address;
use serde::{Deserialize, Serialize};

/// More would make a manual mail a mailing, which has its own screens.
pub const MAX_COPIES: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copies {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
}

/// Why typed copies were refused; the message key says it to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopiesError {
    Invalid(String),
    TooMany,
}

impl CopiesError {
    pub fn key(&self) -> &'static str {
        match self {
            CopiesError::Invalid(_) => "copies_invalid",
            CopiesError::TooMany => "copies_too_many",
        }
    }
}

impl Copies {
    /// Reads the CC and BCC boxes of a form: addresses separated by commas,
    /// semicolons, spaces or new lines.
    pub fn parse(cc: &str, bcc: &str, hide_all: bool) -> Result<Copies, CopiesError> {
        let mut c = Copies {
            cc: addresses(cc)?,
            bcc: addresses(bcc)?,
        };
        if hide_all {
            let cc = std::mem::take(&mut c.cc);
            c.bcc.splice(0..0, cc);
        }
        c.bcc.retain(|a| !c.cc.contains(a));
        let mut seen = std::collections::HashSet::new();
        c.bcc.retain(|a| seen.insert(a.clone()));
        if c.cc.len() + c.bcc.len() > MAX_COPIES {
            return Err(CopiesError::TooMany);
        }
        Ok(c)
    }

    pub fn is_empty(&self) -> bool {
        self.cc.is_empty() && self.bcc.is_empty()
    }

    /// The stored form; `None` when there is nothing to store.
    pub fn to_column(&self) -> Option<String> {
        (!self.is_empty()).then(|| serde_json::to_string(self).unwrap_or_default())
    }

    pub fn from_column(s: Option<&str>) -> Copies {
        s.and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }
}

fn addresses(s: &str) -> Result<Vec<String>, CopiesError> {
    let mut out: Vec<String> = Vec::new();
    for a in s
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|a| !a.is_empty())
    {
        let parsed: Address = a.parse().map_err(|_| CopiesError::Invalid(a.to_owned()))?;
        let a = parsed.to_string().to_lowercase();
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_hides_on_request() {
        let c = Copies::parse("a@x.fr; B@x.fr\nb@x.fr", "c@x.fr, a@x.fr", false).expect("ok");
        assert_eq!(c.cc, ["a@x.fr", "b@x.fr"]);
        assert_eq!(c.bcc, ["c@x.fr"]);
        let h = Copies::parse("a@x.fr b@x.fr", "c@x.fr", true).expect("ok");
        assert!(h.cc.is_empty());
        assert_eq!(h.bcc, ["a@x.fr", "b@x.fr", "c@x.fr"]);
        assert_eq!(Copies::from_column(h.to_column().as_deref()), h);
        assert_eq!(Copies::parse("", " ", true).expect("ok").to_column(), None);
    }

    #[test]
    fn refuses_bad_addresses_and_floods() {
        assert_eq!(
            Copies::parse("a@x.fr, pas une adresse", "", false),
            Err(CopiesError::Invalid("pas".into()))
        );
        assert_eq!(
            Copies::parse("a@x.fr\r\nBcc: evil@x.fr", "", false),
            Err(CopiesError::Invalid("Bcc:".into()))
        );
        let many: Vec<String> = (0..21).map(|i| format!("p{i}@x.fr")).collect();
        assert_eq!(
            Copies::parse(&many.join(","), "", false),
            Err(CopiesError::TooMany)
        );
    }
}
