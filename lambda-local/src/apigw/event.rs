//! The payload 2.0 event API Gateway (HTTP API) sends a function for a request,
//! as `aws_lambda_events`' [`ApiGatewayV2httpRequest`].

use super::RouteMatch;
use aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Version};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;

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

/// Fields the event type also has, for Custom Authorizer v1 payloads and stage
/// variables: an HTTP API's payload 2.0 event has none of them.
const NOT_IN_PAYLOAD_2: [&str; 7] = [
    "type",
    "methodArn",
    "httpMethod",
    "identitySource",
    "authorizationToken",
    "resource",
    "stageVariables",
];

/// The payload 2.0 event API Gateway sends for a request, as JSON.
pub fn request_event<T>(
    parts: &http::request::Parts,
    body: &[u8],
    route: &RouteMatch<'_, T>,
    meta: &RequestMeta,
) -> Result<Value, serde_json::Error> {
    let raw_path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let (headers, cookies) = event_headers(&parts.headers, meta);
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let host = text("host")
        .map(|h| strip_port(&h).to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = parts.method.clone();
    http.path = Some(raw_path.clone());
    http.protocol = Some(protocol(parts.version).to_owned());
    http.source_ip = Some(meta.source.ip().to_string());
    http.user_agent = Some(text("user-agent").unwrap_or_default());

    let mut context = ApiGatewayV2httpRequestContext::default();
    context.account_id = Some(meta.account_id.clone());
    context.apiid = Some(meta.api_id.clone());
    context.domain_prefix = Some(host.split('.').next().unwrap_or(&host).to_owned());
    context.domain_name = Some(host);
    context.http = http;
    context.request_id = Some(meta.request_id.clone());
    context.route_key = Some(route.route_key.to_owned());
    context.stage = Some("$default".to_owned());
    context.time = Some(meta.time.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    context.time_epoch = meta.time.timestamp_millis();

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".to_owned());
    event.route_key = Some(route.route_key.to_owned());
    event.raw_path = Some(raw_path);
    event.query_string_parameters = query_parameters(&raw_query).into();
    event.raw_query_string = Some(raw_query);
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.path_parameters = route.path_parameters.iter().cloned().collect();
    event.request_context = context;
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => event.body = Some(text.to_owned()),
            Err(_) => {
                event.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
                event.is_base64_encoded = true;
            }
        }
    }
    let mut value = serde_json::to_value(&event)?;
    if let Some(object) = value.as_object_mut() {
        for name in NOT_IN_PAYLOAD_2 {
            object.remove(name);
        }
    }
    Ok(value)
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
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
fn event_headers(headers: &HeaderMap, meta: &RequestMeta) -> (HeaderMap, Vec<String>) {
    let mut joined: Vec<(HeaderName, String)> = Vec::new();
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
        match joined.iter_mut().find(|(n, _)| n == name) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            None => joined.push((name.clone(), value)),
        }
    }
    let client = meta.source.ip().to_string();
    let forwarded_for = match joined.iter().find(|(n, _)| n == "x-forwarded-for") {
        Some((_, existing)) if !existing.is_empty() => format!("{existing}, {client}"),
        _ => client,
    };
    let mut out = HeaderMap::new();
    let forwarding = [
        ("x-forwarded-for", forwarded_for),
        ("x-forwarded-port", meta.local_port.to_string()),
        ("x-forwarded-proto", "http".to_owned()),
        ("x-amzn-trace-id", meta.trace_id.clone()),
    ];
    let forwarding = forwarding
        .into_iter()
        .map(|(name, value)| (HeaderName::from_static(name), value));
    for (name, value) in joined.into_iter().chain(forwarding) {
        // The values came from valid headers (or are ASCII): they are valid again.
        if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
            out.insert(name, value);
        }
    }
    (out, cookies)
}

/// `queryStringParameters`: values percent-decoded, duplicates comma-joined.
fn query_parameters(raw: &str) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = super::percent_decode(value);
        out.entry(super::percent_decode(name))
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apigw::router::tests::router;
    use chrono::TimeZone;
    use serde_json::json;

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
        let e = request_event(&parts, b"", &m, &meta()).expect("event");
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
        let e = request_event(&parts, "{\"a\":\"é\"}".as_bytes(), &m, &meta()).expect("event");
        assert_eq!(e["body"], "{\"a\":\"é\"}");
        assert_eq!(e["isBase64Encoded"], false);
        assert!(e.get("queryStringParameters").is_none());
        assert!(e.get("pathParameters").is_none());
        assert!(e.get("cookies").is_none());
        assert_eq!(e["requestContext"]["domainName"], "localhost");
        assert_eq!(e["requestContext"]["http"]["userAgent"], "");

        let e = request_event(&parts, &[0xff, 0x00, 0x10], &m, &meta()).expect("event");
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
        let e = request_event(&parts, b"hello", &m, &meta()).expect("event");
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
}
