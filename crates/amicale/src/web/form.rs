//! A form body as its list of fields, for forms with repeated names
//! (checkbox groups) that a struct cannot describe.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

use crate::app::AppState;
use crate::error::AppError;

pub struct FormPairs(pub Vec<(String, String)>);

impl FormPairs {
    pub fn parse(body: &[u8]) -> Self {
        FormPairs(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, or "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of a repeated field, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl FromRequest<AppState> for FormPairs {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::Internal(format!("form body: {e}")))?;
        Ok(FormPairs::parse(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::FormPairs;

    #[test]
    fn repeated_fields() {
        let f = FormPairs::parse(b"a=1&mode=x&mode=y&name=H%C3%A9l%C3%A8ne+D");
        assert_eq!(f.all("mode"), vec!["x", "y"]);
        assert_eq!(f.get("name"), "Hélène D");
        assert_eq!(f.get("none"), "");
        assert!(f.has("a"));
    }
}
