//! The local Lambda runtime end to end: the real `walletctl serve` and
//! `walletctl invoke` running the real function binaries, over real HTTP on
//! 127.0.0.1, against DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`, as `make test`
//! sets it), each test on a table of its own.
//!
//! The function binaries live beside `walletctl` (target/debug); the tests
//! build them once with `cargo build --workspace --bins` (quick when they are
//! up to date), so they never run stale ones.

use crate::env::{bin_dir, build_functions, root, Env, TempFile, USD_DETAILS};
use crate::local_api::{
    assert_conforms, assert_dead_soon, envelope_error, free_port, get, process_is_dead, request,
    try_request, Reply,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Some line of the log matches.
#[track_caller]
fn assert_logged(log: &[String], matches: impl Fn(&str) -> bool) {
    assert!(log.iter().any(|l| matches(l)), "{log:#?}");
}

/// A DynamoDB endpoint where nothing listens.
const DEAD: &str = "http://127.0.0.1:9";

/// The function binaries built (once per run) and a table of its own.
fn live_env() -> Env {
    build_functions();
    Env::new()
}

/// The function binaries built, DynamoDB at `endpoint` (a dead or a hanging one).
fn env_at(endpoint: &str) -> Env {
    build_functions();
    Env::with_endpoint(endpoint.to_owned())
}

#[test]
fn the_conformance_check_refuses_what_openapi_yaml_does_not_allow() {
    let reply = |status: u16, body: &str| Reply {
        status,
        headers: {
            let mut h = http::HeaderMap::new();
            h.insert(
                "content-type",
                http::HeaderValue::from_static("application/json"),
            );
            h
        },
        body: body.as_bytes().to_vec(),
    };
    let url = "http://127.0.0.1:1/api/wallet?page=1";
    let ok = r#"{"success":false,"errors_message":"Unauthenticated.","data":null}"#;
    assert_conforms("GET", url, &reply(401, ok));
    for (status, body) in [
        (
            401,
            r#"{"success":false,"errors_message":"Forbidden","data":null}"#,
        ),
        (
            401,
            r#"{"success":false,"errors_message":"Unauthenticated.","data":null,"x":1}"#,
        ),
        (418, ok),
        (
            200,
            r#"{"success":true,"errors_message":null,"data":{"available":1.5}}"#,
        ),
    ] {
        let result = std::panic::catch_unwind(|| assert_conforms("GET", url, &reply(status, body)));
        assert!(result.is_err(), "{status} {body} passed");
    }
    // Not a route of openapi.yaml: not checked here.
    assert_conforms("GET", "http://127.0.0.1:1/nope", &reply(418, "x"));
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_the_public_routes_like_api_gateway() {
    let env = live_env();
    let (user_id, token) = env.user("serve@example.com", "USD", Some(USD_DETAILS));
    let api_key = env.ok(&[
        "token",
        "create",
        "--user",
        &user_id.to_string(),
        "--ability",
        "transactions.read",
    ])["token"]
        .as_str()
        .expect("api key")
        .to_owned();
    env.events(&json!([
        {"kind": "product_earning", "event_id": "e2e_pay_1", "user_id": user_id, "amount": 1500,
         "title": "Money for a photo", "product_id": 7, "hold_seconds": 0},
        {"kind": "affiliate_earning", "event_id": "e2e_pay_2", "user_id": user_id, "amount": 250,
         "title": "Referral revenue", "hold_seconds": 0}
    ]));

    let port = free_port();
    let serve = env.serve(&["--port", &port.to_string()]);
    assert_eq!(serve.url, format!("http://127.0.0.1:{port}"));

    // GET /api/wallet: the envelope, through the real wallet binary.
    let started = Instant::now();
    let reply = get(&serve, "/api/wallet", Some(&token)).await;
    let cold_ms = started.elapsed().as_millis();
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.header("apigw-requestid").is_some());
    let body = reply.json();
    assert_eq!(body["success"], true);
    assert_eq!(body["errors_message"], Value::Null);
    assert_eq!(body["data"]["available"], 1750);
    assert_eq!(body["data"]["referral_revenue"], 250);
    assert_eq!(body["data"]["currency_code"], "USD");
    assert_eq!(body["data"]["transactions"]["total"], 2);

    // A warm request.
    let started = Instant::now();
    let reply = get(&serve, "/api/wallet?page=1&limit=1", Some(&token)).await;
    let warm_ms = started.elapsed().as_millis();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"]["transactions"]["per_page"], 1);
    eprintln!("GET /api/wallet through serve: cold {cold_ms} ms, warm {warm_ms} ms");

    // Authentication and validation, answered by the functions.
    let reply = get(&serve, "/api/wallet", None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(envelope_error(&reply), "Unauthenticated.");
    let reply = get(&serve, "/api/wallet/affiliate", Some("1|nope")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(envelope_error(&reply), "Unauthenticated.");
    let reply = get(&serve, "/api/wallet?page=0", Some(&token)).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        envelope_error(&reply),
        "The page must be an integer of at least 1."
    );
    let reply = get(&serve, "/api/wallet?limit=101", Some(&token)).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        envelope_error(&reply),
        "The limit must be an integer between 1 and 100."
    );
    let reply = get(
        &serve,
        "/api/wallet/affiliate?page=abc&limit=0",
        Some(&token),
    )
    .await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        envelope_error(&reply),
        "The page must be an integer of at least 1.",
        "page is checked first"
    );

    // An API key reads the wallet but may not cash out.
    let reply = get(&serve, "/api/wallet/affiliate", Some(&api_key)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"]["referral_revenue"], 250);
    let url = format!("{}/api/wallet/cashout", serve.url);
    let reply = request("POST", &url, Some(&api_key), "").await;
    assert_eq!(reply.status, 403);
    assert_eq!(envelope_error(&reply), "Forbidden");

    // A cashout round trip: POST, then GET its Location.
    let reply = request("POST", &url, Some(&token), "{\"ignored\": true}").await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["data"], "Cashout created successfully");
    let location = reply.header("location").expect("Location").to_owned();
    assert!(location.starts_with("/api/wallet/payouts/"), "{location}");
    let payout_id: i64 = location
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("payout id");
    let reply = get(&serve, &location, Some(&token)).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let payout = reply.json()["data"].clone();
    assert_eq!(payout["id"], payout_id, "{payout}");
    assert_eq!(payout["amount"], 1750, "{payout}");
    assert_eq!(payout["status"], "requested", "{payout}");
    let reply = get(&serve, "/api/wallet/payouts", Some(&token)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"]["total"], 1);
    let reply = request("POST", &url, Some(&token), "").await;
    assert_eq!(reply.status, 422);
    assert_eq!(envelope_error(&reply), "No available funds");
    let reply = get(&serve, "/api/wallet", Some(&token)).await;
    assert_eq!(reply.json()["data"]["available"], 0);
    assert_eq!(reply.json()["data"]["pending"], 1750);

    // Routes that are not in the template: API Gateway's own 404.
    for (method, path) in [
        ("GET", "/api/nope"),
        ("DELETE", "/api/wallet"),
        ("GET", "/api/wallet/cashout"),
        ("GET", "/api/wallet/"),
        ("GET", "/"),
    ] {
        let reply = request(method, &format!("{}{path}", serve.url), Some(&token), "").await;
        assert_eq!(reply.status, 404, "{method} {path}");
        assert_eq!(reply.body, br#"{"message":"Not Found"}"#, "{method} {path}");
    }

    // Every request is logged; every function process is stopped with serve.
    let log = serve.log();
    assert_logged(&log, |l| {
        l.starts_with("GET /api/wallet 200 ") && l.ends_with(" ms")
    });
    assert_logged(&log, |l| l.starts_with("GET /api/nope 404 "));
    assert_logged(&log, |l| l.contains("[wallet] cold start: init"));
    for name in ["wallet", "affiliate", "cashout", "payouts"] {
        let started = log
            .iter()
            .filter(|l| l.starts_with(&format!("[{name}] started process ")))
            .count();
        assert_eq!(started, 1, "one warm process for {name}: {log:#?}");
    }
    let pids = serve.function_pids();
    let (status, stdout) = serve.interrupt();
    assert!(status.success(), "{status}");
    let summary: Value = serde_json::from_str(&stdout).expect("summary JSON");
    assert_eq!(summary["stopped"], true);
    assert_eq!(summary["requests"], 19);
    assert_dead_soon(&pids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_are_served_from_openapi_yaml_beside_the_template() {
    let env = env_at(DEAD);
    let template = std::fs::read_to_string(root().join("template.yaml")).expect("template");
    let dir = TempFile::new("template.yaml", &template);
    let bin_dir = bin_dir();
    let serve = env.serve(&[
        "--template",
        dir.path_str(),
        "--bin-dir",
        bin_dir.to_str().expect("utf-8"),
    ]);
    let reply = get(&serve, "/api/documentation/openapi.yaml", None).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body, br#"{"message":"Not Found"}"#);

    let spec = "openapi: 3.1.0\ninfo:\n  title: Creator wallet\n  version: 1.0.0\n";
    std::fs::write(dir.dir.join("openapi.yaml"), spec).expect("write openapi.yaml");
    let reply = get(&serve, "/api/documentation/openapi.yaml", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/yaml"));
    assert_eq!(reply.body, spec.as_bytes());
    let reply = get(&serve, "/api/documentation", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(reply.body).expect("utf-8");
    assert!(html.contains("<title>Creator wallet</title>"), "{html}");

    // A file that is not an OpenAPI mapping: a 500 like API Gateway's, never a crash.
    std::fs::write(dir.dir.join("openapi.yaml"), "- not\n- a mapping\n").expect("write");
    let reply = get(&serve, "/api/documentation", None).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.json(), json!({"message": "Internal Server Error"}));
    let (status, _) = serve.interrupt();
    assert!(status.success());
}

/// The project's own openapi.yaml, rendered: self-contained (no script, nothing
/// fetched from elsewhere), every route and every documented status listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documentation_page_lists_every_route_of_openapi_yaml() {
    let env = env_at(DEAD);
    let serve = env.serve(&[]);
    let reply = get(&serve, "/api/documentation", None).await;
    assert_eq!(reply.status, 200);
    let html = String::from_utf8(reply.body).expect("utf-8");
    let yaml = get(&serve, "/api/documentation/openapi.yaml", None).await;
    assert_eq!(yaml.status, 200);
    assert_eq!(
        yaml.body,
        std::fs::read(root().join("openapi.yaml")).expect("openapi.yaml")
    );
    assert!(!html.contains("<script"), "the page runs no script");
    assert!(
        !html.contains("src=\"http"),
        "the page loads nothing from elsewhere"
    );
    assert!(!html.contains("<link"), "the page loads no stylesheet");
    for (method, path) in [
        ("GET", "/api/wallet"),
        ("GET", "/api/wallet/affiliate"),
        ("POST", "/api/wallet/cashout"),
        ("GET", "/api/wallet/payouts"),
        ("GET", "/api/wallet/payouts/{id}"),
        ("GET", "/api/dashboard/summary"),
        ("POST", "/api/dashboard/summary/aggregate"),
        ("GET", "/api/user/linked-accounts"),
    ] {
        let heading = format!(">{method}</span> <code>{path}</code></h3>");
        assert!(html.contains(&heading), "{heading} missing");
    }
    for text in [
        "Unauthenticated.",
        "The limit must be an integer between 1 and 100.",
        "Child accounts cannot aggregate other accounts.",
        "Idempotency-Key",
        "Retry-After",
        "bearerAuth",
        ">422</span>",
        ">409</span>",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    let (status, _) = serve.interrupt();
    assert!(status.success());
}

#[test]
fn invoke_prints_the_function_response() {
    let env = env_at(DEAD);
    for name in ["wallet", "WalletFunction"] {
        let started = Instant::now();
        let out = env.run(&["invoke", name, "--event", "events/wallet_no_token.json"]);
        let ms = started.elapsed().as_millis();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let response: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
        assert_eq!(response["statusCode"], 401, "{response}");
        assert_eq!(response["headers"]["content-type"], "application/json");
        let body: Value =
            serde_json::from_str(response["body"].as_str().expect("body")).expect("JSON body");
        assert_eq!(
            body,
            json!({"success": false, "errors_message": "Unauthenticated.", "data": null})
        );
        assert!(stderr.contains("START RequestId: "), "{stderr}");
        let report = stderr
            .lines()
            .find(|l| l.starts_with("REPORT RequestId: "))
            .unwrap_or_else(|| panic!("no REPORT line: {stderr}"));
        assert!(report.contains("Init Duration: "), "{report}");
        eprintln!("walletctl invoke {name} (whole command, cold): {ms} ms; {report}");
    }
}

#[test]
fn invoke_runs_the_ledger_on_a_batch() {
    let env = live_env();
    let (user_id, token) = env.user("ledger@example.com", "USD", Some(USD_DETAILS));
    let mut batch: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("events/ledger_batch.json")).expect("sample"),
    )
    .expect("JSON");
    for event in batch.as_array_mut().expect("array") {
        event["user_id"] = json!(user_id);
    }
    let file = TempFile::new("ledger.json", &batch.to_string());

    let out = env.run(&["invoke", "ledger", "--event", file.path_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Value = serde_json::from_slice(&out.stdout).expect("JSON results");
    let statuses: Vec<&str> = results
        .as_array()
        .expect("one result per event")
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, vec!["applied"; 6], "{results}");

    // At-least-once delivery: the same batch again changes nothing.
    let out = env.run(&["invoke", "LedgerFunction", "--event", file.path_str()]);
    assert!(out.status.success());
    let results: Value = serde_json::from_slice(&out.stdout).expect("JSON results");
    assert!(results
        .as_array()
        .expect("results")
        .iter()
        .all(|r| r["status"] == "duplicate"));

    // The wallet function sees the result: 550 + 220 - 50 - 100 + 100 - 550.
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("events/wallet_ok.json")).expect("sample"),
    )
    .expect("JSON");
    event["headers"]["authorization"] = json!(format!("Bearer {token}"));
    let file = TempFile::new("wallet.json", &event.to_string());
    let out = env.run(&["invoke", "wallet", "--event", file.path_str()]);
    assert!(out.status.success());
    let response: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value = serde_json::from_str(response["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(body["data"]["available"], 170, "{body}");
    assert_eq!(body["data"]["referral_revenue"], 220, "{body}");
}

#[test]
fn invoke_runs_release_holds_on_a_scheduled_event() {
    let env = live_env();
    let (user_id, _) = env.user("holds@example.com", "USD", Some(USD_DETAILS));
    // A held earning whose time has come: a lot that the next run releases.
    env.events(
        &json!({"kind": "product_earning", "event_id": "e2e_held_1", "user_id": user_id,
        "amount": 300, "title": "Held", "hold_seconds": 60, "occurred_at": "2020-01-01T00:00:00Z"}),
    );
    let event = json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-04-20T10:15:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/release-holds-every-minute"],
        "detail": {}
    });
    let file = TempFile::new("schedule.json", &event.to_string());
    let out = env.run(&["invoke", "release-holds", "--event", file.path_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(response["released"], 1, "{response}");
    let out = env.run(&["invoke", "ReleaseHoldsFunction", "--event", file.path_str()]);
    assert!(out.status.success());
    let response: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        response["released"], 0,
        "a lot is released once: {response}"
    );
}

#[test]
fn invoke_refuses_unknown_functions_and_bad_events_and_reports_crashes() {
    let env = env_at(DEAD);
    let out = env.run(&["invoke", "nope", "--event", "events/wallet_ok.json"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no function \"nope\"") && stderr.contains("WalletFunction (wallet)"),
        "{stderr}"
    );

    let bad = TempFile::new("bad.json", "{not json");
    let out = env.run(&["invoke", "wallet", "--event", bad.path_str()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));

    // The real binary refuses a bad configuration at init and exits: Lambda's
    // Runtime.ExitError, a non-zero exit, the error payload on stdout.
    let out = env.run(&[
        "invoke",
        "wallet",
        "--event",
        "events/wallet_no_token.json",
        "--parameter-overrides",
        "HoldSeconds=-5",
    ]);
    assert!(!out.status.success());
    let error: Value = serde_json::from_slice(&out.stdout).expect("error payload");
    assert_eq!(error["errorType"], "Runtime.ExitError", "{error}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HOLD_SECONDS"),
        "the function's own log: {stderr}"
    );
}

/// A TCP server on 127.0.0.1 that accepts and never answers: DynamoDB hangs.
fn black_hole() -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        // Long enough to outlive a cold build of the binaries under load; the
        // thread ends with the test process.
        let deadline = Instant::now() + Duration::from_secs(900);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    (format!("http://{addr}"), handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_past_its_timeout_is_stopped_and_restarted() {
    let (endpoint, _hole) = black_hole();
    let env = env_at(&endpoint);
    let template = std::fs::read_to_string(root().join("template.yaml")).expect("template");
    assert!(template.contains("\n    Timeout: 10\n"), "Globals Timeout");
    let short = TempFile::new(
        "template.yaml",
        &template.replace("\n    Timeout: 10\n", "\n    Timeout: 1\n"),
    );
    let bin_dir = bin_dir();
    let bin_dir = bin_dir.to_str().expect("utf-8");
    let token = format!("1|{}", "a".repeat(40));

    // invoke: Lambda's timeout error.
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("events/wallet_ok.json")).expect("sample"),
    )
    .expect("JSON");
    event["headers"]["authorization"] = json!(format!("Bearer {token}"));
    let file = TempFile::new("wallet.json", &event.to_string());
    let started = Instant::now();
    let out = env.run(&[
        "invoke",
        "wallet",
        "--event",
        file.path_str(),
        "--template",
        short.path_str(),
        "--bin-dir",
        bin_dir,
    ]);
    let elapsed = started.elapsed();
    assert!(!out.status.success());
    let error: Value = serde_json::from_slice(&out.stdout).expect("error payload");
    assert_eq!(error["errorType"], "Sandbox.Timedout", "{error}");
    assert!(
        error["errorMessage"]
            .as_str()
            .expect("message")
            .ends_with("Task timed out after 1.00 seconds"),
        "{error}"
    );
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(8),
        "{elapsed:?}"
    );

    // serve: 500 like API Gateway, the process is killed and the next request gets a new one.
    let serve = env.serve(&["--template", short.path_str(), "--bin-dir", bin_dir]);
    let mut pids = Vec::new();
    for round in 1..=2 {
        let started = Instant::now();
        let reply = get(&serve, "/api/wallet", Some(&token)).await;
        let elapsed = started.elapsed();
        assert_eq!(reply.status, 500, "round {round}");
        assert_eq!(reply.body, br#"{"message":"Internal Server Error"}"#);
        assert!(
            elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(8),
            "{elapsed:?}"
        );
        pids = serve.function_pids();
        assert_eq!(
            pids.len(),
            round,
            "a new process each time: {:#?}",
            serve.log()
        );
        assert_dead_soon(&pids);
    }
    assert!(
        serve.log().iter().any(|l| l.contains("Sandbox.Timedout")),
        "{:#?}",
        serve.log()
    );
    // Requests that need no DynamoDB still work on a fresh process.
    let reply = get(&serve, "/api/wallet", None).await;
    assert_eq!(reply.status, 401);
    let all = serve.function_pids();
    assert_eq!(all.len(), 3);
    let (status, _) = serve.interrupt();
    assert!(status.success());
    assert_dead_soon(&all);
    assert_ne!(pids.first(), all.last());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_processes_die_with_a_killed_serve() {
    let env = env_at(DEAD);
    let serve = env.serve(&[]);
    let reply = get(&serve, "/api/wallet", None).await;
    assert_eq!(reply.status, 401);
    let reply = get(&serve, "/api/wallet/payouts", None).await;
    assert_eq!(reply.status, 401);
    let pids = serve.function_pids();
    assert_eq!(pids.len(), 2, "{:#?}", serve.log());
    assert!(
        pids.iter().all(|pid| !process_is_dead(*pid)),
        "warm processes"
    );
    // SIGKILL: walletctl cannot clean up; the kernel kills its children.
    serve.signal(libc::SIGKILL);
    drop(serve);
    assert_dead_soon(&pids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_promptly_with_an_invocation_in_flight() {
    let (endpoint, _hole) = black_hole();
    let env = env_at(&endpoint);
    let serve = env.serve(&[]);
    let url = format!("{}/api/wallet", serve.url);
    let token = format!("1|{}", "a".repeat(40));
    // Hangs on DynamoDB; the template gives it 10 s.
    // It never gets an answer: serve stops first (the connection is closed).
    let in_flight = tokio::spawn(async move { try_request("GET", &url, Some(&token), "").await });
    let deadline = Instant::now() + Duration::from_secs(10);
    while serve.function_pids().is_empty() {
        assert!(Instant::now() < deadline, "{:#?}", serve.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pids = serve.function_pids();
    let started = Instant::now();
    let (status, stdout) = serve.interrupt();
    let stop = started.elapsed();
    assert!(status.success(), "{status}");
    assert!(stdout.contains("\"stopped\": true"), "{stdout}");
    assert!(stop < Duration::from_secs(5), "stopped in {stop:?}");
    assert_dead_soon(&pids);
    let outcome = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .expect("the client is not left hanging")
        .expect("client task");
    assert!(
        outcome.is_err(),
        "no answer: {:?}",
        outcome.map(|r| r.status)
    );
}

/// Two functions on the probe (walletctl/examples/probe_function.rs, a real
/// `lambda_runtime` function): one that works or fails on demand, one whose
/// init fails.
const PROBE_TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  HoldSeconds:
    Type: Number
    Default: 60
Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    Timeout: 5
    MemorySize: 256
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        HOLD_SECONDS: !Ref HoldSeconds
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Api:
    Type: AWS::Serverless::HttpApi
  ProbeFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: probe_function
    Properties:
      Events:
        Probe:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: POST
            Path: /probe/{name}
  BrokenFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: probe_function
    Properties:
      Environment:
        Variables:
          PROBE_INIT_ERROR: "1"
      Events:
        Broken:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: GET
            Path: /broken
"#;

fn examples_dir() -> PathBuf {
    std::fs::canonicalize(bin_dir().join("examples")).expect("examples folder")
}

#[test]
fn invoke_reports_errors_posted_by_the_runtime() {
    let env = env_at(DEAD);
    let template = TempFile::new("template.yaml", PROBE_TEMPLATE);
    let examples = examples_dir();
    let examples = examples.to_str().expect("utf-8");
    let fail = TempFile::new("fail.json", r#"{"action": "fail"}"#);
    let local = ["--template", template.path_str(), "--bin-dir", examples];

    let mut args = vec!["invoke", "ProbeFunction", "--event", fail.path_str()];
    args.extend_from_slice(&local);
    let out = env.run(&args);
    assert!(!out.status.success());
    let error: Value = serde_json::from_slice(&out.stdout).expect("error payload");
    assert_eq!(
        error["errorMessage"], "the probe failed on purpose",
        "{error}"
    );
    assert!(error["errorType"].is_string(), "{error}");

    let mut args = vec!["invoke", "BrokenFunction", "--event", fail.path_str()];
    args.extend_from_slice(&local);
    let out = env.run(&args);
    assert!(!out.status.success());
    let error: Value = serde_json::from_slice(&out.stdout).expect("error payload");
    assert_eq!(
        error,
        json!({"errorType": "Probe.InitFailed", "errorMessage": "the probe refused to start"})
    );

    let echo = TempFile::new("echo.json", r#"{"action": "echo", "n": 1}"#);
    let mut args = vec!["invoke", "probe_function", "--event", echo.path_str()];
    args.extend_from_slice(&local);
    let out = env.run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: Value = serde_json::from_slice(&out.stdout).expect("response");
    let seen: Value = serde_json::from_str(response["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(
        seen["event"],
        json!({"action": "echo", "n": 1}),
        "the event, as given"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_api_speaks_lambdas_protocol() {
    let env = env_at(DEAD);
    let template = TempFile::new("template.yaml", PROBE_TEMPLATE);
    let examples = examples_dir();
    let serve = env.serve(&[
        "--template",
        template.path_str(),
        "--bin-dir",
        examples.to_str().expect("utf-8"),
    ]);
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let probe = |action: &str| {
        http::Request::builder()
            .method("POST")
            .uri(format!("{}/probe/a%20b?x=1&x=2&y=%C3%A9", serve.url))
            .header("cookie", "c1=v1; c2=v2")
            .header("x-custom", "one")
            .header("x-custom", "two")
            .header("user-agent", "e2e/1.0")
            .body(Full::new(Bytes::from(format!(
                "{{\"action\":\"{action}\"}}"
            ))))
            .expect("request")
    };
    let call = |req| async {
        let response = client.request(req).await.expect("HTTP");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes().to_vec();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    };

    let before_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms");
    let reply = call(probe("echo")).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    // The response: headers, multiValueHeaders and cookies become HTTP headers.
    let all = |name: &str| -> Vec<String> {
        reply
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    };
    assert_eq!(all("x-probe-multi"), vec!["one", "two"]);
    assert_eq!(all("set-cookie"), vec!["probe=1; Path=/"]);
    assert_eq!(all("content-type"), vec!["application/json"]);
    let seen = reply.json();
    let first_pid = reply.header("x-probe-pid").expect("pid").to_owned();

    // The event, as the function received it.
    let event = &seen["event"];
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "POST /probe/{name}");
    assert_eq!(event["rawPath"], "/probe/a%20b");
    assert_eq!(event["rawQueryString"], "x=1&x=2&y=%C3%A9");
    assert_eq!(event["pathParameters"], json!({"name": "a b"}));
    assert_eq!(
        event["queryStringParameters"],
        json!({"x": "1,2", "y": "é"})
    );
    assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
    assert_eq!(event["headers"]["x-custom"], "one,two");
    assert_eq!(event["headers"]["user-agent"], "e2e/1.0");
    assert!(event["headers"].get("cookie").is_none());
    assert_eq!(event["body"], r#"{"action":"echo"}"#);
    assert_eq!(event["isBase64Encoded"], false);
    let ctx = &event["requestContext"];
    assert_eq!(ctx["http"]["method"], "POST");
    assert_eq!(ctx["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["http"]["userAgent"], "e2e/1.0");
    assert_eq!(ctx["stage"], "$default");
    assert_eq!(ctx["routeKey"], "POST /probe/{name}");
    assert_eq!(
        Some(ctx["requestId"].as_str().expect("requestId")),
        reply.header("apigw-requestid")
    );

    // The invocation context from the Runtime API's headers.
    let context = &seen["context"];
    assert_eq!(context["request_id"].as_str().map(str::len), Some(36));
    assert_eq!(
        context["invoked_function_arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:ProbeFunction"
    );
    assert!(context["xray_trace_id"]
        .as_str()
        .expect("trace")
        .starts_with("Root=1-"));
    let deadline = context["deadline"].as_i64().expect("deadline ms");
    assert!(
        deadline > before_ms + 4_000 && deadline < before_ms + 15_000,
        "deadline {deadline} is now + Timeout (5 s)"
    );

    // The environment Lambda gives.
    let env_seen = &seen["env"];
    assert_eq!(env_seen["AWS_LAMBDA_FUNCTION_NAME"], "ProbeFunction");
    assert_eq!(env_seen["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env_seen["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env_seen["AWS_REGION"], "us-east-1");
    assert_eq!(env_seen["_HANDLER"], "bootstrap");
    assert_eq!(env_seen["TABLE_NAME"], env.table.as_str());
    assert_eq!(env_seen["HOLD_SECONDS"], "60");
    assert_eq!(env_seen["AWS_ENDPOINT_URL_DYNAMODB"], "http://127.0.0.1:9");
    assert_eq!(env_seen["HOME"], Value::Null, "nothing else leaks in");
    assert!(env_seen["AWS_LAMBDA_RUNTIME_API"]
        .as_str()
        .expect("api")
        .starts_with("127.0.0.1:"));
    let root = examples.to_str().expect("utf-8");
    assert_eq!(env_seen["LAMBDA_TASK_ROOT"], root);
    assert_eq!(seen["cwd"], root);

    // A function error: 500 from the gateway; the process stays warm.
    let reply = call(probe("fail")).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body, br#"{"message":"Internal Server Error"}"#);
    let reply = call(probe("echo")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-probe-pid"), Some(first_pid.as_str()));

    // A crash: 500, and the next invocation runs in a new process.
    let reply = call(probe("exit")).await;
    assert_eq!(reply.status, 500);
    let reply = call(probe("echo")).await;
    assert_eq!(reply.status, 200);
    assert_ne!(reply.header("x-probe-pid"), Some(first_pid.as_str()));

    // An init error reported through /runtime/init/error.
    let reply = get(&serve, "/broken", None).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body, br#"{"message":"Internal Server Error"}"#);

    let log = serve.log();
    assert_logged(&log, |l| l.contains("the probe failed on purpose"));
    assert_logged(&log, |l| l.contains("Runtime.ExitError"));
    assert_logged(&log, |l| l.contains("Probe.InitFailed"));
    let pids = serve.function_pids();
    let (status, _) = serve.interrupt();
    assert!(status.success());
    assert_dead_soon(&pids);
}

/// Many requests, some at once: each is answered by the one warm process of
/// its function (callers queue for it), none is lost. A bounded load on 127.0.0.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_one_warm_process_per_function_under_load() {
    let env = env_at(DEAD);
    let serve = env.serve(&[]);
    let started = Instant::now();
    let mut clients = Vec::new();
    for client in 0..4 {
        let base = serve.url.clone();
        clients.push(tokio::spawn(async move {
            let path = if client % 2 == 0 {
                "/api/wallet"
            } else {
                "/api/wallet/affiliate"
            };
            let mut slowest = Duration::ZERO;
            for _ in 0..150 {
                let t = Instant::now();
                let reply = request("GET", &format!("{base}{path}"), None, "").await;
                slowest = slowest.max(t.elapsed());
                assert_eq!(
                    reply.status,
                    401,
                    "{}",
                    String::from_utf8_lossy(&reply.body)
                );
            }
            slowest
        }));
    }
    let mut slowest = Duration::ZERO;
    for client in clients {
        slowest = slowest.max(client.await.expect("client"));
    }
    let total = started.elapsed();
    eprintln!("600 requests from 4 clients in {total:?}; slowest {slowest:?}");
    assert!(
        slowest < Duration::from_secs(3),
        "slowest request {slowest:?}"
    );
    let log = serve.log();
    for name in ["wallet", "affiliate"] {
        let starts = log
            .iter()
            .filter(|l| l.starts_with(&format!("[{name}] started process ")))
            .count();
        assert_eq!(starts, 1, "one process for {name}");
    }
    assert!(!log.iter().any(|l| l.contains("Timedout")), "{log:#?}");
    let pids = serve.function_pids();
    let (status, stdout) = serve.interrupt();
    assert!(status.success());
    let summary: Value = serde_json::from_str(&stdout).expect("summary");
    assert_eq!(summary["requests"], 600);
    assert_dead_soon(&pids);
}
