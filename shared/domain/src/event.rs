//! Internal events (docs/ledger.md#internal-events): parsing and validation, before anything is written.

use crate::ids::MAX_ID;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
pub const MAX_EVENT_ID_LEN: usize = 255;
pub const MAX_TITLE_CHARS: usize = 255;
/// Ten years: longer holds are surely a mistake in the producer.
pub const MAX_HOLD_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// A validated event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event_id: String,
    pub user_id: i64,
    /// SHA-256 of the canonical JSON of the whole event: a replay with the same
    /// id must carry the same payload.
    pub payload_sha256: String,
    pub body: EventBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventBody {
    /// `product_earning` (affiliate = false) or `affiliate_earning`.
    Earning {
        affiliate: bool,
        amount: i64,
        title: Option<String>,
        product_id: Option<i64>,
        /// `None`: the configured default.
        hold_seconds: Option<i64>,
        occurred_at: Option<i64>,
    },
    Fee {
        amount: i64,
        title: Option<String>,
        occurred_at: Option<i64>,
    },
    Refund {
        amount: i64,
        title: Option<String>,
        product_id: Option<i64>,
        occurred_at: Option<i64>,
    },
    Hold {
        amount: i64,
        title: Option<String>,
        occurred_at: Option<i64>,
    },
    ReleaseHold {
        hold_event_id: String,
        title: Option<String>,
        occurred_at: Option<i64>,
    },
    /// Creates or changes a product. An absent field keeps its current value
    /// (for a new product: no title, media incomplete, not deleted, no thumbnail).
    ProductUpsert {
        product_id: i64,
        /// `Some(None)`: `"title": null` clears it.
        title: Option<Option<String>>,
        media_complete: Option<bool>,
        deleted: Option<bool>,
        thumbnail: Option<Option<Thumbnail>>,
    },
    LinkClicks {
        product_id: i64,
        count: i64,
    },
}

/// A product's thumbnail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Thumbnail {
    pub url: String,
    pub width: i64,
    pub height: i64,
}

pub const MAX_URL_LEN: usize = 2048;
pub const MAX_THUMBNAIL_SIDE: i64 = 100_000;

/// Why an event is refused. The message is shown to the operator as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEvent(pub String);

fn invalid(message: impl Into<String>) -> InvalidEvent {
    InvalidEvent(message.into())
}

/// The event id of a JSON value, if it has a usable one (for reporting).
pub fn event_id_of(value: &Value) -> Option<String> {
    value
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

const COMMON: &[&str] = &["kind", "event_id", "user_id", "title", "occurred_at"];

pub fn parse_event(value: &Value) -> Result<Event, InvalidEvent> {
    let obj = value
        .as_object()
        .ok_or_else(|| invalid("an event must be a JSON object"))?;
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("kind is required and must be a string"))?;
    let extra: &[&str] = match kind {
        "product_earning" => &["amount", "product_id", "hold_seconds"],
        "affiliate_earning" => &["amount", "hold_seconds"],
        "fee" | "hold" => &["amount"],
        "refund" => &["amount", "product_id"],
        "release_hold" => &["hold_event_id"],
        "product_upsert" => &["product_id", "media_complete", "deleted", "thumbnail"],
        "link_clicks" => &["product_id", "count"],
        other => return Err(invalid(format!("unknown kind {other:?}"))),
    };
    if let Some(unknown) = obj
        .keys()
        .find(|k| !COMMON.contains(&k.as_str()) && !extra.contains(&k.as_str()))
    {
        return Err(invalid(format!(
            "unknown field {unknown:?} for kind {kind:?}"
        )));
    }
    let event_id = identifier(obj, "event_id")?;
    let user_id =
        integer(obj, "user_id", 1, MAX_ID)?.ok_or_else(|| invalid("user_id is required"))?;
    let title_given = obj.contains_key("title");
    let title = title(obj)?;
    let occurred_at = match obj.get("occurred_at") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            crate::time::parse_rfc3339(s)
                .ok_or_else(|| invalid("occurred_at must be an RFC 3339 time"))?,
        ),
        Some(_) => return Err(invalid("occurred_at must be an RFC 3339 time")),
    };
    let amount =
        || integer(obj, "amount", 1, MAX_AMOUNT)?.ok_or_else(|| invalid("amount is required"));
    let product_id = || integer(obj, "product_id", 1, MAX_ID);
    let body = match kind {
        "product_earning" | "affiliate_earning" => EventBody::Earning {
            affiliate: kind == "affiliate_earning",
            amount: amount()?,
            title,
            product_id: product_id()?,
            hold_seconds: integer(obj, "hold_seconds", 0, MAX_HOLD_SECONDS)?,
            occurred_at,
        },
        "fee" => EventBody::Fee {
            amount: amount()?,
            title,
            occurred_at,
        },
        "refund" => EventBody::Refund {
            amount: amount()?,
            title,
            product_id: product_id()?,
            occurred_at,
        },
        "hold" => EventBody::Hold {
            amount: amount()?,
            title,
            occurred_at,
        },
        "release_hold" => EventBody::ReleaseHold {
            hold_event_id: identifier(obj, "hold_event_id")?,
            title,
            occurred_at,
        },
        "product_upsert" => EventBody::ProductUpsert {
            product_id: product_id()?.ok_or_else(|| invalid("product_id is required"))?,
            title: title_given.then_some(title),
            media_complete: boolean(obj, "media_complete")?,
            deleted: boolean(obj, "deleted")?,
            thumbnail: match obj.get("thumbnail") {
                None => None,
                Some(Value::Null) => Some(None),
                Some(v) => Some(Some(thumbnail(v)?)),
            },
        },
        _ => EventBody::LinkClicks {
            product_id: product_id()?.ok_or_else(|| invalid("product_id is required"))?,
            count: integer(obj, "count", 1, MAX_AMOUNT)?
                .ok_or_else(|| invalid("count is required"))?,
        },
    };
    Ok(Event {
        event_id,
        user_id,
        payload_sha256: payload_sha256(value),
        body,
    })
}

/// A required id string: 1 to 255 bytes, no control characters.
fn identifier(obj: &Map<String, Value>, name: &str) -> Result<String, InvalidEvent> {
    match obj.get(name) {
        Some(Value::String(s))
            if !s.is_empty()
                && s.len() <= MAX_EVENT_ID_LEN
                && !s.chars().any(char::is_control) =>
        {
            Ok(s.clone())
        }
        _ => Err(invalid(format!(
            "{name} is required: a string of 1 to {MAX_EVENT_ID_LEN} characters without control characters"
        ))),
    }
}

/// An optional integer in `min..=max` (JSON integers only, no strings or fractions).
fn integer(
    obj: &Map<String, Value>,
    name: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, InvalidEvent> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(i) if (min..=max).contains(&i) => Ok(Some(i)),
            _ => Err(invalid(format!(
                "{name} must be an integer from {min} to {max}"
            ))),
        },
    }
}

fn boolean(obj: &Map<String, Value>, name: &str) -> Result<Option<bool>, InvalidEvent> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(format!("{name} must be true or false"))),
    }
}

fn thumbnail(value: &Value) -> Result<Thumbnail, InvalidEvent> {
    let message = || {
        invalid(format!(
            "thumbnail must be null or {{\"url\": a string of 1 to {MAX_URL_LEN} characters, \"width\" and \"height\": integers from 1 to {MAX_THUMBNAIL_SIDE}}}"
        ))
    };
    let obj = value.as_object().ok_or_else(message)?;
    if obj.len() != 3 {
        return Err(message());
    }
    let url = obj.get("url").and_then(Value::as_str).ok_or_else(message)?;
    if url.is_empty() || url.len() > MAX_URL_LEN || url.chars().any(char::is_control) {
        return Err(message());
    }
    let side = |name: &str| {
        obj.get(name)
            .and_then(Value::as_i64)
            .filter(|v| (1..=MAX_THUMBNAIL_SIDE).contains(v))
            .ok_or_else(message)
    };
    Ok(Thumbnail {
        url: url.to_owned(),
        width: side("width")?,
        height: side("height")?,
    })
}

fn title(obj: &Map<String, Value>) -> Result<Option<String>, InvalidEvent> {
    match obj.get("title") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_TITLE_CHARS => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!(
            "title must be a string of at most {MAX_TITLE_CHARS} characters or null"
        ))),
    }
}

/// SHA-256 of the JSON with object keys sorted at every level, so that key
/// order and white space do not make two deliveries of one event differ.
pub fn payload_sha256(value: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(value, &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Splits an input of events: one object, an array, or JSON lines.
pub fn split_events(input: &str) -> Result<Vec<Value>, InvalidEvent> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return Ok(match value {
            Value::Array(items) => items,
            other => vec![other],
        });
    }
    trimmed
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map_err(|e| invalid(format!("line {}: not valid JSON: {e}", n + 1)))
        })
        .collect()
}

/// The record that makes an event apply at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub event_id: String,
    pub payload_sha256: String,
    pub user_id: i64,
    /// The entry the event wrote, if it wrote one.
    pub entry_id: Option<i64>,
    pub applied_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        parse_event(&v).unwrap_err().0
    }

    #[test]
    fn parses_every_money_kind_of_the_spec() {
        let e = parse_event(&json!({"kind":"product_earning","event_id":"pay_1","user_id":42,"amount":550,"title":"Money for a photo","product_id":7,"hold_seconds":0})).unwrap();
        assert_eq!(e.user_id, 42);
        assert_eq!(
            e.body,
            EventBody::Earning {
                affiliate: false,
                amount: 550,
                title: Some("Money for a photo".into()),
                product_id: Some(7),
                hold_seconds: Some(0),
                occurred_at: None
            }
        );
        for v in [
            json!({"kind":"affiliate_earning","event_id":"pay_2","user_id":42,"amount":220,"title":"Referral revenue","hold_seconds":0}),
            json!({"kind":"fee","event_id":"fee_1","user_id":42,"amount":50,"title":"Service fee"}),
            json!({"kind":"refund","event_id":"ref_1","user_id":42,"amount":550,"title":"Refund","product_id":7}),
            json!({"kind":"hold","event_id":"h_1","user_id":42,"amount":100,"title":"Dispute"}),
            json!({"kind":"release_hold","event_id":"rh_1","user_id":42,"hold_event_id":"h_1","title":"Dispute resolved"}),
            json!({"kind":"fee","event_id":"f","user_id":1,"amount":1,"occurred_at":"2026-04-20T10:15:00Z"}),
            json!({"kind":"product_upsert","event_id":"p_1","user_id":42,"product_id":7,"title":"Sunset set","media_complete":true,"deleted":false,"thumbnail":{"url":"https://cdn.example/7.jpg","width":640,"height":480}}),
            json!({"kind":"link_clicks","event_id":"c_1","user_id":42,"product_id":7,"count":3}),
        ] {
            parse_event(&v).unwrap();
        }
    }

    #[test]
    fn refuses_bad_events_with_clear_messages() {
        assert_eq!(err(json!([1])), "an event must be a JSON object");
        assert_eq!(
            err(json!({"event_id":"x"})),
            "kind is required and must be a string"
        );
        assert_eq!(
            err(json!({"kind":"gift","event_id":"x","user_id":1})),
            "unknown kind \"gift\""
        );
        assert_eq!(
            err(json!({"kind":"fee","event_id":"x","user_id":1,"amount":5,"hold_second":1})),
            "unknown field \"hold_second\" for kind \"fee\""
        );
        assert_eq!(
            err(json!({"kind":"fee","event_id":"x","user_id":1,"amount":0})),
            "amount must be an integer from 1 to 1000000000000"
        );
        for amount in [
            json!(1_000_000_000_001_i64),
            json!(-5),
            json!(1.5),
            json!("5"),
        ] {
            assert!(
                err(json!({"kind":"fee","event_id":"x","user_id":1,"amount":amount}))
                    .starts_with("amount must be")
            );
        }
        assert_eq!(
            err(json!({"kind":"fee","event_id":"x","user_id":1})),
            "amount is required"
        );
        assert!(
            err(json!({"kind":"fee","event_id":"","user_id":1,"amount":1}))
                .starts_with("event_id is required")
        );
        assert!(
            err(json!({"kind":"fee","event_id":"a\nb","user_id":1,"amount":1}))
                .starts_with("event_id is required")
        );
        assert!(
            err(json!({"kind":"fee","event_id":"x".repeat(256),"user_id":1,"amount":1}))
                .starts_with("event_id is required")
        );
        assert_eq!(
            err(json!({"kind":"fee","event_id":"x","amount":1})),
            "user_id is required"
        );
        assert!(err(
            json!({"kind":"fee","event_id":"x","user_id":9_007_199_254_740_992_i64,"amount":1})
        )
        .starts_with("user_id must be"));
        assert!(
            err(json!({"kind":"fee","event_id":"x","user_id":1,"amount":1,"title":5}))
                .starts_with("title must be")
        );
        assert!(err(
            json!({"kind":"fee","event_id":"x","user_id":1,"amount":1,"title":"é".repeat(256)})
        )
        .starts_with("title must be"));
        assert_eq!(
            err(json!({"kind":"fee","event_id":"x","user_id":1,"amount":1,"occurred_at":"now"})),
            "occurred_at must be an RFC 3339 time"
        );
        assert!(err(json!({"kind":"product_earning","event_id":"x","user_id":1,"amount":1,"hold_seconds":-1})).starts_with("hold_seconds must be"));
        assert!(
            err(json!({"kind":"release_hold","event_id":"x","user_id":1}))
                .starts_with("hold_event_id is required")
        );
    }

    #[test]
    fn product_upsert_keeps_absent_fields() {
        let e = parse_event(&json!({"kind":"product_upsert","event_id":"p","user_id":1,"product_id":7,"deleted":true,"title":null})).unwrap();
        assert_eq!(
            e.body,
            EventBody::ProductUpsert {
                product_id: 7,
                title: Some(None),
                media_complete: None,
                deleted: Some(true),
                thumbnail: None
            }
        );
        let bad_thumbs = [
            json!("x"),
            json!({"url":"","width":1,"height":1}),
            json!({"url":"u","width":0,"height":1}),
            json!({"url":"u","width":1}),
            json!({"url":"u","width":1,"height":1,"alt":"x"}),
        ];
        for thumb in bad_thumbs {
            assert!(err(json!({"kind":"product_upsert","event_id":"p","user_id":1,"product_id":7,"thumbnail":thumb})).starts_with("thumbnail must be"));
        }
        assert_eq!(
            err(
                json!({"kind":"product_upsert","event_id":"p","user_id":1,"product_id":7,"deleted":"yes"})
            ),
            "deleted must be true or false"
        );
        assert_eq!(
            err(json!({"kind":"product_upsert","event_id":"p","user_id":1})),
            "product_id is required"
        );
        assert_eq!(
            err(json!({"kind":"link_clicks","event_id":"c","user_id":1,"product_id":7})),
            "count is required"
        );
        assert!(err(
            json!({"kind":"link_clicks","event_id":"c","user_id":1,"product_id":7,"count":0})
        )
        .starts_with("count must be"));
    }

    #[test]
    fn payload_hash_ignores_key_order_and_spacing() {
        let a: Value =
            serde_json::from_str(r#"{"a":1,"b":{"y":2,"x":[1,{"q":1,"p":2}]}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{ "b": {"x": [1, {"p":2,"q":1}], "y": 2}, "a": 1 }"#).unwrap();
        assert_eq!(payload_sha256(&a), payload_sha256(&b));
        let c: Value =
            serde_json::from_str(r#"{"a":2,"b":{"y":2,"x":[1,{"q":1,"p":2}]}}"#).unwrap();
        assert_ne!(payload_sha256(&a), payload_sha256(&c));
    }

    #[test]
    fn splits_objects_arrays_and_json_lines() {
        assert_eq!(split_events(" ").unwrap().len(), 0);
        assert_eq!(split_events(r#"{"a":1}"#).unwrap().len(), 1);
        assert_eq!(split_events(r#"[{"a":1},{"a":2}]"#).unwrap().len(), 2);
        assert_eq!(split_events("{\"a\":1}\n\n{\"a\":2}\n").unwrap().len(), 2);
        assert_eq!(
            split_events("{\"a\":1}\n{oops")
                .unwrap_err()
                .0
                .split(':')
                .next(),
            Some("line 2")
        );
    }
}
