//! A cheap map value for building contexts on the fast path.

use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};

/// Fields in insertion order, looked up by a linear scan: records hold a
/// dozen fields at most, where comparing a few short strings beats building
/// and searching a sorted map of `Value` keys.
#[derive(Debug)]
struct Record(Vec<(&'static str, Value)>);

impl Object for Record {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        key.as_str().and_then(|k| self.get_value_by_str(k))
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.iter().map(|(k, _)| Value::from(*k)).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
}

/// Builds a record (a map with fixed field names) for a render context:
/// `record([("first_name", Value::from("Hélène")), …])`. Cheaper to build
/// and to read than a map converted from JSON, for mass sends that build one
/// context per recipient; pass the result to
/// [`Compiled::render_value`](crate::Compiled::render_value). Shared parts
/// (the event, the network) are built once and cloned, which only bumps a
/// reference count.
pub fn record<I>(fields: I) -> Value
where
    I: IntoIterator<Item = (&'static str, Value)>,
{
    Value::from_object(Record(fields.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_map() {
        let r = record([("b", Value::from(2)), ("a", Value::from("x"))]);
        assert_eq!(r.get_attr("a").ok(), Some(Value::from("x")));
        assert!(r.get_attr("c").map(|v| v.is_undefined()).unwrap_or(false));
        assert_eq!(r.len(), Some(2));
        let keys: Vec<String> = r.try_iter().unwrap().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"b": 2, "a": "x"})
        );
    }
}
