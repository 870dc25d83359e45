//! Creem's webhook payloads, read leniently: `product`, `customer`, `subscription` and
//! `transaction` may each be an id or an object; times are epoch milliseconds or ISO strings;
//! enums stay open. Only the fields Lithos uses are read.

use serde::Deserialize;
use serde_json::Value;

/// The envelope of every event.
#[derive(Clone, Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "eventType")]
    pub event_type: String,
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub object: Value,
}

impl Event {
    /// When Creem made the event, in milliseconds (0 when it does not say).
    pub fn created_ms(&self) -> i64 {
        self.created_at.as_ref().and_then(millis).unwrap_or(0)
    }
}

/// The id of a field that is an id or an object with one.
pub fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

pub fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

pub fn integer(value: &Value, key: &str) -> Option<i64> {
    value.get(key).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

/// A time as epoch milliseconds: a number, or an ISO 8601 string.
pub fn millis(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let parsed =
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .ok()?;
            Some((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
        }
        _ => None,
    }
}

/// The `user_id` Lithos put in a checkout's metadata (copied onto its subscription).
pub fn metadata_user(object: &Value) -> Option<String> {
    object.get("metadata").and_then(|m| text(m, "user_id")).map(str::to_owned)
}
