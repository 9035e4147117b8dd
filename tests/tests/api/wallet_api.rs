//! Handler-level tests of `GET /api/wallet` and `GET /api/wallet/affiliate`
//! (docs/api.md: conventions, wallet, affiliate), on DynamoDB Local.
//!
//! Every assertion compares the status and the whole envelope with a JSON value
//! built here: ids come from the stored entries (looked up by event id), every
//! other field (type, direction, `created_at`, title, currency) is written out by
//! hand from the events the test applied.
//!
//! `money_applied_in_a_second_table_shows_in_its_wallet` guards against a bug
//! found while writing these tests: `commit` used `ClientRequestToken =
//! "<entry id>-<attempt>"`, and DynamoDB scopes those tokens to the account and
//! region, not the table, so two tables whose ids both start at 1 collided
//! (`IdempotentParameterMismatchException`).

use domain::currency::Currency;
use domain::ledger::Entry;
use domain::ledger::EntryType;
use domain::ledger::Movement;
use domain::token::Ability;
use lambda_http::http::HeaderValue;
use serde_json::{json, Value};
use shared::services::auth::{create_token, revoke_token};
use shared::services::ledger::EventStatus;
use shared::store::write::commit;
use shared::Ctx;
use std::collections::HashMap;
use std::ops::Range;
use tests::dynamo::{partition, test_ctx, test_ctx_with, TestCtx};
use tests::events::Event;
use tests::expect::{empty_page, paginated};
use tests::fixtures::{api_key, creator, eur_details, usd_details, Creator, Profile};
use tests::http::{bearer, error, ok, Reply, Req, Route, BAD_LIMIT, BAD_PAGE, UNAUTHENTICATED};
use tests::invariants::{account, assert_invariants, entries};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Stored entries of a user by event id.
async fn by_event(ctx: &Ctx, user_id: i64) -> HashMap<String, Entry> {
    entries(ctx, user_id)
        .await
        .into_iter()
        .filter_map(|e| e.event_id.clone().map(|id| (id, e)))
        .collect()
}

/// The direction the API shows for each entry type (docs/api.md#wallet), written out.
fn direction(entry_type: &str) -> &'static str {
    match entry_type {
        "product_earning" | "affiliate_earning" => "credit",
        "refund" | "fee" | "withdrawal" => "debit",
        "hold" | "release_hold" | "pending" => "transfer",
        other => panic!("no direction for {other}"),
    }
}

/// An expected transaction item: (event id, amount, type, `created_at`, title).
type Row<'a> = (&'a str, i64, &'a str, &'a str, Option<&'a str>);

/// The expected items of these rows, in this order.
fn expected_items(
    stored: &HashMap<String, Entry>,
    currency_code: &str,
    rows: &[Row],
) -> Vec<Value> {
    rows.iter()
        .map(|row| item(stored, *row, currency_code))
        .collect()
}

/// The expected transaction item of the entry of the row's event. Everything
/// but the id is given by the test; the amount is also checked against the store.
fn item(stored: &HashMap<String, Entry>, row: Row, currency_code: &str) -> Value {
    let (event_id, amount, entry_type, created_at, title) = row;
    let e = stored
        .get(event_id)
        .unwrap_or_else(|| panic!("no stored entry for event {event_id}"));
    assert_eq!(e.amount, amount, "stored amount of {event_id}");
    json!({
        "id": e.id,
        "amount": amount,
        "type": entry_type,
        "created_at": created_at,
        "title": title,
        "direction": direction(entry_type),
        "currency_code": currency_code,
    })
}

/// A product earning available at once, titled `Sale <event id>`.
fn sale(user_id: i64, event_id: &str, amount: i64, occurred_at: &str) -> Event {
    Event::product_earning(user_id, event_id, amount)
        .title(&format!("Sale {event_id}"))
        .occurred_at(occurred_at)
}

/// An affiliate earning available at once, titled `Referral <event id>`.
fn referral(user_id: i64, event_id: &str, amount: i64, occurred_at: &str) -> Event {
    Event::affiliate_earning(user_id, event_id, amount)
        .title(&format!("Referral {event_id}"))
        .occurred_at(occurred_at)
}

/// Commits one movement directly (no event), reading the account first.
async fn commit_movement(
    t: &TestCtx,
    user_id: i64,
    entry_type: EntryType,
    amount: i64,
    at: i64,
) -> i64 {
    let acc = account(t, user_id).await;
    let id = t.next_id().await.expect("next id");
    let m = Movement {
        entry_type,
        amount,
        held: false,
        title: None,
        created_at: at,
        event_id: None,
        product_id: None,
        payout_id: None,
        analytics: Default::default(),
    };
    commit::<()>(t, &acc, &m, id, vec![])
        .await
        .unwrap_or_else(|e| panic!("commit {entry_type:?} {amount}: {e:?}"));
    id
}

// ---------------------------------------------------------------------------
// 1. A full wallet, exact
// ---------------------------------------------------------------------------

/// Applies the nine-entry history of `ok_*` tests and returns its user.
async fn full_history(t: &TestCtx, user: &Creator) {
    let u = user.id;
    for ev in [
        Event::product_earning(u, "p1", 550)
            .title("Money for a photo")
            .occurred_at("2026-04-01T10:00:00Z"),
        Event::product_earning(u, "p2", 1000)
            .hold_seconds(3600)
            .occurred_at("2026-04-02T11:30:15Z"),
        Event::affiliate_earning(u, "a1", 220)
            .title("Referral revenue")
            .occurred_at("2026-04-03T00:00:00+02:00"),
        Event::fee(u, "f1", 50)
            .title("Service fee")
            .occurred_at("2026-04-04T08:00:00Z"),
        Event::hold(u, "h1", 100)
            .title("Dispute")
            .occurred_at("2026-04-05T09:00:00Z"),
        Event::release_hold(u, "rh1", "h1")
            .title("Dispute resolved")
            .occurred_at("2026-04-06T09:00:00Z"),
        // written after the others but dated earlier: the list follows write order
        Event::refund(u, "r1", 300)
            .title("Refund")
            .occurred_at("2026-03-15T12:00:00Z"),
        Event::affiliate_earning(u, "a2", 330)
            .hold_seconds(60)
            .title("Held referral")
            .occurred_at("2026-04-08T23:59:59Z"),
        Event::release_hold(u, "rh2", "p2").occurred_at("2026-04-09T00:00:01Z"),
    ] {
        t.applied(ev).await;
    }
}

#[tokio::test]
async fn wallet_ok_shows_exact_balances_and_every_entry_newest_first() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::new(Currency::Usd)).await;
    full_history(&t, &user).await;
    let s = by_event(&t, user.id).await;
    assert_eq!(s.len(), 9);

    let body = t
        .sample(Route::Wallet, "wallet_ok", Some(&user.token))
        .await
        .body_of_200();
    #[rustfmt::skip]
    let items = expected_items(&s, "USD", &[
        ("rh2", 1000, "release_hold", "2026-04-09 00:00:01", None),
        ("a2", 330, "affiliate_earning", "2026-04-08 23:59:59", Some("Held referral")),
        ("r1", 300, "refund", "2026-03-15 12:00:00", Some("Refund")),
        ("rh1", 100, "release_hold", "2026-04-06 09:00:00", Some("Dispute resolved")),
        ("h1", 100, "hold", "2026-04-05 09:00:00", Some("Dispute")),
        ("f1", 50, "fee", "2026-04-04 08:00:00", Some("Service fee")),
        ("a1", 220, "affiliate_earning", "2026-04-02 22:00:00", Some("Referral revenue")),
        ("p2", 1000, "product_earning", "2026-04-02 11:30:15", None),
        ("p1", 550, "product_earning", "2026-04-01 10:00:00", Some("Money for a photo")),
    ]);
    // available 550+220-50-100+100-300+1000; hold 1000+100-100+330-1000
    assert_eq!(
        body,
        ok(json!({
            "available": 1420, "hold": 330, "pending": 0, "total": 1750,
            "referral_revenue": 550, "cashout_available": true,
            "currency_id": 1, "currency_code": "USD",
            "cashout_blockers": ["payout_details_missing"],
            "transactions": paginated(items, 1, 10, 9, 1, Some(1), Some(9)),
        }))
    );
    assert_invariants(&t, user.id).await;
}

#[tokio::test]
async fn affiliate_ok_shows_only_affiliate_earnings() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::new(Currency::Usd)).await;
    full_history(&t, &user).await;
    let s = by_event(&t, user.id).await;

    let body = t
        .sample(Route::Affiliate, "affiliate_ok", Some(&user.token))
        .await
        .body_of_200();
    #[rustfmt::skip]
    let items = expected_items(&s, "USD", &[
        ("a2", 330, "affiliate_earning", "2026-04-08 23:59:59", Some("Held referral")),
        ("a1", 220, "affiliate_earning", "2026-04-02 22:00:00", Some("Referral revenue")),
    ]);
    assert_eq!(
        body,
        ok(json!({
            "referral_revenue": 550, "currency_code": "USD",
            "transactions": paginated(items, 1, 10, 2, 1, Some(1), Some(2)),
        }))
    );
}

/// Ids are unique, not ordered: a second container (its own id block) writes
/// first with higher ids. The list still follows the order of writing, not the
/// ids and not `created_at`.
#[tokio::test]
async fn list_order_is_write_order_not_id_or_date_order() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::new(Currency::Usd)).await;
    let other_container = t.other_container();
    let u = user.id;
    other_container
        .applied(sale(u, "x1", 11, "2026-05-02T00:00:00Z"))
        .await;
    t.applied(sale(u, "x2", 22, "2026-05-01T00:00:00Z")).await;
    other_container
        .applied(sale(u, "x3", 33, "2026-04-30T00:00:00Z"))
        .await;
    let s = by_event(&t, u).await;
    assert!(
        s["x1"].id > s["x2"].id,
        "the second container's ids are higher"
    );

    #[rustfmt::skip]
    let expected = expected_items(&s, "USD", &[
        ("x3", 33, "product_earning", "2026-04-30 00:00:00", Some("Sale x3")),
        ("x2", 22, "product_earning", "2026-05-01 00:00:00", Some("Sale x2")),
        ("x1", 11, "product_earning", "2026-05-02 00:00:00", Some("Sale x1")),
    ]);
    let body = t.wallet(&user.token, "").await.body_of_200();
    assert_eq!(
        body["data"]["transactions"],
        paginated(expected.clone(), 1, 10, 3, 1, Some(1), Some(3))
    );
    // the same order through the range-query path (pages 2 and 3 of limit 1)
    for page in 1..=3i64 {
        let Reply { status, body, .. } =
            t.wallet(&user.token, &format!("page={page}&limit=1")).await;
        assert_eq!(status, 200);
        let idx = usize::try_from(page - 1).unwrap_or(0);
        assert_eq!(
            body["data"]["transactions"],
            paginated(
                vec![expected[idx].clone()],
                page,
                1,
                3,
                3,
                Some(page),
                Some(page)
            )
        );
    }
}

// ---------------------------------------------------------------------------
// 2. Empty wallet
// ---------------------------------------------------------------------------

#[tokio::test]
async fn empty_wallet_of_a_new_user() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::new(Currency::Usd)).await;

    let body = t
        .sample(Route::Wallet, "wallet_ok", Some(&user.token))
        .await
        .body_of_200();
    assert_eq!(
        body,
        ok(json!({
            "available": 0, "hold": 0, "pending": 0, "total": 0,
            "referral_revenue": 0, "cashout_available": false,
            "currency_id": 1, "currency_code": "USD",
            "cashout_blockers": ["no_available_funds", "payout_details_missing"],
            "transactions": {"data": [], "current_page": 1, "per_page": 10, "total": 0,
                             "last_page": 1, "from": null, "to": null},
        }))
    );

    let body = t
        .sample(Route::Affiliate, "affiliate_ok", Some(&user.token))
        .await
        .body_of_200();
    assert_eq!(
        body,
        ok(json!({
            "referral_revenue": 0, "currency_code": "USD",
            "transactions": {"data": [], "current_page": 1, "per_page": 10, "total": 0,
                             "last_page": 1, "from": null, "to": null},
        }))
    );

    // page 2 of an empty list: past the end, not an error
    let body = t
        .sample(Route::Wallet, "wallet_page2", Some(&user.token))
        .await
        .body_of_200();
    assert_eq!(body["data"]["transactions"], empty_page(2, 2, 0, 1));
    let body = t
        .sample(Route::Affiliate, "affiliate_page2", Some(&user.token))
        .await
        .body_of_200();
    assert_eq!(body["data"]["transactions"], empty_page(2, 1, 0, 1));
}

// ---------------------------------------------------------------------------
// 3. Pages
// ---------------------------------------------------------------------------

/// A case of a paginated list: the query, the range of the (newest first)
/// items shown, [current_page, per_page, total, last_page], (from, to).
type PageCase<'a> = (&'a str, Range<usize>, [i64; 4], Option<(i64, i64)>);

/// The expected page: `items[range]` and the numbers of the case.
fn page_of(
    items: &[Value],
    range: Range<usize>,
    numbers: [i64; 4],
    from_to: Option<(i64, i64)>,
) -> Value {
    let [current_page, per_page, total, last_page] = numbers;
    let (from, to) = (from_to.map(|f| f.0), from_to.map(|f| f.1));
    paginated(
        items[range].to_vec(),
        current_page,
        per_page,
        total,
        last_page,
        from,
        to,
    )
}

/// The pages of one list of one user.
struct Pages<'a> {
    route: Route,
    token: &'a str,
    /// Every item of the list, newest first.
    newest_first: &'a [Value],
    /// The whole envelope around a page.
    data: &'a dyn Fn(Value) -> Value,
}

impl Pages<'_> {
    /// Each case by its query string, then each sample event: a 200 with
    /// exactly the page of the case.
    async fn assert(&self, t: &TestCtx, queries: Vec<PageCase<'_>>, samples: Vec<PageCase<'_>>) {
        for (by_query, cases) in [(true, queries), (false, samples)] {
            for (query, range, numbers, from_to) in cases {
                let Reply { status, body, .. } = match (by_query, self.route) {
                    (true, Route::Affiliate) => t.affiliate(self.token, query).await,
                    (true, _) => t.wallet(self.token, query).await,
                    (false, route) => t.sample(route, query, Some(self.token)).await,
                };
                assert_eq!(status, 200, "{query}: {body}");
                let page = page_of(self.newest_first, range, numbers, from_to);
                assert_eq!(body, (self.data)(page), "{query}");
            }
        }
    }
}

/// Five product earnings e1..e5 (amounts 101..105), written in that order.
async fn five_earnings(t: &TestCtx, user_id: i64) -> Vec<Value> {
    for i in 1..=5 {
        t.applied(sale(
            user_id,
            &format!("e{i}"),
            100 + i,
            &format!("2026-04-0{i}T0{i}:00:00Z"),
        ))
        .await;
    }
    let s = by_event(t, user_id).await;
    (1..=5)
        .rev()
        .map(|i| {
            item(
                &s,
                (
                    &format!("e{i}"),
                    100 + i,
                    "product_earning",
                    &format!("2026-04-0{i} 0{i}:00:00"),
                    Some(&format!("Sale e{i}")),
                ),
                "USD",
            )
        })
        .collect()
}

#[tokio::test]
async fn wallet_pages_have_exact_bounds() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::new(Currency::Usd)).await;
    let newest_first = five_earnings(&t, user.id).await; // e5, e4, e3, e2, e1
    let wallet_data = |transactions: Value| {
        ok(json!({
            "available": 515, "hold": 0, "pending": 0, "total": 515,
            "referral_revenue": 0, "cashout_available": true,
            "currency_id": 1, "currency_code": "USD",
            "cashout_blockers": ["payout_details_missing"],
            "transactions": transactions,
        }))
    };

    // (query, the items shown, [current_page, per_page, total, last_page], (from, to))
    #[rustfmt::skip]
    let cases: Vec<PageCase> = vec![
        ("page=1&limit=2", 0..2, [1, 2, 5, 3], Some((1, 2))),
        ("page=3&limit=2", 4..5, [3, 2, 5, 3], Some((5, 5))),
        ("page=4&limit=2", 0..0, [4, 2, 5, 3], None),
        ("page=5&limit=1", 4..5, [5, 1, 5, 5], Some((5, 5))),
        ("page=6&limit=1", 0..0, [6, 1, 5, 5], None),
        ("limit=5", 0..5, [1, 5, 5, 1], Some((1, 5))),
        ("page=2&limit=5", 0..0, [2, 5, 5, 1], None),
        ("page=1&limit=100", 0..5, [1, 100, 5, 1], Some((1, 5))),
        ("page=2&limit=4", 4..5, [2, 4, 5, 2], Some((5, 5))),
        // leading zeros and percent-encoded digits are the same numbers
        ("page=002&limit=02", 2..4, [2, 2, 5, 3], Some((3, 4))),
        ("page=%32&limit=%32", 2..4, [2, 2, 5, 3], Some((3, 4))),
        ("page=0001&limit=0100", 0..5, [1, 100, 5, 1], Some((1, 5))),
        // other parameters are ignored
        ("limit=2&sort=asc&page=2", 2..4, [2, 2, 5, 3], Some((3, 4))),
        // an empty value means absent
        ("page=&limit=", 0..5, [1, 10, 5, 1], Some((1, 5))),
        ("page=&limit=2", 0..2, [1, 2, 5, 3], Some((1, 2))),
        ("page=2&limit=", 0..0, [2, 10, 5, 1], None),
        // huge pages are past the end, not errors
        ("page=9223372036854775807", 0..0, [i64::MAX, 10, 5, 1], None),
        ("page=9223372036854775807&limit=100", 0..0, [i64::MAX, 100, 5, 1], None),
        ("page=9223372036854775807&limit=1", 0..0, [i64::MAX, 1, 5, 5], None),
        ("page=00009223372036854775807&limit=1", 0..0, [i64::MAX, 1, 5, 5], None),
        ("page=4611686018427387904&limit=2", 0..0, [4_611_686_018_427_387_904, 2, 5, 3], None),
    ];
    // The sample events: page=2&limit=2, page=99&limit=10, a huge page, and
    // empty parameters.
    let samples: Vec<PageCase> = vec![
        ("wallet_page2", 2..4, [2, 2, 5, 3], Some((3, 4))),
        ("wallet_past_end", 0..0, [99, 10, 5, 1], None),
        ("wallet_huge_page", 0..0, [i64::MAX, 10, 5, 1], None),
        ("wallet_empty_params", 0..5, [1, 10, 5, 1], Some((1, 5))),
    ];
    let pages = Pages {
        route: Route::Wallet,
        token: &user.token,
        newest_first: &newest_first,
        data: &wallet_data,
    };
    pages.assert(&t, cases, samples).await;
}

#[tokio::test]
async fn affiliate_pages_have_exact_bounds() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::new(Currency::Usd)).await;
    let u = user.id;
    // affiliate earnings interleaved with other entries
    t.applied(referral(u, "r1", 201, "2026-04-01T00:00:01Z"))
        .await;
    t.applied(sale(u, "s1", 5000, "2026-04-01T00:00:02Z")).await;
    t.applied(referral(u, "r2", 202, "2026-04-01T00:00:03Z"))
        .await;
    t.applied(Event::fee(u, "f1", 7).occurred_at("2026-04-01T00:00:04Z"))
        .await;
    t.applied(referral(u, "r3", 203, "2026-04-01T00:00:05Z"))
        .await;
    let s = by_event(&t, u).await;
    let r = |i: i64| {
        item(
            &s,
            (
                &format!("r{i}"),
                200 + i,
                "affiliate_earning",
                &format!("2026-04-01 00:00:0{}", 2 * i - 1),
                Some(&format!("Referral r{i}")),
            ),
            "USD",
        )
    };
    let data = |transactions: Value| {
        ok(json!({"referral_revenue": 606, "currency_code": "USD", "transactions": transactions}))
    };

    let newest_first = [r(3), r(2), r(1)];
    #[rustfmt::skip]
    let cases: Vec<PageCase> = vec![
        ("", 0..3, [1, 10, 3, 1], Some((1, 3))),
        ("page=1&limit=1", 0..1, [1, 1, 3, 3], Some((1, 1))),
        ("page=3&limit=1", 2..3, [3, 1, 3, 3], Some((3, 3))),
        ("page=4&limit=1", 0..0, [4, 1, 3, 3], None),
        ("page=1&limit=2", 0..2, [1, 2, 3, 2], Some((1, 2))),
        ("page=2&limit=2", 2..3, [2, 2, 3, 2], Some((3, 3))),
        ("page=&limit=", 0..3, [1, 10, 3, 1], Some((1, 3))),
        ("page=9223372036854775807&limit=1", 0..0, [i64::MAX, 1, 3, 3], None),
    ];
    // The sample events: page=2&limit=1, page=99&limit=10, a huge page.
    let samples: Vec<PageCase> = vec![
        ("affiliate_page2", 1..2, [2, 1, 3, 3], Some((2, 2))),
        ("affiliate_past_end", 0..0, [99, 10, 3, 1], None),
        ("affiliate_huge_page", 0..0, [i64::MAX, 10, 3, 1], None),
    ];
    let pages = Pages {
        route: Route::Affiliate,
        token: &user.token,
        newest_first: &newest_first,
        data: &data,
    };
    pages.assert(&t, cases, samples).await;
}

// ---------------------------------------------------------------------------
// 4. Bad page / limit
// ---------------------------------------------------------------------------

const BAD_QUERIES: &[(&str, &str)] = &[
    ("page=0", BAD_PAGE),
    ("page=00", BAD_PAGE),
    ("page=-1", BAD_PAGE),
    ("page=%2B1", BAD_PAGE), // "+1"
    ("page=+1", BAD_PAGE),   // " 1" once decoded
    ("page=1.0", BAD_PAGE),
    ("page=1.5", BAD_PAGE),
    ("page=1e3", BAD_PAGE),
    ("page=abc", BAD_PAGE),
    ("page=2x", BAD_PAGE),
    ("page=%201", BAD_PAGE),
    ("page=1%20", BAD_PAGE),
    ("page=0x10", BAD_PAGE),
    ("page=%D9%A3", BAD_PAGE), // Arabic-Indic digit three
    ("page=9223372036854775808", BAD_PAGE),
    ("page=18446744073709551616", BAD_PAGE),
    ("page=99999999999999999999999", BAD_PAGE),
    ("page=1&page=2", BAD_PAGE),
    ("page=1,2", BAD_PAGE),
    // a parameter given twice is refused (docs/decisions.md), even if one is empty
    ("page=3&limit=2&page=", BAD_PAGE),
    ("limit=&limit=2", BAD_LIMIT),
    ("limit=0", BAD_LIMIT),
    ("limit=000", BAD_LIMIT),
    ("limit=101", BAD_LIMIT),
    ("limit=0101", BAD_LIMIT),
    ("limit=-1", BAD_LIMIT),
    ("limit=%2B5", BAD_LIMIT),
    ("limit=1.5", BAD_LIMIT),
    ("limit=10.0", BAD_LIMIT),
    ("limit=1e2", BAD_LIMIT),
    ("limit=abc", BAD_LIMIT),
    ("limit=9223372036854775807", BAD_LIMIT),
    ("limit=9223372036854775808", BAD_LIMIT),
    ("limit=5&limit=5", BAD_LIMIT),
    ("page=1&limit=0", BAD_LIMIT),
    ("page=2&limit=101", BAD_LIMIT),
    // page first when both are bad
    ("page=0&limit=0", BAD_PAGE),
    ("page=abc&limit=101", BAD_PAGE),
    ("limit=abc&page=-1", BAD_PAGE),
    ("page=9223372036854775808&limit=1.5", BAD_PAGE),
];

#[tokio::test]
async fn bad_page_and_limit_are_422_with_exact_messages_and_change_nothing() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::new(Currency::Usd)).await;
    five_earnings(&t, user.id).await;
    t.applied(referral(user.id, "r1", 9, "2026-04-09T00:00:00Z"))
        .await;
    let before = partition(&t, user.id).await;

    // the sample events
    for (name, message) in [
        ("wallet_bad_page", BAD_PAGE),
        ("wallet_bad_limit", BAD_LIMIT),
        ("wallet_bad_both", BAD_PAGE),
    ] {
        t.counter.reset();
        let Reply { status, body, .. } = t.sample(Route::Wallet, name, Some(&user.token)).await;
        assert_eq!((status, body), (422, error(message)), "{name}");
        // authentication only (401 before 422); nothing written
        assert_eq!(t.counter.operations(), ["GetItem"], "{name}");
    }
    for (name, message) in [
        ("affiliate_bad_limit", BAD_LIMIT),
        ("affiliate_bad_page", BAD_PAGE),
    ] {
        t.counter.reset();
        let Reply { status, body, .. } = t.sample(Route::Affiliate, name, Some(&user.token)).await;
        assert_eq!((status, body), (422, error(message)), "{name}");
        assert_eq!(t.counter.operations(), ["GetItem"], "{name}");
    }

    for (query, message) in BAD_QUERIES {
        t.counter.reset();
        let Reply { status, body, .. } = t.wallet(&user.token, query).await;
        assert_eq!((status, body), (422, error(message)), "wallet ?{query}");
        let Reply { status, body, .. } = t.affiliate(&user.token, query).await;
        assert_eq!((status, body), (422, error(message)), "affiliate ?{query}");
        assert_eq!(t.counter.operations(), ["GetItem", "GetItem"], "{query}");
    }

    // authentication comes first: a bad page without a valid token is a 401
    let Reply { status, body, .. } = t
        .send(
            Route::Wallet,
            Req::sample("wallet_bad_page").authorization(None),
        )
        .await;
    assert_eq!((status, body), (401, error(UNAUTHENTICATED)));
    let Reply { status, body, .. } = t
        .send(
            Route::Affiliate,
            Req::sample("affiliate_bad_limit").authorization(None),
        )
        .await;
    assert_eq!((status, body), (401, error(UNAUTHENTICATED)));

    assert_eq!(
        partition(&t, user.id).await,
        before,
        "a rejected request changes nothing"
    );
    let body = t.wallet(&user.token, "limit=1").await.body_of_200();
    assert_eq!(body["data"]["transactions"]["total"], json!(6));
    assert_eq!(body["data"]["available"], json!(524));
}

// ---------------------------------------------------------------------------
// 5. Authentication
// ---------------------------------------------------------------------------

/// Both endpoints, page 1 and a later page, all 401 with data null.
async fn assert_unauthenticated(t: &TestCtx, authorization: Option<&str>, what: &str) {
    for (name, call_wallet) in [
        ("wallet_ok", true),
        ("wallet_page2", true),
        ("wallet_huge_page", true),
        ("affiliate_ok", false),
        ("affiliate_page2", false),
    ] {
        let req = Req::sample(name).authorization(authorization).build();
        let Reply { status, body, .. } = if call_wallet {
            t.send(Route::Wallet, req).await
        } else {
            t.send(Route::Affiliate, req).await
        };
        assert_eq!(
            (status, body),
            (401, error(UNAUTHENTICATED)),
            "{what} on {name}"
        );
    }
}

#[tokio::test]
async fn missing_malformed_unknown_wrong_and_revoked_tokens_are_401() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::new(Currency::Usd)).await;
    t.applied(sale(user.id, "e1", 100, "2026-04-01T00:00:00Z"))
        .await;
    let (id, secret) = user.token.split_once('|').expect("sanctum token");
    let id: i64 = id.parse().expect("token id");
    let other = creator(&t, Profile::new(Currency::Usd)).await;
    let other_secret = other.token.split_once('|').map(|(_, s)| s).expect("token");

    // the sample events as they are (no header / a malformed one / a token of
    // id 1 that does not exist)
    for name in ["wallet_no_token", "wallet_malformed_token", "wallet_ok"] {
        t.counter.reset();
        let Reply { status, body, .. } = t.send(Route::Wallet, Req::sample(name)).await;
        assert_eq!((status, body), (401, error(UNAUTHENTICATED)), "{name}");
        assert!(
            t.counter.count() <= 1,
            "{name}: {:?}",
            t.counter.operations()
        );
    }
    for name in [
        "affiliate_no_token",
        "affiliate_malformed_token",
        "affiliate_ok",
    ] {
        let Reply { status, body, .. } = t.send(Route::Affiliate, Req::sample(name)).await;
        assert_eq!((status, body), (401, error(UNAUTHENTICATED)), "{name}");
    }

    let wrong_last = if secret.ends_with('a') { 'b' } else { 'a' };
    let wrong_secret = format!("{}{}", &secret[..secret.len() - 1], wrong_last);
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "missing"),
        (Some(String::new()), "empty header"),
        (Some("Bearer".into()), "scheme only"),
        (Some("Bearer ".into()), "scheme and a space"),
        (Some(user.token.clone()), "no scheme"),
        (Some(format!("Basic {}", user.token)), "other scheme"),
        (Some(format!("Token {}", user.token)), "other scheme"),
        (Some(format!("Bearer{}", user.token)), "no space"),
        (Some(format!("Bearer {id}")), "no secret part"),
        (Some(format!("Bearer {id}|")), "empty secret"),
        (Some(format!("Bearer |{secret}")), "empty id"),
        (Some(format!("Bearer x{id}|{secret}")), "id not numeric"),
        (Some(format!("Bearer -{id}|{secret}")), "negative id"),
        (Some(format!("Bearer 0|{secret}")), "id 0"),
        (
            Some(format!("Bearer 99999999999999999999|{secret}")),
            "id beyond i64",
        ),
        (Some(format!("Bearer {secret}")), "secret only"),
        (
            Some(format!("Bearer {}|{secret}", id + 7_777_777)),
            "unknown token id",
        ),
        (Some(format!("Bearer {id}|{wrong_secret}")), "wrong secret"),
        (
            Some(format!("Bearer {id}|{secret}x")),
            "secret with an extra char",
        ),
        (
            Some(format!("Bearer {id}|{}", &secret[..secret.len() - 1])),
            "secret one char short",
        ),
        (
            Some(format!("Bearer {id}|{other_secret}")),
            "another token's secret",
        ),
    ];
    for (header, what) in &cases {
        assert_unauthenticated(&t, header.as_deref(), what).await;
    }

    // request costs: a malformed header costs nothing, an unknown or wrong
    // token one GetItem
    for (header, expected_ops) in [
        (None, vec![]),
        (Some("Bearer not-a-sanctum-token".to_owned()), vec![]),
        (Some(format!("Bearer {id}|")), vec![]),
        (
            Some(format!("Bearer {}|{secret}", id + 7_777_777)),
            vec!["GetItem"],
        ),
        (Some(format!("Bearer {id}|{wrong_secret}")), vec!["GetItem"]),
    ] {
        for name in ["wallet_ok", "wallet_page2"] {
            t.counter.reset();
            let Reply { status, .. } = t
                .send(
                    Route::Wallet,
                    Req::sample(name).authorization(header.as_deref()),
                )
                .await;
            assert_eq!(status, 401);
            assert_eq!(t.counter.operations(), expected_ops, "{header:?} {name}");
        }
        t.counter.reset();
        let Reply { status, .. } = t
            .send(
                Route::Affiliate,
                Req::sample("affiliate_ok").authorization(header.as_deref()),
            )
            .await;
        assert_eq!(status, 401);
        assert_eq!(t.counter.operations(), expected_ops, "{header:?} affiliate");
    }

    // two Authorization headers (one of them valid) are refused
    let mut req = Req::sample("wallet_ok").build();
    req.headers_mut().remove("authorization");
    req.headers_mut().append(
        "authorization",
        HeaderValue::from_str(&bearer(&user.token)).expect("hv"),
    );
    req.headers_mut().append(
        "authorization",
        HeaderValue::from_str(&bearer(&user.token)).expect("hv"),
    );
    let Reply { status, body, .. } = t.send(Route::Wallet, req).await;
    assert_eq!((status, body), (401, error(UNAUTHENTICATED)));

    // revoked: works before, 401 after, at once, on both endpoints
    let (rid, revocable) = create_token(&t, user.id, Ability::All)
        .await
        .expect("token");
    let (kid, key) = create_token(&t, user.id, Ability::TransactionsRead)
        .await
        .expect("key");
    assert_eq!(t.wallet(&revocable, "").await.status, 200);
    assert_eq!(t.affiliate(&key, "").await.status, 200);
    revoke_token(&t, rid).await.expect("revoke");
    revoke_token(&t, kid).await.expect("revoke");
    assert_unauthenticated(&t, Some(&bearer(&revocable)), "revoked token").await;
    assert_unauthenticated(&t, Some(&bearer(&key)), "revoked api key").await;
    t.counter.reset();
    assert_eq!(t.wallet(&revocable, "").await.status, 401);
    assert_eq!(
        t.counter.operations(),
        ["GetItem"],
        "revoked token costs one read"
    );

    // the user's own token still works and sees the one entry
    let body = t.wallet(&user.token, "").await.body_of_200();
    assert_eq!(body["data"]["available"], json!(100));
}

#[tokio::test]
async fn tokens_of_a_deleted_user_are_401() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::payable()).await;
    let key = api_key(&t, user.id).await;
    for i in 1..=3 {
        t.applied(sale(
            user.id,
            &format!("e{i}"),
            10 * i,
            "2026-04-01T00:00:00Z",
        ))
        .await;
        t.applied(referral(
            user.id,
            &format!("r{i}"),
            i,
            "2026-04-01T00:00:00Z",
        ))
        .await;
    }
    assert_eq!(t.wallet(&user.token, "").await.status, 200);
    assert_eq!(t.affiliate(&key, "").await.status, 200);

    shared::services::users::delete_user(&t, user.id)
        .await
        .expect("delete user");
    for token in [&user.token, &key] {
        assert_unauthenticated(&t, Some(&bearer(token)), "deleted user").await;
        for query in [
            "page=2&limit=1",
            "page=3&limit=2",
            "page=1&limit=100",
            "page=9223372036854775807",
        ] {
            assert_eq!(
                (t.wallet(token, query).await),
                (401, error(UNAUTHENTICATED)),
                "{query}"
            );
            assert_eq!(
                (t.affiliate(token, query).await),
                (401, error(UNAUTHENTICATED)),
                "{query}"
            );
        }
    }
    // the token is fine, the account says deleted: one read more than an unknown token
    t.counter.reset();
    assert_eq!(t.wallet(&user.token, "").await.status, 401);
    assert_eq!(t.counter.operations(), ["GetItem", "Query"]);
    t.counter.reset();
    assert_eq!(t.wallet(&user.token, "page=2").await.status, 401);
    assert_eq!(t.counter.operations(), ["GetItem", "GetItem"]);
}

#[tokio::test]
async fn scheme_word_is_case_insensitive_and_api_keys_may_read() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::new(Currency::Usd)).await;
    t.applied(sale(user.id, "e1", 100, "2026-04-01T00:00:00Z"))
        .await;
    t.applied(referral(user.id, "r1", 40, "2026-04-02T00:00:00Z"))
        .await;
    let key = api_key(&t, user.id).await;
    let s = by_event(&t, user.id).await;
    let e1 = item(
        &s,
        (
            "e1",
            100,
            "product_earning",
            "2026-04-01 00:00:00",
            Some("Sale e1"),
        ),
        "USD",
    );
    let r1 = item(
        &s,
        (
            "r1",
            40,
            "affiliate_earning",
            "2026-04-02 00:00:00",
            Some("Referral r1"),
        ),
        "USD",
    );
    let wallet_expected = ok(json!({
        "available": 140, "hold": 0, "pending": 0, "total": 140,
        "referral_revenue": 40, "cashout_available": true,
        "currency_id": 1, "currency_code": "USD",
        "cashout_blockers": ["payout_details_missing"],
        "transactions": paginated(vec![r1.clone(), e1], 1, 10, 2, 1, Some(1), Some(2)),
    }));
    let affiliate_expected = ok(json!({
        "referral_revenue": 40, "currency_code": "USD",
        "transactions": paginated(vec![r1], 1, 10, 1, 1, Some(1), Some(1)),
    }));

    for token in [&user.token, &key] {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let header = format!("{scheme} {token}");
            let Reply { status, body, .. } = t
                .send(
                    Route::Wallet,
                    Req::sample("wallet_ok").authorization(Some(&header)),
                )
                .await;
            assert_eq!((status, &body), (200, &wallet_expected), "{scheme}");
            let Reply { status, body, .. } = t
                .send(
                    Route::Affiliate,
                    Req::sample("affiliate_ok").authorization(Some(&header)),
                )
                .await;
            assert_eq!((status, &body), (200, &affiliate_expected), "{scheme}");
        }
    }
    // an API key on a later page too
    let body = t.wallet(&key, "page=2&limit=1").await.body_of_200();
    assert_eq!(
        body["data"]["transactions"]["data"][0]["id"],
        json!(s["e1"].id)
    );
}

// ---------------------------------------------------------------------------
// 6. Cross-account
// ---------------------------------------------------------------------------

/// Every page of every limit, concatenated.
async fn walk(t: &TestCtx, token: &str, affiliate: bool, limit: i64) -> (Vec<Value>, Vec<String>) {
    let mut items = Vec::new();
    let mut bodies = Vec::new();
    let mut page = 1;
    loop {
        let query = format!("page={page}&limit={limit}");
        let Reply { status, body, .. } = if affiliate {
            t.affiliate(token, &query).await
        } else {
            t.wallet(token, &query).await
        };
        assert_eq!(status, 200, "{query}: {body}");
        let data = body["data"]["transactions"]["data"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let last_page = body["data"]["transactions"]["last_page"]
            .as_i64()
            .unwrap_or(0);
        bodies.push(body.to_string());
        if page > last_page {
            assert!(data.is_empty(), "past the end is empty");
            return (items, bodies);
        }
        items.extend(data);
        page += 1;
    }
}

#[tokio::test]
async fn a_token_only_ever_shows_its_own_users_data() {
    let t = test_ctx().await;
    let a = creator(&t, Profile::new(Currency::Usd)).await;
    let b = creator(&t, Profile::new(Currency::Eur)).await;
    let a_key = api_key(&t, a.id).await;
    // interleaved writes for both users
    for i in 1..=4i64 {
        t.applied(sale(
            a.id,
            &format!("a_e{i}"),
            1000 + i,
            "2026-04-01T00:00:00Z",
        ))
        .await;
        t.applied(sale(
            b.id,
            &format!("b_e{i}"),
            777_000 + i,
            "2026-04-01T00:00:00Z",
        ))
        .await;
        t.applied(referral(
            a.id,
            &format!("a_r{i}"),
            2000 + i,
            "2026-04-02T00:00:00Z",
        ))
        .await;
        t.applied(referral(
            b.id,
            &format!("b_r{i}"),
            888_000 + i,
            "2026-04-02T00:00:00Z",
        ))
        .await;
    }
    let sa = by_event(&t, a.id).await;
    let sb = by_event(&t, b.id).await;
    let mut a_public = Vec::new();
    let mut a_affiliate = Vec::new();
    for i in (1..=4i64).rev() {
        let (id, title) = (format!("a_r{i}"), format!("Referral a_r{i}"));
        let r = item(
            &sa,
            (
                &id,
                2000 + i,
                "affiliate_earning",
                "2026-04-02 00:00:00",
                Some(&title),
            ),
            "USD",
        );
        a_public.push(r.clone());
        a_affiliate.push(r);
        let (id, title) = (format!("a_e{i}"), format!("Sale a_e{i}"));
        a_public.push(item(
            &sa,
            (
                &id,
                1000 + i,
                "product_earning",
                "2026-04-01 00:00:00",
                Some(&title),
            ),
            "USD",
        ));
    }
    let b_ids: Vec<String> = sb.values().map(|e| e.id.to_string()).collect();

    for token in [&a.token, &a_key] {
        for limit in [1, 2, 3, 5, 8, 10, 100] {
            let (items, bodies) = walk(&t, token, false, limit).await;
            assert_eq!(items, a_public, "wallet, limit {limit}");
            let (items, more) = walk(&t, token, true, limit).await;
            assert_eq!(items, a_affiliate, "affiliate, limit {limit}");
            for body in bodies.iter().chain(&more) {
                assert!(
                    !body.contains("777") && !body.contains("888") && !body.contains("EUR"),
                    "{body}"
                );
                for id in &b_ids {
                    assert!(
                        !body.contains(&format!("\"id\":{id},")),
                        "B's entry {id} in {body}"
                    );
                }
            }
        }
        let Reply { body, .. } = t.wallet(token, "").await;
        assert_eq!(
            body["data"]["available"],
            json!(4 * 1000 + 10 + 4 * 2000 + 10)
        );
        assert_eq!(body["data"]["referral_revenue"], json!(8010));
        assert_eq!(body["data"]["currency_code"], json!("USD"));
    }
    // and B sees B's
    let Reply { body, .. } = t.wallet(&b.token, "limit=100").await;
    assert_eq!(body["data"]["transactions"]["total"], json!(8));
    assert_eq!(body["data"]["currency_id"], json!(2));
    assert!(body["data"]["transactions"]["data"]
        .as_array()
        .is_some_and(|d| d.iter().all(|i| i["currency_code"] == "EUR")));
}

// ---------------------------------------------------------------------------
// 7. RELEASE_PENDING is hidden
// ---------------------------------------------------------------------------

#[tokio::test]
async fn release_pending_is_hidden_but_counted_in_the_balances() {
    let t = test_ctx().await;
    let user = creator(&t, Profile::payable()).await;
    let u = user.id;
    t.applied(Event::product_earning(u, "e1", 1000).occurred_at("2026-04-01T00:00:00Z"))
        .await;
    let base = 1_775_001_600; // 2026-04-01 00:00:00 UTC
    let pending1 = commit_movement(&t, u, EntryType::Pending, 400, base + 60).await;
    let released = commit_movement(&t, u, EntryType::ReleasePending, 400, base + 120).await;
    let pending2 = commit_movement(&t, u, EntryType::Pending, 300, base + 180).await;
    let pending3 = commit_movement(&t, u, EntryType::Pending, 200, base + 240).await;
    let withdrawal = commit_movement(&t, u, EntryType::Withdrawal, 200, base + 300).await;
    // the hidden entry is in the ledger, with its bucket changes
    let hidden: Vec<_> = entries(&t, u)
        .await
        .into_iter()
        .filter(|e| e.entry_type == EntryType::ReleasePending)
        .map(|e| {
            (
                e.id,
                e.amount,
                e.deltas.available,
                e.deltas.hold,
                e.deltas.pending,
            )
        })
        .collect();
    assert_eq!(hidden, vec![(released, 400, 400, 0, -400)]);
    let acc = account(&t, u).await;
    assert_eq!((acc.public_count, acc.affiliate_count), (5, 0));

    let s = by_event(&t, u).await;
    let plain = |id: i64, amount: i64, ty: &str, at: &str, dir: &str| json!({"id": id, "amount": amount, "type": ty, "created_at": at, "title": null, "direction": dir, "currency_code": "USD"});
    let list = vec![
        plain(
            withdrawal,
            200,
            "withdrawal",
            "2026-04-01 00:05:00",
            "debit",
        ),
        plain(pending3, 200, "pending", "2026-04-01 00:04:00", "transfer"),
        plain(pending2, 300, "pending", "2026-04-01 00:03:00", "transfer"),
        plain(pending1, 400, "pending", "2026-04-01 00:01:00", "transfer"),
        item(
            &s,
            ("e1", 1000, "product_earning", "2026-04-01 00:00:00", None),
            "USD",
        ),
    ];
    // available 1000-400+400-300-200 = 500, pending 400-400+300+200-200 = 300
    let wallet = |transactions: Value| {
        ok(json!({
            "available": 500, "hold": 0, "pending": 300, "total": 800,
            "referral_revenue": 0, "cashout_available": true,
            "currency_id": 1, "currency_code": "USD", "cashout_blockers": [],
            "transactions": transactions,
        }))
    };
    let Reply { status, body, .. } = t.wallet(&user.token, "").await;
    assert_eq!(
        (status, body),
        (
            200,
            wallet(paginated(list.clone(), 1, 10, 5, 1, Some(1), Some(5)))
        )
    );
    // no gap in the later pages either
    for page in 1..=5i64 {
        let Reply { status, body, .. } =
            t.wallet(&user.token, &format!("page={page}&limit=1")).await;
        let idx = usize::try_from(page - 1).unwrap_or(0);
        assert_eq!(
            (status, body),
            (
                200,
                wallet(paginated(
                    vec![list[idx].clone()],
                    page,
                    1,
                    5,
                    5,
                    Some(page),
                    Some(page)
                ))
            ),
            "page {page}"
        );
    }
    let Reply { status, body, .. } = t.wallet(&user.token, "page=3&limit=2").await;
    assert_eq!(
        (status, body),
        (
            200,
            wallet(paginated(
                vec![list[4].clone()],
                3,
                2,
                5,
                3,
                Some(5),
                Some(5)
            ))
        )
    );
    let Reply { status, body, .. } = t.wallet(&user.token, "page=4&limit=2").await;
    assert_eq!((status, body), (200, wallet(empty_page(4, 2, 5, 3))));
    let text = t.wallet(&user.token, "limit=100").await.body.to_string();
    assert!(!text.contains("RELEASE_PENDING") && !text.contains(&format!("\"id\":{released},")));
}

// ---------------------------------------------------------------------------
// 8. cashout_blockers and currencies
// ---------------------------------------------------------------------------

async fn blockers_of(t: &TestCtx, token: &str) -> (Value, Value, Value) {
    let body = t.wallet(token, "").await.body_of_200();
    let d = &body["data"];
    (
        d["available"].clone(),
        d["cashout_available"].clone(),
        d["cashout_blockers"].clone(),
    )
}

#[tokio::test]
async fn cashout_blockers_follow_the_spec_order() {
    let t = test_ctx_with(|c| c.min_cashout_usd = 1000).await;
    let details = usd_details();

    // payout details and enough available: nothing blocks
    let ready = creator(&t, Profile::new(Currency::Usd).details(details.clone())).await;
    t.applied(sale(ready.id, "ready", 1000, "2026-04-01T00:00:00Z"))
        .await;
    assert_eq!(
        blockers_of(&t, &ready.token).await,
        (json!(1000), json!(true), json!([]))
    );

    // below the minimum (with and without details)
    let small = creator(&t, Profile::new(Currency::Usd).details(details.clone())).await;
    t.applied(sale(small.id, "small", 500, "2026-04-01T00:00:00Z"))
        .await;
    assert_eq!(
        blockers_of(&t, &small.token).await,
        (json!(500), json!(true), json!(["below_minimum"]))
    );
    let small_nd = creator(&t, Profile::new(Currency::Usd)).await;
    t.applied(sale(small_nd.id, "small_nd", 999, "2026-04-01T00:00:00Z"))
        .await;
    assert_eq!(
        blockers_of(&t, &small_nd.token).await,
        (
            json!(999),
            json!(true),
            json!(["payout_details_missing", "below_minimum"])
        )
    );

    // negative available after a fee: no funds (and not below_minimum)
    let debt = creator(&t, Profile::new(Currency::Usd)).await;
    t.applied(sale(debt.id, "debt_e", 100, "2026-04-01T00:00:00Z"))
        .await;
    t.applied(
        Event::fee(debt.id, "debt_f", 300)
            .title("Chargeback fee")
            .occurred_at("2026-04-02T00:00:00Z"),
    )
    .await;
    let body = t.wallet(&debt.token, "").await.body_of_200();
    let s = by_event(&t, debt.id).await;
    assert_eq!(
        body,
        ok(json!({
            "available": -200, "hold": 0, "pending": 0, "total": -200,
            "referral_revenue": 0, "cashout_available": false,
            "currency_id": 1, "currency_code": "USD",
            "cashout_blockers": ["no_available_funds", "payout_details_missing"],
            "transactions": paginated(expected_items(&s, "USD", &[
                ("debt_f", 300, "fee", "2026-04-02 00:00:00", Some("Chargeback fee")),
                ("debt_e", 100, "product_earning", "2026-04-01 00:00:00", Some("Sale debt_e")),
            ]), 1, 10, 2, 1, Some(1), Some(2)),
        }))
    );
    let debt_d = creator(&t, Profile::new(Currency::Usd).details(details.clone())).await;
    t.applied(Event::refund(debt_d.id, "debt_d", 1).occurred_at("2026-04-02T00:00:00Z"))
        .await;
    assert_eq!(
        blockers_of(&t, &debt_d.token).await,
        (json!(-1), json!(false), json!(["no_available_funds"]))
    );

    // zero available while money is on hold
    let held = creator(&t, Profile::new(Currency::Usd).details(details.clone())).await;
    t.applied(
        Event::product_earning(held.id, "held", 5000)
            .hold_seconds(3600)
            .occurred_at("2026-04-01T00:00:00Z"),
    )
    .await;
    let Reply { body, .. } = t.wallet(&held.token, "").await;
    assert_eq!(
        (
            &body["data"]["available"],
            &body["data"]["hold"],
            &body["data"]["total"],
            &body["data"]["cashout_available"],
            &body["data"]["cashout_blockers"]
        ),
        (
            &json!(0),
            &json!(5000),
            &json!(5000),
            &json!(false),
            &json!(["no_available_funds"])
        )
    );
}

#[tokio::test]
async fn eur_and_gbp_wallets_show_their_currency() {
    let t = test_ctx_with(|c| c.min_cashout_eur = 1000).await;
    let eur = creator(&t, Profile::new(Currency::Eur).details(eur_details())).await;
    t.applied(sale(eur.id, "eu1", 700, "2026-04-01T00:00:00Z"))
        .await;
    t.applied(referral(eur.id, "eu2", 300, "2026-04-01T01:00:00Z"))
        .await;
    let s = by_event(&t, eur.id).await;
    let eu2 = item(
        &s,
        (
            "eu2",
            300,
            "affiliate_earning",
            "2026-04-01 01:00:00",
            Some("Referral eu2"),
        ),
        "EUR",
    );
    let eu1 = item(
        &s,
        (
            "eu1",
            700,
            "product_earning",
            "2026-04-01 00:00:00",
            Some("Sale eu1"),
        ),
        "EUR",
    );
    let Reply { status, body, .. } = t.wallet(&eur.token, "").await;
    assert_eq!(
        (status, body),
        (
            200,
            ok(json!({
                "available": 1000, "hold": 0, "pending": 0, "total": 1000,
                "referral_revenue": 300, "cashout_available": true,
                "currency_id": 2, "currency_code": "EUR", "cashout_blockers": [],
                "transactions": paginated(vec![eu2.clone(), eu1], 1, 10, 2, 1, Some(1), Some(2)),
            }))
        )
    );
    let Reply { status, body, .. } = t.affiliate(&eur.token, "").await;
    assert_eq!(
        (status, body),
        (
            200,
            ok(json!({"referral_revenue": 300, "currency_code": "EUR",
                        "transactions": paginated(vec![eu2], 1, 10, 1, 1, Some(1), Some(1))}))
        )
    );

    let gbp = creator(&t, Profile::new(Currency::Gbp)).await;
    let body = t.wallet(&gbp.token, "").await.body_of_200();
    assert_eq!(
        (&body["data"]["currency_id"], &body["data"]["currency_code"]),
        (&json!(3), &json!("GBP"))
    );
    let Reply { body, .. } = t.affiliate(&gbp.token, "").await;
    assert_eq!(body["data"]["currency_code"], json!("GBP"));
}

// ---------------------------------------------------------------------------
// 9. DynamoDB request counts
// ---------------------------------------------------------------------------

/// Writes `n` entries (even: product earning, odd: affiliate earning; amount
/// i+1, created_at base+i) with one transaction each, carrying the account
/// forward. Returns (id, type) of each, in write order.
async fn bulk(t: &TestCtx, user_id: i64, n: usize, base: i64) -> Vec<(i64, EntryType)> {
    let mut acc = account(t, user_id).await;
    let mut written = Vec::with_capacity(n);
    for i in 0..n {
        let entry_type = if i % 2 == 0 {
            EntryType::ProductEarning
        } else {
            EntryType::AffiliateEarning
        };
        let id = t.next_id().await.expect("next id");
        let m = Movement {
            entry_type,
            amount: i as i64 + 1,
            held: false,
            title: Some(format!("bulk {i}")),
            created_at: base + i as i64,
            event_id: None,
            product_id: None,
            payout_id: None,
            analytics: Default::default(),
        };
        let (after, _) = commit::<()>(t, &acc, &m, id, vec![])
            .await
            .unwrap_or_else(|e| panic!("bulk commit {i}: {e:?}"));
        acc = after;
        written.push((id, entry_type));
    }
    written
}

fn bulk_item(written: &[(i64, EntryType)], index: usize, base: i64) -> Value {
    let (id, ty) = written[index];
    let (name, direction) = match ty {
        EntryType::ProductEarning => ("product_earning", "credit"),
        _ => ("affiliate_earning", "credit"),
    };
    let at = chrono::DateTime::from_timestamp(base + index as i64, 0)
        .expect("time")
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    json!({"id": id, "amount": index + 1, "type": name, "created_at": at,
           "title": format!("bulk {index}"), "direction": direction, "currency_code": "USD"})
}

/// Expected page `page` of `limit` over `list` (indexes into `written`, oldest first).
fn expected_page(
    written: &[(i64, EntryType)],
    list: &[usize],
    page: usize,
    limit: usize,
    base: i64,
) -> Value {
    let total = list.len();
    let last_page = total.div_ceil(limit).max(1);
    let newest_first: Vec<usize> = list.iter().rev().copied().collect();
    let start = (page - 1) * limit;
    let data: Vec<Value> = newest_first
        .iter()
        .skip(start)
        .take(limit)
        .map(|&i| bulk_item(written, i, base))
        .collect();
    let (from, to) = if data.is_empty() {
        (None, None)
    } else {
        (Some(start as i64 + 1), Some((start + data.len()) as i64))
    };
    paginated(
        data,
        page as i64,
        limit as i64,
        total as i64,
        last_page as i64,
        from,
        to,
    )
}

/// Calls one page, returns the operations it cost; checks the page exactly.
async fn measured(
    t: &TestCtx,
    token: &str,
    affiliate: bool,
    page: usize,
    limit: usize,
    expected: &Value,
) -> Vec<String> {
    let query = format!("page={page}&limit={limit}");
    t.counter.reset();
    let Reply { status, body, .. } = if affiliate {
        t.affiliate(token, &query).await
    } else {
        t.wallet(token, &query).await
    };
    let ops = t.counter.operations();
    assert_eq!(status, 200, "{query}");
    assert_eq!(
        &body["data"]["transactions"], expected,
        "affiliate={affiliate} {query}"
    );
    ops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_counts_do_not_grow_with_history() {
    let t = test_ctx().await;
    let small = creator(&t, Profile::new(Currency::Usd)).await;
    let big = creator(&t, Profile::new(Currency::Usd)).await;
    let base = 1_775_001_600; // 2026-04-01 00:00:00 UTC
    let started = std::time::Instant::now();
    let small_written = bulk(&t, small.id, 10, base).await;
    let big_written = bulk(&t, big.id, 5000, base).await;
    eprintln!("wrote 5,010 entries in {:?}", started.elapsed());

    let page1 = vec!["GetItem", "Query"];
    let later = vec!["GetItem", "GetItem", "Query"];
    let past = vec!["GetItem", "GetItem"];

    // the sample events: page 1 = 2 requests, page 2 = 3 requests
    for (user, n) in [(&small, 10usize), (&big, 5000)] {
        // page 99 of 10 exists for 5,000 entries
        let expected_past = if n > 980 { &later } else { &past };
        for (route, sample, expected_ops) in [
            (Route::Wallet, "wallet_ok", &page1),
            (Route::Wallet, "wallet_page2", &later),
            (Route::Affiliate, "affiliate_ok", &page1),
            (Route::Affiliate, "affiliate_page2", &later),
            (Route::Wallet, "wallet_past_end", expected_past),
        ] {
            t.counter.reset();
            let status = t.sample(route, sample, Some(&user.token)).await.status;
            assert_eq!(
                (status, t.counter.operations()),
                (200, expected_ops.iter().map(|s| s.to_string()).collect()),
                "{sample} {n}"
            );
        }
    }

    // first, middle, last and past-the-end pages cost the same for 10 and 5,000
    // entries; every page is checked item by item
    for (user, written) in [(&small, &small_written), (&big, &big_written)] {
        let n = written.len();
        let public: Vec<usize> = (0..n).collect();
        let affiliate: Vec<usize> = (0..n).filter(|i| i % 2 == 1).collect();
        for (is_affiliate, list) in [(false, &public), (true, &affiliate)] {
            for limit in [2usize, 3, 100] {
                let last = list.len().div_ceil(limit).max(1);
                let pages = [
                    (1, &page1),
                    (last.div_ceil(2), &later),
                    (last, &later),
                    (last + 1, &past),
                ];
                for (page, expected_ops) in pages {
                    let expected_ops = if page == 1 { &page1 } else { expected_ops };
                    let expected = expected_page(written, list, page, limit, base);
                    let ops = measured(&t, &user.token, is_affiliate, page, limit, &expected).await;
                    assert_eq!(
                        &ops, expected_ops,
                        "n={n} affiliate={is_affiliate} page={page} limit={limit}"
                    );
                }
            }
        }
    }
    // a huge page is no more expensive
    t.counter.reset();
    assert_eq!(
        t.wallet(&big.token, "page=9223372036854775807&limit=1")
            .await
            .status,
        200
    );
    assert_eq!(t.counter.operations(), past);
    assert_invariants(&t, big.id).await;
}

// ---------------------------------------------------------------------------
// Bug: commit's ClientRequestToken collides across tables
// ---------------------------------------------------------------------------

/// Two tables behind one endpoint (two stages in one AWS account, or two tests
/// on one DynamoDB Local) both hand out ids from 1. `commit` sends
/// `ClientRequestToken = "<entry id>-<attempt>"`; DynamoDB scopes the token to the
/// account and region for 10 minutes, so the second table's first money movement
/// is refused with `IdempotentParameterMismatchException` and never shows in the
/// wallet. (Plain `test_ctx()` here, on purpose: no id offset.)
#[tokio::test]
async fn money_applied_in_a_second_table_shows_in_its_wallet() {
    let mut seen = Vec::new();
    for stage in ["first", "second"] {
        let t = test_ctx().await;
        let user = creator(&t, Profile::new(Currency::Usd)).await;
        let r = t
            .apply(
                Event::product_earning(user.id, &format!("{stage}_p1"), 550)
                    .occurred_at("2026-04-20T10:15:00Z"),
            )
            .await;
        let body = t.wallet(&user.token, "").await.body_of_200();
        seen.push((
            stage,
            r.status,
            r.error,
            body["data"]["available"].clone(),
            body["data"]["transactions"]["total"].clone(),
        ));
    }
    for (stage, status, error, available, total) in seen {
        assert_eq!(
            (status, error, available, total),
            (EventStatus::Applied, None, json!(550), json!(1)),
            "{stage} table"
        );
    }
}
