//! How an invocation ends: a response, or a function error as Lambda reports it.

use bytes::Bytes;
use serde_json::{json, Value};
use std::time::Duration;

/// A function error, as Lambda reports it (`X-Amz-Function-Error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// E.g. `Sandbox.Timedout`, `Runtime.ExitError`, or the runtime's own type.
    pub error_type: String,
    pub message: String,
    /// The invocation's response payload: `{"errorType": .., "errorMessage": ..}`
    /// (or what the runtime posted).
    pub payload: Bytes,
}

impl FunctionError {
    pub fn new(error_type: &str, message: String) -> Self {
        let payload = json!({"errorType": error_type, "errorMessage": message}).to_string();
        Self {
            error_type: error_type.to_owned(),
            message,
            payload: Bytes::from(payload),
        }
    }

    /// From what the runtime posted to `/error` or `/init/error`.
    pub(crate) fn posted(body: Bytes, header_type: Option<String>) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let error_type = field("errorType")
            .or(header_type)
            .unwrap_or_else(|| "Unhandled".to_owned());
        let message = field("errorMessage").unwrap_or_default();
        if parsed.is_none() {
            return Self::new(&error_type, message);
        }
        Self {
            error_type,
            message,
            payload: body,
        }
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function's response payload.
    Response(Bytes),
    Error(FunctionError),
}

/// One invocation of a [`crate::FunctionRuntime`].
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub outcome: Outcome,
    /// From handing the event to the runtime to its answer.
    pub duration: Duration,
    /// Set on a cold start: from starting the process to its first `next` poll.
    pub init_duration: Option<Duration>,
    /// Peak resident memory of the process (Linux), in MB.
    pub max_memory_mb: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posted_errors_keep_the_runtime_payload() {
        let e = FunctionError::posted(
            Bytes::from_static(br#"{"errorType":"&str","errorMessage":"boom"}"#),
            Some("unhandled".to_owned()),
        );
        assert_eq!(e.error_type, "&str");
        assert_eq!(e.message, "boom");
        let e = FunctionError::posted(Bytes::from_static(b"not json"), Some("Oops".to_owned()));
        assert_eq!(e.error_type, "Oops");
        let v: Value = serde_json::from_slice(&e.payload).expect("json payload");
        assert_eq!(v["errorType"], "Oops");
    }
}
