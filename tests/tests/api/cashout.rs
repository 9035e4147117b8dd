//! `POST /api/wallet/cashout` (docs/api.md#cashout, docs/ledger.md) through the `cashout`
//! handler, on DynamoDB Local: the envelope and `Location`, the preconditions
//! in the documented order, `Idempotency-Key` (replay, scope, retry after a
//! refusal, 409 in flight, bad keys), concurrency (50 cashouts at once, over
//! many rounds; cashouts racing earnings, hold releases and decisions), the
//! DynamoDB cost of one cashout, and injected failures.
//!
//! Every rejected request is checked against a snapshot of the whole table:
//! "a rejected request changes nothing" is asserted, not assumed.

use domain::currency::Currency;
use domain::ledger::EntryType;
use domain::payout::{Payout, PayoutStatus};
use domain::time::{format_created_at, now_epoch};
use futures::future::join_all;
use lambda_http::http::{HeaderValue, Method};
use lambda_http::Request;
use serde_json::{json, Value};
use shared::services::idempotency::{self, Claim};
use shared::services::ledger::EventStatus;
use shared::services::payouts::list_payouts;
use shared::store::codec::Record;
use shared::store::ids::DEFAULT_BLOCK_SIZE;
use shared::store::item::Item;
use shared::store::keys;
use shared::Ctx;
use std::sync::Arc;
use tests::dynamo::{
    assert_same_table, delete_raw, get_raw, item_key, put_raw, table_items, test_ctx,
    test_ctx_with, TestCtx,
};
use tests::events::Event;
use tests::fixtures::{
    api_key, creator, eur_details, gbp_details, payable_creator, usd_details, Profile,
};
use tests::http::{
    assert_created, assert_refused, cashout_request, load_event, ok, Reply, Req, Route, BAD_KEY,
    CREATED, FORBIDDEN, UNAUTHENTICATED,
};
use tests::invariants::{account, buckets, check, entries, payouts_of};
use tokio::sync::Barrier;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const NO_FUNDS: &str = "No available funds";
const NO_DETAILS: &str = "Payout details are missing.";
const IN_FLIGHT: &str = "A request with this Idempotency-Key is still in progress.";
const SERVER_ERROR: &str = "Server Error";
/// The key written in `events/cashout_idempotency_key.json`.
const FILE_KEY: &str = "cashout-2026-04-20-0001";

fn created() -> Value {
    ok(json!(CREATED))
}

/// Cashouts of `token`, with each of `keys` (or none), are refused with
/// (status, message), and the table is as it was.
async fn assert_cashouts_refused(
    t: &TestCtx,
    token: &str,
    keys: &[Option<&str>],
    (status, message): (u16, &str),
    what: &str,
) {
    let before = table_items(t).await;
    for key in keys {
        assert_refused(&t.cashout(token, *key).await, status, message);
    }
    assert_same_table(&before, &table_items(t).await, what);
}

async fn idempotency_record(ctx: &Ctx, user_id: i64, key: &str) -> Option<Item> {
    get_raw(
        ctx,
        keys::idempotency_pk(user_id, key),
        keys::IDEMPOTENCY_SK,
    )
    .await
}

/// Takes ids until the current block has at least `needed` left, so the next
/// `needed` ids cost no counter update. Returns the last id taken.
async fn warm_ids(t: &TestCtx, needed: i64) -> i64 {
    loop {
        let id = t.next_id().await.expect("next id");
        let left = (DEFAULT_BLOCK_SIZE - id % DEFAULT_BLOCK_SIZE) % DEFAULT_BLOCK_SIZE;
        if left >= needed {
            return id;
        }
    }
}

/// `n` cashouts of one wallet, released at the same moment.
async fn concurrent_cashouts(t: &TestCtx, token: &str, keys: Vec<Option<String>>) -> Vec<Reply> {
    let barrier = Arc::new(Barrier::new(keys.len()));
    let tasks: Vec<_> = keys
        .into_iter()
        .map(|key| {
            let ctx = t.clone();
            let req = cashout_request(token, key.as_deref());
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                ctx.send(Route::Cashout, req).await
            })
        })
        .collect();
    join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("cashout task"))
        .collect()
}

// ---------------------------------------------------------------------------
// The sample events
// ---------------------------------------------------------------------------

#[test]
fn cashout_sample_events_are_posts_to_the_cashout_route() {
    for name in [
        "cashout_ok",
        "cashout_no_token",
        "cashout_malformed_token",
        "cashout_idempotency_key",
        "cashout_bad_idempotency_key",
        "cashout_with_body",
    ] {
        let raw = load_event(name);
        assert_eq!(raw["routeKey"], "POST /api/wallet/cashout", "{name}");
        assert_eq!(raw["rawPath"], "/api/wallet/cashout", "{name}");
        let req = Req::sample(name).build();
        assert_eq!(req.method(), Method::POST, "{name}");
        assert_eq!(req.uri().path(), "/api/wallet/cashout", "{name}");
    }
    assert_eq!(
        Req::sample("cashout_idempotency_key").build().headers()
            [shared::http::request::IDEMPOTENCY_KEY],
        FILE_KEY
    );
}

// ---------------------------------------------------------------------------
// 1. The happy path
// ---------------------------------------------------------------------------

#[tokio::test]
async fn cashout_moves_the_whole_available_balance_into_pending() {
    let (t, u) = payable_creator(0).await;
    t.earn(u.id, "sale-1", 1250).await;
    t.earn(u.id, "sale-2", 750).await;
    t.applied(Event::product_earning(u.id, "held-1", 300).hold_seconds(3600))
        .await;
    assert_eq!(buckets(&t, u.id).await, (2000, 300, 0));

    let before = now_epoch();
    let r = t
        .send(Route::Cashout, cashout_request(&u.token, None))
        .await;
    let after = now_epoch();
    let payout_id = assert_created(&r);
    // The exact bytes of the body, too.
    assert_eq!(
        r.text,
        r#"{"success":true,"errors_message":null,"data":"Cashout created successfully"}"#
    );
    assert_eq!(
        r.location(),
        Some(format!("/api/wallet/payouts/{payout_id}"))
    );

    assert_eq!(buckets(&t, u.id).await, (0, 300, 2000));
    let payouts = payouts_of(&t, u.id).await;
    assert_eq!(payouts.len(), 1);
    let p = &payouts[0];
    assert_eq!(p.payout_id, payout_id);
    assert_eq!(p.amount, 2000);
    assert_eq!(p.currency, Currency::Usd);
    assert_eq!(p.status, PayoutStatus::Requested);
    assert_eq!(p.seq, 1);
    assert!((before..=after).contains(&p.requested_at), "{p:?}");
    assert_eq!((p.decided_at, p.decline_reason.as_deref()), (None, None));
    // The payout keeps the details of the time of the request.
    assert_eq!(
        p.payout_details
            .as_deref()
            .map(|d| serde_json::from_str::<Value>(d).unwrap()),
        Some(usd_details())
    );
    check(&t, u.id).await;

    // The ledger: one public `pending` entry (a transfer) for the payout.
    let pending: Vec<_> = entries(&t, u.id)
        .await
        .into_iter()
        .filter(|e| e.entry_type == EntryType::Pending)
        .collect();
    assert_eq!(pending.len(), 1);
    let e = &pending[0];
    assert_eq!((e.amount, e.payout_id), (2000, Some(payout_id)));
    assert!((before..=after).contains(&e.created_at));

    // GET /api/wallet shows it, newest first, as a transfer.
    let body = t.wallet(&u.token, "").await.body_of_200();
    let data = &body["data"];
    assert_eq!(
        (
            &data["available"],
            &data["hold"],
            &data["pending"],
            &data["total"],
            &data["cashout_available"],
            &data["cashout_blockers"]
        ),
        (
            &json!(0),
            &json!(300),
            &json!(2000),
            &json!(2300),
            &json!(false),
            &json!(["no_available_funds"])
        )
    );
    assert_eq!(data["transactions"]["total"], 4);
    assert_eq!(
        data["transactions"]["data"][0],
        json!({"id": e.id, "amount": 2000, "type": "pending",
               "created_at": format_created_at(e.created_at), "title": "Cashout",
               "direction": "transfer", "currency_code": "USD"})
    );

    // Nothing left: the next cashout is refused.
    assert_refused(&t.cashout(&u.token, None).await, 422, NO_FUNDS);
    check(&t, u.id).await;
}

#[tokio::test]
async fn cashout_ignores_a_request_body() {
    let (t, u) = payable_creator(4321).await;
    let req = Req::sample("cashout_with_body").token(&u.token).build();
    let r = t.send(Route::Cashout, req).await;
    assert_created(&r);
    // The body asked for 1 cent; the whole balance was cashed out.
    assert_eq!(buckets(&t, u.id).await, (0, 0, 4321));
    assert_eq!(payouts_of(&t, u.id).await[0].amount, 4321);
    check(&t, u.id).await;
}

#[tokio::test]
async fn cashouts_in_eur_and_gbp_use_their_own_details() {
    let t = test_ctx().await;
    let eur = creator(&t, Profile::new(Currency::Eur).details(eur_details())).await;
    let gbp = creator(&t, Profile::new(Currency::Gbp).details(gbp_details())).await;
    t.earn(eur.id, "e", 999).await;
    t.earn(gbp.id, "g", 1).await;
    assert_created(&t.cashout(&eur.token, None).await);
    assert_created(&t.cashout(&gbp.token, None).await);
    let pe = &payouts_of(&t, eur.id).await[0];
    let pg = &payouts_of(&t, gbp.id).await[0];
    assert_eq!((pe.amount, pe.currency), (999, Currency::Eur));
    assert_eq!((pg.amount, pg.currency), (1, Currency::Gbp));
    check(&t, eur.id).await;
    check(&t, gbp.id).await;
}

// ---------------------------------------------------------------------------
// 2. Refusals: exact status and message, and nothing changes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn unauthenticated_cashouts_are_401_and_change_nothing() {
    let (t, u) = payable_creator(1000).await;
    let before = table_items(&t).await;

    let (token_id, _) = u.token.split_once('|').expect("sanctum token");
    let cases: Vec<(&str, Request)> = vec![
        ("no token", Req::sample("cashout_no_token").build()),
        (
            "malformed token",
            Req::sample("cashout_malformed_token").build(),
        ),
        (
            "wrong secret",
            cashout_request(&format!("{token_id}|not-the-secret"), None),
        ),
        (
            "unknown token id",
            cashout_request("999999999|secret", None),
        ),
        (
            "basic scheme",
            Req::sample("cashout_ok")
                .authorization(Some(&format!("Basic {}", u.token)))
                .build(),
        ),
        // Authentication comes before the key check.
        ("no token, bad key", {
            let mut r = Req::sample("cashout_bad_idempotency_key").build();
            r.headers_mut().remove("authorization");
            r
        }),
    ];
    for (what, req) in cases {
        let r = t.send(Route::Cashout, req).await;
        assert_refused(&r, 401, UNAUTHENTICATED);
        assert_same_table(&before, &table_items(&t).await, what);
    }
    // The bearer scheme word is case-insensitive.
    let req = Req::sample("cashout_ok")
        .authorization(Some(&format!("bEaReR {}", u.token)))
        .build();
    assert_created(&t.send(Route::Cashout, req).await);
}

#[tokio::test]
async fn api_keys_get_403_and_change_nothing() {
    let (t, u) = payable_creator(1000).await;
    let key = api_key(&t, u.id).await;
    let before = table_items(&t).await;
    for (what, req) in [
        ("no idempotency key", cashout_request(&key, None)),
        ("an idempotency key", cashout_request(&key, Some("k-1"))),
        (
            "a bad idempotency key",
            Req::sample("cashout_bad_idempotency_key")
                .token(&key)
                .build(),
        ),
    ] {
        assert_refused(&t.send(Route::Cashout, req).await, 403, FORBIDDEN);
        assert_same_table(&before, &table_items(&t).await, what);
    }
    assert_eq!(idempotency_record(&t, u.id, "k-1").await, None);
    assert_eq!(buckets(&t, u.id).await, (1000, 0, 0));
}

#[tokio::test]
async fn cashout_without_positive_available_is_no_available_funds() {
    let (t, u) = payable_creator(0).await;
    let no_funds = (422, NO_FUNDS);

    // Nothing at all.
    assert_cashouts_refused(&t, &u.token, &[None], no_funds, "an empty wallet").await;

    // Only held money.
    t.applied(Event::product_earning(u.id, "held", 500).hold_seconds(3600))
        .await;
    let keys = [None, Some("k-held")];
    assert_cashouts_refused(&t, &u.token, &keys, no_funds, "held money only").await;

    // A debt: available below zero.
    t.earn(u.id, "s", 100).await;
    t.applied(Event::fee(u.id, "fee", 250)).await;
    assert_eq!(buckets(&t, u.id).await, (-150, 500, 0));
    let keys = [None, Some("k-debt")];
    assert_cashouts_refused(&t, &u.token, &keys, no_funds, "a debt").await;

    // Exactly zero after the debt is repaid.
    t.earn(u.id, "repay", 150).await;
    assert_eq!(buckets(&t, u.id).await, (0, 500, 0));
    assert_cashouts_refused(&t, &u.token, &[None], no_funds, "a zero balance").await;
    assert!(payouts_of(&t, u.id).await.is_empty());
    check(&t, u.id).await;
}

#[tokio::test]
async fn preconditions_are_checked_in_the_spec_order() {
    let t = test_ctx_with(|c| c.min_cashout_usd = 1000).await;
    let no_details = creator(&t, Profile::new(Currency::Usd)).await;
    let with_details = creator(&t, Profile::payable()).await;
    let both = [None, Some("k")];

    // No funds beats missing details.
    let (token, what) = (&no_details.token, "missing details");
    assert_cashouts_refused(&t, token, &[None], (422, NO_FUNDS), what).await;
    // Missing details beats the minimum.
    t.earn(no_details.id, "n1", 999).await;
    assert_cashouts_refused(&t, token, &both, (422, NO_DETAILS), what).await;
    // With enough money, still the details.
    t.earn(no_details.id, "n2", 5000).await;
    assert_cashouts_refused(&t, token, &[None], (422, NO_DETAILS), what).await;

    // The minimum, amount and code filled in.
    let below_min = (422, "The minimum cashout amount is 10.00 USD.");
    t.earn(with_details.id, "d1", 999).await;
    let what = "below the minimum";
    assert_cashouts_refused(&t, &with_details.token, &both, below_min, what).await;
    // Exactly the minimum is enough.
    t.earn(with_details.id, "d2", 1).await;
    let id = assert_created(&t.cashout(&with_details.token, Some("k")).await);
    assert_eq!(payouts_of(&t, with_details.id).await[0].payout_id, id);
    assert_eq!(buckets(&t, with_details.id).await, (0, 0, 1000));

    // Once details are set, the waiting user can cash out (and the key
    // refused before is free).
    shared::services::users::set_payout_details(&t, no_details.id, &usd_details())
        .await
        .expect("set details");
    assert_created(&t.cashout(&no_details.token, Some("k")).await);
    assert_eq!(buckets(&t, no_details.id).await, (0, 0, 5999));
    check(&t, no_details.id).await;
    check(&t, with_details.id).await;
}

#[tokio::test]
async fn the_minimum_of_each_currency_is_in_its_own_code() {
    let t = test_ctx_with(|c| {
        c.min_cashout_eur = 2500;
        c.min_cashout_gbp = 5;
    })
    .await;
    let eur = creator(&t, Profile::new(Currency::Eur).details(eur_details())).await;
    let gbp = creator(&t, Profile::new(Currency::Gbp).details(gbp_details())).await;
    t.earn(eur.id, "e", 2499).await;
    t.earn(gbp.id, "g", 4).await;
    for (who, message) in [
        (&eur, "The minimum cashout amount is 25.00 EUR."),
        (&gbp, "The minimum cashout amount is 0.05 GBP."),
    ] {
        let what = "below the minimum";
        assert_cashouts_refused(&t, &who.token, &[None], (422, message), what).await;
    }
}

#[tokio::test]
async fn a_deleted_user_cannot_cash_out() {
    let (t, u) = payable_creator(800).await;
    shared::services::users::delete_user(&t, u.id)
        .await
        .expect("delete user");
    let keys = [None, Some("k")];
    let what = "a deleted user's cashout";
    assert_cashouts_refused(&t, &u.token, &keys, (401, UNAUTHENTICATED), what).await;
    assert_eq!(buckets(&t, u.id).await, (800, 0, 0));
}

// ---------------------------------------------------------------------------
// 3. Idempotency-Key
// ---------------------------------------------------------------------------

#[tokio::test]
async fn same_key_twice_replays_the_first_response_byte_for_byte() {
    let (t, u) = payable_creator(1500).await;

    let first = t
        .sample(Route::Cashout, "cashout_idempotency_key", Some(&u.token))
        .await;
    let payout_id = assert_created(&first);
    assert!(idempotency_record(&t, u.id, FILE_KEY).await.is_some());

    // New money arrives: a real second cashout would take it.
    t.earn(u.id, "s2", 700).await;
    let before = table_items(&t).await;
    for _ in 0..3 {
        let again = t.cashout(&u.token, Some(FILE_KEY)).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.text, first.text, "byte-identical body");
        assert_eq!(again.body, created());
        assert_eq!(again.location(), first.location());
        assert_eq!(again.replayed().as_deref(), Some("true"));
    }
    assert_same_table(&before, &table_items(&t).await, "a replay");
    assert_eq!(buckets(&t, u.id).await, (700, 0, 1500));
    assert_eq!(payouts_of(&t, u.id).await.len(), 1);

    // Still a replay after the payout was decided.
    let out = t
        .admin(json!({"action": "approve", "payout_id": payout_id}))
        .await;
    assert_eq!(out["changed"], true, "{out}");
    let again = t.cashout(&u.token, Some(FILE_KEY)).await;
    assert_eq!(
        (
            again.status,
            &again.text,
            &again.location(),
            again.replayed().as_deref()
        ),
        (200, &first.text, &first.location(), Some("true"))
    );

    // Another key (or none) is another cashout.
    let second = t.cashout(&u.token, Some("another-key")).await;
    assert_ne!(assert_created(&second), payout_id);
    assert_eq!(buckets(&t, u.id).await, (0, 0, 700));
    check(&t, u.id).await;
}

#[tokio::test]
async fn keys_are_scoped_to_the_user() {
    let t = test_ctx().await;
    let a = creator(&t, Profile::payable()).await;
    let b = creator(&t, Profile::payable()).await;
    t.earn(a.id, "a", 1000).await;
    t.earn(b.id, "b", 2000).await;

    let ra = t.cashout(&a.token, Some("shared-key")).await;
    let rb = t.cashout(&b.token, Some("shared-key")).await;
    let (pa, pb) = (assert_created(&ra), assert_created(&rb));
    assert_ne!(pa, pb);
    assert_eq!(buckets(&t, a.id).await, (0, 0, 1000));
    assert_eq!(buckets(&t, b.id).await, (0, 0, 2000));
    assert_eq!(payouts_of(&t, a.id).await[0].payout_id, pa);
    assert_eq!(payouts_of(&t, b.id).await[0].payout_id, pb);

    // Each replays its own.
    let again_b = t.cashout(&b.token, Some("shared-key")).await;
    assert_eq!(again_b.location(), rb.location());
    assert_eq!(again_b.replayed().as_deref(), Some("true"));

    // A user whose id is a prefix of another's, with keys that would join to
    // the same text if the scope were not delimited.
    let c = creator(&t, Profile::payable()).await;
    t.earn(c.id, "c", 300).await;
    let tricky = format!("{}#shared-key", b.id);
    assert_created(&t.cashout(&c.token, Some(&tricky)).await);
    check(&t, a.id).await;
    check(&t, b.id).await;
    check(&t, c.id).await;
}

#[tokio::test]
async fn a_key_refused_for_no_funds_succeeds_once_funds_arrive() {
    let (t, u) = payable_creator(0).await;
    let key = [Some("retry-me")];
    let what = "a refused keyed cashout";
    assert_cashouts_refused(&t, &u.token, &key, (422, NO_FUNDS), what).await;
    // The refusal is not stored: no record, no lock left behind.
    assert_eq!(idempotency_record(&t, u.id, "retry-me").await, None);
    // Refused again, still not stored.
    assert_cashouts_refused(&t, &u.token, &key, (422, NO_FUNDS), what).await;

    t.earn(u.id, "s", 900).await;
    let ok = t.cashout(&u.token, Some("retry-me")).await;
    let id = assert_created(&ok);
    assert_eq!(buckets(&t, u.id).await, (0, 0, 900));

    // From now on the key replays the success, even with no funds left.
    let again = t.cashout(&u.token, Some("retry-me")).await;
    assert_eq!((again.status, &again.text), (200, &ok.text));
    assert_eq!(again.replayed().as_deref(), Some("true"));
    assert_eq!(again.location_id(), id);
    assert_eq!(payouts_of(&t, u.id).await.len(), 1);
    check(&t, u.id).await;
}

#[tokio::test]
async fn bad_idempotency_keys_are_422_and_change_nothing() {
    let (t, u) = payable_creator(1000).await;
    let before = table_items(&t).await;

    let with_raw_key = |values: &[&[u8]]| {
        let mut req = cashout_request(&u.token, None);
        for v in values {
            req.headers_mut().append(
                shared::http::request::IDEMPOTENCY_KEY,
                HeaderValue::from_bytes(v).expect("header bytes"),
            );
        }
        req
    };
    let long = "k".repeat(256);
    let cases: Vec<(&str, Request)> = vec![
        (
            "the sample event (a space)",
            Req::sample("cashout_bad_idempotency_key")
                .token(&u.token)
                .build(),
        ),
        ("empty", with_raw_key(&[b""])),
        ("256 characters", with_raw_key(&[long.as_bytes()])),
        ("a tab", with_raw_key(&[b"a\tb"])),
        ("non-ASCII", with_raw_key(&["clé".as_bytes()])),
        ("given twice", with_raw_key(&[b"one", b"two"])),
    ];
    for (what, req) in cases {
        assert_refused(&t.send(Route::Cashout, req).await, 422, BAD_KEY);
        assert_same_table(&before, &table_items(&t).await, what);
    }

    // 255 visible characters are fine.
    let longest: String = (0..255u32)
        .map(|i| char::from(0x21 + (i % 94) as u8))
        .collect();
    assert_created(&t.cashout(&u.token, Some(&longest)).await);
    let again = t.cashout(&u.token, Some(&longest)).await;
    assert_eq!(again.replayed().as_deref(), Some("true"));
    check(&t, u.id).await;
}

#[tokio::test]
async fn a_key_still_in_flight_is_409_and_changes_nothing() {
    let (t, u) = payable_creator(1200).await;

    // Another request holds the key.
    let lock = match idempotency::claim(&t, u.id, "busy", now_epoch())
        .await
        .expect("claim")
    {
        Claim::Acquired(lock) => lock,
        other => panic!("expected to acquire the key, got {other:?}"),
    };
    // Twice: nothing changes, and the other request's lock is still its own.
    let twice = [Some("busy"), Some("busy")];
    assert_cashouts_refused(&t, &u.token, &twice, (409, IN_FLIGHT), "a 409").await;
    assert_eq!(buckets(&t, u.id).await, (1200, 0, 0));
    // Other keys are not blocked.
    t.earn(u.id, "s2", 1).await;
    let other = t.cashout(&u.token, Some("not-busy")).await;
    assert_created(&other);
    t.earn(u.id, "s3", 600).await;

    // When the holder gives the key back, the key works.
    idempotency::release(&t, &lock).await;
    assert_eq!(idempotency_record(&t, u.id, "busy").await, None);
    let ok = t.cashout(&u.token, Some("busy")).await;
    assert_created(&ok);
    assert_eq!(buckets(&t, u.id).await, (0, 0, 1801));
    check(&t, u.id).await;
}

#[tokio::test]
async fn an_abandoned_lock_expires_and_the_key_can_be_used() {
    let (t, u) = payable_creator(640).await;
    // A request that claimed the key and crashed longer ago than the lock lasts.
    let stale = now_epoch() - idempotency::LOCK_SECONDS - 5;
    let old = match idempotency::claim(&t, u.id, "crashed", stale)
        .await
        .expect("claim")
    {
        Claim::Acquired(lock) => lock,
        other => panic!("{other:?}"),
    };
    let r = t.cashout(&u.token, Some("crashed")).await;
    assert_created(&r);
    assert_eq!(buckets(&t, u.id).await, (0, 0, 640));
    // The crashed request's late release cannot remove the stored response.
    idempotency::release(&t, &old).await;
    let again = t.cashout(&u.token, Some("crashed")).await;
    assert_eq!(
        (again.text.as_str(), again.replayed().as_deref()),
        (r.text.as_str(), Some("true"))
    );
    check(&t, u.id).await;
}

// ---------------------------------------------------------------------------
// 4. Concurrency
// ---------------------------------------------------------------------------

const ROUNDS: i64 = 15;
const RACERS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_cashouts_create_exactly_one_payout_round_after_round() {
    let (t, u) = payable_creator(0).await;
    let mut expected_available = 0;
    let mut expected_pending = 0;
    let mut keyed_wins = 0;
    for round in 0..ROUNDS {
        let amount = 1000 + round * 37;
        t.earn(u.id, &format!("round-{round}"), amount).await;
        expected_available += amount;
        let before = payouts_of(&t, u.id).await;

        // Half of the racers send a key of their own.
        let keys = (0..RACERS)
            .map(|i| (i % 2 == 0).then(|| format!("r{round}-{i}")))
            .collect();
        let replies = concurrent_cashouts(&t, &u.token, keys).await;
        let winners: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
        let others: Vec<&Reply> = replies.iter().filter(|r| r.status != 200).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: {} successes; refusals: {:?}",
            winners.len(),
            others
                .iter()
                .map(|r| (r.status, r.body.clone()))
                .collect::<Vec<_>>()
        );
        for r in &others {
            assert_refused(r, 422, NO_FUNDS);
        }
        let id = assert_created(winners[0]);
        let winner = replies
            .iter()
            .position(|r| r.status == 200)
            .unwrap_or(usize::MAX);
        if winner % 2 == 0 {
            keyed_wins += 1;
        }

        let after = payouts_of(&t, u.id).await;
        assert_eq!(after.len(), before.len() + 1, "round {round}");
        let new = after
            .iter()
            .find(|p| p.payout_id == id)
            .expect("the payout");
        assert_eq!(
            new.amount, expected_available,
            "round {round}: the whole available"
        );
        expected_pending += expected_available;
        expected_available = 0;
        assert_eq!(
            buckets(&t, u.id).await,
            (0, 0, expected_pending),
            "round {round}"
        );
        check(&t, u.id).await;

        // Decide some payouts: a decline puts the money back for the next round.
        let action = match round % 3 {
            0 => Some(json!({"action": "approve", "payout_id": id})),
            1 => Some(json!({"action": "decline", "payout_id": id, "reason": "try again"})),
            _ => None,
        };
        if let Some(action) = action {
            let declined = action["action"] == "decline";
            let out = t.admin(action).await;
            assert_eq!(out["changed"], true, "{out}");
            expected_pending -= new.amount;
            if declined {
                expected_available += new.amount;
            }
        }
        assert_eq!(
            buckets(&t, u.id).await,
            (expected_available, 0, expected_pending)
        );
    }
    // The keys of the refused racers were given back: only winners' keys are stored.
    let stored = table_items(&t)
        .await
        .iter()
        .filter(|i| item_key(i).0.starts_with("IDEM#"))
        .count();
    assert_eq!(stored, keyed_wins, "idempotency records");
    check(&t, u.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_cashouts_with_one_key_create_one_payout() {
    let (t, u) = payable_creator(0).await;
    for round in 0..5 {
        t.earn(u.id, &format!("s{round}"), 2000 + round).await;
        let key = format!("same-key-{round}");
        let replies = concurrent_cashouts(
            &t,
            &u.token,
            (0..RACERS).map(|_| Some(key.clone())).collect(),
        )
        .await;
        let firsts: Vec<&Reply> = replies
            .iter()
            .filter(|r| r.status == 200 && r.replayed().is_none())
            .collect();
        assert_eq!(firsts.len(), 1, "round {round}: {replies:?}");
        let id = assert_created(firsts[0]);
        for r in &replies {
            match r.status {
                200 => {
                    assert_eq!(r.text, firsts[0].text);
                    assert_eq!(r.location_id(), id);
                }
                409 => assert_refused(r, 409, IN_FLIGHT),
                _ => panic!("round {round}: unexpected {r:?}"),
            }
        }
        let payouts = payouts_of(&t, u.id).await;
        assert_eq!(payouts.len(), round as usize + 1);
        assert_eq!(payouts.last().map(|p| p.amount), Some(2000 + round));
        check(&t, u.id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cashouts_racing_earnings_releases_and_decisions_lose_no_cent() {
    let (t, u) = payable_creator(0).await;
    let uid = u.id;

    // Earnings: half available at once, half held with a lot that is already
    // due (its clock started long ago), so release-holds can release it.
    let mut earnings = Vec::new();
    for i in 0..60i64 {
        let amount = 100 + i * 13;
        let held = i % 2 == 1;
        let event = if held {
            Event::affiliate_earning(uid, &format!("e{i}"), amount)
                .hold_seconds(60)
                .occurred_at("2020-01-01T00:00:00Z")
        } else {
            Event::product_earning(uid, &format!("e{i}"), amount)
        };
        earnings.push((amount, held, event));
    }
    let earned: i64 = earnings.iter().map(|(a, _, _)| a).sum();
    let held_lots = earnings.iter().filter(|(_, h, _)| *h).count();

    let mut tasks = Vec::new();
    // 3 feeders of events.
    for chunk in earnings.chunks(20) {
        let ctx = t.clone();
        let events: Vec<Value> = chunk.iter().map(|(_, _, e)| e.clone().into()).collect();
        tasks.push(tokio::spawn(async move {
            for e in events {
                let r = ctx.apply(e.clone()).await;
                assert_eq!(r.status, EventStatus::Applied, "{e} -> {r:?}");
                tokio::task::yield_now().await;
            }
            Vec::new()
        }));
    }
    // 2 release-holds runners.
    for _ in 0..2 {
        let ctx = t.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                let out = ctx.release_holds(json!({})).await;
                assert!(out.get("error").is_none(), "{out}");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Vec::new()
        }));
    }
    // 4 clients cashing out.
    for c in 0..4 {
        let ctx = t.clone();
        let token = u.token.clone();
        tasks.push(tokio::spawn(async move {
            let mut replies = Vec::new();
            for i in 0..15 {
                let key = (i % 3 == 0).then(|| format!("c{c}-{i}"));
                replies.push(ctx.cashout(&token, key.as_deref()).await);
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
            replies
        }));
    }
    // An operator deciding what is requested: approve, decline, approve, ...
    {
        let ctx = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            for _ in 0..20 {
                let requested = list_payouts(&ctx, Some(uid), Some(PayoutStatus::Requested))
                    .await
                    .expect("list");
                for p in requested {
                    let action = if n % 2 == 0 {
                        json!({"action": "approve", "payout_id": p.payout_id})
                    } else {
                        json!({"action": "decline", "payout_id": p.payout_id, "reason": "busy"})
                    };
                    n += 1;
                    let out = ctx.admin(action).await;
                    assert_eq!(out["error"], Value::Null, "{out}");
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Vec::new()
        }));
    }
    let replies: Vec<Reply> = join_all(tasks)
        .await
        .into_iter()
        .flat_map(|r| r.expect("task"))
        .collect();

    let successes = replies.iter().filter(|r| r.status == 200).count();
    for r in &replies {
        if r.status == 200 {
            assert_created(r);
        } else {
            assert_refused(r, 422, NO_FUNDS);
        }
    }
    let payouts = payouts_of(&t, uid).await;
    assert_eq!(
        payouts.len(),
        successes,
        "one payout per successful cashout"
    );

    // Everything due is released at the end.
    let out = t.release_holds(json!({})).await;
    assert!(out.get("error").is_none(), "{out}");
    let all = entries(&t, uid).await;
    let releases = all
        .iter()
        .filter(|e| e.entry_type == EntryType::ReleaseHold)
        .count();
    assert_eq!(releases, held_lots, "each lot released exactly once");

    let (available, hold, pending) = buckets(&t, uid).await;
    assert_eq!(hold, 0);
    let paid: i64 = payouts
        .iter()
        .filter(|p| p.status == PayoutStatus::Paid)
        .map(|p| p.amount)
        .sum();
    let withdrawn: i64 = all
        .iter()
        .filter(|e| e.entry_type == EntryType::Withdrawal)
        .map(|e| e.amount)
        .sum();
    assert_eq!(paid, withdrawn);
    assert_eq!(
        earned,
        available + hold + pending + paid,
        "sum of all events = total + paid out"
    );
    check(&t, uid).await;
}

// ---------------------------------------------------------------------------
// 5. Cost: a constant number of DynamoDB requests per cashout
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_cashout_costs_three_requests_whatever_the_history() {
    let (t, u) = payable_creator(0).await;
    // Warm the id allocator with a first cashout.
    t.earn(u.id, "first", 10).await;
    assert_created(&t.cashout(&u.token, None).await);

    let mut n = 1;
    for target in [10, 1000] {
        while account(&t, u.id).await.public_count < target {
            t.earn(u.id, &format!("h{n}"), 1 + n % 7).await;
            n += 1;
        }
        warm_ids(&t, 2).await;
        t.counter.reset();
        let r = t.cashout(&u.token, None).await;
        assert_created(&r);
        assert_eq!(
            t.counter.operations(),
            ["GetItem", "GetItem", "TransactWriteItems"],
            "with {target} prior entries"
        );
        assert_eq!(t.counter.count(), 3);

        // A refusal costs the token and the account read.
        t.counter.reset();
        assert_refused(&t.cashout(&u.token, None).await, 422, NO_FUNDS);
        assert_eq!(t.counter.operations(), ["GetItem", "GetItem"]);
    }
    check(&t, u.id).await;
}

#[tokio::test]
async fn a_cashout_with_a_key_costs_four_requests() {
    let (t, u) = payable_creator(0).await;
    t.earn(u.id, "first", 10).await;
    assert_created(&t.cashout(&u.token, Some("warm-up")).await);

    for (i, history) in [10, 300].into_iter().enumerate() {
        let mut n = 0;
        while account(&t, u.id).await.public_count < history {
            t.earn(u.id, &format!("h{i}-{n}"), 5).await;
            n += 1;
        }
        warm_ids(&t, 2).await;
        let key = format!("key-{i}");
        t.counter.reset();
        let r = t.cashout(&u.token, Some(&key)).await;
        assert_created(&r);
        let ops = t.counter.operations();
        assert_eq!(t.counter.count(), 4, "{ops:?}");
        // The token first, then the claim and the account read (at the same
        // time, in either order), then the transaction.
        assert_eq!(ops.first().map(String::as_str), Some("GetItem"), "{ops:?}");
        assert_eq!(
            ops.last().map(String::as_str),
            Some("TransactWriteItems"),
            "{ops:?}"
        );
        let mut middle = ops[1..3].to_vec();
        middle.sort();
        assert_eq!(middle, ["GetItem", "PutItem"], "{ops:?}");

        // A replay costs the token, the claim and the (concurrent) account read.
        t.counter.reset();
        let again = t.cashout(&u.token, Some(&key)).await;
        assert_eq!(again.replayed().as_deref(), Some("true"));
        assert_eq!(t.counter.count(), 3, "{:?}", t.counter.operations());
    }
    check(&t, u.id).await;
}

// ---------------------------------------------------------------------------
// 6. Injected failures leave no partial state
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_transaction_refused_by_a_condition_leaves_no_partial_state() {
    let (t, u) = payable_creator(1200).await;
    for key in [None, Some("injected-key")] {
        // The cashout will take the next two ids: the payout, then the entry.
        // Occupy the payout's key so the transaction's condition fails.
        let last = warm_ids(&t, 3).await;
        let payout_id = last + 1;
        put_raw(&t, keys::payout_pk(payout_id), keys::PAYOUT_SK.into()).await;
        let what = "a refused transaction";
        assert_cashouts_refused(&t, &u.token, &[key], (500, SERVER_ERROR), what).await;
        assert_eq!(buckets(&t, u.id).await, (1200, 0, 0));
        if let Some(key) = key {
            assert_eq!(
                idempotency_record(&t, u.id, key).await,
                None,
                "lock given back"
            );
        }
        delete_raw(&t, keys::payout_pk(payout_id), keys::PAYOUT_SK.into()).await;
    }

    // The payout list copy taken: same result.
    put_raw(&t, keys::user_pk(u.id), keys::payout_list_sk(1)).await;
    let key = [Some("injected-key")];
    let what = "a refused transaction";
    assert_cashouts_refused(&t, &u.token, &key, (500, SERVER_ERROR), what).await;
    delete_raw(&t, keys::user_pk(u.id), keys::payout_list_sk(1)).await;
    check(&t, u.id).await;

    // Nothing is stuck: the same key now succeeds, once.
    let ok = t.cashout(&u.token, Some("injected-key")).await;
    assert_created(&ok);
    assert_eq!(buckets(&t, u.id).await, (0, 0, 1200));
    let again = t.cashout(&u.token, Some("injected-key")).await;
    assert_eq!(again.replayed().as_deref(), Some("true"));
    assert_eq!(payouts_of(&t, u.id).await.len(), 1);
    check(&t, u.id).await;
}

#[tokio::test]
async fn a_key_taken_over_mid_request_commits_nothing() {
    // The idempotency item is the transaction's last condition: if the lock
    // is no longer ours when the transaction runs (it expired and another
    // request took the key), nothing of the cashout is written.
    let (t, u) = payable_creator(500).await;
    let acc = account(&t, u.id).await;
    let mine = match idempotency::claim(&t, u.id, "k", now_epoch() - 120)
        .await
        .expect("claim")
    {
        Claim::Acquired(lock) => lock,
        other => panic!("{other:?}"),
    };
    // Another request takes the expired lock.
    let theirs = match idempotency::claim(&t, u.id, "k", now_epoch())
        .await
        .expect("claim")
    {
        Claim::Acquired(lock) => lock,
        other => panic!("{other:?}"),
    };
    assert_ne!(mine.nonce, theirs.nonce);
    let before = table_items(&t).await;
    // Our transaction: what `cashout` would write, with our stale lock.
    let payout_id = t.next_id().await.expect("id");
    let entry_id = t.next_id().await.expect("id");
    let payout = Payout {
        payout_id,
        user_id: u.id,
        seq: 1,
        amount: 500,
        currency: Currency::Usd,
        status: PayoutStatus::Requested,
        requested_at: now_epoch(),
        decided_at: None,
        decline_reason: None,
        payout_details: acc.payout_details.clone(),
    };
    let stored = idempotency::StoredResponse {
        status: 200,
        body: created().to_string(),
        location: Some(format!("/api/wallet/payouts/{payout_id}")),
    };
    let extras = vec![
        (
            0,
            shared::store::write::put_new(&t, payout.to_item()).expect("put"),
        ),
        (
            1,
            shared::store::write::put_new(&t, shared::store::codec::payout_list_item(&payout))
                .expect("put"),
        ),
        (
            2,
            idempotency::complete(&t, &mine, &stored, now_epoch()).expect("complete"),
        ),
    ];
    let movement = domain::ledger::Movement {
        entry_type: EntryType::Pending,
        amount: 500,
        held: false,
        title: Some("Cashout".into()),
        created_at: now_epoch(),
        event_id: None,
        product_id: None,
        payout_id: Some(payout_id),
        analytics: Default::default(),
    };
    match shared::store::write::commit(&t, &acc, &movement, entry_id, extras).await {
        Err(shared::store::write::CommitError::ExtraConditionFailed(2)) => {}
        other => panic!("expected the idempotency condition to fail, got {other:?}"),
    }
    assert_same_table(
        &before,
        &table_items(&t).await,
        "a transaction with a lost lock",
    );
    // The key is the other request's: ours gets 409 through the handler.
    assert_refused(&t.cashout(&u.token, Some("k")).await, 409, IN_FLIGHT);
    idempotency::release(&t, &theirs).await;
    assert_created(&t.cashout(&u.token, Some("k")).await);
    check(&t, u.id).await;
}
