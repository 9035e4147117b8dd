//! The payout lifecycle after a cashout (docs/api.md#cashout, docs/ledger.md#payouts), on DynamoDB Local:
//! `payout-admin` (approve / decline and their refusals, concurrent
//! decisions), the creator's reads `GET /api/wallet/payouts` and
//! `GET /api/wallet/payouts/{id}`, how decisions show in `GET /api/wallet`,
//! and `release-holds` (matured lots only, concurrent runs release each lot once).

use domain::ledger::EntryType;
use domain::lot::Lot;
use domain::payout::Payout;
use domain::payout::PayoutStatus;
use domain::time::{format_created_at, now_epoch, parse_rfc3339};
use futures::future::join_all;
use lambda_http::http::Method;
use lambda_http::RequestExt;
use serde_json::{json, Value};
use shared::services::ledger::EventStatus;
use shared::services::payouts::read_payout;
use shared::store::codec::Decode;
use shared::Ctx;
use std::sync::Arc;
use tests::dynamo::{assert_same_table, partition, sk_starts_with, table_items, test_ctx, TestCtx};
use tests::events::Event;
use tests::expect::paginated;
use tests::fixtures::{api_key, creator, payable_creator, Creator, Profile};
use tests::http::{
    error, load_event, ok, Req, Route, BAD_PAGE, FORBIDDEN, NOT_FOUND, UNAUTHENTICATED,
};
use tests::invariants::{buckets, check, entries};
use tests::operator::{admin_event, admin_refused, decided};
use tokio::sync::Barrier;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The reason written in `events/payout-admin_decline.json`.
const FILE_REASON: &str = "IBAN rejected by the bank";
const BAD_REASON: &str = "the decline reason must be 1 to 500 characters";

/// A held earning whose clock starts at `occurred_at`: a lot due at
/// `occurred_at + hold_seconds`.
fn held(user_id: i64, event_id: &str, amount: i64, occurred_at: &str, hold: i64) -> Event {
    Event::product_earning(user_id, event_id, amount)
        .hold_seconds(hold)
        .occurred_at(occurred_at)
}

async fn payout(ctx: &Ctx, payout_id: i64) -> Payout {
    read_payout(ctx, payout_id)
        .await
        .expect("read")
        .expect("payout exists")
}

/// A payout as the creator sees it, written out by hand except the times,
/// which come from the store (and are checked against the test's clock).
fn view(
    p: &Payout,
    id: i64,
    amount: i64,
    status: &str,
    decline_reason: Option<&str>,
    window: (i64, i64),
) -> Value {
    assert_eq!(p.payout_id, id);
    assert!((window.0..=window.1).contains(&p.requested_at), "{p:?}");
    if let Some(d) = p.decided_at {
        assert!((p.requested_at..=window.1).contains(&d), "{p:?}");
    }
    assert_eq!(p.decided_at.is_some(), status != "requested", "{p:?}");
    json!({
        "id": id,
        "amount": amount,
        "currency_code": "USD",
        "status": status,
        "requested_at": format_created_at(p.requested_at),
        "decided_at": p.decided_at.map(format_created_at),
        "decline_reason": decline_reason,
    })
}

// ---------------------------------------------------------------------------
// The sample events
// ---------------------------------------------------------------------------

#[test]
fn payouts_sample_events_have_their_routes() {
    for (name, route, path) in [
        (
            "payouts_ok",
            "GET /api/wallet/payouts",
            "/api/wallet/payouts",
        ),
        (
            "payouts_page2",
            "GET /api/wallet/payouts",
            "/api/wallet/payouts",
        ),
        (
            "payouts_past_end",
            "GET /api/wallet/payouts",
            "/api/wallet/payouts",
        ),
        (
            "payouts_bad_page",
            "GET /api/wallet/payouts",
            "/api/wallet/payouts",
        ),
        (
            "payouts_no_token",
            "GET /api/wallet/payouts",
            "/api/wallet/payouts",
        ),
        (
            "payouts_by_id",
            "GET /api/wallet/payouts/{id}",
            "/api/wallet/payouts/1",
        ),
        (
            "payouts_by_id_not_a_number",
            "GET /api/wallet/payouts/{id}",
            "/api/wallet/payouts/abc",
        ),
    ] {
        let raw = load_event(name);
        assert_eq!(raw["routeKey"], route, "{name}");
        let req = Req::sample(name).build();
        assert_eq!(req.method(), Method::GET, "{name}");
        assert_eq!(req.uri().path(), path, "{name}");
    }
    let req = Req::sample("payouts_by_id").build();
    assert_eq!(
        req.path_parameters_ref().and_then(|p| p.first("id")),
        Some("1")
    );
    assert_eq!(
        load_event("payout-admin_approve"),
        json!({"action": "approve", "payout_id": 1})
    );
    assert_eq!(load_event("payout-admin_decline")["reason"], FILE_REASON);
    assert!(parse_rfc3339(
        load_event("release-holds_now")["now"]
            .as_str()
            .unwrap_or("")
    )
    .is_some());
}

// ---------------------------------------------------------------------------
// 1. payout-admin: approve
// ---------------------------------------------------------------------------

#[tokio::test]
async fn approve_pays_out_pending_once_and_refuses_a_later_decline() {
    let (t, u) = payable_creator(2500).await;
    t.applied(held(u.id, "h1", 300, "2099-01-01T00:00:00Z", 60))
        .await;
    let id = t.cash_out(&u.token).await;
    assert_eq!(buckets(&t, u.id).await, (0, 300, 2500));

    let before = now_epoch();
    assert_eq!(t.approve(id).await, decided(id, "paid", true));
    let after = now_epoch();
    assert_eq!(buckets(&t, u.id).await, (0, 300, 0));
    let p = payout(&t, id).await;
    assert_eq!(p.status, PayoutStatus::Paid);
    assert!(
        p.decided_at.is_some_and(|d| (before..=after).contains(&d)),
        "{p:?}"
    );
    assert_eq!(p.decline_reason, None);
    check(&t, u.id).await;

    // The same decision again: a no-op.
    let snapshot = table_items(&t).await;
    assert_eq!(t.approve(id).await, decided(id, "paid", false));
    assert_same_table(&snapshot, &table_items(&t).await, "a repeated approval");

    // The other decision: refused, nothing changes.
    assert_eq!(
        t.decline(id, "too late").await,
        admin_refused(
            Some(id),
            &format!("payout {id} is already paid; it cannot be declined now")
        )
    );
    assert_same_table(
        &snapshot,
        &table_items(&t).await,
        "a decline after approval",
    );
    assert_eq!(payout(&t, id).await, p);

    // GET /api/wallet: the withdrawal is a debit, the pending entry a transfer.
    let all = entries(&t, u.id).await;
    let entry = |ty: EntryType| {
        all.iter()
            .find(|e| e.entry_type == ty)
            .cloned()
            .expect("entry")
    };
    let (pe, wd) = (entry(EntryType::Pending), entry(EntryType::Withdrawal));
    let body = t.wallet(&u.token, "").await.body_of_200();
    let d = &body["data"];
    assert_eq!(
        (&d["available"], &d["hold"], &d["pending"], &d["total"]),
        (&json!(0), &json!(300), &json!(0), &json!(300))
    );
    assert_eq!(d["transactions"]["total"], 4);
    assert_eq!(
        d["transactions"]["data"][0],
        json!({"id": wd.id, "amount": 2500, "type": "withdrawal",
               "created_at": format_created_at(wd.created_at), "title": "Payout paid",
               "direction": "debit", "currency_code": "USD"})
    );
    assert_eq!(
        d["transactions"]["data"][1],
        json!({"id": pe.id, "amount": 2500, "type": "pending",
               "created_at": format_created_at(pe.created_at), "title": "Cashout",
               "direction": "transfer", "currency_code": "USD"})
    );
    assert_eq!(wd.payout_id, Some(id));
}

// ---------------------------------------------------------------------------
// 2. payout-admin: decline
// ---------------------------------------------------------------------------

#[tokio::test]
async fn decline_returns_the_funds_which_can_be_cashed_out_again() {
    let (t, u) = payable_creator(1800).await;
    let first = t.cash_out(&u.token).await;

    // The sample event, as is but for the id.
    let out = t.admin(admin_event("payout-admin_decline", first)).await;
    assert_eq!(out, decided(first, "declined", true));
    assert_eq!(buckets(&t, u.id).await, (1800, 0, 0));
    let p = payout(&t, first).await;
    assert_eq!(
        (p.status, p.decline_reason.as_deref()),
        (PayoutStatus::Declined, Some(FILE_REASON))
    );
    check(&t, u.id).await;

    // Same decision again: a no-op that keeps the first reason.
    let snapshot = table_items(&t).await;
    assert_eq!(
        t.decline(first, "another reason").await,
        decided(first, "declined", false)
    );
    assert_same_table(&snapshot, &table_items(&t).await, "a repeated decline");
    // The other decision: refused.
    assert_eq!(
        t.approve(first).await,
        admin_refused(
            Some(first),
            &format!("payout {first} is already declined; it cannot be approved now")
        )
    );
    assert_same_table(
        &snapshot,
        &table_items(&t).await,
        "an approval after decline",
    );

    // GET /api/wallet never shows RELEASE_PENDING: two public entries.
    let body = t.wallet(&u.token, "").await.body_of_200();
    let d = &body["data"];
    assert_eq!(
        (
            &d["available"],
            &d["pending"],
            &d["cashout_available"],
            &d["cashout_blockers"]
        ),
        (&json!(1800), &json!(0), &json!(true), &json!([]))
    );
    let types: Vec<&Value> = d["transactions"]["data"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| &i["type"])
        .collect();
    assert_eq!(types, [&json!("pending"), &json!("product_earning")]);
    assert_eq!(d["transactions"]["total"], 2);
    assert!(!body.to_string().contains("RELEASE_PENDING"));

    // The money comes back out, with what arrived since.
    t.earn(u.id, "s2", 200).await;
    let second = t.cash_out(&u.token).await;
    assert_ne!(second, first);
    assert_eq!(payout(&t, second).await.amount, 2000);
    assert_eq!(buckets(&t, u.id).await, (0, 0, 2000));
    assert_eq!(t.approve(second).await, decided(second, "paid", true));
    assert_eq!(buckets(&t, u.id).await, (0, 0, 0));
    check(&t, u.id).await;
    let types: Vec<String> = t.wallet(&u.token, "").await.body_of_200()["data"]["transactions"]
        ["data"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["type"].as_str().unwrap_or("?"),
                i["direction"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            "withdrawal/debit",
            "pending/transfer",
            "product_earning/credit",
            "pending/transfer",
            "product_earning/credit"
        ]
    );
}

// ---------------------------------------------------------------------------
// 3. payout-admin: refusals change nothing
// ---------------------------------------------------------------------------

#[tokio::test]
async fn payout_admin_refusals_change_nothing() {
    let (t, u) = payable_creator(990).await;
    let id = t.cash_out(&u.token).await;
    let snapshot = table_items(&t).await;

    let long = "r".repeat(501);
    let cases: Vec<(Value, Value)> = vec![
        (
            admin_event("payout-admin_decline_no_reason", id),
            admin_refused(Some(id), "a decline needs a reason"),
        ),
        (
            json!({"action": "decline", "payout_id": id, "reason": null}),
            admin_refused(Some(id), "a decline needs a reason"),
        ),
        (
            json!({"action": "decline", "payout_id": id, "reason": ""}),
            admin_refused(Some(id), BAD_REASON),
        ),
        (
            json!({"action": "decline", "payout_id": id, "reason": " \t\n "}),
            admin_refused(Some(id), BAD_REASON),
        ),
        (
            json!({"action": "decline", "payout_id": id, "reason": long}),
            admin_refused(Some(id), BAD_REASON),
        ),
        (
            json!({"action": "approve", "payout_id": id, "reason": "why not"}),
            admin_refused(Some(id), "an approval takes no reason"),
        ),
        (
            admin_event("payout-admin_bad_action", id),
            admin_refused(
                Some(id),
                "action must be approve or decline, not \"cancel\"",
            ),
        ),
        (
            json!({"action": "approve", "payout_id": 987_654_321}),
            admin_refused(Some(987_654_321), "payout 987654321 does not exist"),
        ),
        (
            json!({"action": "decline", "payout_id": 987_654_321, "reason": "x"}),
            admin_refused(Some(987_654_321), "payout 987654321 does not exist"),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(t.admin(input.clone()).await, expected, "{input}");
        assert_same_table(&snapshot, &table_items(&t).await, &input.to_string());
    }
    // Malformed inputs: no payout id to report.
    for input in [
        json!({"action": "approve"}),
        json!({"action": "approve", "payout_id": "1"}),
        json!({"action": "approve", "payout_id": id, "extra": true}),
        json!([]),
        json!(null),
    ] {
        let out = t.admin(input.clone()).await;
        assert_eq!(
            (&out["payout_id"], &out["status"], &out["changed"]),
            (&Value::Null, &Value::Null, &json!(false)),
            "{input} -> {out}"
        );
        assert!(
            out["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("invalid request: ")),
            "{input} -> {out}"
        );
        assert_same_table(&snapshot, &table_items(&t).await, &input.to_string());
    }
    assert_eq!(payout(&t, id).await.status, PayoutStatus::Requested);

    // A 500-character reason is fine and kept exactly.
    let reason = "r".repeat(500);
    assert_eq!(t.decline(id, &reason).await, decided(id, "declined", true));
    assert_eq!(payout(&t, id).await.decline_reason, Some(reason));
    check(&t, u.id).await;
}

// ---------------------------------------------------------------------------
// 4. Concurrent decisions
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_decisions_decide_a_payout_exactly_once() {
    let (t, u) = payable_creator(0).await;
    for round in 0..6 {
        t.earn(u.id, &format!("s{round}"), 1000 + round).await;
        let (a, _, p) = buckets(&t, u.id).await;
        let id = t.cash_out(&u.token).await;
        let amount = payout(&t, id).await.amount;
        assert_eq!(amount, a);

        let barrier = Arc::new(Barrier::new(20));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let ctx = t.clone();
                let barrier = barrier.clone();
                // Round 0: approvals only; round 1: declines only; then both.
                let approve = match round {
                    0 => true,
                    1 => false,
                    _ => i % 2 == 0,
                };
                tokio::spawn(async move {
                    barrier.wait().await;
                    let input = if approve {
                        json!({"action": "approve", "payout_id": id})
                    } else {
                        json!({"action": "decline", "payout_id": id, "reason": format!("r{i}")})
                    };
                    (approve, ctx.admin(input).await)
                })
            })
            .collect();
        let outs: Vec<(bool, Value)> = join_all(tasks)
            .await
            .into_iter()
            .map(|r| r.expect("task"))
            .collect();
        let winners: Vec<&(bool, Value)> =
            outs.iter().filter(|(_, o)| o["changed"] == true).collect();
        assert_eq!(winners.len(), 1, "round {round}: {outs:?}");
        let won_approve = winners[0].0;
        let status = if won_approve { "paid" } else { "declined" };
        for (approve, out) in &outs {
            if out["changed"] == true {
                assert_eq!(out, &decided(id, status, true));
            } else if *approve == won_approve {
                assert_eq!(out, &decided(id, status, false), "round {round}");
            } else {
                let wanted = if *approve { "approved" } else { "declined" };
                assert_eq!(
                    out,
                    &admin_refused(
                        Some(id),
                        &format!("payout {id} is already {status}; it cannot be {wanted} now")
                    ),
                    "round {round}"
                );
            }
        }
        let expected = if won_approve {
            (0, 0, p)
        } else {
            (amount, 0, p)
        };
        assert_eq!(buckets(&t, u.id).await, expected, "round {round}");
        check(&t, u.id).await;
    }
}

// ---------------------------------------------------------------------------
// 5. GET /api/wallet/payouts
// ---------------------------------------------------------------------------

/// A user with three payouts: paid 1000, declined 2000, requested 5000.
async fn three_payouts(t: &TestCtx) -> (Creator, [i64; 3], (i64, i64)) {
    let u = creator(t, Profile::payable()).await;
    let start = now_epoch();
    t.earn(u.id, "p1", 1000).await;
    let p1 = t.cash_out(&u.token).await;
    assert_eq!(t.approve(p1).await, decided(p1, "paid", true));
    t.earn(u.id, "p2", 2000).await;
    let p2 = t.cash_out(&u.token).await;
    assert_eq!(
        t.decline(p2, "Account closed").await,
        decided(p2, "declined", true)
    );
    t.earn(u.id, "p3", 3000).await;
    let p3 = t.cash_out(&u.token).await;
    (u, [p1, p2, p3], (start, now_epoch()))
}

/// The stored payouts of these ids.
async fn stored_payouts(t: &TestCtx, ids: [i64; 3]) -> [Payout; 3] {
    let [a, b, c] = ids;
    [payout(t, a).await, payout(t, b).await, payout(t, c).await]
}

#[tokio::test]
async fn payouts_list_pages_newest_first() {
    let t = test_ctx().await;
    let (u, [p1, p2, p3], window) = three_payouts(&t).await;
    let [s1, s2, s3] = stored_payouts(&t, [p1, p2, p3]).await;
    let v1 = view(&s1, p1, 1000, "paid", None, window);
    let v2 = view(&s2, p2, 2000, "declined", Some("Account closed"), window);
    let v3 = view(&s3, p3, 5000, "requested", None, window);
    let authed = |name: &str| Req::sample(name).token(&u.token).build();

    assert_eq!(
        t.send(Route::Payouts, authed("payouts_ok")).await,
        (
            200,
            ok(paginated(
                vec![v3.clone(), v2.clone(), v1.clone()],
                1,
                10,
                3,
                1,
                Some(1),
                Some(3)
            ))
        )
    );
    // page=2&limit=2
    assert_eq!(
        t.send(Route::Payouts, authed("payouts_page2")).await,
        (
            200,
            ok(paginated(vec![v1.clone()], 2, 2, 3, 2, Some(3), Some(3)))
        )
    );
    // page=99&limit=2: past the end is not an error.
    assert_eq!(
        t.send(Route::Payouts, authed("payouts_past_end")).await,
        (200, ok(paginated(vec![], 99, 2, 3, 2, None, None)))
    );
    assert_eq!(
        t.send(Route::Payouts, authed("payouts_bad_page")).await,
        (422, error(BAD_PAGE))
    );

    // A fourth payout becomes the first item of page 1.
    t.earn(u.id, "p4", 1).await;
    let p4 = t.cash_out(&u.token).await;
    let body = t.send(Route::Payouts, authed("payouts_page2")).await.body;
    assert_eq!(body["data"]["data"], json!([v2, v1]));
    let body = t.send(Route::Payouts, authed("payouts_ok")).await.body;
    assert_eq!(body["data"]["data"][0]["id"], p4);
    assert_eq!(body["data"]["data"][0]["amount"], 1);
    assert_eq!(body["data"]["total"], 4);

    // Another user sees only their own (none).
    let other = creator(&t, Profile::payable()).await;
    assert_eq!(
        t.sample(Route::Payouts, "payouts_ok", Some(&other.token))
            .await,
        (200, ok(paginated(vec![], 1, 10, 0, 1, None, None)))
    );
    check(&t, u.id).await;
}

#[tokio::test]
async fn payouts_list_refuses_what_it_must() {
    let t = test_ctx().await;
    let (u, _, _) = three_payouts(&t).await;
    assert_eq!(
        t.send(Route::Payouts, Req::sample("payouts_no_token").build())
            .await,
        (401, error(UNAUTHENTICATED))
    );
    let key = api_key(&t, u.id).await;
    assert_eq!(
        t.sample(Route::Payouts, "payouts_ok", Some(&key)).await,
        (403, error(FORBIDDEN))
    );
    // Authentication comes before the page check.
    let mut bad = Req::sample("payouts_bad_page").build();
    bad.headers_mut().remove("authorization");
    assert_eq!(
        t.send(Route::Payouts, bad).await,
        (401, error(UNAUTHENTICATED))
    );
    shared::services::users::delete_user(&t, u.id)
        .await
        .expect("delete");
    assert_eq!(
        t.sample(Route::Payouts, "payouts_ok", Some(&u.token)).await,
        (401, error(UNAUTHENTICATED))
    );
}

// ---------------------------------------------------------------------------
// 6. GET /api/wallet/payouts/{id}
// ---------------------------------------------------------------------------

#[tokio::test]
async fn payout_by_id_shows_own_payouts_only() {
    let t = test_ctx().await;
    let (u, [p1, p2, p3], window) = three_payouts(&t).await;
    let [s1, s2, s3] = stored_payouts(&t, [p1, p2, p3]).await;
    assert_eq!(
        t.payout(&u.token, &p1.to_string()).await,
        (200, ok(view(&s1, p1, 1000, "paid", None, window)))
    );
    assert_eq!(
        t.payout(&u.token, &p2.to_string()).await,
        (
            200,
            ok(view(
                &s2,
                p2,
                2000,
                "declined",
                Some("Account closed"),
                window
            ))
        )
    );
    assert_eq!(
        t.payout(&u.token, &p3.to_string()).await,
        (200, ok(view(&s3, p3, 5000, "requested", None, window)))
    );
    // The sample event as is: id 1 is the user's id here, not a payout.
    assert!(![p1, p2, p3].contains(&1));
    assert_eq!(
        t.sample(Route::Payouts, "payouts_by_id", Some(&u.token))
            .await,
        (404, error(NOT_FOUND))
    );

    // Someone else's payout is as unknown as one that does not exist.
    let other = creator(&t, Profile::payable()).await;
    t.earn(other.id, "o", 77).await;
    let theirs = t.cash_out(&other.token).await;
    assert_eq!(
        t.payout(&u.token, &theirs.to_string()).await,
        (404, error(NOT_FOUND))
    );
    assert_eq!(
        t.payout(&other.token, &p1.to_string()).await,
        (404, error(NOT_FOUND))
    );
    assert_eq!(
        t.payout(&other.token, &theirs.to_string()).await.status,
        200
    );
    // Ids that are not payouts, or not ids at all.
    let last = t.next_id().await.expect("id");
    assert_eq!(
        t.payout(&u.token, &last.to_string()).await,
        (404, error(NOT_FOUND))
    );
    assert_eq!(
        t.payout(&u.token, &u.id.to_string()).await,
        (404, error(NOT_FOUND))
    );
    assert_eq!(
        t.sample(Route::Payouts, "payouts_by_id_not_a_number", Some(&u.token))
            .await,
        (404, error(NOT_FOUND))
    );
    for bad in ["0", "-1", "1.0", "9007199254740992"] {
        assert_eq!(
            t.send(
                Route::PayoutById,
                Req::route(Route::PayoutById)
                    .payout_id(bad)
                    .token(&u.token)
                    .build()
            )
            .await,
            (404, error(NOT_FOUND)),
            "{bad}"
        );
    }
    // Leading zeros name the same id.
    assert_eq!(
        t.send(
            Route::PayoutById,
            Req::route(Route::PayoutById)
                .payout_id(&format!("00{p1}"))
                .token(&u.token)
                .build()
        )
        .await
        .status,
        200
    );

    // Authentication first: no token, an API key.
    assert_eq!(
        t.send(
            Route::PayoutById,
            Req::route(Route::PayoutById)
                .payout_id(&p1.to_string())
                .authorization(None)
                .build()
        )
        .await,
        (401, error(UNAUTHENTICATED))
    );
    assert_eq!(
        t.send(
            Route::PayoutById,
            Req::route(Route::PayoutById)
                .payout_id("abc")
                .authorization(None)
                .build()
        )
        .await,
        (401, error(UNAUTHENTICATED))
    );
    let key = api_key(&t, u.id).await;
    assert_eq!(
        t.payout(&key, &p1.to_string()).await,
        (403, error(FORBIDDEN))
    );
}

#[tokio::test]
async fn the_cashout_location_leads_to_the_payout() {
    let (t, u) = payable_creator(4242).await;
    let location = t
        .cashout(&u.token, None)
        .await
        .location()
        .expect("location");
    let id = location.rsplit('/').next().expect("id").to_owned();
    // The request API Gateway makes of that path.
    let req = Req::route(Route::PayoutById)
        .payout_id(&id)
        .token(&u.token)
        .build();
    assert_eq!(req.uri().path(), location);
    let body = t.send(Route::PayoutById, req).await.body_of_200();
    assert_eq!(body["data"]["id"].to_string(), id);
    assert_eq!(body["data"]["amount"], 4242);
    assert_eq!(body["data"]["status"], "requested");
}

#[tokio::test]
async fn a_deleted_users_token_cannot_read_a_payout() {
    // docs/api.md#authentication: tokens of a deleted user get 401 on every public route.
    let (t, u) = payable_creator(500).await;
    let id = t.cash_out(&u.token).await;
    assert_eq!(t.payout(&u.token, &id.to_string()).await.status, 200);
    shared::services::users::delete_user(&t, u.id)
        .await
        .expect("delete");
    assert_eq!(
        t.payout(&u.token, &id.to_string()).await,
        (401, error(UNAUTHENTICATED))
    );
}

// ---------------------------------------------------------------------------
// 7. release-holds
// ---------------------------------------------------------------------------

async fn lots(ctx: &Ctx, user_id: i64) -> Vec<Lot> {
    partition(ctx, user_id)
        .await
        .iter()
        .filter(|i| sk_starts_with(i, "LOT#"))
        .map(|i| Lot::from_item(i).expect("lot"))
        .collect()
}

fn released_of(all: &[Lot], hold_event_id: &str) -> bool {
    all.iter()
        .find(|l| l.hold_event_id == hold_event_id)
        .unwrap_or_else(|| panic!("no lot {hold_event_id}"))
        .released
}

#[tokio::test]
async fn release_holds_releases_matured_lots_only() {
    let (t, u) = payable_creator(0).await;
    let uid = u.id;
    t.earn(uid, "avail", 1000).await;
    // Due exactly at release-holds_now (2099-01-01T01:00:00Z).
    t.applied(held(uid, "due-at-now", 100, "2099-01-01T00:00:00Z", 3600))
        .await;
    // Due one second later.
    t.applied(held(uid, "due-later", 20, "2099-01-01T00:00:00Z", 3601))
        .await;
    // Due the day before.
    t.applied(held(uid, "due-before", 3, "2098-12-31T00:00:00Z", 60))
        .await;
    // An operator hold: no release time, never released by the schedule.
    t.applied(Event::hold(uid, "op-hold", 400).title("Dispute"))
        .await;
    assert_eq!(buckets(&t, uid).await, (600, 523, 0));

    // A bad time: refused, nothing changes.
    let snapshot = table_items(&t).await;
    assert_eq!(
        t.release_holds(load_event("release-holds_bad_now")).await,
        json!({"error": "now must be an RFC 3339 time"})
    );
    assert_same_table(&snapshot, &table_items(&t).await, "a bad now");
    // The real clock (a schedule event without "now"): nothing is due yet.
    assert_eq!(
        t.release_holds(load_event("release-holds_schedule")).await,
        json!({"released": 0, "already_released": 0})
    );
    assert_same_table(&snapshot, &table_items(&t).await, "a run with nothing due");

    // One second before: only the lot of the day before.
    assert_eq!(
        t.release_holds(load_event("release-holds_before_due"))
            .await,
        json!({"released": 1, "already_released": 0})
    );
    assert_eq!(buckets(&t, uid).await, (603, 520, 0));
    // At the due second: the lot due then.
    assert_eq!(
        t.release_holds(load_event("release-holds_now")).await,
        json!({"released": 1, "already_released": 0})
    );
    assert_eq!(buckets(&t, uid).await, (703, 420, 0));
    // Again: nothing left to do.
    assert_eq!(
        t.release_holds(load_event("release-holds_now")).await,
        json!({"released": 0, "already_released": 0})
    );
    let all = lots(&t, uid).await;
    assert!(released_of(&all, "due-at-now") && released_of(&all, "due-before"));
    assert!(!released_of(&all, "due-later") && !released_of(&all, "op-hold"));

    // Each release is one public `release_hold` entry dated at the run's time.
    let releases: Vec<_> = entries(&t, uid)
        .await
        .into_iter()
        .filter(|e| e.entry_type == EntryType::ReleaseHold)
        .collect();
    let mut seen: Vec<(i64, String)> = releases
        .iter()
        .map(|e| (e.amount, format_created_at(e.created_at)))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (3, "2099-01-01 00:59:59".to_owned()),
            (100, "2099-01-01 01:00:00".to_owned())
        ]
    );
    assert!(releases
        .iter()
        .all(|e| e.title.as_deref() == Some("Hold released")));
    check(&t, uid).await;

    // Far later, the second lot too; the operator hold stays.
    assert_eq!(
        t.release_holds(json!({"now": "2100-01-01T00:00:00Z"}))
            .await,
        json!({"released": 1, "already_released": 0})
    );
    assert_eq!(buckets(&t, uid).await, (723, 400, 0));
    // Released money can be cashed out; the operator hold cannot.
    let id = t.cash_out(&u.token).await;
    assert_eq!(payout(&t, id).await.amount, 723);
    assert_eq!(buckets(&t, uid).await, (0, 400, 723));
    check(&t, uid).await;
}

#[tokio::test]
async fn the_schedule_releases_what_is_due_by_the_real_clock() {
    let (t, u) = payable_creator(0).await;
    t.applied(held(u.id, "old", 250, "2020-01-01T00:00:00Z", 3600))
        .await;
    t.applied(held(u.id, "future", 70, "2099-01-01T00:00:00Z", 60))
        .await;
    let before = now_epoch();
    assert_eq!(
        t.release_holds(load_event("release-holds_schedule")).await,
        json!({"released": 1, "already_released": 0})
    );
    assert_eq!(buckets(&t, u.id).await, (250, 70, 0));
    let e = entries(&t, u.id)
        .await
        .into_iter()
        .find(|e| e.entry_type == EntryType::ReleaseHold)
        .expect("release entry");
    assert!((before..=now_epoch()).contains(&e.created_at));
    check(&t, u.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_runs_release_each_lot_once() {
    let t = test_ctx().await;
    // Users land in different shards of the due index.
    let mut users = Vec::new();
    for _ in 0..5 {
        users.push(creator(&t, Profile::payable()).await);
    }
    let mut expected_hold = vec![0i64; users.len()];
    let mut released_amounts = vec![Vec::<i64>::new(); users.len()];
    for round in 0..4i64 {
        // Each round: due lots, lots due one second after the run, operator holds.
        let now = 4_070_908_800 + round * 86_400; // 2099-01-01 + round days
        let at = |secs: i64| {
            chrono::DateTime::from_timestamp(secs, 0)
                .expect("time")
                .to_rfc3339()
        };
        let mut due = 0;
        for (n, u) in users.iter().enumerate() {
            for k in 0..(3 + n as i64) {
                let amount = 1 + round * 1000 + n as i64 * 100 + k;
                // Due at `now` (k = 0) or k minutes before.
                t.applied(held(
                    u.id,
                    &format!("d{round}-{n}-{k}"),
                    amount,
                    &at(now - 3600 - k * 60),
                    3600,
                ))
                .await;
                released_amounts[n].push(amount);
                due += 1;
            }
            t.applied(held(u.id, &format!("l{round}-{n}"), 5, &at(now - 10), 11))
                .await;
            expected_hold[n] += 5;
            t.earn(u.id, &format!("a{round}-{n}"), 9).await;
            t.applied(Event::hold(u.id, &format!("o{round}-{n}"), 9))
                .await;
            expected_hold[n] += 9;
        }

        let barrier = Arc::new(Barrier::new(2));
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let ctx = t.clone();
                let barrier = barrier.clone();
                let input = json!({"now": at(now)});
                tokio::spawn(async move {
                    barrier.wait().await;
                    ctx.release_holds(input).await
                })
            })
            .collect();
        let outs: Vec<Value> = join_all(runs)
            .await
            .into_iter()
            .map(|r| r.expect("run"))
            .collect();
        let released: u64 = outs
            .iter()
            .map(|o| o["released"].as_u64().expect("released"))
            .sum();
        assert_eq!(released, due, "round {round}: {outs:?}");
        for o in &outs {
            let (r, a) = (
                o["released"].as_u64().unwrap_or(0),
                o["already_released"].as_u64().unwrap_or(0),
            );
            assert!(r + a <= due, "round {round}: {o}");
        }
        // A third run finds nothing.
        assert_eq!(
            t.release_holds(json!({"now": at(now)})).await,
            json!({"released": 0, "already_released": 0}),
            "round {round}"
        );

        for (n, u) in users.iter().enumerate() {
            let (_, hold, _) = buckets(&t, u.id).await;
            assert_eq!(hold, expected_hold[n], "round {round}, user {n}");
            let mut got: Vec<i64> = entries(&t, u.id)
                .await
                .into_iter()
                .filter(|e| e.entry_type == EntryType::ReleaseHold)
                .map(|e| e.amount)
                .collect();
            got.sort_unstable();
            let mut want = released_amounts[n].clone();
            want.sort_unstable();
            assert_eq!(
                got, want,
                "round {round}, user {n}: each due lot released once"
            );
            check(&t, u.id).await;
        }
        // The not-yet-due lots of this round become due the next second.
        let out = t.release_holds(json!({"now": at(now + 1)})).await;
        assert_eq!(out, json!({"released": users.len(), "already_released": 0}));
        for (n, u) in users.iter().enumerate() {
            expected_hold[n] -= 5;
            released_amounts[n].push(5);
            assert_eq!(buckets(&t, u.id).await.1, expected_hold[n]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_racing_a_release_hold_event_releases_the_lot_once() {
    let (t, u) = payable_creator(0).await;
    for i in 0..10 {
        let lot = format!("lot{i}");
        t.applied(held(u.id, &lot, 100 + i, "2020-01-01T00:00:00Z", 60))
            .await;
        let ctx1 = t.clone();
        let ctx2 = t.clone();
        let event = Event::release_hold(u.id, &format!("rel{i}"), &lot);
        let barrier = Arc::new(Barrier::new(2));
        let (b1, b2) = (barrier.clone(), barrier);
        let run = tokio::spawn(async move {
            b1.wait().await;
            ctx1.release_holds(json!({})).await
        });
        let ev = tokio::spawn(async move {
            b2.wait().await;
            ctx2.apply(event).await
        });
        let (run, ev) = (run.await.expect("run"), ev.await.expect("event"));
        let by_run = run["released"].as_u64().expect("released");
        let by_event = u64::from(ev.status == EventStatus::Applied);
        assert_eq!(by_run + by_event, 1, "{run} {ev:?}");
        if by_event == 0 {
            assert_eq!(ev.status, EventStatus::Rejected, "{ev:?}");
            assert_eq!(
                ev.error.as_deref(),
                Some(format!("hold lot \"lot{i}\" is already released").as_str())
            );
        }
        assert_eq!(buckets(&t, u.id).await.1, 0);
        check(&t, u.id).await;
    }
}

#[tokio::test]
async fn a_run_with_a_stale_view_of_a_lot_counts_it_as_already_released() {
    // Two runs read the due index at the same time; one releases the lot, the
    // other then tries the same lot with what it read. That must count as
    // `already_released`, not fail the run.
    let (t, u) = payable_creator(0).await;
    t.applied(held(u.id, "only", 100, "2020-01-01T00:00:00Z", 60))
        .await;
    let lot = shared::store::read::read_lot(&t, u.id, "only")
        .await
        .expect("read lot")
        .expect("lot");
    let now = now_epoch();
    assert_eq!(
        shared::services::holds::release_lot(&t, &lot, now)
            .await
            .ok(),
        Some(true)
    );
    let snapshot = table_items(&t).await;
    match shared::services::holds::release_lot(&t, &lot, now).await {
        Ok(false) => {}
        other => panic!("the second release of a lot must be Ok(false), got {other:?}"),
    }
    assert_same_table(&snapshot, &table_items(&t).await, "a second release");
    assert_eq!(buckets(&t, u.id).await, (100, 0, 0));
    check(&t, u.id).await;
}
