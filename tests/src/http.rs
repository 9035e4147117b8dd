//! The public routes as API Gateway calls them: requests built from the sample
//! events of `events/` ([`Req`]), the handler of each route ([`Route`]), one
//! method per route on [`TestCtx`], and the response taken apart ([`Reply`]).

use crate::dynamo::TestCtx;
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::Ctx;

pub const UNAUTHENTICATED: &str = "Unauthenticated.";
pub const FORBIDDEN: &str = "Forbidden";
pub const NOT_FOUND: &str = "Not Found";
pub const BAD_PAGE: &str = "The page must be an integer of at least 1.";
pub const BAD_LIMIT: &str = "The limit must be an integer between 1 and 100.";
pub const BAD_KEY: &str = "The Idempotency-Key header must be 1 to 255 visible ASCII characters.";
pub const CHILD_CANNOT_AGGREGATE: &str = "Child accounts cannot aggregate other accounts.";

/// The public routes of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Wallet,
    Affiliate,
    Cashout,
    Payouts,
    PayoutById,
    Summary,
    Aggregate,
    LinkedAccounts,
}

impl Route {
    pub const ALL: [Route; 8] = [
        Route::Wallet,
        Route::Affiliate,
        Route::Cashout,
        Route::Payouts,
        Route::PayoutById,
        Route::Summary,
        Route::Aggregate,
        Route::LinkedAccounts,
    ];

    /// The route's plain sample event in `events/`.
    pub fn event(self) -> &'static str {
        match self {
            Route::Wallet => "wallet_ok",
            Route::Affiliate => "affiliate_ok",
            Route::Cashout => "cashout_ok",
            Route::Payouts => "payouts_ok",
            Route::PayoutById => "payouts_by_id",
            Route::Summary => "summary_ok",
            Route::Aggregate => "aggregate_empty_object",
            Route::LinkedAccounts => "linked-accounts_ok",
        }
    }

    /// May an API key (`transactions.read`) call it?
    pub fn api_key_allowed(self) -> bool {
        matches!(self, Route::Wallet | Route::Affiliate)
    }

    /// Runs the route's handler.
    pub async fn handle(self, ctx: &Ctx, req: Request) -> Response<Body> {
        match self {
            Route::Wallet => wallet::handle(ctx, req).await,
            Route::Affiliate => affiliate::handle(ctx, req).await,
            Route::Cashout => cashout::handle(ctx, req).await,
            Route::Payouts | Route::PayoutById => payouts::handle(ctx, req).await,
            Route::Summary => summary::handle(ctx, req).await,
            Route::Aggregate => aggregate::handle(ctx, req).await,
            Route::LinkedAccounts => linked_accounts::handle(ctx, req).await,
        }
    }
}

/// A sample event of `events/` as JSON.
pub fn load_event(name: &str) -> Value {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A request under construction: a sample event changed as JSON (before
/// lambda_http parses it, like the Lambda runtime does), then its headers.
#[derive(Debug, Clone)]
pub struct Req {
    event: Value,
    /// `Some(None)`: no Authorization header; `Some(Some(v))`: exactly `v`.
    authorization: Option<Option<String>>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Req {
    /// `events/<name>.json` as it is.
    pub fn sample(name: &str) -> Self {
        Self {
            event: load_event(name),
            authorization: None,
            headers: Vec::new(),
        }
    }

    /// The route's plain sample event.
    pub fn route(route: Route) -> Self {
        Self::sample(route.event())
    }

    /// `Authorization: Bearer <token>`.
    pub fn token(&mut self, token: &str) -> &mut Self {
        self.authorization(Some(&bearer(token)))
    }

    /// Exactly this `Authorization` header (`None`: none at all).
    pub fn authorization(&mut self, value: Option<&str>) -> &mut Self {
        self.authorization = Some(value.map(str::to_owned));
        self
    }

    /// Another raw query string, and API Gateway's joined parameter map.
    pub fn query(&mut self, raw_query: &str) -> &mut Self {
        self.event["rawQueryString"] = json!(raw_query);
        let mut params: Vec<(String, String)> = Vec::new();
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match params.iter_mut().find(|(name, _)| name == k) {
                Some((_, existing)) => {
                    existing.push(',');
                    existing.push_str(v);
                }
                None => params.push((k.to_owned(), v.to_owned())),
            }
        }
        let obj = self.event.as_object_mut().expect("event object");
        if params.is_empty() {
            obj.remove("queryStringParameters");
        } else {
            let map: serde_json::Map<String, Value> =
                params.into_iter().map(|(k, v)| (k, json!(v))).collect();
            obj.insert("queryStringParameters".into(), Value::Object(map));
        }
        self
    }

    /// `id` as API Gateway passes it: decoded in `pathParameters`,
    /// percent-encoded in the path.
    pub fn payout_id(&mut self, id: &str) -> &mut Self {
        let path = format!("/api/wallet/payouts/{}", encode(id));
        self.event["pathParameters"] = json!({ "id": id });
        self.event["rawPath"] = json!(path);
        if self.event["requestContext"]["http"].is_object() {
            self.event["requestContext"]["http"]["path"] = json!(path);
        }
        self
    }

    /// The body, as text (`base64`: already base64-encoded).
    pub fn body(&mut self, body: &str, base64: bool) -> &mut Self {
        self.event["body"] = json!(body);
        self.event["isBase64Encoded"] = json!(base64);
        self
    }

    /// An aggregate body with these additional tokens.
    pub fn additional_tokens(&mut self, tokens: &[&str]) -> &mut Self {
        self.body(&json!({ "additional_tokens": tokens }).to_string(), false)
    }

    /// One more header value (appended: the same name twice is two values).
    pub fn header(&mut self, name: &str, value: HeaderValue) -> &mut Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        self.headers.push((name, value));
        self
    }

    /// The request as the handler gets it.
    pub fn build(&self) -> Request {
        let mut req = lambda_http::request::from_str(&self.event.to_string())
            .unwrap_or_else(|e| panic!("lambda_http parses the event: {e}"));
        let headers = req.headers_mut();
        if let Some(authorization) = &self.authorization {
            headers.remove("authorization");
            if let Some(value) = authorization {
                headers.insert(
                    "authorization",
                    HeaderValue::from_str(value).expect("header value"),
                );
            }
        }
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        req
    }
}

impl From<Req> for Request {
    fn from(req: Req) -> Self {
        req.build()
    }
}

impl From<&mut Req> for Request {
    fn from(req: &mut Req) -> Self {
        req.build()
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A handler response, taken apart. It compares equal to `(status, body)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body text exactly as sent.
    pub text: String,
    pub body: Value,
}

impl Reply {
    /// Checks what every response is: JSON, with a text body.
    pub fn from_response(resp: Response<Body>) -> Self {
        let status = resp.status().as_u16();
        assert_eq!(
            resp.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/json"[..]),
            "every response is JSON"
        );
        let text = match resp.body() {
            Body::Text(t) => t.clone(),
            other => panic!("expected a text body, got {other:?}"),
        };
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
        Self {
            status,
            headers: resp.headers().clone(),
            text,
            body,
        }
    }

    /// A header sent at most once.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut values = self.headers.get_all(name).iter();
        let first = values
            .next()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        assert!(values.next().is_none(), "header {name} sent twice");
        first
    }

    pub fn location(&self) -> Option<String> {
        self.header("location")
    }

    /// The `Idempotent-Replayed` header.
    pub fn replayed(&self) -> Option<String> {
        self.header("idempotent-replayed")
    }

    /// The body of a 200 (anything else fails, showing the body).
    #[track_caller]
    pub fn body_of_200(self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        self.body
    }

    /// The envelope's `errors_message`.
    pub fn message(&self) -> Value {
        self.body["errors_message"].clone()
    }

    /// `data` of the envelope.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// Every header as `name: value`.
    pub fn header_lines(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
            .collect()
    }

    /// The payout id of a `Location: /api/wallet/payouts/<id>` header, a plain
    /// positive integer.
    #[track_caller]
    pub fn location_id(&self) -> i64 {
        let location = self
            .location()
            .unwrap_or_else(|| panic!("no Location: {self:?}"));
        let id = location
            .strip_prefix("/api/wallet/payouts/")
            .unwrap_or_else(|| panic!("unexpected Location {location}"));
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !id.starts_with('0'),
            "Location id must be a plain positive integer: {location}"
        );
        id.parse().expect("payout id")
    }
}

impl PartialEq<(u16, Value)> for Reply {
    fn eq(&self, other: &(u16, Value)) -> bool {
        self.status == other.0 && self.body == other.1
    }
}

/// The envelope of a 200.
pub fn ok(data: Value) -> Value {
    json!({"success": true, "errors_message": null, "data": data})
}

/// The envelope of a refusal.
pub fn error(message: &str) -> Value {
    json!({"success": false, "errors_message": message, "data": null})
}

pub const CREATED: &str = "Cashout created successfully";

/// A first (not replayed) successful cashout: exact envelope, `Location`, no
/// replay marker. Returns the payout id of the `Location`.
#[track_caller]
pub fn assert_created(r: &Reply) -> i64 {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, ok(json!(CREATED)), "{r:?}");
    assert_eq!(
        r.replayed(),
        None,
        "a first response is not a replay: {r:?}"
    );
    r.location_id()
}

/// A refusal: exact status and envelope, no `Location`, not a replay.
#[track_caller]
pub fn assert_refused(r: &Reply, status: u16, message: &str) {
    assert_eq!((r.status, &r.body), (status, &error(message)), "{r:?}");
    assert_eq!(r.location(), None, "{r:?}");
    assert_eq!(r.replayed(), None, "{r:?}");
}

/// One method per public route (and [`TestCtx::send`] for any request).
impl TestCtx {
    /// Sends a request to the route's handler.
    pub async fn send(&self, route: Route, req: impl Into<Request>) -> Reply {
        Reply::from_response(route.handle(self, req.into()).await)
    }

    /// Sends `events/<sample>.json` to the route with `token` (`None`: the
    /// sample's own Authorization header, if any).
    pub async fn sample(&self, route: Route, sample: &str, token: Option<&str>) -> Reply {
        let mut req = Req::sample(sample);
        if let Some(token) = token {
            req.token(token);
        }
        self.send(route, req).await
    }

    /// `GET /api/wallet?<query>`.
    pub async fn wallet(&self, token: &str, query: &str) -> Reply {
        self.list(Route::Wallet, token, query).await
    }

    /// `GET /api/wallet/affiliate?<query>`.
    pub async fn affiliate(&self, token: &str, query: &str) -> Reply {
        self.list(Route::Affiliate, token, query).await
    }

    /// `POST /api/wallet/cashout`, with an `Idempotency-Key` if given.
    pub async fn cashout(&self, token: &str, key: Option<&str>) -> Reply {
        self.send(Route::Cashout, cashout_request(token, key)).await
    }

    /// `GET /api/wallet/payouts?<query>`.
    pub async fn payouts(&self, token: &str, query: &str) -> Reply {
        self.list(Route::Payouts, token, query).await
    }

    /// A paginated list route with this query string.
    async fn list(&self, route: Route, token: &str, query: &str) -> Reply {
        let req = Req::route(route).query(query).token(token).build();
        self.send(route, req).await
    }

    /// `GET /api/wallet/payouts/{id}`.
    pub async fn payout(&self, token: &str, id: &str) -> Reply {
        let req = Req::route(Route::PayoutById)
            .payout_id(id)
            .token(token)
            .build();
        self.send(Route::PayoutById, req).await
    }

    /// `GET /api/dashboard/summary`.
    pub async fn summary(&self, token: &str) -> Reply {
        let req = Req::route(Route::Summary).token(token).build();
        self.send(Route::Summary, req).await
    }

    /// `POST /api/dashboard/summary/aggregate` with these additional tokens
    /// (in the body of `events/aggregate_additional_tokens.json`).
    pub async fn aggregate(&self, token: &str, tokens: &[&str]) -> Reply {
        let mut req = Req::sample("aggregate_additional_tokens");
        assert!(
            req.event["body"].as_str().is_some(),
            "the sample event has a JSON body"
        );
        let req = req.additional_tokens(tokens).token(token).build();
        self.send(Route::Aggregate, req).await
    }

    /// `GET /api/user/linked-accounts`.
    pub async fn linked_accounts(&self, token: &str) -> Reply {
        let req = Req::route(Route::LinkedAccounts).token(token).build();
        self.send(Route::LinkedAccounts, req).await
    }
}

/// A cashout request (`events/cashout_ok.json`), or with a key
/// (`events/cashout_idempotency_key.json` with the key replaced).
pub fn cashout_request(token: &str, key: Option<&str>) -> Request {
    match key {
        None => Req::route(Route::Cashout).token(token).build(),
        Some(key) => {
            let mut req = Req::sample("cashout_idempotency_key").token(token).build();
            req.headers_mut().insert(
                shared::http::request::IDEMPOTENCY_KEY,
                HeaderValue::from_str(key).expect("key is a header value"),
            );
            req
        }
    }
}
