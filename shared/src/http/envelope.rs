//! The response envelope `{"success", "errors_message", "data"}` of every public endpoint.

use crate::services::error::{cause_chain, AppError};
use crate::services::idempotency::StoredResponse;
use crate::services::payouts::{payout_location, CASHOUT_CREATED};
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{json, Value};

/// Marks a replayed response (an Idempotency-Key used before).
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// A response about to be sent: status, extra headers and the envelope body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl ApiResponse {
    /// A cashout's answer: its exact data string, kept for existing clients,
    /// and where the new payout is.
    pub fn cashout_created(payout_id: i64) -> Self {
        Self::ok(CASHOUT_CREATED).with_header("Location", payout_location(payout_id))
    }

    pub fn ok(data: impl Serialize) -> Self {
        match serde_json::to_value(data) {
            Ok(data) => Self {
                status: 200,
                headers: Vec::new(),
                body: json!({"success": true, "errors_message": null, "data": data}),
            },
            Err(err) => Self::error(&AppError::internal(err)),
        }
    }

    /// The envelope of an error. Logs the cause chain of server-side failures.
    pub fn error(err: &AppError) -> Self {
        let status = err.status();
        if status >= 500 {
            tracing::error!(status, error = %cause_chain(err), "request failed");
        } else {
            tracing::info!(status, error = %err, "request refused");
        }
        let mut headers = Vec::new();
        if matches!(err, AppError::Throttled(_)) {
            headers.push(("Retry-After".to_owned(), "1".to_owned()));
        }
        Self {
            status,
            headers,
            body: json!({"success": false, "errors_message": err.public_message(), "data": null}),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// A handler's answer that is a response already, or the envelope of its error.
    pub fn or_error(result: Result<ApiResponse, AppError>) -> Self {
        result.unwrap_or_else(|err| Self::error(&err))
    }

    pub fn from_result<T: Serialize>(result: Result<T, AppError>) -> Self {
        match result {
            Ok(data) => Self::ok(data),
            Err(err) => Self::error(&err),
        }
    }

    /// Into the HTTP response Lambda returns. Never fails: a header that cannot
    /// be encoded is dropped (and logged) rather than turning into an `Err`.
    pub fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Body::Text(self.body.to_string()));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in self.headers {
            match (
                header::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                (Ok(name), Ok(value)) => {
                    headers.insert(name, value);
                }
                _ => tracing::error!(header = %name, "dropped a header that cannot be encoded"),
            }
        }
        response
    }
}

impl ApiResponse {
    /// This response as stored with an Idempotency-Key.
    pub fn stored(&self) -> StoredResponse {
        StoredResponse {
            status: self.status,
            body: self.body.to_string(),
            location: self
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.clone()),
        }
    }

    /// A stored response again, marked as a replay.
    pub fn replay(stored: &StoredResponse) -> Result<ApiResponse, AppError> {
        let body: Value = serde_json::from_str(&stored.body).map_err(AppError::internal)?;
        let mut response = ApiResponse {
            status: stored.status,
            headers: Vec::new(),
            body,
        };
        if let Some(location) = &stored.location {
            response = response.with_header("Location", location.clone());
        }
        Ok(response.with_header(REPLAYED_HEADER, "true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_envelope() {
        let r = ApiResponse::ok(json!({"a": 1}));
        assert_eq!(r.status, 200);
        assert_eq!(
            r.body,
            json!({"success": true, "errors_message": null, "data": {"a": 1}})
        );
    }

    #[test]
    fn error_envelope_hides_the_cause() {
        let r = ApiResponse::error(&AppError::internal("table xyz is gone"));
        assert_eq!(r.status, 500);
        assert_eq!(
            r.body,
            json!({"success": false, "errors_message": "Server Error", "data": null})
        );
        assert!(!r.body.to_string().contains("xyz"));
    }

    #[test]
    fn throttling_sets_retry_after() {
        let resp = ApiResponse::error(&AppError::Throttled("slow".into())).into_response();
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["retry-after"], "1");
        assert_eq!(resp.headers()["content-type"], "application/json");
    }

    #[test]
    fn unencodable_header_is_dropped_not_fatal() {
        let resp = ApiResponse::ok(1)
            .with_header("X-Bad", "a\nb")
            .into_response();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().get("x-bad").is_none());
    }

    #[test]
    fn stored_responses_replay_byte_identical_with_the_marker() {
        let first = ApiResponse::ok("Cashout created successfully")
            .with_header("Location", "/api/wallet/payouts/7");
        let stored = first.stored();
        let again = ApiResponse::replay(&stored).unwrap();
        assert_eq!(again.status, 200);
        assert_eq!(again.body.to_string(), first.body.to_string());
        assert!(again
            .headers
            .contains(&("Location".into(), "/api/wallet/payouts/7".into())));
        assert!(again
            .headers
            .contains(&(REPLAYED_HEADER.into(), "true".into())));
    }
}
