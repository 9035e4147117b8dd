//! Requests to the HTTP handlers and their answers: the envelope checked
//! (docs/api.md#envelope), a 5xx allowed only under faults, refusals and data compared.

use super::Sim;
use lambda_http::{Body, RequestExt, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;

static NULL: Value = Value::Null;

/// The value at a JSON pointer (`/data/total`), null where there is none
/// (like indexing a `Value`, without the panic).
pub(super) fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&NULL)
}

/// A decoded HTTP answer.
pub(super) struct Answer {
    pub status: u16,
    pub json: Value,
    pub body: String,
    pub location: Option<String>,
}

/// A request with a bearer token; `key`: an Idempotency-Key.
fn build(
    token: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Body,
) -> Option<lambda_http::Request> {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://api.local{path}"))
        .header("authorization", format!("Bearer {token}"));
    if let Some(key) = key {
        builder = builder.header("idempotency-key", key);
    }
    builder.body(body).ok()
}

impl Sim {
    /// A request of creator `ci`: query parameters, the `{id}` path
    /// parameter, an Idempotency-Key; a POST has the body `{}`.
    pub(super) fn request(
        &self,
        ci: usize,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        id: Option<i64>,
        key: Option<&str>,
    ) -> Option<lambda_http::Request> {
        let c = self.creators.get(ci)?;
        let body = if method == "POST" {
            Body::Text("{}".into())
        } else {
            Body::Empty
        };
        let mut req = build(&c.token, method, path, key, body)?;
        if !query.is_empty() {
            let q: HashMap<String, String> = query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            req = req.with_query_string_parameters(q);
        }
        if let Some(id) = id {
            let p: HashMap<String, String> = [("id".to_owned(), id.to_string())].into();
            req = req.with_path_parameters(p);
        }
        Some(req)
    }

    /// A request with the session token of any account (a creator or a
    /// link-only one).
    pub(super) fn request_as(
        &self,
        user_id: i64,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Option<lambda_http::Request> {
        let token = self.token_of(user_id)?;
        let body = body.map_or(Body::Empty, |b| Body::Text(b.to_owned()));
        build(&token, method, path, None, body)
    }

    /// Checks the envelope of an HTTP answer; `None` (and a violation) if malformed.
    fn envelope(&mut self, what: &str, resp: Response<Body>) -> Option<Answer> {
        let status = resp.status().as_u16();
        let json_type = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"application/json");
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match resp.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let well_formed = json_type
            && json.as_object().is_some_and(|o| {
                o.len() == 3
                    && o.get("success").is_some_and(Value::is_boolean)
                    && o.get("errors_message")
                        .is_some_and(|m| m.is_null() || m.is_string())
                    && o.contains_key("data")
            })
            && (*at(&json, "/success") == json!(status == 200 || status == 201));
        if !well_formed {
            self.violation(format!("{what}: malformed answer {status} {body:?}"));
            return None;
        }
        if status >= 500 {
            if !(status == 500 || status == 503) {
                self.violation(format!("{what}: status {status}"));
            } else if !self.faulty {
                self.violation(format!("{what}: {status} without faults: {body}"));
            } else {
                self.note(&format!("{what} answered {status} under faults"));
            }
        }
        Some(Answer {
            status,
            json,
            body,
            location,
        })
    }

    /// The answer of a handler, in time and well formed.
    pub(super) async fn http<F>(&mut self, what: &str, fut: F) -> Option<Answer>
    where
        F: Future<Output = Response<Body>>,
    {
        let resp = self.timed(what, fut).await?;
        self.envelope(what, resp)
    }

    /// Several answers of one handler at once, in time; each well formed or `None`.
    pub(super) async fn http_all<F>(
        &mut self,
        what: &str,
        futs: Vec<F>,
    ) -> Option<Vec<Option<Answer>>>
    where
        F: Future<Output = Response<Body>>,
    {
        let resps = self.timed(what, futures::future::join_all(futs)).await?;
        Some(resps.into_iter().map(|r| self.envelope(what, r)).collect())
    }

    /// A refusal or an answer compared with the model's.
    pub(super) fn compare_answer(
        &mut self,
        what: &str,
        a: &Answer,
        want: Result<Value, (u16, &str)>,
    ) {
        if a.status >= 500 && self.faulty {
            return;
        }
        match want {
            Ok(data) => {
                if a.status != 200 || *at(&a.json, "/data") != data {
                    self.violation(format!(
                        "{what}: answered {} {}, model {data}",
                        a.status, a.body
                    ));
                }
            }
            Err((status, message)) => {
                if a.status != status || *at(&a.json, "/errors_message") != json!(message) {
                    self.violation(format!(
                        "{what}: answered {} {}, model {status} {message:?}",
                        a.status, a.body
                    ));
                }
            }
        }
    }
}

/// The payout id of a cashout's `Location`.
pub(super) fn location_id(location: Option<&str>) -> Option<i64> {
    location?.strip_prefix("/api/wallet/payouts/")?.parse().ok()
}
