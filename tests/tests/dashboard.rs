//! `GET /api/dashboard/summary` and `POST /api/dashboard/summary/aggregate`
//! (SPEC 3, 4.4, 4.5) and the product analytics the ledger keeps for them
//! (SPEC 6), through the handlers, the `ledger` function and the sample events
//! of `events/`, on DynamoDB Local.
//!
//! Every success is compared as a whole envelope with a JSON value written out
//! here: the numbers are worked out by hand from the events each test sends
//! (the arithmetic is in the comments), never taken from the code under test.
//! Conversion rates that are whole numbers are written `10.0`: the API sends
//! them as JSON floats.
//!
//! Round trips: the shared `RequestCounter` counts requests by operation. To
//! also check that the aggregate's TransactGetItems and its top Queries run
//! concurrently, [`measured_ctx`] adds a second interceptor, [`Phases`], that
//! tracks the requests in flight: a *phase* starts whenever a request is sent
//! while none is in flight, so the number of phases is the number of
//! sequential round trips (requests that overlap in time share a phase).

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::error::BoxError;
use lambda_http::Request;
use serde_json::{json, Value};
use shared::config::Config;
use shared::currency::Currency;
use shared::ledger::apply::{read_product, EventStatus};
use shared::users::delete_user;
use shared::Ctx;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tests::*;

// ---------------------------------------------------------------- helpers

fn currency_id(c: Currency) -> i64 {
    match c {
        Currency::Usd => 1,
        Currency::Eur => 2,
        Currency::Gbp => 3,
    }
}

fn currency_code(c: Currency) -> &'static str {
    match c {
        Currency::Usd => "USD",
        Currency::Eur => "EUR",
        Currency::Gbp => "GBP",
    }
}

/// A `wallet_balance` object; `total` is available + hold + pending.
fn balance(available: i64, hold: i64, pending: i64, referral_revenue: i64) -> Value {
    json!({"available": available, "hold": hold, "pending": pending,
           "total": available + hold + pending, "referral_revenue": referral_revenue})
}

/// One entry of `accounts`.
fn account_entry(c: &Creator, wallet_balance: Value) -> Value {
    json!({"user_id": c.id, "email": c.email, "display_name": c.name,
           "currency_id": currency_id(c.currency), "currency_code": currency_code(c.currency),
           "wallet_balance": wallet_balance})
}

/// One entry of `top_performing`.
#[allow(clippy::too_many_arguments)]
fn top(
    id: i64,
    owner: &Creator,
    title: Value,
    link_clicks: i64,
    unlocks: i64,
    conversion_rate: f64,
    total_earnings: i64,
    thumbnail: Value,
) -> Value {
    json!({"id": id, "user_id": owner.id, "title": title, "link_clicks": link_clicks,
           "unlocks": unlocks, "conversion_rate": conversion_rate,
           "total_earnings": total_earnings, "currency_code": currency_code(owner.currency),
           "thumbnail": thumbnail})
}

fn thumb(url: &str, width: i64, height: i64) -> Value {
    json!({"url": url, "width": width, "height": height})
}

fn refused(message: &str) -> Value {
    json!({"success": false, "errors_message": message, "data": null})
}

/// The summary of one account with no products and an empty wallet.
fn empty_summary(c: &Creator) -> Value {
    json!({
        "currency_unified": true,
        "accounts": [account_entry(c, balance(0, 0, 0, 0))],
        "wallet_balance": balance(0, 0, 0, 0),
        "total_content_items": 0, "total_link_clicks": 0, "total_unlocks": 0,
        "total_product_revenue": 0, "overall_conversion_rate": 0.0,
        "revenue_by_currency": {currency_code(c.currency): 0},
        "top_performing": []
    })
}

fn event_file(name: &str) -> Value {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// `events/<name>.json` with `Authorization: Bearer <token>` (or none).
fn req(name: &str, token: Option<&str>) -> Request {
    with_auth(request(name), token.map(bearer).as_deref())
}

/// `events/aggregate_additional_tokens.json` with these tokens in its body.
fn aggregate_with_tokens(token: &str, tokens: &[&str]) -> Request {
    let mut event = event_file("aggregate_additional_tokens");
    assert!(
        event["body"].as_str().is_some(),
        "the sample event has a JSON body"
    );
    event["body"] = json!(json!({"additional_tokens": tokens}).to_string());
    let parsed = lambda_http::request::from_str(&event.to_string()).expect("parse event");
    with_auth(parsed, Some(&bearer(token)))
}

async fn get_summary(ctx: &Ctx, token: &str) -> (u16, Value) {
    status_and_json(summary::handle(ctx, req("summary_ok", Some(token))).await)
}

async fn post_aggregate(ctx: &Ctx, event: &str, token: Option<&str>) -> (u16, Value) {
    status_and_json(aggregate::handle(ctx, req(event, token)).await)
}

static EVENT_IDS: AtomicUsize = AtomicUsize::new(0);

fn event_id(prefix: &str) -> String {
    format!("{prefix}_{}", EVENT_IDS.fetch_add(1, Ordering::SeqCst))
}

#[track_caller]
fn assert_applied(r: &shared::ledger::apply::EventResult) {
    assert_eq!(r.status, EventStatus::Applied, "{r:?}");
}

async fn applied(ctx: &Ctx, event: Value) {
    let r = apply(ctx, event).await;
    assert_applied(&r);
}

/// `product_upsert` with these fields (merged into the event).
async fn upsert(ctx: &Ctx, user_id: i64, product_id: i64, fields: Value) {
    let mut event = json!({"kind": "product_upsert", "event_id": event_id("up"),
                           "user_id": user_id, "product_id": product_id});
    for (k, v) in fields.as_object().expect("fields object") {
        event[k] = v.clone();
    }
    applied(ctx, event).await;
}

async fn clicks(ctx: &Ctx, user_id: i64, product_id: i64, count: i64) {
    applied(
        ctx,
        json!({"kind": "link_clicks", "event_id": event_id("clk"), "user_id": user_id,
               "product_id": product_id, "count": count}),
    )
    .await;
}

/// A `product_earning` paid out at once (`hold_seconds` 0).
async fn earn(ctx: &Ctx, user_id: i64, product_id: i64, amount: i64) {
    applied(
        ctx,
        json!({"kind": "product_earning", "event_id": event_id("pay"), "user_id": user_id,
               "amount": amount, "title": "Unlock", "product_id": product_id, "hold_seconds": 0}),
    )
    .await;
}

/// A product with complete media (and no thumbnail unless given), `clicks`
/// link clicks and one immediate earning per amount.
async fn product(
    ctx: &Ctx,
    user_id: i64,
    product_id: i64,
    title: &str,
    thumbnail: Option<Value>,
    link_clicks: i64,
    earnings: &[i64],
) {
    let mut fields = json!({"title": title, "media_complete": true});
    if let Some(t) = thumbnail {
        fields["thumbnail"] = t;
    }
    upsert(ctx, user_id, product_id, fields).await;
    if link_clicks > 0 {
        clicks(ctx, user_id, product_id, link_clicks).await;
    }
    for amount in earnings {
        earn(ctx, user_id, product_id, *amount).await;
    }
}

fn sorted(mut ops: Vec<String>) -> Vec<String> {
    ops.sort();
    ops
}

fn ops(list: &[(&str, usize)]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, n) in list {
        out.extend(std::iter::repeat_n((*name).to_owned(), *n));
    }
    sorted(out)
}

// ------------------------------------------------- sequential round trips

#[derive(Debug, Default)]
struct PhaseState {
    in_flight: usize,
    max_in_flight: usize,
    phases: usize,
}

/// Counts sequential round trips: a phase starts when a request is sent while
/// no other request is in flight.
#[derive(Debug, Clone, Default)]
struct Phases(Arc<Mutex<PhaseState>>);

impl Phases {
    fn reset(&self) {
        *self.0.lock().expect("phases lock") = PhaseState::default();
    }

    /// (sequential phases, most requests in flight at once).
    fn get(&self) -> (usize, usize) {
        let s = self.0.lock().expect("phases lock");
        assert_eq!(s.in_flight, 0, "a request is still in flight");
        (s.phases, s.max_in_flight)
    }
}

impl Intercept for Phases {
    fn name(&self) -> &'static str {
        "Phases"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut s = self.0.lock().map_err(|_| "phases lock")?;
        if s.in_flight == 0 {
            s.phases += 1;
        }
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut s = self.0.lock().map_err(|_| "phases lock")?;
        s.in_flight = s.in_flight.saturating_sub(1);
        Ok(())
    }
}

static MEASURED_TABLES: AtomicUsize = AtomicUsize::new(0);

/// Like `test_ctx()`, with a client that also reports [`Phases`].
async fn measured_ctx() -> (TestCtx, Phases) {
    let counter = RequestCounter::default();
    let phases = Phases::default();
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .interceptor(counter.clone())
        .interceptor(phases.clone())
        .build();
    let db = aws_sdk_dynamodb::Client::from_conf(conf);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let table = format!(
        "dash-{}-{}-{}",
        std::process::id(),
        MEASURED_TABLES.fetch_add(1, Ordering::SeqCst),
        nanos % 1_000_000_000
    );
    shared::db::table::create_table(&db, &table)
        .await
        .expect("create test table");
    counter.reset();
    phases.reset();
    (
        TestCtx {
            ctx: Arc::new(Ctx::new(db, Config::for_table(table))),
            counter,
        },
        phases,
    )
}

// ---------------------------------------------------------- summary: auth

#[tokio::test]
async fn summary_needs_a_live_session_token() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;

    let (status, body) = status_and_json(summary::handle(&t, request("summary_no_token")).await);
    assert_eq!((status, body), (401, refused("Unauthenticated.")));

    // The sample's own placeholder token does not exist.
    let (status, body) = status_and_json(summary::handle(&t, request("summary_ok")).await);
    assert_eq!((status, body), (401, refused("Unauthenticated.")));

    for bad in [
        "Bearer nonsense".to_owned(),
        format!("Basic {}", ann.token),
        format!("Bearer {}x", ann.token),
    ] {
        let r = with_auth(request("summary_ok"), Some(&bad));
        let (status, body) = status_and_json(summary::handle(&t, r).await);
        assert_eq!((status, body), (401, refused("Unauthenticated.")), "{bad}");
    }

    let key = api_key(&t, ann.id).await;
    assert_eq!(
        get_summary(&t, &key).await,
        (403, refused("Forbidden")),
        "an API key may not read the dashboard"
    );

    // The scheme word is case-insensitive.
    let r = with_auth(
        request("summary_ok"),
        Some(&format!("bearer {}", ann.token)),
    );
    let (status, body) = status_and_json(summary::handle(&t, r).await);
    assert_eq!((status, body), (200, ok(empty_summary(&ann))));

    delete_user(&t, ann.id).await.expect("delete user");
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (401, refused("Unauthenticated."))
    );
}

// ----------------------------------------------------- summary: numbers

#[tokio::test]
async fn summary_of_an_empty_account() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;
    let eva = creator(&t, "eva@example.com", "Eva Roth", Currency::Eur).await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (200, ok(empty_summary(&ann)))
    );
    assert_eq!(
        get_summary(&t, &eva.token).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [{"user_id": eva.id, "email": "eva@example.com", "display_name": "Eva Roth",
                              "currency_id": 2, "currency_code": "EUR",
                              "wallet_balance": {"available": 0, "hold": 0, "pending": 0, "total": 0, "referral_revenue": 0}}],
                "wallet_balance": {"available": 0, "hold": 0, "pending": 0, "total": 0, "referral_revenue": 0},
                "total_content_items": 0, "total_link_clicks": 0, "total_unlocks": 0,
                "total_product_revenue": 0, "overall_conversion_rate": 0.0,
                "revenue_by_currency": {"EUR": 0},
                "top_performing": []
            }))
        )
    );
}

/// `events/ledger_product_catalog.json` through the `ledger` function:
/// complete and incomplete media, a deleted product, a product without clicks,
/// a held earning, an affiliate earning and a fee.
#[tokio::test]
async fn summary_of_the_sample_product_catalog() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;
    let mut events = event_file("ledger_product_catalog");
    let list = events.as_array_mut().expect("an array of events");
    for e in list.iter_mut() {
        e["user_id"] = json!(ann.id);
    }
    let expected_results: Vec<Value> = list
        .iter()
        .map(|e| json!({"event_id": e["event_id"], "status": "applied", "error": null}))
        .collect();
    let results = ledger::handle(&t, events).await;
    assert_eq!(results, Value::Array(expected_results));
    assert_invariants(&t, ann.id).await;

    // Products (deleted 105 left out everywhere):
    //   101 complete, 160 clicks, 1 unlock (1000)      -> 1/160 = 0.625 % -> 0.63
    //   102 complete,   3 clicks, 1 unlock (500 held)  -> 1/3 = 33.33 %
    //   103 incomplete, 10 clicks, 2 unlocks (200+300) -> totals only
    //   104 complete,   0 clicks, 1 unlock (700)       -> totals and content, not top
    // content 3 (101, 102, 104); clicks 160+3+10 = 173; unlocks 1+1+2+1 = 5;
    // revenue 1000+500+500+700 = 2700; rate 5/173 = 2.890 % -> 2.89.
    // Wallet: available 1000+200+300+700+900 (105 was paid before its deletion)
    // +220 (affiliate) -50 (fee) = 3270; hold 500; referral 220.
    let expected = ok(json!({
        "currency_unified": true,
        "accounts": [{"user_id": ann.id, "email": "ann@example.com", "display_name": "Ann Lee",
                      "currency_id": 1, "currency_code": "USD",
                      "wallet_balance": {"available": 3270, "hold": 500, "pending": 0, "total": 3770, "referral_revenue": 220}}],
        "wallet_balance": {"available": 3270, "hold": 500, "pending": 0, "total": 3770, "referral_revenue": 220},
        "total_content_items": 3, "total_link_clicks": 173, "total_unlocks": 5,
        "total_product_revenue": 2700, "overall_conversion_rate": 2.89,
        "revenue_by_currency": {"USD": 2700},
        "top_performing": [
            {"id": 102, "user_id": ann.id, "title": "Beta", "link_clicks": 3, "unlocks": 1,
             "conversion_rate": 33.33, "total_earnings": 500, "currency_code": "USD", "thumbnail": null},
            {"id": 101, "user_id": ann.id, "title": "Alpha", "link_clicks": 160, "unlocks": 1,
             "conversion_rate": 0.63, "total_earnings": 1000, "currency_code": "USD",
             "thumbnail": {"url": "https://cdn.example.test/101.jpg", "width": 640, "height": 480}}
        ]
    }));
    assert_eq!(get_summary(&t, &ann.token).await, (200, expected.clone()));

    // Delivered again (at-least-once): every event is a duplicate, nothing moves.
    let mut again = event_file("ledger_product_catalog");
    for e in again.as_array_mut().expect("array").iter_mut() {
        e["user_id"] = json!(ann.id);
    }
    let results = ledger::handle(&t, again).await;
    assert!(
        results
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r["status"] == "duplicate"),
        "{results}"
    );
    assert_eq!(get_summary(&t, &ann.token).await, (200, expected));
}

#[tokio::test]
async fn conversion_rates_round_half_up_to_two_decimals() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;
    product(&t, ann.id, 501, "p501", None, 160, &[100]).await; // 0.625   -> 0.63
    product(&t, ann.id, 502, "p502", None, 3, &[100]).await; // 33.333  -> 33.33
    product(&t, ann.id, 503, "p503", None, 3, &[100, 100]).await; // 66.666 -> 66.67
    product(&t, ann.id, 504, "p504", None, 2, &[100, 100, 100]).await; // 150
    product(&t, ann.id, 505, "p505", None, 160, &[100, 100, 100]).await; // 1.875 -> 1.88
                                                                         // clicks 160+3+3+2+160 = 328, unlocks 1+1+2+3+3 = 10 -> 3.0487 % -> 3.05;
                                                                         // revenue 10 x 100.
    let a = &ann;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [account_entry(a, balance(1000, 0, 0, 0))],
                "wallet_balance": balance(1000, 0, 0, 0),
                "total_content_items": 5, "total_link_clicks": 328, "total_unlocks": 10,
                "total_product_revenue": 1000, "overall_conversion_rate": 3.05,
                "revenue_by_currency": {"USD": 1000},
                "top_performing": [
                    top(504, a, json!("p504"), 2, 3, 150.0, 300, Value::Null),
                    top(503, a, json!("p503"), 3, 2, 66.67, 200, Value::Null),
                    top(502, a, json!("p502"), 3, 1, 33.33, 100, Value::Null),
                    top(505, a, json!("p505"), 160, 3, 1.88, 300, Value::Null),
                    top(501, a, json!("p501"), 160, 1, 0.63, 100, Value::Null),
                ]
            }))
        )
    );

    // The source's example: 120 unlocks over 3400 clicks -> 3.5294 % -> 3.53.
    let bob = creator(&t, "bob@example.com", "Bob Stone", Currency::Usd).await;
    upsert(
        &t,
        bob.id,
        510,
        json!({"title": "Sunset set", "media_complete": true}),
    )
    .await;
    clicks(&t, bob.id, 510, 3400).await;
    for _ in 0..120 {
        earn(&t, bob.id, 510, 5).await;
    }
    let b = &bob;
    assert_eq!(
        get_summary(&t, &bob.token).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [account_entry(b, balance(600, 0, 0, 0))],
                "wallet_balance": balance(600, 0, 0, 0),
                "total_content_items": 1, "total_link_clicks": 3400, "total_unlocks": 120,
                "total_product_revenue": 600, "overall_conversion_rate": 3.53,
                "revenue_by_currency": {"USD": 600},
                "top_performing": [top(510, b, json!("Sunset set"), 3400, 120, 3.53, 600, Value::Null)]
            }))
        )
    );
}

#[tokio::test]
async fn earnings_add_unlocks_and_refunds_take_earnings_back_not_below_zero() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;
    let a = &ann;
    upsert(
        &t,
        ann.id,
        601,
        json!({"title": "Refundable", "media_complete": true}),
    )
    .await;
    clicks(&t, ann.id, 601, 4).await;
    earn(&t, ann.id, 601, 1000).await;
    // A held earning counts as an unlock at once.
    applied(
        &t,
        json!({"kind": "product_earning", "event_id": "held_1", "user_id": ann.id, "amount": 500,
               "product_id": 601, "hold_seconds": 3600}),
    )
    .await;
    // 2 unlocks / 4 clicks = 50 %, earnings 1500.
    let summary_with = |available: i64,
                        hold: i64,
                        referral: i64,
                        unlocks: i64,
                        earnings: i64,
                        rate: f64| {
        ok(json!({
            "currency_unified": true,
            "accounts": [account_entry(a, balance(available, hold, 0, referral))],
            "wallet_balance": balance(available, hold, 0, referral),
            "total_content_items": 1, "total_link_clicks": 4, "total_unlocks": unlocks,
            "total_product_revenue": earnings, "overall_conversion_rate": rate,
            "revenue_by_currency": {"USD": earnings},
            "top_performing": [top(601, a, json!("Refundable"), 4, unlocks, rate, earnings, Value::Null)]
        }))
    };
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (200, summary_with(1000, 500, 0, 2, 1500, 50.0))
    );

    let refund = |id: &str, amount: i64, product_id: Option<i64>| {
        let mut e = json!({"kind": "refund", "event_id": id, "user_id": ann.id, "amount": amount,
                           "title": "Refund"});
        if let Some(p) = product_id {
            e["product_id"] = json!(p);
        }
        e
    };
    // 1500 - 300 = 1200; unlocks stay 2; available 1000 - 300 = 700.
    applied(&t, refund("ref_1", 300, Some(601))).await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (200, summary_with(700, 500, 0, 2, 1200, 50.0))
    );
    // 1200 - 2000 stops at 0; the wallet goes to 700 - 2000 = -1300.
    applied(&t, refund("ref_2", 2000, Some(601))).await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (200, summary_with(-1300, 500, 0, 2, 0, 50.0))
    );
    // A refund without a product, or of a product never described, moves money only.
    applied(&t, refund("ref_3", 100, None)).await;
    applied(&t, refund("ref_4", 100, Some(699))).await;
    assert_eq!(
        read_product(&t, 699).await.expect("read product"),
        None,
        "a refund does not create a product"
    );
    // An affiliate earning is referral revenue, not product revenue.
    applied(
        &t,
        json!({"kind": "affiliate_earning", "event_id": "aff_1", "user_id": ann.id, "amount": 100,
               "hold_seconds": 0}),
    )
    .await;
    // Earnings start again from 0: 250; unlocks 3 / 4 clicks = 75 %.
    // available -1300 - 100 - 100 + 100 + 250 = -1150.
    earn(&t, ann.id, 601, 250).await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (200, summary_with(-1150, 500, 100, 3, 250, 75.0))
    );
    assert_invariants(&t, ann.id).await;
}

#[tokio::test]
async fn product_upsert_merges_and_deletion_moves_counts_out_and_back() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;
    let a = &ann;
    let pic = thumb("https://cdn.example.test/701.jpg", 800, 600);
    let delete_event = json!({"kind": "product_upsert", "event_id": "del_701", "user_id": ann.id,
                              "product_id": 701, "deleted": true});
    let summary_of = |available: i64,
                      content: i64,
                      clicks: i64,
                      unlocks: i64,
                      revenue: i64,
                      rate: f64,
                      top_list: Value| {
        ok(json!({
            "currency_unified": true,
            "accounts": [account_entry(a, balance(available, 0, 0, 0))],
            "wallet_balance": balance(available, 0, 0, 0),
            "total_content_items": content, "total_link_clicks": clicks, "total_unlocks": unlocks,
            "total_product_revenue": revenue, "overall_conversion_rate": rate,
            "revenue_by_currency": {"USD": revenue},
            "top_performing": top_list
        }))
    };

    upsert(
        &t,
        ann.id,
        701,
        json!({"title": "Original", "media_complete": true, "thumbnail": pic.clone()}),
    )
    .await;
    clicks(&t, ann.id, 701, 10).await;
    earn(&t, ann.id, 701, 400).await;
    // 1 / 10 = 10 %.
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (
            200,
            summary_of(
                400,
                1,
                10,
                1,
                400,
                10.0,
                json!([top(
                    701,
                    a,
                    json!("Original"),
                    10,
                    1,
                    10.0,
                    400,
                    pic.clone()
                )])
            )
        )
    );

    // Only `deleted` given: the product leaves every total and the top.
    applied(&t, delete_event.clone()).await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (200, summary_of(400, 0, 0, 0, 0, 0.0, json!([])))
    );
    // Activity on a deleted product is kept on the product but not counted.
    clicks(&t, ann.id, 701, 5).await;
    earn(&t, ann.id, 701, 100).await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (200, summary_of(500, 0, 0, 0, 0, 0.0, json!([])))
    );

    // Undeleted (only `deleted` given): title, media and thumbnail were kept;
    // all its counts come back: 15 clicks, 2 unlocks, 500 -> 2/15 = 13.33 %.
    upsert(&t, ann.id, 701, json!({"deleted": false})).await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (
            200,
            summary_of(
                500,
                1,
                15,
                2,
                500,
                13.33,
                json!([top(
                    701,
                    a,
                    json!("Original"),
                    15,
                    2,
                    13.33,
                    500,
                    pic.clone()
                )])
            )
        )
    );

    // The deletion delivered again is a duplicate: it does not delete again.
    let r = apply(&t, delete_event).await;
    assert_eq!(r.status, EventStatus::Duplicate, "{r:?}");

    // Only the title.
    upsert(&t, ann.id, 701, json!({"title": "Renamed"})).await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (
            200,
            summary_of(
                500,
                1,
                15,
                2,
                500,
                13.33,
                json!([top(
                    701,
                    a,
                    json!("Renamed"),
                    15,
                    2,
                    13.33,
                    500,
                    pic.clone()
                )])
            )
        )
    );

    // Media no longer complete: out of content items and the top, still in the totals.
    upsert(&t, ann.id, 701, json!({"media_complete": false})).await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (200, summary_of(500, 0, 15, 2, 500, 13.33, json!([])))
    );

    // `null` clears the title and the thumbnail.
    upsert(
        &t,
        ann.id,
        701,
        json!({"media_complete": true, "title": null, "thumbnail": null}),
    )
    .await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (
            200,
            summary_of(
                500,
                1,
                15,
                2,
                500,
                13.33,
                json!([top(701, a, Value::Null, 15, 2, 13.33, 500, Value::Null)])
            )
        )
    );
    assert_invariants(&t, ann.id).await;
}

#[tokio::test]
async fn clicks_and_earnings_for_an_unknown_product_create_it() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;
    let a = &ann;
    clicks(&t, ann.id, 801, 7).await;
    earn(&t, ann.id, 801, 300).await;
    // A product first seen in an earning: 1 unlock, no clicks.
    earn(&t, ann.id, 802, 50).await;
    // Media incomplete: counted in totals, not content items, not in the top.
    // clicks 7, unlocks 2, revenue 350, rate 2/7 = 28.57 %.
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [account_entry(a, balance(350, 0, 0, 0))],
                "wallet_balance": balance(350, 0, 0, 0),
                "total_content_items": 0, "total_link_clicks": 7, "total_unlocks": 2,
                "total_product_revenue": 350, "overall_conversion_rate": 28.57,
                "revenue_by_currency": {"USD": 350},
                "top_performing": []
            }))
        )
    );
    // Completing the media (nothing else given) makes 801 a content item and a
    // top product (no title, no thumbnail; 1/7 = 14.29 %); 802 has no clicks.
    upsert(&t, ann.id, 801, json!({"media_complete": true})).await;
    upsert(&t, ann.id, 802, json!({"media_complete": true})).await;
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [account_entry(a, balance(350, 0, 0, 0))],
                "wallet_balance": balance(350, 0, 0, 0),
                "total_content_items": 2, "total_link_clicks": 7, "total_unlocks": 2,
                "total_product_revenue": 350, "overall_conversion_rate": 28.57,
                "revenue_by_currency": {"USD": 350},
                "top_performing": [top(801, a, Value::Null, 7, 1, 14.29, 300, Value::Null)]
            }))
        )
    );

    // Unlocks without any click: the overall rate is 0, not a division by zero.
    let bob = creator(&t, "bob@example.com", "Bob Stone", Currency::Usd).await;
    earn(&t, bob.id, 803, 75).await;
    upsert(&t, bob.id, 803, json!({"media_complete": true})).await;
    assert_eq!(
        get_summary(&t, &bob.token).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [account_entry(&bob, balance(75, 0, 0, 0))],
                "wallet_balance": balance(75, 0, 0, 0),
                "total_content_items": 1, "total_link_clicks": 0, "total_unlocks": 1,
                "total_product_revenue": 75, "overall_conversion_rate": 0.0,
                "revenue_by_currency": {"USD": 75},
                "top_performing": []
            }))
        )
    );
}

#[tokio::test]
async fn a_product_of_another_user_is_refused_and_changes_nothing() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;
    let bob = creator(&t, "bob@example.com", "Bob Stone", Currency::Usd).await;
    product(&t, ann.id, 901, "Ann's", None, 10, &[400]).await;
    earn(&t, bob.id, 902, 100).await;

    let before = (
        get_summary(&t, &ann.token).await,
        get_summary(&t, &bob.token).await,
        account(&t, ann.id).await,
        account(&t, bob.id).await,
        read_product(&t, 901).await.expect("read product"),
        entries(&t, bob.id).await.len(),
    );
    for event in [
        json!({"kind": "product_earning", "event_id": "steal_1", "user_id": bob.id, "amount": 100,
               "product_id": 901, "hold_seconds": 0}),
        json!({"kind": "refund", "event_id": "steal_2", "user_id": bob.id, "amount": 100,
               "product_id": 901}),
        json!({"kind": "link_clicks", "event_id": "steal_3", "user_id": bob.id, "product_id": 901,
               "count": 5}),
        json!({"kind": "product_upsert", "event_id": "steal_4", "user_id": bob.id,
               "product_id": 901, "deleted": true}),
    ] {
        let r = apply(&t, event).await;
        assert_eq!(r.status, EventStatus::Rejected, "{r:?}");
        assert_eq!(
            r.error.as_deref(),
            Some("product 901 belongs to another user")
        );
        assert!(!r.retryable);
    }
    let after = (
        get_summary(&t, &ann.token).await,
        get_summary(&t, &bob.token).await,
        account(&t, ann.id).await,
        account(&t, bob.id).await,
        read_product(&t, 901).await.expect("read product"),
        entries(&t, bob.id).await.len(),
    );
    assert_eq!(before, after);
    // Nothing was recorded for the refused event id: the producer can fix it.
    applied(
        &t,
        json!({"kind": "product_earning", "event_id": "steal_1", "user_id": bob.id, "amount": 100,
               "product_id": 902, "hold_seconds": 0}),
    )
    .await;
    assert_invariants(&t, bob.id).await;
}

#[tokio::test]
async fn top_performing_is_five_ranked_by_rate_then_unlocks_then_id() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;
    let a = &ann;
    let th12 = thumb("https://cdn.example.test/12.png", 100, 100);
    let th16 = thumb("https://cdn.example.test/16.png", 1080, 1920);
    // Seven eligible products, written in an order unrelated to the ranking:
    product(&t, ann.id, 17, "B", None, 20, &[100, 100]).await; // 10 %, 2 unlocks
    product(&t, ann.id, 16, "D", Some(th16.clone()), 8, &[100]).await; // 12.5 %
    product(&t, ann.id, 15, "G", None, 3, &[]).await; // 0 %
    product(&t, ann.id, 14, "C", None, 10, &[100]).await; // 10 %, 1 unlock, id 14
    product(&t, ann.id, 13, "E", None, 100, &[100]).await; // 1 %
    product(&t, ann.id, 12, "F", Some(th12.clone()), 4, &[100, 100]).await; // 50 %
    product(&t, ann.id, 11, "A", None, 10, &[100]).await; // 10 %, 1 unlock, id 11
                                                          // Not eligible: incomplete media (100 %), deleted (100 %), no clicks.
    upsert(
        &t,
        ann.id,
        18,
        json!({"title": "H", "media_complete": false}),
    )
    .await;
    clicks(&t, ann.id, 18, 1).await;
    earn(&t, ann.id, 18, 100).await;
    product(&t, ann.id, 19, "I", None, 2, &[100, 100]).await;
    upsert(&t, ann.id, 19, json!({"deleted": true})).await;
    product(&t, ann.id, 20, "J", None, 0, &[100]).await;

    // content: 7 eligible + J = 8 (H incomplete, I deleted);
    // clicks 20+8+3+10+100+4+10+1 = 156; unlocks 2+1+0+1+1+2+1+1(H)+1(J) = 10;
    // revenue 10 x 100 = 1000; rate 10/156 = 6.41 %.
    // Wallet: 12 earnings x 100 (I's two included) = 1200.
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [account_entry(a, balance(1200, 0, 0, 0))],
                "wallet_balance": balance(1200, 0, 0, 0),
                "total_content_items": 8, "total_link_clicks": 156, "total_unlocks": 10,
                "total_product_revenue": 1000, "overall_conversion_rate": 6.41,
                "revenue_by_currency": {"USD": 1000},
                "top_performing": [
                    top(12, a, json!("F"), 4, 2, 50.0, 200, th12),
                    top(16, a, json!("D"), 8, 1, 12.5, 100, th16),
                    top(17, a, json!("B"), 20, 2, 10.0, 200, Value::Null),
                    top(11, a, json!("A"), 10, 1, 10.0, 100, Value::Null),
                    top(14, a, json!("C"), 10, 1, 10.0, 100, Value::Null),
                ]
            }))
        )
    );
    // Deleting F lets E (1 %) in at the end.
    upsert(&t, ann.id, 12, json!({"deleted": true})).await;
    let (status, body) = get_summary(&t, &ann.token).await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = body["data"]["top_performing"]
        .as_array()
        .expect("top")
        .iter()
        .map(|p| p["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![16, 17, 11, 14, 13]);
}

#[tokio::test]
async fn summary_is_about_the_bearer_alone_even_for_a_master() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let cal = creator(&t, "cal@example.com", "Cal Child", Currency::Usd).await;
    product(&t, mia.id, 1, "Mia's", None, 4, &[100]).await; // 25 %
    product(&t, cal.id, 2, "Cal's", None, 2, &[300]).await; // 50 %
    shared::links::link(&t, mia.id, cal.id).await.expect("link");
    assert_eq!(
        get_summary(&t, &mia.token).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [account_entry(&mia, balance(100, 0, 0, 0))],
                "wallet_balance": balance(100, 0, 0, 0),
                "total_content_items": 1, "total_link_clicks": 4, "total_unlocks": 1,
                "total_product_revenue": 100, "overall_conversion_rate": 25.0,
                "revenue_by_currency": {"USD": 100},
                "top_performing": [top(1, &mia, json!("Mia's"), 4, 1, 25.0, 100, Value::Null)]
            }))
        )
    );
    assert_eq!(
        get_summary(&t, &cal.token).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [account_entry(&cal, balance(300, 0, 0, 0))],
                "wallet_balance": balance(300, 0, 0, 0),
                "total_content_items": 1, "total_link_clicks": 2, "total_unlocks": 1,
                "total_product_revenue": 300, "overall_conversion_rate": 50.0,
                "revenue_by_currency": {"USD": 300},
                "top_performing": [top(2, &cal, json!("Cal's"), 2, 1, 50.0, 300, Value::Null)]
            }))
        )
    );
}

// -------------------------------------------------------- aggregate: auth

#[tokio::test]
async fn aggregate_needs_a_live_session_token() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;
    assert_eq!(
        post_aggregate(&t, "aggregate_no_token", None).await,
        (401, refused("Unauthenticated."))
    );
    // Authentication comes before the body checks.
    assert_eq!(
        post_aggregate(&t, "aggregate_invalid_json", None).await,
        (401, refused("Unauthenticated."))
    );
    let key = api_key(&t, ann.id).await;
    for event in ["aggregate_empty_object", "aggregate_invalid_json"] {
        assert_eq!(
            post_aggregate(&t, event, Some(&key)).await,
            (403, refused("Forbidden")),
            "{event}"
        );
    }
    delete_user(&t, ann.id).await.expect("delete user");
    assert_eq!(
        post_aggregate(&t, "aggregate_empty_object", Some(&ann.token)).await,
        (401, refused("Unauthenticated."))
    );
}

// ------------------------------------------------------ aggregate: bodies

/// The body is checked first, for every role (a child sending bad JSON gets
/// 400/422, not 403).
#[tokio::test]
async fn aggregate_checks_the_body_before_the_role_rules() {
    let t = test_ctx().await;
    let solo = creator(&t, "solo@example.com", "Solo", Currency::Usd).await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let cal = creator(&t, "cal@example.com", "Cal Child", Currency::Usd).await;
    shared::links::link(&t, mia.id, cal.id).await.expect("link");
    let cases = [
        (
            "aggregate_invalid_json",
            400,
            "The request body must be valid JSON.",
        ),
        (
            "aggregate_json_array",
            422,
            "The request body must be a JSON object.",
        ),
        (
            "aggregate_json_null",
            422,
            "The request body must be a JSON object.",
        ),
        (
            "aggregate_wrong_type",
            422,
            "The additional tokens must be an array of strings.",
        ),
        (
            "aggregate_wrong_item_type",
            422,
            "The additional tokens must be an array of strings.",
        ),
    ];
    for who in [&solo, &mia, &cal] {
        for (event, status, message) in cases {
            assert_eq!(
                post_aggregate(&t, event, Some(&who.token)).await,
                (status, refused(message)),
                "{event} from {}",
                who.name
            );
        }
    }
}

/// Empty body, no body, `{}` and `"additional_tokens": null` all mean "no
/// additional tokens"; for a standalone account or a master the field is
/// ignored whatever it holds.
#[tokio::test]
async fn aggregate_of_a_standalone_account_is_itself_whatever_the_tokens() {
    let t = test_ctx().await;
    let solo = creator(&t, "solo@example.com", "Solo", Currency::Usd).await;
    let other = creator(&t, "other@example.com", "Other", Currency::Usd).await;
    let other_child = creator(&t, "oc@example.com", "Other Child", Currency::Usd).await;
    product(&t, solo.id, 1, "Solo's", None, 8, &[200]).await; // 12.5 %
    product(&t, other.id, 2, "Other's", None, 1, &[900]).await;
    product(&t, other_child.id, 3, "Other child's", None, 1, &[900]).await;
    shared::links::link(&t, other.id, other_child.id)
        .await
        .expect("link");
    let expected = ok(json!({
        "currency_unified": true,
        "accounts": [account_entry(&solo, balance(200, 0, 0, 0))],
        "wallet_balance": balance(200, 0, 0, 0),
        "total_content_items": 1, "total_link_clicks": 8, "total_unlocks": 1,
        "total_product_revenue": 200, "overall_conversion_rate": 12.5,
        "revenue_by_currency": {"USD": 200},
        "top_performing": [top(1, &solo, json!("Solo's"), 8, 1, 12.5, 200, Value::Null)]
    }));
    assert_eq!(get_summary(&t, &solo.token).await, (200, expected.clone()));
    for event in [
        "aggregate_no_body",
        "aggregate_empty_body",
        "aggregate_empty_object",
        "aggregate_additional_tokens_null",
        "aggregate_additional_tokens_empty",
        "aggregate_additional_tokens_base64",
        "aggregate_additional_tokens",
    ] {
        assert_eq!(
            post_aggregate(&t, event, Some(&solo.token)).await,
            (200, expected.clone()),
            "{event}"
        );
    }
    // Valid tokens of other users (a master and its child) add nobody.
    let r = aggregate_with_tokens(&solo.token, &[&other.token, &other_child.token, "junk"]);
    assert_eq!(
        status_and_json(aggregate::handle(&t, r).await),
        (200, expected)
    );
}

#[tokio::test]
async fn aggregate_of_a_child_is_itself_and_additional_tokens_are_refused() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let cal = creator(&t, "cal@example.com", "Cal Child", Currency::Eur).await;
    product(&t, mia.id, 1, "Mia's", None, 4, &[100]).await;
    product(&t, cal.id, 2, "Cal's", None, 3, &[700]).await; // 33.33 %
    shared::links::link(&t, mia.id, cal.id).await.expect("link");
    let itself = ok(json!({
        "currency_unified": true,
        "accounts": [account_entry(&cal, balance(700, 0, 0, 0))],
        "wallet_balance": balance(700, 0, 0, 0),
        "total_content_items": 1, "total_link_clicks": 3, "total_unlocks": 1,
        "total_product_revenue": 700, "overall_conversion_rate": 33.33,
        "revenue_by_currency": {"EUR": 700},
        "top_performing": [top(2, &cal, json!("Cal's"), 3, 1, 33.33, 700, Value::Null)]
    }));
    for event in [
        "aggregate_no_body",
        "aggregate_empty_body",
        "aggregate_empty_object",
        "aggregate_additional_tokens_null",
    ] {
        assert_eq!(
            post_aggregate(&t, event, Some(&cal.token)).await,
            (200, itself.clone()),
            "{event}"
        );
    }
    let forbidden = (
        403,
        refused("Child accounts cannot aggregate other accounts."),
    );
    for event in [
        "aggregate_additional_tokens_empty",
        "aggregate_additional_tokens_base64",
        "aggregate_additional_tokens",
    ] {
        assert_eq!(
            post_aggregate(&t, event, Some(&cal.token)).await,
            forbidden.clone(),
            "{event}"
        );
    }
    // Even with its master's valid token, or its own.
    for tokens in [vec![mia.token.as_str()], vec![cal.token.as_str()]] {
        let r = aggregate_with_tokens(&cal.token, &tokens);
        assert_eq!(
            status_and_json(aggregate::handle(&t, r).await),
            forbidden.clone()
        );
    }
}

// ---------------------------------------------------- aggregate: numbers

#[tokio::test]
async fn aggregate_of_a_master_without_children_is_its_summary() {
    let (t, phases) = measured_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Gbp).await;
    let other = creator(&t, "other@example.com", "Other", Currency::Gbp).await;
    product(
        &t,
        mia.id,
        1,
        "Mia's",
        Some(thumb("https://x.test/1", 1, 1)),
        6,
        &[100, 100],
    )
    .await;
    product(&t, other.id, 2, "Other's", None, 1, &[50]).await;
    // 2 / 6 = 33.33 %.
    let expected = ok(json!({
        "currency_unified": true,
        "accounts": [account_entry(&mia, balance(200, 0, 0, 0))],
        "wallet_balance": balance(200, 0, 0, 0),
        "total_content_items": 1, "total_link_clicks": 6, "total_unlocks": 2,
        "total_product_revenue": 200, "overall_conversion_rate": 33.33,
        "revenue_by_currency": {"GBP": 200},
        "top_performing": [top(1, &mia, json!("Mia's"), 6, 2, 33.33, 200, thumb("https://x.test/1", 1, 1))]
    }));
    t.counter.reset();
    phases.reset();
    assert_eq!(
        post_aggregate(&t, "aggregate_empty_object", Some(&mia.token)).await,
        (200, expected.clone())
    );
    // token, account, top Query; the account has no children to snapshot.
    assert_eq!(
        sorted(t.counter.operations()),
        ops(&[("GetItem", 2), ("Query", 1)])
    );
    assert_eq!(phases.get(), (3, 1));

    let r = aggregate_with_tokens(&mia.token, &[&other.token]);
    assert_eq!(
        status_and_json(aggregate::handle(&t, r).await),
        (200, expected.clone())
    );
    assert_eq!(get_summary(&t, &mia.token).await, (200, expected));
}

/// One child, both USD: balances summed, ranking global across the accounts.
#[tokio::test]
async fn aggregate_of_a_master_with_one_child_merges_and_ranks_globally() {
    let (t, phases) = measured_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let cal = creator(&t, "cal@example.com", "Cal Child", Currency::Usd).await;
    let outsider = creator(&t, "out@example.com", "Outsider", Currency::Usd).await;
    let (m, c) = (&mia, &cal);
    // Mia: 1203 2/4 = 50 %, 1205 1/10 = 10 %, 1202 2/20 = 10 %, 1208 1/20 = 5 %.
    product(&t, mia.id, 1203, "m1203", None, 4, &[100, 100]).await;
    product(&t, mia.id, 1205, "m1205", None, 10, &[100]).await;
    product(&t, mia.id, 1202, "m1202", None, 20, &[100, 100]).await;
    product(&t, mia.id, 1208, "m1208", None, 20, &[100]).await;
    // Cal: 1204 1/2 = 50 %, 1206 1/5 = 20 %, 1201 1/10 = 10 %, 1207 1/100 = 1 %,
    // and an incomplete 1209 with 9 clicks.
    product(&t, cal.id, 1204, "c1204", None, 2, &[100]).await;
    product(&t, cal.id, 1206, "c1206", None, 5, &[100]).await;
    product(&t, cal.id, 1201, "c1201", None, 10, &[100]).await;
    product(&t, cal.id, 1207, "c1207", None, 100, &[100]).await;
    clicks(&t, cal.id, 1209, 9).await;
    product(&t, outsider.id, 1300, "out", None, 1, &[5000]).await;
    shared::links::link(&t, mia.id, cal.id).await.expect("link");

    // content 8; clicks Mia 4+10+20+20 = 54, Cal 2+5+10+100+9 = 126 -> 180;
    // unlocks Mia 6, Cal 4 -> 10; revenue 1000; rate 10/180 = 5.555 % -> 5.56.
    // Global top: 1203 (50 %, 2 unlocks), 1204 (50 %, 1), 1206 (20 %),
    // 1202 (10 %, 2 unlocks), 1201 (10 %, 1 unlock, id 1201 < 1205).
    let expected = ok(json!({
        "currency_unified": true,
        "accounts": [account_entry(m, balance(600, 0, 0, 0)), account_entry(c, balance(400, 0, 0, 0))],
        "wallet_balance": balance(1000, 0, 0, 0),
        "total_content_items": 8, "total_link_clicks": 180, "total_unlocks": 10,
        "total_product_revenue": 1000, "overall_conversion_rate": 5.56,
        "revenue_by_currency": {"USD": 1000},
        "top_performing": [
            top(1203, m, json!("m1203"), 4, 2, 50.0, 200, Value::Null),
            top(1204, c, json!("c1204"), 2, 1, 50.0, 100, Value::Null),
            top(1206, c, json!("c1206"), 5, 1, 20.0, 100, Value::Null),
            top(1202, m, json!("m1202"), 20, 2, 10.0, 200, Value::Null),
            top(1201, c, json!("c1201"), 10, 1, 10.0, 100, Value::Null),
        ]
    }));
    for event in [
        "aggregate_no_body",
        "aggregate_empty_body",
        "aggregate_empty_object",
        "aggregate_additional_tokens_null",
        "aggregate_additional_tokens_empty",
        "aggregate_additional_tokens",
    ] {
        t.counter.reset();
        phases.reset();
        assert_eq!(
            post_aggregate(&t, event, Some(&mia.token)).await,
            (200, expected.clone()),
            "{event}"
        );
        // token GetItem, account GetItem, then one TransactGetItems alongside
        // 1 + 1 top Queries: 5 requests in 3 sequential round trips.
        assert_eq!(
            sorted(t.counter.operations()),
            ops(&[("GetItem", 2), ("Query", 2), ("TransactGetItems", 1)]),
            "{event}"
        );
        assert_eq!(phases.get(), (3, 3), "{event}");
    }
    // The token of an unlinked user adds nobody.
    let r = aggregate_with_tokens(&mia.token, &[&outsider.token]);
    assert_eq!(
        status_and_json(aggregate::handle(&t, r).await),
        (200, expected)
    );
}

#[tokio::test]
async fn aggregate_of_a_master_with_ten_children_in_three_round_trips() {
    let (t, phases) = measured_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let mut kids = Vec::new();
    for i in 1..=10i64 {
        let kid = creator(
            &t,
            &format!("kid{i}@example.com"),
            &format!("Kid {i}"),
            Currency::Usd,
        )
        .await;
        // Kid i: product 1300+i, 10*i clicks, one unlock of 100*i.
        product(
            &t,
            kid.id,
            1300 + i,
            &format!("k{i}"),
            None,
            10 * i,
            &[100 * i],
        )
        .await;
        kids.push(kid);
    }
    // Mia: product 1300, 5 clicks, one unlock of 50 -> 20 %.
    product(&t, mia.id, 1300, "mia", None, 5, &[50]).await;
    // Linked in an order unrelated to creation: 3, 1, 10, 2, 9, 4, 8, 5, 7, 6.
    let order = [3usize, 1, 10, 2, 9, 4, 8, 5, 7, 6];
    for i in order {
        shared::links::link(&t, mia.id, kids[i - 1].id)
            .await
            .expect("link");
    }
    let kid = |i: usize| &kids[i - 1];
    let mut accounts = vec![account_entry(&mia, balance(50, 0, 0, 0))];
    for i in order {
        accounts.push(account_entry(kid(i), balance(100 * i as i64, 0, 0, 0)));
    }
    // content 11; clicks 5 + 10*(1+..+10) = 555; unlocks 11;
    // revenue 50 + 100*55 = 5550; rate 11/555 = 1.98 %.
    // Kid i's rate is 1/(10 i) = 10/i %: 10, 5, 3.33, 2.5, 2, ...
    let expected = ok(json!({
        "currency_unified": true,
        "accounts": accounts,
        "wallet_balance": balance(5550, 0, 0, 0),
        "total_content_items": 11, "total_link_clicks": 555, "total_unlocks": 11,
        "total_product_revenue": 5550, "overall_conversion_rate": 1.98,
        "revenue_by_currency": {"USD": 5550},
        "top_performing": [
            top(1300, &mia, json!("mia"), 5, 1, 20.0, 50, Value::Null),
            top(1301, kid(1), json!("k1"), 10, 1, 10.0, 100, Value::Null),
            top(1302, kid(2), json!("k2"), 20, 1, 5.0, 200, Value::Null),
            top(1303, kid(3), json!("k3"), 30, 1, 3.33, 300, Value::Null),
            top(1304, kid(4), json!("k4"), 40, 1, 2.5, 400, Value::Null),
        ]
    }));
    t.counter.reset();
    phases.reset();
    assert_eq!(
        post_aggregate(&t, "aggregate_empty_object", Some(&mia.token)).await,
        (200, expected.clone())
    );
    // token GetItem, account GetItem, 1 TransactGetItems (11 accounts) and
    // 1 + 10 top Queries, the last 12 all in flight together: 3 round trips.
    assert_eq!(
        sorted(t.counter.operations()),
        ops(&[("GetItem", 2), ("Query", 11), ("TransactGetItems", 1)])
    );
    assert_eq!(phases.get(), (3, 12));

    // Summary: token, then the account read alongside the top Query.
    t.counter.reset();
    phases.reset();
    let (status, body) = get_summary(&t, &mia.token).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["accounts"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        sorted(t.counter.operations()),
        ops(&[("GetItem", 2), ("Query", 1)])
    );
    assert_eq!(phases.get(), (2, 2));

    // Linked-accounts of a master: token, account, one TransactGetItems of the children.
    t.counter.reset();
    let (status, body) = status_and_json(
        linked_accounts::handle(&t, req("linked-accounts_ok", Some(&mia.token))).await,
    );
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["linked_accounts"].as_array().map(Vec::len),
        Some(10)
    );
    assert_eq!(
        sorted(t.counter.operations()),
        ops(&[("GetItem", 2), ("TransactGetItems", 1)])
    );
}

#[tokio::test]
async fn aggregate_across_currencies() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let eve = creator(&t, "eve@example.com", "Eve Euro", Currency::Eur).await;
    let gus = creator(&t, "gus@example.com", "Gus Pound", Currency::Gbp).await;
    let ed = creator(&t, "ed@example.com", "Ed Euro", Currency::Eur).await;
    // Mia: 1101, 10 clicks, 1000 USD -> 10 %.
    product(&t, mia.id, 1101, "usd", None, 10, &[1000]).await;
    // Eve: 1102, 4 clicks, 2000 EUR held -> 25 %.
    upsert(
        &t,
        eve.id,
        1102,
        json!({"title": "eur", "media_complete": true}),
    )
    .await;
    clicks(&t, eve.id, 1102, 4).await;
    applied(
        &t,
        json!({"kind": "product_earning", "event_id": "eve_held", "user_id": eve.id,
               "amount": 2000, "product_id": 1102, "hold_seconds": 3600}),
    )
    .await;
    // Gus: no products, 50 GBP referral revenue.
    applied(
        &t,
        json!({"kind": "affiliate_earning", "event_id": "gus_aff", "user_id": gus.id,
               "amount": 50, "hold_seconds": 0}),
    )
    .await;
    // Ed: 1103, 1 click, 300 EUR -> 100 %, and a 20 EUR fee.
    product(&t, ed.id, 1103, "eur2", None, 1, &[300]).await;
    applied(
        &t,
        json!({"kind": "fee", "event_id": "ed_fee", "user_id": ed.id, "amount": 20}),
    )
    .await;
    for child in [&gus, &eve, &ed] {
        shared::links::link(&t, mia.id, child.id)
            .await
            .expect("link");
    }
    // content 3; clicks 15; unlocks 3; rate 20 %; revenue 1000 + 2000 + 300 =
    // 3300 as a plain sum; per currency USD 1000, EUR 2300, GBP 0.
    assert_eq!(
        post_aggregate(&t, "aggregate_empty_body", Some(&mia.token)).await,
        (
            200,
            ok(json!({
                "currency_unified": false,
                "accounts": [
                    account_entry(&mia, balance(1000, 0, 0, 0)),
                    account_entry(&gus, balance(50, 0, 0, 50)),
                    account_entry(&eve, balance(0, 2000, 0, 0)),
                    account_entry(&ed, balance(280, 0, 0, 0)),
                ],
                "wallet_balance": null,
                "total_content_items": 3, "total_link_clicks": 15, "total_unlocks": 3,
                "total_product_revenue": 3300, "overall_conversion_rate": 20.0,
                "revenue_by_currency": {"USD": 1000, "GBP": 0, "EUR": 2300},
                "top_performing": [
                    top(1103, &ed, json!("eur2"), 1, 1, 100.0, 300, Value::Null),
                    top(1102, &eve, json!("eur"), 4, 1, 25.0, 2000, Value::Null),
                    top(1101, &mia, json!("usd"), 10, 1, 10.0, 1000, Value::Null),
                ]
            }))
        )
    );
}

#[tokio::test]
async fn aggregate_leaves_out_a_deleted_child() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let eve = creator(&t, "eve@example.com", "Eve Euro", Currency::Eur).await;
    let sam = creator(&t, "sam@example.com", "Sam Same", Currency::Usd).await;
    product(&t, mia.id, 1, "mia", None, 2, &[100]).await; // 50 %
    product(&t, eve.id, 2, "eve", None, 1, &[900]).await; // 100 %
    product(&t, sam.id, 3, "sam", None, 4, &[300]).await; // 25 %
    shared::links::link(&t, mia.id, eve.id).await.expect("link");
    shared::links::link(&t, mia.id, sam.id).await.expect("link");
    delete_user(&t, eve.id).await.expect("delete user");
    // Eve, her EUR and her product are gone: one currency again.
    // clicks 2+4 = 6, unlocks 2 -> 33.33 %; revenue 400.
    assert_eq!(
        post_aggregate(&t, "aggregate_empty_object", Some(&mia.token)).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [account_entry(&mia, balance(100, 0, 0, 0)),
                             account_entry(&sam, balance(300, 0, 0, 0))],
                "wallet_balance": balance(400, 0, 0, 0),
                "total_content_items": 2, "total_link_clicks": 6, "total_unlocks": 2,
                "total_product_revenue": 400, "overall_conversion_rate": 33.33,
                "revenue_by_currency": {"USD": 400},
                "top_performing": [
                    top(1, &mia, json!("mia"), 2, 1, 50.0, 100, Value::Null),
                    top(3, &sam, json!("sam"), 4, 1, 25.0, 300, Value::Null),
                ]
            }))
        )
    );
    assert_eq!(
        post_aggregate(&t, "aggregate_empty_object", Some(&eve.token)).await,
        (401, refused("Unauthenticated."))
    );
}

// ------------------------------------------------------------ concurrency

/// 20 `link_clicks` at once on a product nobody described yet (all racing to
/// create it), then 10 clicks and 10 earnings at once: nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_product_events_lose_nothing() {
    let t = test_ctx().await;
    let ann = creator(&t, "ann@example.com", "Ann Lee", Currency::Usd).await;
    let uid = ann.id;
    let mut tasks = Vec::new();
    for i in 1..=20i64 {
        let ctx = t.ctx.clone();
        tasks.push(tokio::spawn(async move {
            apply(
                &ctx,
                json!({"kind": "link_clicks", "event_id": format!("cc_{i}"), "user_id": uid,
                       "product_id": 42, "count": i}),
            )
            .await
        }));
    }
    for task in tasks {
        let r = task.await.expect("task");
        assert_applied(&r);
    }
    let p = read_product(&t, 42).await.expect("read").expect("product");
    assert_eq!(p.link_clicks, 210, "1 + 2 + ... + 20");
    assert_eq!(p.user_id, uid);

    upsert(&t, uid, 42, json!({"title": "Hot", "media_complete": true})).await;
    let mut tasks = Vec::new();
    for i in 1..=10i64 {
        let ctx = t.ctx.clone();
        tasks.push(tokio::spawn(async move {
            apply(
                &ctx,
                json!({"kind": "link_clicks", "event_id": format!("cc2_{i}"), "user_id": uid,
                       "product_id": 42, "count": 3}),
            )
            .await
        }));
        let ctx = t.ctx.clone();
        tasks.push(tokio::spawn(async move {
            apply(
                &ctx,
                json!({"kind": "product_earning", "event_id": format!("ce_{i}"), "user_id": uid,
                       "amount": 10 * i, "product_id": 42, "hold_seconds": 0}),
            )
            .await
        }));
    }
    for task in tasks {
        let r = task.await.expect("task");
        assert_applied(&r);
    }
    // clicks 210 + 30 = 240; unlocks 10; earnings 10 * 55 = 550 -> 10/240 = 4.17 %.
    assert_eq!(
        get_summary(&t, &ann.token).await,
        (
            200,
            ok(json!({
                "currency_unified": true,
                "accounts": [account_entry(&ann, balance(550, 0, 0, 0))],
                "wallet_balance": balance(550, 0, 0, 0),
                "total_content_items": 1, "total_link_clicks": 240, "total_unlocks": 10,
                "total_product_revenue": 550, "overall_conversion_rate": 4.17,
                "revenue_by_currency": {"USD": 550},
                "top_performing": [top(42, &ann, json!("Hot"), 240, 10, 4.17, 550, Value::Null)]
            }))
        )
    );
    assert_invariants(&t, uid).await;
}
