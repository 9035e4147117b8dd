//! Access control of every public route, OWASP style (issue 7), at the handler
//! level on DynamoDB Local:
//!
//! - another user's data is unreachable by any parameter (query, path, header, body);
//! - API keys (`transactions.read`) reach only the two wallet reads;
//! - revoked tokens and a deleted user's tokens are refused everywhere;
//! - a child reads neither its master's nor its siblings' data;
//! - headers, query strings, path parameters and bodies of unusual size, encoding
//!   or duplication get a 4xx (or are ignored), never a 5xx;
//! - no token secret, no SHA-256 of one, no `secret_sha256` ever appears in a response.
//!
//! (That no secret appears in a log line is checked by `scripts/fuzz.sh` on the
//! log of `walletctl serve` after the schemathesis run.)

use domain::token::{hash_secret, Ability};
use lambda_http::http::{HeaderName, HeaderValue};
use lambda_http::Request;
use serde_json::{json, Value};
use shared::services::auth::{create_token, revoke_token};
use std::collections::HashMap;
use tests::dynamo::{test_ctx, TestCtx};
use tests::events::Event;
use tests::fixtures::{api_key, creator, Creator, Profile};
use tests::http::{
    bearer, Reply, Req, Route, BAD_KEY, BAD_LIMIT, BAD_PAGE, CHILD_CANNOT_AGGREGATE, FORBIDDEN,
    NOT_FOUND, UNAUTHENTICATED,
};
use tests::invariants::buckets;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The route's sample event, changed by `adjust`, with `token` as bearer (or
/// no Authorization header at all).
fn event_request(route: Route, token: Option<&str>, adjust: impl FnOnce(&mut Req)) -> Request {
    let mut req = Req::route(route);
    adjust(&mut req);
    req.authorization(token.map(bearer).as_deref());
    req.build()
}

fn req(route: Route, token: &str) -> Request {
    event_request(route, Some(token), |_| {})
}

/// Calls the route and checks what every response must be: the JSON envelope,
/// never a 5xx, and nothing secret in it (checked against `secrets`).
async fn send(t: &TestCtx, route: Route, req: Request, secrets: &Secrets) -> Reply {
    let raw = t.send(route, req).await;
    assert!(
        raw.header_lines()
            .iter()
            .any(|h| h == "content-type: application/json"),
        "{route:?}: {:?}",
        raw.header_lines()
    );
    assert!(
        raw.status < 500,
        "{route:?}: a server error {}: {}",
        raw.status,
        raw.text
    );
    let mut keys: Vec<&String> = raw.body.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["data", "errors_message", "success"], "{}", raw.text);
    secrets.assert_absent(route, &raw);
    raw
}

/// [`send`] of the route's plain sample event with `token`.
async fn call(t: &TestCtx, route: Route, token: &str, secrets: &Secrets) -> Reply {
    send(t, route, req(route, token), secrets).await
}

/// Every token secret of a test and its SHA-256 hex: none may ever be sent back.
#[derive(Default)]
struct Secrets {
    words: Vec<String>,
}

impl Secrets {
    fn add(&mut self, token: &str) {
        let secret = token.split_once('|').map_or(token, |(_, s)| s);
        self.words.push(secret.to_owned());
        self.words.push(hash_secret(secret));
    }

    fn assert_absent(&self, route: Route, raw: &Reply) {
        let text = format!("{}\n{}", raw.header_lines().join("\n"), raw.text);
        let lower = text.to_ascii_lowercase();
        for word in ["secret_sha256", "secret", "sha256", "token_hash"] {
            assert!(!lower.contains(word), "{route:?}: {word:?} in {text}");
        }
        for word in &self.words {
            assert!(
                !text.contains(word.as_str()),
                "{route:?}: a secret in {text}"
            );
        }
        // No run of 64 hex digits (a SHA-256) anywhere.
        let mut run = 0;
        for c in text.chars() {
            run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
            assert!(run < 64, "{route:?}: a hash-like run in {text}");
        }
    }
}

/// A creator with payout details, one earning, one affiliate earning and one
/// payout (for the whole available balance), and some left over after it.
struct Funded {
    user: Creator,
    payout_id: i64,
}

async fn funded(t: &TestCtx, secrets: &mut Secrets, tag: &str) -> Funded {
    let user = creator(t, Profile::payable()).await;
    secrets.add(&user.token);
    let earning = |id: String, amount| {
        Event::product_earning(user.id, &id, amount).title(&format!("Earning {id}"))
    };
    t.applied(earning(format!("{tag}-sale"), 5000)).await;
    let id = format!("{tag}-ref");
    t.applied(Event::affiliate_earning(user.id, &id, 700).title(&format!("Earning {id}")))
        .await;
    let raw = call(t, Route::Cashout, &user.token, secrets).await;
    assert_eq!(raw.status, 200, "{}", raw.text);
    let payout_id = raw.location_id();
    t.applied(earning(format!("{tag}-late"), 1234)).await;
    Funded { user, payout_id }
}

/// Every id and e-mail a response about `other` could carry.
fn foreign_markers(other: &Funded) -> Vec<String> {
    vec![
        other.user.email.clone(),
        format!("\"user_id\":{},", other.user.id),
        format!("\"child_user_id\":{},", other.user.id),
        format!("\"id\":{},", other.payout_id),
    ]
}

fn assert_none_of(raw: &Reply, markers: &[String], what: &str) {
    for m in markers {
        assert!(
            !raw.text.contains(m.as_str()),
            "{what}: {m} in {}",
            raw.text
        );
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn another_users_data_is_unreachable_by_any_parameter() {
    let t = test_ctx().await;
    let mut secrets = Secrets::default();
    let ann = funded(&t, &mut secrets, "ann").await;
    let bob = funded(&t, &mut secrets, "bob").await;
    let bob_markers = foreign_markers(&bob);
    let bob_id = bob.user.id.to_string();
    let queries = [
        format!("user_id={bob_id}"),
        format!("userId={bob_id}&id={bob_id}"),
        format!("user={bob_id}&account={bob_id}&master_id={bob_id}"),
        format!("page=1&limit=100&user_id={bob_id}&token={}", bob.user.token),
    ];
    for route in Route::ALL {
        for query in &queries {
            let request = event_request(route, Some(&ann.user.token), |e| {
                e.query(query);
                if route == Route::PayoutById {
                    e.payout_id(&ann.payout_id.to_string());
                }
                if route == Route::Aggregate {
                    e.body(
                        &format!(r#"{{"user_id": {bob_id}, "accounts": [{bob_id}]}}"#),
                        false,
                    );
                }
            });
            let mut request = request;
            for name in ["x-user-id", "x-forwarded-user", "x-amzn-oidc-identity"] {
                request
                    .headers_mut()
                    .insert(name, HeaderValue::from_str(&bob_id).expect("header"));
            }
            let raw = send(&t, route, request, &secrets).await;
            // Cashout: Ann's first one emptied her balance but for the late earning.
            assert!(
                raw.status == 200 || route == Route::Cashout,
                "{route:?} {query}: {}",
                raw.text
            );
            assert_none_of(&raw, &bob_markers, &format!("{route:?} {query}"));
        }
    }

    // Bob's payout by id, in every spelling: as unknown as a missing one.
    for id in [
        bob.payout_id.to_string(),
        format!("00{}", bob.payout_id),
        format!("{}%20", bob.payout_id),
        format!("{},{}", ann.payout_id, bob.payout_id),
    ] {
        let request = event_request(Route::PayoutById, Some(&ann.user.token), |e| {
            e.payout_id(&id);
        });
        let raw = send(&t, Route::PayoutById, request, &secrets).await;
        assert_eq!(raw.status, 404, "{id}: {}", raw.text);
        assert_eq!(raw.message(), json!(NOT_FOUND));
    }
    // Her own answers.
    let request = event_request(Route::PayoutById, Some(&ann.user.token), |e| {
        e.payout_id(&ann.payout_id.to_string());
    });
    let raw = send(&t, Route::PayoutById, request, &secrets).await;
    assert_eq!(raw.status, 200, "{}", raw.text);

    // Holding Bob's token as additional_tokens grants a standalone account nothing.
    let request = event_request(Route::Aggregate, Some(&ann.user.token), |e| {
        e.body(
            &json!({"additional_tokens": [bob.user.token]}).to_string(),
            false,
        );
    });
    let raw = send(&t, Route::Aggregate, request, &secrets).await;
    assert_eq!(raw.status, 200, "{}", raw.text);
    assert_eq!(
        raw.body["data"]["accounts"].as_array().map(Vec::len),
        Some(1)
    );
    assert_none_of(&raw, &bob_markers, "aggregate with Bob's token");

    // Bob's wallet is as it was (Ann's requests changed nothing of his).
    assert_eq!(buckets(&t, bob.user.id).await, (1234, 0, 5700));
}

#[tokio::test]
async fn api_keys_reach_only_the_two_wallet_reads() {
    let t = test_ctx().await;
    let mut secrets = Secrets::default();
    let ann = funded(&t, &mut secrets, "key").await;
    let key = api_key(&t, ann.user.id).await;
    secrets.add(&key);
    let before = buckets(&t, ann.user.id).await;
    for route in Route::ALL {
        let request = event_request(route, Some(&key), |e| {
            if route == Route::PayoutById {
                e.payout_id(&ann.payout_id.to_string());
            }
        });
        let raw = send(&t, route, request, &secrets).await;
        if route.api_key_allowed() {
            assert_eq!(raw.status, 200, "{route:?}: {}", raw.text);
        } else {
            assert_eq!(
                (raw.status, raw.message()),
                (403, json!(FORBIDDEN)),
                "{route:?}: {}",
                raw.text
            );
        }
    }
    // With an Idempotency-Key, too: nothing is claimed nor moved.
    let mut request = req(Route::Cashout, &key);
    request
        .headers_mut()
        .insert("idempotency-key", HeaderValue::from_static("key-1"));
    let raw = send(&t, Route::Cashout, request, &secrets).await;
    assert_eq!(raw.status, 403);
    assert_eq!(buckets(&t, ann.user.id).await, before);
    // The same key with the session token is fresh (the refusal stored nothing).
    let mut request = req(Route::Cashout, &ann.user.token);
    request
        .headers_mut()
        .insert("idempotency-key", HeaderValue::from_static("key-1"));
    let raw = send(&t, Route::Cashout, request, &secrets).await;
    assert_eq!(raw.status, 200, "{}", raw.text);
    assert!(!raw
        .header_lines()
        .iter()
        .any(|h| h.starts_with("idempotent-replayed")));
}

#[tokio::test]
async fn revoked_and_deleted_user_tokens_are_refused_everywhere() {
    let t = test_ctx().await;
    let mut secrets = Secrets::default();
    let ann = funded(&t, &mut secrets, "rev").await;
    let second = create_token(&t, ann.user.id, Ability::All)
        .await
        .expect("token")
        .1;
    secrets.add(&second);
    let key = api_key(&t, ann.user.id).await;
    secrets.add(&key);
    let token_id: i64 = ann
        .user
        .token
        .split_once('|')
        .and_then(|(id, _)| id.parse().ok())
        .expect("token id");
    revoke_token(&t, token_id).await.expect("revoke");
    for route in Route::ALL {
        let raw = call(&t, route, &ann.user.token, &secrets).await;
        assert_eq!(
            (raw.status, raw.message()),
            (401, json!(UNAUTHENTICATED)),
            "revoked, {route:?}"
        );
    }
    // The other token of the same user still works: revocation is per token.
    let raw = call(&t, Route::Wallet, &second, &secrets).await;
    assert_eq!(raw.status, 200);

    shared::services::users::delete_user(&t, ann.user.id)
        .await
        .expect("delete user");
    for token in [&second, &key] {
        for route in Route::ALL {
            let raw = call(&t, route, token, &secrets).await;
            // Any token of a deleted user is 401, an API key on a session
            // route too (not 403).
            assert_eq!(
                (raw.status, raw.message()),
                (401, json!(UNAUTHENTICATED)),
                "deleted user, {route:?}"
            );
        }
    }
    // Decided order of the checks (docs/decisions.md): token, then the
    // request's input, then the account. A deleted user's token with a
    // malformed body gets the body's 400, like any token; a revoked token
    // gets 401 before the body is looked at.
    for (event, token, want) in [
        (
            "aggregate_invalid_json",
            &second,
            (400, "The request body must be valid JSON."),
        ),
        (
            "aggregate_json_array",
            &second,
            (422, "The request body must be a JSON object."),
        ),
        ("aggregate_empty_object", &second, (401, UNAUTHENTICATED)),
        (
            "aggregate_invalid_json",
            &ann.user.token,
            (401, UNAUTHENTICATED),
        ),
    ] {
        let r = t.sample(Route::Aggregate, event, Some(token)).await;
        assert_eq!((r.status, r.message()), (want.0, json!(want.1)), "{event}");
        assert_eq!(r.data(), &Value::Null);
    }
    // A wrong secret for a live token id, and a secret of the right length: 401.
    let bob = funded(&t, &mut secrets, "rev-bob").await;
    let (id, secret) = bob.user.token.split_once('|').expect("token");
    let mut wrong = secret.to_owned();
    wrong.replace_range(..1, if secret.starts_with('a') { "b" } else { "a" });
    for token in [
        format!("{id}|{wrong}"),
        format!("{id}|{}", hash_secret(secret)),
        format!("{token_id}|{secret}"),
    ] {
        let raw = call(&t, Route::Wallet, &token, &secrets).await;
        assert_eq!((raw.status, raw.message()), (401, json!(UNAUTHENTICATED)));
    }
}

#[tokio::test]
async fn a_child_reads_neither_its_masters_nor_its_siblings_data() {
    let t = test_ctx().await;
    let mut secrets = Secrets::default();
    let master = funded(&t, &mut secrets, "m").await;
    let child = funded(&t, &mut secrets, "c1").await;
    let sibling = funded(&t, &mut secrets, "c2").await;
    for c in [&child, &sibling] {
        shared::services::links::link(&t, master.user.id, c.user.id)
            .await
            .expect("link");
    }
    let sibling_markers = foreign_markers(&sibling);
    // The master's id and e-mail are shown to the child by linked-accounts (its
    // master's identity, docs/api.md#aggregate); its money and payouts never are.
    let master_money = [
        format!("\"id\":{},", master.payout_id),
        "Earning m-".to_owned(),
        format!("\"user_id\":{},\"email\"", master.user.id),
    ];
    for route in Route::ALL {
        for query in ["", "user_id=1&master=1", "page=1&limit=100"] {
            let request = event_request(route, Some(&child.user.token), |e| {
                e.query(query);
                if route == Route::PayoutById {
                    e.payout_id(&child.payout_id.to_string());
                }
            });
            let raw = send(&t, route, request, &secrets).await;
            assert_none_of(&raw, &sibling_markers, &format!("{route:?} {query}"));
            if route != Route::LinkedAccounts {
                assert_none_of(&raw, &master_money, &format!("{route:?} {query}"));
            }
        }
    }
    // The aggregate of a child is itself alone; with additional_tokens, 403.
    let raw = call(&t, Route::Aggregate, &child.user.token, &secrets).await;
    let accounts = raw.body["data"]["accounts"].clone();
    assert_eq!(accounts.as_array().map(Vec::len), Some(1), "{}", raw.text);
    assert_eq!(accounts[0]["user_id"], json!(child.user.id));
    for body in [
        json!({"additional_tokens": [master.user.token, sibling.user.token]}),
        json!({"additional_tokens": []}),
    ] {
        let request = event_request(Route::Aggregate, Some(&child.user.token), |e| {
            e.body(&body.to_string(), false);
        });
        let raw = send(&t, Route::Aggregate, request, &secrets).await;
        assert_eq!(
            (raw.status, raw.message()),
            (403, json!(CHILD_CANNOT_AGGREGATE))
        );
    }
    // The master's and the sibling's payouts by id: 404.
    for id in [master.payout_id, sibling.payout_id] {
        let request = event_request(Route::PayoutById, Some(&child.user.token), |e| {
            e.payout_id(&id.to_string());
        });
        let raw = send(&t, Route::PayoutById, request, &secrets).await;
        assert_eq!(raw.status, 404, "{}", raw.text);
    }
    // Linked accounts: the master's identity only, no siblings.
    let raw = call(&t, Route::LinkedAccounts, &child.user.token, &secrets).await;
    let data = raw.body["data"].clone();
    assert_eq!(data["role"], "child");
    assert_eq!(data["linked_accounts"], json!([]));
    assert_eq!(data["master"]["user_id"], json!(master.user.id));
    assert!(data["master"].get("wallet_balance").is_none());
    // The master does see both children in its aggregate (the control).
    let raw = call(&t, Route::Aggregate, &master.user.token, &secrets).await;
    assert_eq!(
        raw.body["data"]["accounts"].as_array().map(Vec::len),
        Some(3)
    );
}

#[tokio::test]
async fn odd_headers_query_strings_paths_and_bodies_get_4xx_never_5xx() {
    let t = test_ctx().await;
    let mut secrets = Secrets::default();
    let ann = funded(&t, &mut secrets, "odd").await;
    let token = ann.user.token.clone();
    let (token_id, secret) = token.split_once('|').expect("token");

    // Authorization values of every odd kind: 401, never anything else.
    let huge = "A".repeat(64 * 1024);
    let mut authorizations: Vec<Vec<u8>> = vec![
        format!("Bearer {huge}").into_bytes(),
        format!("Bearer {token_id}|{huge}").into_bytes(),
        format!("Bearer {}|{secret}", "9".repeat(20)).into_bytes(),
        format!("Bearer -{token_id}|{secret}").into_bytes(),
        format!("Bearer 0|{secret}").into_bytes(),
        format!("Bearer {token_id}|").into_bytes(),
        format!("Bearer |{secret}").into_bytes(),
        format!("Bearer {token_id}%7C{secret}").into_bytes(),
        format!("Basic {token}").into_bytes(),
        format!("Bearer {token}, Bearer {token}").into_bytes(),
        format!("Bearer {token_id}|{secret}\u{e9}").into_bytes(),
        b"Bearer".to_vec(),
        b"".to_vec(),
        b"   ".to_vec(),
        b"Bearer \xff\xfe|\xc3\x28".to_vec(),
        [b"Bearer ".as_slice(), token_id.as_bytes(), b"|\x80\x81"].concat(),
        "Bearer １|２".as_bytes().to_vec(),
    ];
    authorizations.push(format!("Bearer\t{token}").into_bytes());
    for route in Route::ALL {
        for value in &authorizations {
            let mut request = event_request(route, None, |_| {});
            let Ok(value) = HeaderValue::from_bytes(value) else {
                continue;
            };
            request.headers_mut().insert("authorization", value);
            let raw = send(&t, route, request, &secrets).await;
            assert_eq!(raw.status, 401, "{route:?}: {}", raw.text);
        }
        // The same valid header twice: refused.
        let mut request = event_request(route, None, |_| {});
        for _ in 0..2 {
            request.headers_mut().append(
                "authorization",
                HeaderValue::from_str(&bearer(&token)).expect("header"),
            );
        }
        let raw = send(&t, route, request, &secrets).await;
        assert_eq!(raw.status, 401, "{route:?} twice: {}", raw.text);
        // Many odd extra headers are ignored: the request is still answered.
        let mut request = req(route, &token);
        for i in 0..200 {
            let name = HeaderName::from_bytes(format!("x-odd-{i}").as_bytes()).expect("name");
            request
                .headers_mut()
                .insert(name, HeaderValue::from_bytes(b"\xff").expect("v"));
        }
        request.headers_mut().insert(
            "x-huge",
            HeaderValue::from_str(&"z".repeat(256 * 1024)).expect("header"),
        );
        let raw = send(&t, route, request, &secrets).await;
        assert_ne!(raw.status, 401, "{route:?}: {}", raw.text);
    }

    // Query strings on the paginated routes: 422 with the exact message, or ignored.
    let long_digits = "9".repeat(8_000);
    let bad_page = [
        "page=0".to_owned(),
        "page=-1".to_owned(),
        "page=1.0".to_owned(),
        "page=1e3".to_owned(),
        "page=1&page=2".to_owned(),
        "page=1&page=1".to_owned(),
        "page=9223372036854775808".to_owned(),
        format!("page={long_digits}"),
        "page=0x10".to_owned(),
        "page=abc&limit=abc".to_owned(),
    ];
    let bad_limit = [
        "limit=0",
        "limit=101",
        "limit=-5",
        "limit=10&limit=10",
        "limit=99999999999999999999999",
    ];
    let ignored = [
        "".to_owned(),
        "page=".to_owned(),
        "limit=".to_owned(),
        "page=0001&limit=010".to_owned(),
        "page=9223372036854775807&limit=100".to_owned(),
        // API Gateway refuses a request line over 10 KiB itself; 8 KiB get here.
        format!("x={}", "y".repeat(8 * 1024)),
        (0..300)
            .map(|i| format!("p{i}=v"))
            .collect::<Vec<_>>()
            .join("&"),
        "page[]=1&limit[x]=2".to_owned(),
        "%ZZ=%ZZ".to_owned(),
        "=&&=&".to_owned(),
    ];
    for route in [Route::Wallet, Route::Affiliate, Route::Payouts] {
        for (queries, expected) in [
            (
                bad_page.iter().map(String::as_str).collect::<Vec<_>>(),
                Some(BAD_PAGE),
            ),
            (bad_limit.to_vec(), Some(BAD_LIMIT)),
            (ignored.iter().map(String::as_str).collect::<Vec<_>>(), None),
        ] {
            for query in queries {
                let request = event_request(route, Some(&token), |e| {
                    e.query(query);
                });
                let raw = send(&t, route, request, &secrets).await;
                let shown: String = query.chars().take(60).collect();
                match expected {
                    Some(message) => assert_eq!(
                        (raw.status, raw.message()),
                        (422, json!(message)),
                        "{route:?} {shown}"
                    ),
                    None => assert_eq!(raw.status, 200, "{route:?} {shown}: {}", raw.text),
                }
            }
        }
        // Percent-encoded, non-ASCII or spaced values: a page or a 422, nothing else.
        for query in [
            "page=%31",
            "page=%FF%FE",
            "page=%EF%BC%91",
            "page=%201",
            "page=+1",
            "limit=%00",
            "limit=1%2C2",
            "page=%2B1",
            "limit=%F0%9F%92%A9",
        ] {
            let request = event_request(route, Some(&token), |e| {
                e.query(query);
            });
            let raw = send(&t, route, request, &secrets).await;
            assert!(
                raw.status == 200 || raw.status == 422,
                "{route:?} {query}: {}",
                raw.text
            );
        }
    }

    // Payout ids of every odd shape: 404.
    for id in [
        "0".to_owned(),
        "-1".to_owned(),
        "1.0".to_owned(),
        "9007199254740992".to_owned(),
        "9".repeat(8_000),
        "%00".to_owned(),
        "1;DROP".to_owned(),
        "../1".to_owned(),
        "１".to_owned(),
        "".to_owned(),
    ] {
        let request = event_request(Route::PayoutById, Some(&token), |e| {
            e.payout_id(&id);
        });
        let raw = send(&t, Route::PayoutById, request, &secrets).await;
        assert!(
            raw.status == 404 || (id.is_empty() && raw.status == 200),
            "{}: {}",
            id.chars().take(30).collect::<String>(),
            raw.text
        );
    }

    // Idempotency-Key: too long, twice, odd bytes: 422 and nothing moves.
    let before = buckets(&t, ann.user.id).await;
    let keys: Vec<Vec<Vec<u8>>> = vec![
        vec!["k".repeat(256).into_bytes()],
        vec!["k".repeat(100 * 1024).into_bytes()],
        vec![b"a b".to_vec()],
        vec![b"\xff\xfe".to_vec()],
        vec![b"k\t".to_vec()],
        vec![b"same".to_vec(), b"same".to_vec()],
        vec![b"one".to_vec(), b"two".to_vec()],
    ];
    for values in keys {
        let mut request = req(Route::Cashout, &token);
        for v in &values {
            if let Ok(value) = HeaderValue::from_bytes(v) {
                request.headers_mut().append("idempotency-key", value);
            }
        }
        if request.headers().get("idempotency-key").is_none() {
            continue;
        }
        let raw = send(&t, Route::Cashout, request, &secrets).await;
        assert_eq!(
            (raw.status, raw.message()),
            (422, json!(BAD_KEY)),
            "{values:?}"
        );
    }
    assert_eq!(buckets(&t, ann.user.id).await, before);

    // Aggregate bodies: too deep, too big, not UTF-8, odd types: 400/422, never 5xx.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!(
        "{{\"additional_tokens\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let many = json!({"additional_tokens": vec!["x|y"; 20_000]}).to_string();
    let long = json!({"additional_tokens": ["z".repeat(1024 * 1024)]}).to_string();
    let cases: Vec<(String, bool, &[u16])> = vec![
        (deep, false, &[400]),
        (deep_object, false, &[400]),
        (many, false, &[200]),
        (long, false, &[200]),
        ("\u{feff}{}".to_owned(), false, &[200, 400]),
        ("{\"a\":1,\"a\":2}".to_owned(), false, &[200]),
        (
            "{\"additional_tokens\":[\"a\"],\"additional_tokens\":7}".to_owned(),
            false,
            &[400, 422],
        ),
        (
            "{\"additional_tokens\":\"\\ud800\"}".to_owned(),
            false,
            &[400, 422],
        ),
        ("//8=".to_owned(), true, &[400]),
        ("1e999999".to_owned(), false, &[400, 422]),
        ("\"{}\"".to_owned(), false, &[422]),
    ];
    for (body, base64, expected) in cases {
        let request = event_request(Route::Aggregate, Some(&token), |e| {
            e.body(&body, base64);
        });
        let raw = send(&t, Route::Aggregate, request, &secrets).await;
        let shown: String = body.chars().take(40).collect();
        assert!(expected.contains(&raw.status), "{shown}: {}", raw.text);
    }
}

#[tokio::test]
async fn no_secret_token_or_hash_in_any_response() {
    let t = test_ctx().await;
    let mut secrets = Secrets::default();
    let master = funded(&t, &mut secrets, "s-m").await;
    let child = funded(&t, &mut secrets, "s-c").await;
    shared::services::links::link(&t, master.user.id, child.user.id)
        .await
        .expect("link");
    let key = api_key(&t, master.user.id).await;
    secrets.add(&key);
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    let wrong = format!(
        "{}|{}",
        master.user.token.split('|').next().unwrap_or("1"),
        "x".repeat(40)
    );
    for token in [&master.user.token, &child.user.token, &key, &wrong] {
        for route in Route::ALL {
            for query in ["", "page=2&limit=1", "page=x"] {
                let request = event_request(route, Some(token), |e| {
                    e.query(query);
                    if route == Route::PayoutById {
                        e.payout_id(&master.payout_id.to_string());
                    }
                    if route == Route::Aggregate {
                        e.body(
                            &json!({"additional_tokens": [master.user.token, child.user.token]})
                                .to_string(),
                            false,
                        );
                    }
                });
                // `send` checks every header and body against every secret and hash.
                let raw = send(&t, route, request, &secrets).await;
                *statuses.entry(raw.status).or_default() += 1;
            }
        }
    }
    // Both successes and refusals were looked at.
    for status in [200, 401, 403, 404, 422] {
        assert!(statuses.contains_key(&status), "{statuses:?}");
    }
}
