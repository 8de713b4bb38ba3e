//! Reading request fields into typed values, shared by every layer that
//! declares what a request carries.

/// For query and form fields that may be left blank: an empty value is
/// `None`, anything else must read as `T` or the request is refused,
/// never quietly replaced by a default.
pub fn blank_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let s: Option<String> = serde::Deserialize::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Q {
        #[serde(default, deserialize_with = "super::blank_as_none")]
        page: Option<u64>,
    }

    fn read(json: &str) -> Result<Q, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn blank_is_none_and_garbage_is_refused() {
        assert_eq!(read(r#"{"page":""}"#).unwrap(), Q { page: None });
        assert_eq!(read("{}").unwrap(), Q { page: None });
        assert_eq!(read(r#"{"page":" 3 "}"#).unwrap(), Q { page: Some(3) });
        assert!(read(r#"{"page":"three"}"#).is_err());
        assert!(read(r#"{"page":"-1"}"#).is_err());
    }
}
