//! A function's answer read as API Gateway reads it (payload format 2.0).

use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::StatusCode;
use serde_json::Value;

/// An HTTP response made from a function's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl ProxyResponse {
    /// One of API Gateway's own JSON answers.
    pub fn gateway(status: StatusCode, body: &'static str) -> Self {
        Self {
            status,
            headers: vec![(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body: Bytes::from_static(body.as_bytes()),
        }
    }
}

/// Interprets a function's response payload as API Gateway does for format 2.0.
/// A JSON object with `statusCode` is a proxy response (`headers`,
/// `multiValueHeaders`, `cookies`, `body`, `isBase64Encoded`); any other valid
/// JSON is a 200 `application/json` whose body is the payload (a JSON string:
/// its text). Anything else is an error (API Gateway answers 500).
pub fn response_from_payload(payload: &[u8]) -> Result<ProxyResponse, String> {
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| format!("the response is not JSON: {e}"))?;
    let object = match &value {
        Value::Object(object) if object.contains_key("statusCode") => object,
        Value::String(text) => return Ok(json_200(Bytes::from(text.clone()))),
        _ => return Ok(json_200(Bytes::copy_from_slice(payload))),
    };

    let status = match object.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        _ => None,
    }
    .and_then(|n| u16::try_from(n).ok())
    .and_then(|n| StatusCode::from_u16(n).ok())
    .ok_or_else(|| "statusCode is not a valid HTTP status".to_owned())?;

    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
    let multi = object.get("multiValueHeaders").and_then(Value::as_object);
    if let Some(map) = object.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            // multiValueHeaders, when it names the header too, has every value.
            if multi.is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case(name))) {
                continue;
            }
            headers.push(header(name, &scalar(value)?)?);
        }
    }
    if let Some(map) = multi {
        for (name, values) in map {
            let values = values
                .as_array()
                .ok_or_else(|| format!("multiValueHeaders.{name} is not an array"))?;
            for value in values {
                headers.push(header(name, &scalar(value)?)?);
            }
        }
    }
    if let Some(cookies) = object.get("cookies").filter(|c| !c.is_null()) {
        let cookies = cookies
            .as_array()
            .ok_or_else(|| "cookies is not an array".to_owned())?;
        for cookie in cookies {
            let cookie = cookie
                .as_str()
                .ok_or_else(|| "a cookie is not a string".to_owned())?;
            headers.push(header("set-cookie", cookie)?);
        }
    }

    let encoded = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("isBase64Encoded is not a boolean".to_owned()),
    };
    let body = match object.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) if encoded => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Bytes::from)
            .map_err(|e| format!("body is not valid base64: {e}"))?,
        Some(Value::String(text)) => Bytes::from(text.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    Ok(ProxyResponse {
        status,
        headers,
        body,
    })
}

fn json_200(body: Bytes) -> ProxyResponse {
    ProxyResponse {
        status: StatusCode::OK,
        headers: vec![(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    }
}

fn scalar(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err("a header value is not a string".to_owned()),
    }
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not a valid header name"))?;
    let value =
        HeaderValue::from_str(value).map_err(|_| format!("the {name} header value is invalid"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn proxy_responses_become_http_responses() {
        let payload = json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json", "location": "/x", "x-multi": "1"},
            "multiValueHeaders": {"content-type": ["application/json"], "location": ["/x"], "x-multi": ["1", "2"]},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": "{\"ok\":true}",
            "isBase64Encoded": false
        });
        let r = response_from_payload(payload.to_string().as_bytes()).expect("valid");
        assert_eq!(r.status, StatusCode::CREATED);
        let values = |name: &str| -> Vec<&str> {
            r.headers
                .iter()
                .filter(|(n, _)| n == name)
                .filter_map(|(_, v)| v.to_str().ok())
                .collect()
        };
        assert_eq!(values("content-type"), vec!["application/json"]);
        assert_eq!(values("location"), vec!["/x"]);
        assert_eq!(values("x-multi"), vec!["1", "2"]);
        assert_eq!(values("set-cookie"), vec!["a=1; Path=/", "b=2"]);
        assert_eq!(r.body.as_ref(), b"{\"ok\":true}");

        let r = response_from_payload(
            json!({"statusCode": 200, "body": "/wAQ", "isBase64Encoded": true})
                .to_string()
                .as_bytes(),
        )
        .expect("base64");
        assert_eq!(r.body.as_ref(), &[0xff, 0x00, 0x10]);

        let r = response_from_payload(br#"{"statusCode": 204}"#).expect("no body");
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert!(r.body.is_empty());
    }

    #[test]
    fn responses_without_status_code_are_inferred() {
        let r = response_from_payload(br#""Hello from Lambda!""#).expect("string");
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body.as_ref(), b"Hello from Lambda!");
        assert_eq!(
            r.headers,
            vec![(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json")
            )]
        );
        let r = response_from_payload(br#"{ "message": "Hello" }"#).expect("object");
        assert_eq!(r.body.as_ref(), br#"{ "message": "Hello" }"#);
        assert_eq!(r.status, StatusCode::OK);
    }

    #[test]
    fn malformed_responses_are_errors() {
        for bad in [
            &b"not json"[..],
            br#"{"statusCode": 1000}"#,
            br#"{"statusCode": "abc"}"#,
            br#"{"statusCode": 200, "body": "***", "isBase64Encoded": true}"#,
            br#"{"statusCode": 200, "headers": {"bad name": "x"}}"#,
            br#"{"statusCode": 200, "headers": {"x": {"nested": 1}}}"#,
            br#"{"statusCode": 200, "cookies": "a=1"}"#,
            br#"{"statusCode": 200, "isBase64Encoded": "yes"}"#,
        ] {
            assert!(
                response_from_payload(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
