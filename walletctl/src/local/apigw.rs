//! What API Gateway (HTTP API, Lambda proxy integration, payload format 2.0)
//! does around a function: route matching, the request event, and the
//! interpretation of the function's response. Pure functions, tested here.

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode, Version};
use serde_json::{json, Map, Value};
use std::net::SocketAddr;

/// API Gateway's own answers (not from a function).
pub const NOT_FOUND_BODY: &str = r#"{"message":"Not Found"}"#;
pub const INTERNAL_ERROR_BODY: &str = r#"{"message":"Internal Server Error"}"#;
pub const TOO_LARGE_BODY: &str = r#"{"message":"Request Entity Too Large"}"#;

/// HTTP APIs accept request bodies up to 10 MB.
pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}`: one non-empty segment.
    Param(String),
    /// `{name+}`: the rest of the path (at least one segment).
    Greedy(String),
}

#[derive(Debug, Clone)]
struct Entry<T> {
    method: String,
    /// `None` for `$default`.
    segments: Option<Vec<Segment>>,
    key: String,
    target: T,
}

/// The routes of an HTTP API.
#[derive(Debug, Clone)]
pub struct Router<T> {
    entries: Vec<Entry<T>>,
}

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a, T> {
    /// E.g. `GET /api/wallet/payouts/{id}`.
    pub route_key: &'a str,
    pub target: &'a T,
    /// Path variables, percent-decoded.
    pub path_parameters: Vec<(String, String)>,
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<T> Router<T> {
    /// Adds a route (`method` upper case or `ANY`, `path` like `/a/{id}` or
    /// `$default`). A route key given twice is refused, as API Gateway does.
    pub fn add(&mut self, method: &str, path: &str, target: T) -> Result<(), String> {
        let method = method.to_ascii_uppercase();
        let (segments, key) = if path == "$default" {
            (None, "$default".to_owned())
        } else {
            let segments = parse_path(path)?;
            (Some(segments), format!("{method} {path}"))
        };
        if self.entries.iter().any(|e| e.key == key) {
            return Err(format!("the route {key} is defined twice"));
        }
        self.entries.push(Entry {
            method,
            segments,
            key,
            target,
        });
        Ok(())
    }

    pub fn keys(&self) -> impl Iterator<Item = (&str, &T)> {
        self.entries.iter().map(|e| (e.key.as_str(), &e.target))
    }

    /// The most specific route for `method` and the raw (percent-encoded) `path`:
    /// literal segments beat path variables, variables beat a greedy `{x+}`,
    /// an exact method beats `ANY`, and `$default` comes last.
    pub fn find(&self, method: &str, path: &str) -> Option<RouteMatch<'_, T>> {
        let parts: Vec<&str> = match path.strip_prefix('/') {
            Some(rest) => rest.split('/').collect(),
            None => return None,
        };
        let mut best: Option<((u8, usize, u8), RouteMatch<'_, T>)> = None;
        for entry in &self.entries {
            let method_rank = if entry.method == method {
                1
            } else if entry.method == "ANY" {
                0
            } else {
                continue;
            };
            let (rank, params) = match &entry.segments {
                None => ((0, 0, method_rank), Vec::new()),
                Some(segments) => match match_segments(segments, &parts) {
                    Some((literals, greedy, params)) => {
                        ((if greedy { 1 } else { 2 }, literals, method_rank), params)
                    }
                    None => continue,
                },
            };
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((
                    rank,
                    RouteMatch {
                        route_key: &entry.key,
                        target: &entry.target,
                        path_parameters: params,
                    },
                ));
            }
        }
        best.map(|(_, m)| m)
    }
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("the route path {path:?} must start with /"));
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let last = parts.len().saturating_sub(1);
    parts
        .iter()
        .enumerate()
        .map(
            |(i, part)| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) if i == last && !greedy.is_empty() => {
                        Ok(Segment::Greedy(greedy.to_owned()))
                    }
                    Some(_) => Err(format!(
                        "in {path:?} a greedy variable must be the last segment"
                    )),
                    None if !name.is_empty() => Ok(Segment::Param(name.to_owned())),
                    None => Err(format!("in {path:?} a path variable has no name")),
                },
                None => Ok(Segment::Literal((*part).to_owned())),
            },
        )
        .collect()
}

/// Path variables: name and percent-decoded value.
type Params = Vec<(String, String)>;

/// `(literal segments, greedy, parameters)` when `parts` match.
fn match_segments(segments: &[Segment], parts: &[&str]) -> Option<(usize, bool, Params)> {
    let mut params = Vec::new();
    let mut literals = 0;
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                let rest = parts.get(i..).filter(|r| !r.is_empty())?;
                let joined = rest.join("/");
                if joined.is_empty() {
                    return None;
                }
                params.push((name.clone(), percent_decode(&joined)));
                return Some((literals, true, params));
            }
            Segment::Literal(text) => {
                if parts.get(i) != Some(&text.as_str()) {
                    return None;
                }
                literals += 1;
            }
            Segment::Param(name) => {
                let part = parts.get(i).filter(|p| !p.is_empty())?;
                params.push((name.clone(), percent_decode(part)));
            }
        }
    }
    (parts.len() == segments.len()).then_some((literals, false, params))
}

/// Decodes `%XX` escapes (not `+`); invalid escapes stay as they are.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(value) = hex {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Per-request values API Gateway makes up.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub time: DateTime<Utc>,
    pub source: SocketAddr,
    /// The port the local API listens on (`x-forwarded-port`).
    pub local_port: u16,
    pub account_id: String,
    pub api_id: String,
    /// `x-amzn-trace-id`.
    pub trace_id: String,
}

/// The payload 2.0 event API Gateway sends for a request.
pub fn request_event<T>(
    parts: &http::request::Parts,
    body: &[u8],
    route: &RouteMatch<'_, T>,
    meta: &RequestMeta,
) -> Value {
    let raw_path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let (headers, cookies) = event_headers(&parts.headers, meta);
    let user_agent = headers
        .get("user-agent")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .map(strip_port)
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost")
        .to_owned();
    let domain_prefix = host.split('.').next().unwrap_or(&host).to_owned();
    let protocol = match parts.version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    };

    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!(route.route_key));
    event.insert("rawPath".into(), json!(raw_path));
    event.insert("rawQueryString".into(), json!(raw_query));
    if !cookies.is_empty() {
        event.insert("cookies".into(), json!(cookies));
    }
    event.insert("headers".into(), Value::Object(headers));
    let query = query_parameters(&raw_query);
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), Value::Object(query));
    }
    if !route.path_parameters.is_empty() {
        let params: Map<String, Value> = route
            .path_parameters
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        event.insert("pathParameters".into(), Value::Object(params));
    }
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": meta.account_id,
            "apiId": meta.api_id,
            "domainName": host,
            "domainPrefix": domain_prefix,
            "http": {
                "method": parts.method.as_str(),
                "path": raw_path,
                "protocol": protocol,
                "sourceIp": meta.source.ip().to_string(),
                "userAgent": user_agent,
            },
            "requestId": meta.request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": meta.time.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": meta.time.timestamp_millis(),
        }),
    );
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => {
                event.insert("body".into(), json!(text));
                event.insert("isBase64Encoded".into(), json!(false));
            }
            Err(_) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(body);
                event.insert("body".into(), json!(encoded));
                event.insert("isBase64Encoded".into(), json!(true));
            }
        }
    } else {
        event.insert("isBase64Encoded".into(), json!(false));
    }
    Value::Object(event)
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [::1]:3000
        return host
            .split_once(']')
            .map_or(host, |(h, _)| h.trim_start_matches('['));
    }
    host.split(':').next().unwrap_or(host)
}

/// Lower-case names, duplicates comma-joined; cookies go to their own field;
/// API Gateway's forwarding headers added.
fn event_headers(headers: &HeaderMap, meta: &RequestMeta) -> (Map<String, Value>, Vec<String>) {
    let mut out: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
            continue;
        }
        // HeaderName is already lower case.
        let key = name.as_str().to_owned();
        match out.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                out.insert(key, Value::String(value));
            }
        }
    }
    let client = meta.source.ip().to_string();
    let forwarded_for = match out.get("x-forwarded-for").and_then(Value::as_str) {
        Some(existing) if !existing.is_empty() => format!("{existing}, {client}"),
        _ => client,
    };
    out.insert("x-forwarded-for".into(), json!(forwarded_for));
    out.insert(
        "x-forwarded-port".into(),
        json!(meta.local_port.to_string()),
    );
    out.insert("x-forwarded-proto".into(), json!("http"));
    out.insert("x-amzn-trace-id".into(), json!(meta.trace_id));
    (out, cookies)
}

/// `queryStringParameters`: values percent-decoded, duplicates comma-joined.
fn query_parameters(raw: &str) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name);
        let value = percent_decode(value);
        match out.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                out.insert(name, Value::String(value));
            }
        }
    }
    out
}

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
    use chrono::TimeZone;

    fn router() -> Router<&'static str> {
        let mut r = Router::default();
        r.add("GET", "/api/wallet", "wallet").expect("add");
        r.add("GET", "/api/wallet/affiliate", "affiliate")
            .expect("add");
        r.add("POST", "/api/wallet/cashout", "cashout")
            .expect("add");
        r.add("GET", "/api/wallet/payouts", "payouts").expect("add");
        r.add("GET", "/api/wallet/payouts/{id}", "payouts")
            .expect("add");
        r
    }

    #[test]
    fn routes_match_exactly_and_with_path_variables() {
        let r = router();
        let m = r.find("GET", "/api/wallet").expect("wallet");
        assert_eq!((m.route_key, *m.target), ("GET /api/wallet", "wallet"));
        assert!(m.path_parameters.is_empty());

        let m = r.find("GET", "/api/wallet/payouts/42").expect("by id");
        assert_eq!(m.route_key, "GET /api/wallet/payouts/{id}");
        assert_eq!(m.path_parameters, vec![("id".to_owned(), "42".to_owned())]);

        let m = r.find("GET", "/api/wallet/payouts").expect("list");
        assert_eq!(m.route_key, "GET /api/wallet/payouts");

        let m = r.find("GET", "/api/wallet/payouts/a%20b").expect("decoded");
        assert_eq!(m.path_parameters, vec![("id".to_owned(), "a b".to_owned())]);

        for (method, path) in [
            ("POST", "/api/wallet"),
            ("GET", "/api/wallet/cashout"),
            ("GET", "/api/wallet/"),
            ("GET", "/api/wallet/payouts/"),
            ("GET", "/api/wallet/payouts/1/2"),
            ("GET", "/api"),
            ("GET", "/"),
            ("GET", "/api/Wallet"),
            ("GET", "api/wallet"),
        ] {
            assert!(r.find(method, path).is_none(), "{method} {path}");
        }
    }

    #[test]
    fn the_most_specific_route_wins() {
        let mut r = Router::default();
        r.add("ANY", "$default", "default").expect("add");
        r.add("ANY", "/files/{proxy+}", "greedy").expect("add");
        r.add("GET", "/files/{name}", "param").expect("add");
        r.add("ANY", "/files/readme", "any-literal").expect("add");
        r.add("GET", "/files/readme", "get-literal").expect("add");
        assert_eq!(
            r.find("GET", "/files/readme").map(|m| *m.target),
            Some("get-literal")
        );
        assert_eq!(
            r.find("PUT", "/files/readme").map(|m| *m.target),
            Some("any-literal")
        );
        assert_eq!(r.find("GET", "/files/x").map(|m| *m.target), Some("param"));
        let m = r.find("PUT", "/files/a/b%2Fc").expect("greedy");
        assert_eq!(*m.target, "greedy");
        assert_eq!(
            m.path_parameters,
            vec![("proxy".to_owned(), "a/b/c".to_owned())]
        );
        assert_eq!(
            r.find("DELETE", "/other").map(|m| *m.target),
            Some("default")
        );
        assert_eq!(r.find("GET", "/files").map(|m| *m.target), Some("default"));
        assert!(
            r.add("GET", "/files/readme", "again").is_err(),
            "duplicate route key"
        );
        assert!(r.add("GET", "/a/{x+}/b", "bad").is_err());
        assert!(r.add("GET", "/a/{}", "bad").is_err());
    }

    fn meta() -> RequestMeta {
        RequestMeta {
            request_id: "req-1".to_owned(),
            time: Utc
                .with_ymd_and_hms(2026, 4, 20, 10, 15, 0)
                .single()
                .expect("time"),
            source: "127.0.0.1:50000".parse().expect("addr"),
            local_port: 3000,
            account_id: "123456789012".to_owned(),
            api_id: "local".to_owned(),
            trace_id: "Root=1-abc".to_owned(),
        }
    }

    fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).expect("request").into_parts().0
    }

    #[test]
    fn a_request_becomes_a_payload_2_event() {
        let r = router();
        let parts = request(
            "GET",
            "/api/wallet/payouts/7?page=2&limit=5&tag=a&tag=b%20c&empty=&flag",
            &[
                ("Host", "127.0.0.1:3000"),
                ("User-Agent", "curl/8"),
                ("Authorization", "Bearer 1|x"),
                ("X-Multi", "one"),
                ("x-multi", "two"),
                ("Cookie", "a=1; b=2"),
                ("cookie", "c=3"),
            ],
        );
        let m = r.find("GET", parts.uri.path()).expect("route");
        let e = request_event(&parts, b"", &m, &meta());
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["routeKey"], "GET /api/wallet/payouts/{id}");
        assert_eq!(e["rawPath"], "/api/wallet/payouts/7");
        assert_eq!(
            e["rawQueryString"],
            "page=2&limit=5&tag=a&tag=b%20c&empty=&flag"
        );
        assert_eq!(e["cookies"], json!(["a=1", "b=2", "c=3"]));
        assert_eq!(e["headers"]["x-multi"], "one,two");
        assert_eq!(e["headers"]["authorization"], "Bearer 1|x");
        assert_eq!(e["headers"]["host"], "127.0.0.1:3000");
        assert_eq!(e["headers"]["user-agent"], "curl/8");
        assert_eq!(e["headers"]["x-forwarded-for"], "127.0.0.1");
        assert_eq!(e["headers"]["x-forwarded-port"], "3000");
        assert_eq!(e["headers"]["x-forwarded-proto"], "http");
        assert!(
            e["headers"].get("cookie").is_none(),
            "cookies have their own field"
        );
        assert!(
            e["headers"].get("Authorization").is_none(),
            "names are lower case"
        );
        assert_eq!(
            e["queryStringParameters"],
            json!({"page": "2", "limit": "5", "tag": "a,b c", "empty": "", "flag": ""})
        );
        assert_eq!(e["pathParameters"], json!({"id": "7"}));
        let ctx = &e["requestContext"];
        assert_eq!(ctx["accountId"], "123456789012");
        assert_eq!(ctx["apiId"], "local");
        assert_eq!(ctx["domainName"], "127.0.0.1");
        assert_eq!(ctx["domainPrefix"], "127");
        assert_eq!(ctx["http"]["method"], "GET");
        assert_eq!(ctx["http"]["path"], "/api/wallet/payouts/7");
        assert_eq!(ctx["http"]["protocol"], "HTTP/1.1");
        assert_eq!(ctx["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(ctx["http"]["userAgent"], "curl/8");
        assert_eq!(ctx["requestId"], "req-1");
        assert_eq!(ctx["routeKey"], "GET /api/wallet/payouts/{id}");
        assert_eq!(ctx["stage"], "$default");
        assert_eq!(ctx["time"], "20/Apr/2026:10:15:00 +0000");
        assert_eq!(ctx["timeEpoch"], 1_776_680_100_000_i64);
        assert_eq!(e["isBase64Encoded"], false);
        assert!(e.get("body").is_none(), "no body, no field");
    }

    #[test]
    fn bodies_are_text_or_base64() {
        let r = router();
        let parts = request("POST", "/api/wallet/cashout", &[("Host", "localhost:3000")]);
        let m = r.find("POST", "/api/wallet/cashout").expect("route");
        let e = request_event(&parts, "{\"a\":\"é\"}".as_bytes(), &m, &meta());
        assert_eq!(e["body"], "{\"a\":\"é\"}");
        assert_eq!(e["isBase64Encoded"], false);
        assert!(e.get("queryStringParameters").is_none());
        assert!(e.get("pathParameters").is_none());
        assert!(e.get("cookies").is_none());
        assert_eq!(e["requestContext"]["domainName"], "localhost");
        assert_eq!(e["requestContext"]["http"]["userAgent"], "");

        let e = request_event(&parts, &[0xff, 0x00, 0x10], &m, &meta());
        assert_eq!(e["body"], "/wAQ");
        assert_eq!(e["isBase64Encoded"], true);
    }

    /// The event is what `lambda_http` (the functions' runtime) understands:
    /// parsed by lambda_http itself into the request a handler sees.
    #[test]
    fn lambda_http_reads_the_event_back() {
        use lambda_http::request::LambdaRequest;
        use lambda_http::RequestExt;
        let r = router();
        let parts = request(
            "GET",
            "/api/wallet/payouts/7?page=2&tag=a&tag=b",
            &[
                ("Host", "127.0.0.1:3000"),
                ("Authorization", "Bearer 1|x"),
                ("Cookie", "a=1; b=2"),
            ],
        );
        let m = r.find("GET", parts.uri.path()).expect("route");
        let e = request_event(&parts, b"hello", &m, &meta());
        let parsed: LambdaRequest = serde_json::from_value(e).expect("lambda_http parses it");
        let req: lambda_http::Request = parsed.into();
        assert_eq!(req.method(), "GET");
        assert_eq!(req.uri().path(), "/api/wallet/payouts/7");
        assert_eq!(
            req.headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer 1|x")
        );
        assert_eq!(
            req.headers().get("cookie").and_then(|v| v.to_str().ok()),
            Some("a=1; b=2")
        );
        assert_eq!(
            req.path_parameters_ref().and_then(|p| p.first("id")),
            Some("7")
        );
        let q = req.query_string_parameters_ref().expect("query");
        assert_eq!(q.first("page"), Some("2"));
        assert_eq!(q.all("tag"), Some(vec!["a", "b"]));
        assert_eq!(req.body().as_ref(), b"hello");
    }

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

    #[test]
    fn percent_decoding_leaves_bad_escapes_alone() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
