//! The ledger rules (docs/ledger.md) and internal events (docs/ledger.md#internal-events),
//! against DynamoDB Local: bucket deltas per event kind, hold lots,
//! idempotency, validation, concurrency, and the `ledger` function handler.
//!
//! [`client_request_tokens_do_not_collide_across_tables`] is the regression
//! test of a bug found while writing these tests: the transaction token was
//! derived from the entry id, which every fresh table allocates alike.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::account::Account;
use domain::currency::Currency;
use domain::ledger::{next_balance, BalanceError, Direction, EntryType};
use domain::ledger::{Balance, Entry};
use domain::lot::Lot;
use serde_json::{json, Value};
use shared::services::ledger::{EventResult, EventStatus};
use shared::store::item::Item;
use shared::store::keys;
use shared::store::read::read_lot;
use std::collections::HashMap;
use tests::dynamo::{get_raw, partition, sk_starts_with, test_ctx, test_ctx_with, TestCtx};
use tests::events::{assert_applied, assert_rejected};
use tests::fixtures::{creator, Profile};
use tests::http::load_event;
use tests::invariants::{account, assert_invariants, buckets, entries};

const MAX_AMOUNT: i64 = 1_000_000_000_000;

// ---------------------------------------------------------------- helpers

/// A fresh context and one USD user on it.
async fn setup() -> (TestCtx, i64) {
    let t = test_ctx().await;
    let u = creator(&t, Profile::new(Currency::Usd)).await;
    (t, u.id)
}

/// Everything stored for a user (account with its version, entries, copies,
/// lots), to prove that a refused or repeated event changed nothing.
async fn snapshot(t: &TestCtx, user_id: i64) -> (Account, Vec<Item>) {
    (account(t, user_id).await, partition(t, user_id).await)
}

/// Whether an event id has a dedup record (i.e. was applied).
async fn event_recorded(t: &TestCtx, event_id: &str) -> bool {
    get_raw(t, keys::event_pk(event_id), keys::EVENT_SK)
        .await
        .is_some()
}

/// Entries of a user in the order they were written.
async fn entries_in_order(t: &TestCtx, user_id: i64) -> Vec<Entry> {
    let mut list = entries(t, user_id).await;
    list.sort_by_key(|e| e.id);
    list
}

async fn lot(t: &TestCtx, user_id: i64, hold_event_id: &str) -> Option<Lot> {
    read_lot(t, user_id, hold_event_id).await.expect("read lot")
}

async fn sk_count(t: &TestCtx, user_id: i64, prefix: &str) -> usize {
    partition(t, user_id)
        .await
        .iter()
        .filter(|i| sk_starts_with(i, prefix))
        .count()
}

/// The stored deltas of an entry, as (available, hold, pending).
fn d(e: &Entry) -> (i64, i64, i64) {
    (e.deltas.available, e.deltas.hold, e.deltas.pending)
}

fn now() -> i64 {
    domain::time::now_epoch()
}

/// Sets every `user_id` field of an event (or array of events) to `user_id`.
fn set_user(value: &mut Value, user_id: i64) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| set_user(v, user_id)),
        Value::Object(map) if map.contains_key("user_id") => {
            map.insert("user_id".into(), json!(user_id));
        }
        _ => {}
    }
}

/// A sample event (or array of events) of `events/` for `user_id`.
fn sample_for(name: &str, user_id: i64) -> Value {
    let mut event = load_event(name);
    set_user(&mut event, user_id);
    event
}

/// The SQS sample batch with the user id of every JSON body replaced.
fn sqs_batch_for(user_id: i64) -> Value {
    let mut batch = load_event("ledger_sqs_batch");
    for record in batch["Records"].as_array_mut().expect("Records") {
        let body = record["body"].as_str().expect("body").to_owned();
        if let Ok(mut event) = serde_json::from_str::<Value>(&body) {
            set_user(&mut event, user_id);
            record["body"] = Value::String(event.to_string());
        }
    }
    batch
}

// ------------------------------------------------ 1. deltas per event kind

#[tokio::test]
async fn earnings_without_hold_credit_available() {
    let (t, uid) = setup().await;
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"pe","user_id":uid,"amount":550,"title":"Money for a photo","product_id":7,"hold_seconds":0})).await);
    assert_eq!(buckets(&t, uid).await, (550, 0, 0));
    assert_applied(&t.apply(json!({"kind":"affiliate_earning","event_id":"ae","user_id":uid,"amount":220,"title":"Referral revenue","hold_seconds":0})).await);
    assert_eq!(buckets(&t, uid).await, (770, 0, 0));
    assert_eq!(account(&t, uid).await.balance.referral_revenue, 220);
    assert!(lot(&t, uid, "pe").await.is_none(), "no lot without hold");
    assert!(lot(&t, uid, "ae").await.is_none(), "no lot without hold");

    let list = entries_in_order(&t, uid).await;
    assert_eq!(list.len(), 2);
    let (pe, ae) = (&list[0], &list[1]);
    assert_eq!(pe.entry_type, EntryType::ProductEarning);
    assert_eq!(pe.entry_type.as_str(), "product_earning");
    assert_eq!(pe.entry_type.direction(), Direction::Credit);
    assert_eq!((pe.amount, d(pe)), (550, (550, 0, 0)));
    assert_eq!(pe.title.as_deref(), Some("Money for a photo"));
    assert_eq!(pe.product_id, Some(7));
    assert_eq!(pe.event_id.as_deref(), Some("pe"));
    assert_eq!(pe.currency, Currency::Usd);
    assert_eq!(ae.entry_type, EntryType::AffiliateEarning);
    assert_eq!(ae.entry_type.direction(), Direction::Credit);
    assert_eq!((ae.amount, d(ae)), (220, (220, 0, 0)));
    // the affiliate earning is also in the affiliate list, the product one is not
    assert_eq!(sk_count(&t, uid, "TXA#").await, 1);
    let acc = account(&t, uid).await;
    assert_eq!((acc.public_count, acc.affiliate_count), (2, 1));
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn held_earnings_go_to_hold_as_lots() {
    let (t, uid) = setup().await;
    let before = now();
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"pe","user_id":uid,"amount":500,"hold_seconds":600})).await);
    assert_eq!(buckets(&t, uid).await, (0, 500, 0));
    assert_applied(&t.apply(json!({"kind":"affiliate_earning","event_id":"ae","user_id":uid,"amount":200,"hold_seconds":60})).await);
    let after = now();
    assert_eq!(buckets(&t, uid).await, (0, 700, 0));
    assert_eq!(account(&t, uid).await.balance.referral_revenue, 200);

    for (id, amount, hold) in [("pe", 500, 600), ("ae", 200, 60)] {
        let l = lot(&t, uid, id).await.expect("a held earning is a lot");
        assert_eq!((l.user_id, l.hold_event_id.as_str()), (uid, id));
        assert_eq!(l.amount, amount);
        assert!(!l.released);
        let at = l
            .release_at
            .expect("a held earning's lot has a release time");
        assert!(
            (before + hold..=after + hold).contains(&at),
            "release_at {at} not in {}..={}",
            before + hold,
            after + hold
        );
    }
    let list = entries_in_order(&t, uid).await;
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].entry_type, d(&list[0])),
        (EntryType::ProductEarning, (0, 500, 0))
    );
    assert_eq!(
        (list[1].entry_type, d(&list[1])),
        (EntryType::AffiliateEarning, (0, 200, 0))
    );
    assert!(list
        .iter()
        .all(|e| e.entry_type.direction() == Direction::Credit));
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn fee_and_refund_debit_available_and_may_go_negative() {
    let (t, uid) = setup().await;
    assert_applied(
        &t.apply(
            json!({"kind":"fee","event_id":"f1","user_id":uid,"amount":50,"title":"Service fee"}),
        )
        .await,
    );
    assert_eq!(buckets(&t, uid).await, (-50, 0, 0));
    assert_applied(&t.apply(json!({"kind":"refund","event_id":"r1","user_id":uid,"amount":30,"title":"Refund","product_id":7})).await);
    assert_eq!(buckets(&t, uid).await, (-80, 0, 0));
    // the debt is repaid by a later earning
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":100,"hold_seconds":0})).await);
    assert_eq!(buckets(&t, uid).await, (20, 0, 0));
    // a fee larger than a positive balance also goes through
    assert_applied(
        &t.apply(json!({"kind":"fee","event_id":"f2","user_id":uid,"amount":25}))
            .await,
    );
    assert_eq!(buckets(&t, uid).await, (-5, 0, 0));
    assert_eq!(account(&t, uid).await.balance.referral_revenue, 0);

    let list = entries_in_order(&t, uid).await;
    let got: Vec<_> = list
        .iter()
        .map(|e| (e.entry_type, e.entry_type.direction(), e.amount, d(e)))
        .collect();
    assert_eq!(
        got,
        vec![
            (EntryType::Fee, Direction::Debit, 50, (-50, 0, 0)),
            (EntryType::Refund, Direction::Debit, 30, (-30, 0, 0)),
            (
                EntryType::ProductEarning,
                Direction::Credit,
                100,
                (100, 0, 0)
            ),
            (EntryType::Fee, Direction::Debit, 25, (-25, 0, 0)),
        ]
    );
    assert_eq!(list[1].product_id, Some(7));
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn operator_hold_moves_available_to_hold_as_a_lot() {
    let (t, uid) = setup().await;
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":500,"hold_seconds":0})).await);
    assert_applied(
        &t.apply(
            json!({"kind":"hold","event_id":"h_1","user_id":uid,"amount":200,"title":"Dispute"}),
        )
        .await,
    );
    assert_eq!(buckets(&t, uid).await, (300, 200, 0));
    let l = lot(&t, uid, "h_1")
        .await
        .expect("an operator hold is a lot");
    assert_eq!((l.amount, l.release_at, l.released), (200, None, false));
    // exactly the available amount may be held
    assert_applied(
        &t.apply(json!({"kind":"hold","event_id":"h_2","user_id":uid,"amount":300}))
            .await,
    );
    assert_eq!(buckets(&t, uid).await, (0, 500, 0));

    let list = entries_in_order(&t, uid).await;
    assert_eq!(list.len(), 3);
    assert_eq!(list[1].entry_type, EntryType::Hold);
    assert_eq!(list[1].entry_type.as_str(), "hold");
    assert_eq!(list[1].entry_type.direction(), Direction::Transfer);
    assert_eq!((list[1].amount, d(&list[1])), (200, (-200, 200, 0)));
    assert_eq!(list[1].title.as_deref(), Some("Dispute"));
    assert_eq!((list[2].amount, d(&list[2])), (300, (-300, 300, 0)));
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn hold_above_available_is_refused_and_changes_nothing() {
    let (t, uid) = setup().await;
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":99,"hold_seconds":0})).await);
    let before = snapshot(&t, uid).await;
    let r = t
        .apply(json!({"kind":"hold","event_id":"h_big","user_id":uid,"amount":100}))
        .await;
    assert_rejected(
        &r,
        "insufficient available funds: available is 99, 100 needed",
    );
    assert_eq!(r.event_id.as_deref(), Some("h_big"));
    assert_eq!(
        snapshot(&t, uid).await,
        before,
        "a refused hold changed the wallet"
    );
    assert!(lot(&t, uid, "h_big").await.is_none());
    assert!(!event_recorded(&t, "h_big").await);

    // a negative available (a debt) can never be put on hold either
    assert_applied(
        &t.apply(json!({"kind":"fee","event_id":"f1","user_id":uid,"amount":100}))
            .await,
    );
    assert_eq!(buckets(&t, uid).await, (-1, 0, 0));
    let before = snapshot(&t, uid).await;
    let r = t
        .apply(json!({"kind":"hold","event_id":"h_neg","user_id":uid,"amount":1}))
        .await;
    assert_rejected(&r, "insufficient available funds");
    assert_eq!(snapshot(&t, uid).await, before);
    assert!(!event_recorded(&t, "h_neg").await);
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn release_hold_releases_the_whole_lot() {
    let (t, uid) = setup().await;
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":500,"hold_seconds":0})).await);
    assert_applied(
        &t.apply(json!({"kind":"hold","event_id":"h_1","user_id":uid,"amount":200}))
            .await,
    );
    assert_applied(&t.apply(json!({"kind":"release_hold","event_id":"rh_1","user_id":uid,"hold_event_id":"h_1","title":"Dispute resolved"})).await);
    assert_eq!(buckets(&t, uid).await, (500, 0, 0));
    assert!(lot(&t, uid, "h_1").await.expect("lot kept").released);

    // a held earning's lot may be released early, in full
    assert_applied(&t.apply(json!({"kind":"affiliate_earning","event_id":"a1","user_id":uid,"amount":300,"hold_seconds":3600})).await);
    assert_eq!(buckets(&t, uid).await, (500, 300, 0));
    assert_applied(
        &t.apply(
            json!({"kind":"release_hold","event_id":"rh_2","user_id":uid,"hold_event_id":"a1"}),
        )
        .await,
    );
    assert_eq!(buckets(&t, uid).await, (800, 0, 0));
    let l = lot(&t, uid, "a1").await.expect("lot kept");
    assert!(l.released);
    // a released lot leaves the due index (release-holds must not see it again)
    let raw = partition(&t, uid).await;
    let lot_item = raw
        .iter()
        .find(|i| i.get(keys::SK) == Some(&AttributeValue::S(keys::lot_sk("a1"))))
        .expect("lot item");
    assert!(!lot_item.contains_key(keys::GSI1_PK) && !lot_item.contains_key(keys::GSI1_SK));
    // releasing does not count as referral revenue a second time
    assert_eq!(account(&t, uid).await.balance.referral_revenue, 300);

    let list = entries_in_order(&t, uid).await;
    let releases: Vec<_> = list
        .iter()
        .filter(|e| e.entry_type == EntryType::ReleaseHold)
        .collect();
    assert_eq!(releases.len(), 2);
    assert_eq!(releases[0].entry_type.as_str(), "release_hold");
    assert_eq!(releases[0].entry_type.direction(), Direction::Transfer);
    assert_eq!((releases[0].amount, d(releases[0])), (200, (200, -200, 0)));
    assert_eq!(releases[0].title.as_deref(), Some("Dispute resolved"));
    assert_eq!((releases[1].amount, d(releases[1])), (300, (300, -300, 0)));

    // a repeated delivery of the release event is a no-op, not an error
    let before = snapshot(&t, uid).await;
    let r = t.apply(json!({"kind":"release_hold","event_id":"rh_1","user_id":uid,"hold_event_id":"h_1","title":"Dispute resolved"})).await;
    assert_eq!(r.status, EventStatus::Duplicate, "{r:?}");
    assert_eq!(snapshot(&t, uid).await, before);
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn release_hold_refusals_change_nothing() {
    let t = test_ctx().await;
    let owner = creator(&t, Profile::new(Currency::Usd)).await.id;
    let other = creator(&t, Profile::new(Currency::Usd)).await.id;
    for uid in [owner, other] {
        assert_applied(&t.apply(json!({"kind":"product_earning","event_id":format!("p{uid}"),"user_id":uid,"amount":500,"hold_seconds":0})).await);
    }
    assert_applied(
        &t.apply(json!({"kind":"hold","event_id":"h_1","user_id":owner,"amount":200}))
            .await,
    );
    let before = (snapshot(&t, owner).await, snapshot(&t, other).await);

    // no such lot
    let r = t.apply(json!({"kind":"release_hold","event_id":"rh_none","user_id":owner,"hold_event_id":"h_missing"})).await;
    assert_rejected(&r, "hold lot \"h_missing\"");
    assert_rejected(&r, "does not exist");
    // a lot id that names an event without a lot (an earning with no hold)
    let r = t.apply(json!({"kind":"release_hold","event_id":"rh_earn","user_id":owner,"hold_event_id":format!("p{owner}")})).await;
    assert_rejected(&r, "does not exist");
    // the lot of another user
    let r = t.apply(json!({"kind":"release_hold","event_id":"rh_other","user_id":other,"hold_event_id":"h_1"}),
    )
    .await;
    assert_rejected(&r, "hold lot \"h_1\"");
    assert_rejected(&r, "does not exist");
    assert_eq!(
        (snapshot(&t, owner).await, snapshot(&t, other).await),
        before
    );
    assert!(!lot(&t, owner, "h_1").await.expect("lot").released);
    for id in ["rh_none", "rh_earn", "rh_other"] {
        assert!(!event_recorded(&t, id).await, "{id} was recorded");
    }

    // released once; a second release under a new event id is refused
    assert_applied(
        &t.apply(
            json!({"kind":"release_hold","event_id":"rh_1","user_id":owner,"hold_event_id":"h_1"}),
        )
        .await,
    );
    assert_eq!(buckets(&t, owner).await, (500, 0, 0));
    let before = snapshot(&t, owner).await;
    let r = t.apply(json!({"kind":"release_hold","event_id":"rh_again","user_id":owner,"hold_event_id":"h_1"}),
    )
    .await;
    assert_rejected(&r, "hold lot \"h_1\" is already released");
    assert_eq!(snapshot(&t, owner).await, before);
    assert!(!event_recorded(&t, "rh_again").await);
    assert_invariants(&t, owner).await;
    assert_invariants(&t, other).await;
}

#[tokio::test]
async fn default_hold_comes_from_config() {
    // HOLD_SECONDS = 3600: an earning without hold_seconds is held an hour
    let t = test_ctx_with(|c| c.hold_seconds = 3600).await;
    let uid = creator(&t, Profile::new(Currency::Eur)).await.id;
    let before = now();
    assert_applied(
        &t.apply(json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":100}))
            .await,
    );
    let after = now();
    assert_eq!(buckets(&t, uid).await, (0, 100, 0));
    let at = lot(&t, uid, "p1")
        .await
        .expect("lot")
        .release_at
        .expect("release_at");
    assert!(
        (before + 3600..=after + 3600).contains(&at),
        "release_at {at}"
    );
    // an explicit 0 overrides the default
    assert_applied(&t.apply(json!({"kind":"affiliate_earning","event_id":"a1","user_id":uid,"amount":40,"hold_seconds":0})).await);
    assert_eq!(buckets(&t, uid).await, (40, 100, 0));
    // null counts as absent
    assert_applied(&t.apply(json!({"kind":"affiliate_earning","event_id":"a2","user_id":uid,"amount":7,"hold_seconds":null})).await);
    assert_eq!(buckets(&t, uid).await, (40, 107, 0));
    assert!(lot(&t, uid, "a2").await.is_some());
    assert_invariants(&t, uid).await;

    // HOLD_SECONDS = 0: available at once, no lot
    let t = test_ctx_with(|c| c.hold_seconds = 0).await;
    let uid = creator(&t, Profile::new(Currency::Gbp)).await.id;
    assert_applied(
        &t.apply(json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":100}))
            .await,
    );
    assert_eq!(buckets(&t, uid).await, (100, 0, 0));
    assert!(lot(&t, uid, "p1").await.is_none());
    // an explicit hold overrides the default
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"p2","user_id":uid,"amount":30,"hold_seconds":5})).await);
    assert_eq!(buckets(&t, uid).await, (100, 30, 0));
    assert_eq!(lot(&t, uid, "p2").await.expect("lot").amount, 30);
    assert_invariants(&t, uid).await;

    // the default configuration is the source's "1 hour"
    let t = test_ctx().await;
    assert_eq!(t.config.hold_seconds, 3600);
}

#[tokio::test]
async fn referral_revenue_counts_affiliate_earnings_only() {
    let (t, uid) = setup().await;
    let events = [
        json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":1000,"hold_seconds":0}),
        json!({"kind":"product_earning","event_id":"p2","user_id":uid,"amount":500,"hold_seconds":60}),
        json!({"kind":"affiliate_earning","event_id":"a1","user_id":uid,"amount":220,"hold_seconds":0}),
        json!({"kind":"affiliate_earning","event_id":"a2","user_id":uid,"amount":80,"hold_seconds":3600}),
        json!({"kind":"fee","event_id":"f1","user_id":uid,"amount":50}),
        json!({"kind":"refund","event_id":"r1","user_id":uid,"amount":20}),
        json!({"kind":"hold","event_id":"h1","user_id":uid,"amount":100}),
        json!({"kind":"release_hold","event_id":"rh1","user_id":uid,"hold_event_id":"h1"}),
        json!({"kind":"release_hold","event_id":"rh2","user_id":uid,"hold_event_id":"a2"}),
    ];
    for e in events {
        assert_applied(&t.apply(e).await);
    }
    let acc = account(&t, uid).await;
    assert_eq!(acc.balance.referral_revenue, 300);
    assert_eq!(
        (acc.balance.available, acc.balance.hold, acc.balance.pending),
        (1000 + 220 - 50 - 20 + 80, 500, 0)
    );
    assert_eq!((acc.public_count, acc.affiliate_count), (9, 2));
    assert_invariants(&t, uid).await;
}

// ------------------------------------------------------ 2. idempotency

#[tokio::test]
async fn repeated_event_id_with_same_payload_is_a_duplicate() {
    let (t, uid) = setup().await;
    let first = json!({"kind":"product_earning","event_id":"pay_1","user_id":uid,"amount":550,"title":"Photo","product_id":7,"hold_seconds":0});
    assert_applied(&t.apply(first.clone()).await);
    let held = json!({"kind":"affiliate_earning","event_id":"pay_2","user_id":uid,"amount":220,"hold_seconds":60});
    assert_applied(&t.apply(held.clone()).await);
    let fee = json!({"kind":"fee","event_id":"fee_1","user_id":uid,"amount":50});
    assert_applied(&t.apply(fee.clone()).await);
    let before = snapshot(&t, uid).await;
    let entry_count = entries(&t, uid).await.len();
    assert_eq!(entry_count, 3);

    // the same payload, the keys in another order
    let reordered: Value = serde_json::from_str(&format!(
        r#"{{ "hold_seconds": 0, "product_id": 7, "title": "Photo", "amount": 550, "user_id": {uid}, "event_id": "pay_1", "kind": "product_earning" }}"#
    ))
    .expect("json");
    assert_ne!(
        reordered.to_string(),
        first.to_string(),
        "keys really are reordered"
    );
    for e in [first, reordered, held, fee] {
        let r = t.apply(e).await;
        assert_eq!(r.status, EventStatus::Duplicate, "{r:?}");
        assert_eq!(r.error, None);
    }
    assert_eq!(
        snapshot(&t, uid).await,
        before,
        "a duplicate changed something"
    );
    assert_eq!(entries(&t, uid).await.len(), entry_count);
    assert_eq!(buckets(&t, uid).await, (500, 220, 0));
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn same_event_id_with_another_payload_is_refused() {
    let t = test_ctx().await;
    let uid = creator(&t, Profile::new(Currency::Usd)).await.id;
    let other = creator(&t, Profile::new(Currency::Usd)).await.id;
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"pay_1","user_id":uid,"amount":550,"hold_seconds":0})).await);
    let before = (snapshot(&t, uid).await, snapshot(&t, other).await);
    for changed in [
        json!({"kind":"product_earning","event_id":"pay_1","user_id":uid,"amount":551,"hold_seconds":0}),
        json!({"kind":"product_earning","event_id":"pay_1","user_id":uid,"amount":550,"hold_seconds":0,"title":"x"}),
        json!({"kind":"product_earning","event_id":"pay_1","user_id":uid,"amount":550}),
        json!({"kind":"fee","event_id":"pay_1","user_id":uid,"amount":550}),
        json!({"kind":"product_earning","event_id":"pay_1","user_id":other,"amount":550,"hold_seconds":0}),
    ] {
        let r = t.apply(changed).await;
        assert_rejected(
            &r,
            "event_id \"pay_1\" was already used with a different payload",
        );
    }
    assert_eq!((snapshot(&t, uid).await, snapshot(&t, other).await), before);
    assert_eq!(buckets(&t, uid).await, (550, 0, 0));
    assert_invariants(&t, uid).await;
    assert_invariants(&t, other).await;
}

// -------------------------------------------------- 3. invalid events

#[tokio::test]
async fn invalid_events_are_refused_and_change_nothing() {
    let (t, uid) = setup().await;
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"seed","user_id":uid,"amount":1000,"hold_seconds":0})).await);
    let before = snapshot(&t, uid).await;
    let items_before = before.1.len();
    let amount_range = format!("amount must be an integer from 1 to {MAX_AMOUNT}");
    let cases: Vec<(&str, Value, String)> = vec![
        (
            "not an object",
            json!([{"kind":"fee"}]),
            "an event must be a JSON object".into(),
        ),
        (
            "no kind",
            json!({"event_id":"bad_0","user_id":uid,"amount":5}),
            "kind is required".into(),
        ),
        (
            "unknown kind",
            json!({"kind":"gift","event_id":"bad_1","user_id":uid,"amount":5}),
            "unknown kind \"gift\"".into(),
        ),
        (
            "missing amount",
            json!({"kind":"fee","event_id":"bad_2","user_id":uid}),
            "amount is required".into(),
        ),
        (
            "null amount",
            json!({"kind":"fee","event_id":"bad_2n","user_id":uid,"amount":null}),
            "amount is required".into(),
        ),
        (
            "zero amount",
            json!({"kind":"fee","event_id":"bad_3","user_id":uid,"amount":0}),
            amount_range.clone(),
        ),
        (
            "negative amount",
            json!({"kind":"product_earning","event_id":"bad_4","user_id":uid,"amount":-5,"hold_seconds":0}),
            amount_range.clone(),
        ),
        (
            "fractional amount",
            json!({"kind":"fee","event_id":"bad_5","user_id":uid,"amount":1.5}),
            amount_range.clone(),
        ),
        (
            "integral float amount",
            json!({"kind":"fee","event_id":"bad_5f","user_id":uid,"amount":5.0}),
            amount_range.clone(),
        ),
        (
            "string amount",
            json!({"kind":"fee","event_id":"bad_6","user_id":uid,"amount":"5"}),
            amount_range.clone(),
        ),
        (
            "amount too large",
            json!({"kind":"product_earning","event_id":"bad_7","user_id":uid,"amount":MAX_AMOUNT + 1,"hold_seconds":0}),
            amount_range.clone(),
        ),
        (
            "amount beyond i64",
            json!({"kind":"fee","event_id":"bad_7b","user_id":uid,"amount":u64::MAX}),
            amount_range.clone(),
        ),
        (
            "unknown field",
            json!({"kind":"fee","event_id":"bad_8","user_id":uid,"amount":5,"hold_seconds":0}),
            "unknown field \"hold_seconds\" for kind \"fee\"".into(),
        ),
        (
            "typo field",
            json!({"kind":"product_earning","event_id":"bad_9","user_id":uid,"amount":5,"hold_second":0}),
            "unknown field \"hold_second\"".into(),
        ),
        (
            "bad occurred_at",
            json!({"kind":"fee","event_id":"bad_10","user_id":uid,"amount":5,"occurred_at":"2026-13-40T10:00:00Z"}),
            "occurred_at must be an RFC 3339 time".into(),
        ),
        (
            "occurred_at not RFC 3339",
            json!({"kind":"fee","event_id":"bad_11","user_id":uid,"amount":5,"occurred_at":"2026-04-20 10:15:00"}),
            "occurred_at must be an RFC 3339 time".into(),
        ),
        (
            "occurred_at a number",
            json!({"kind":"fee","event_id":"bad_12","user_id":uid,"amount":5,"occurred_at":1776680100}),
            "occurred_at must be an RFC 3339 time".into(),
        ),
        (
            "negative hold_seconds",
            json!({"kind":"product_earning","event_id":"bad_13","user_id":uid,"amount":5,"hold_seconds":-1}),
            "hold_seconds must be".into(),
        ),
        (
            "missing user_id",
            json!({"kind":"fee","event_id":"bad_14","amount":5}),
            "user_id is required".into(),
        ),
        (
            "string user_id",
            json!({"kind":"fee","event_id":"bad_15","user_id":uid.to_string(),"amount":5}),
            "user_id must be".into(),
        ),
        (
            "missing event_id",
            json!({"kind":"fee","user_id":uid,"amount":5}),
            "event_id is required".into(),
        ),
        (
            "release without lot id",
            json!({"kind":"release_hold","event_id":"bad_16","user_id":uid}),
            "hold_event_id is required".into(),
        ),
        (
            "release with amount",
            json!({"kind":"release_hold","event_id":"bad_17","user_id":uid,"hold_event_id":"x","amount":5}),
            "unknown field \"amount\"".into(),
        ),
    ];
    for (name, event, message) in cases {
        let id = event
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let r = t.apply(event).await;
        assert_eq!(r.status, EventStatus::Rejected, "{name}: {r:?}");
        assert_ne!(r.status, EventStatus::Failed, "{name}: {r:?}");
        let got = r.error.as_deref().unwrap_or_default();
        assert!(
            got.contains(&message),
            "{name}: {got:?} should contain {message:?}"
        );
        assert_eq!(r.event_id, id, "{name}: the result names the event");
        if let Some(id) = id {
            assert!(
                !event_recorded(&t, &id).await,
                "{name}: event {id} was recorded"
            );
        }
        let now = snapshot(&t, uid).await;
        assert_eq!(
            now.1.len(),
            items_before,
            "{name}: partition item count changed"
        );
        assert_eq!(now, before, "{name}: the wallet changed");
    }
    // a refused event id is not burnt: the corrected event applies
    assert_applied(
        &t.apply(json!({"kind":"fee","event_id":"bad_3","user_id":uid,"amount":3}))
            .await,
    );
    assert_eq!(buckets(&t, uid).await, (997, 0, 0));
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn amount_limit_is_ten_to_the_twelfth_inclusive() {
    let (t, uid) = setup().await;
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"max","user_id":uid,"amount":MAX_AMOUNT,"hold_seconds":0})).await);
    assert_eq!(buckets(&t, uid).await, (MAX_AMOUNT, 0, 0));
    let before = snapshot(&t, uid).await;
    let r = t.apply(json!({"kind":"product_earning","event_id":"max1","user_id":uid,"amount":MAX_AMOUNT + 1,"hold_seconds":0})).await;
    assert_rejected(&r, "amount must be an integer from 1 to 1000000000000");
    assert_eq!(snapshot(&t, uid).await, before);
    assert_applied(
        &t.apply(json!({"kind":"hold","event_id":"hmax","user_id":uid,"amount":MAX_AMOUNT}))
            .await,
    );
    assert_applied(
        &t.apply(json!({"kind":"fee","event_id":"fmax","user_id":uid,"amount":MAX_AMOUNT}))
            .await,
    );
    assert_applied(&t.apply(json!({"kind":"affiliate_earning","event_id":"amin","user_id":uid,"amount":1,"hold_seconds":0})).await);
    assert_eq!(buckets(&t, uid).await, (1 - MAX_AMOUNT, MAX_AMOUNT, 0));
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn unknown_and_deleted_users_are_refused() {
    let (t, uid) = setup().await;
    let missing = uid + 777;
    let r = t.apply(json!({"kind":"product_earning","event_id":"u1","user_id":missing,"amount":5,"hold_seconds":0})).await;
    assert_rejected(&r, &format!("user {missing} does not exist or is deleted"));
    assert!(
        partition(&t, missing).await.is_empty(),
        "nothing written for an unknown user"
    );
    assert!(!event_recorded(&t, "u1").await);

    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":500,"hold_seconds":0})).await);
    assert_applied(
        &t.apply(json!({"kind":"hold","event_id":"h1","user_id":uid,"amount":100}))
            .await,
    );
    shared::services::users::delete_user(&t, uid)
        .await
        .expect("delete user");
    let before = snapshot(&t, uid).await;
    assert!(before.0.deleted);
    for (id, e) in [
        (
            "d1",
            json!({"kind":"product_earning","event_id":"d1","user_id":uid,"amount":5,"hold_seconds":0}),
        ),
        (
            "d2",
            json!({"kind":"fee","event_id":"d2","user_id":uid,"amount":5}),
        ),
        (
            "d3",
            json!({"kind":"hold","event_id":"d3","user_id":uid,"amount":5}),
        ),
        (
            "d4",
            json!({"kind":"release_hold","event_id":"d4","user_id":uid,"hold_event_id":"h1"}),
        ),
    ] {
        let r = t.apply(e).await;
        assert_rejected(&r, &format!("user {uid} does not exist or is deleted"));
        assert!(!event_recorded(&t, id).await);
        let now = snapshot(&t, uid).await;
        assert_eq!(
            now.1.len(),
            before.1.len(),
            "{id}: partition item count changed"
        );
        assert_eq!(now, before, "{id}: a deleted wallet changed");
    }
    // a delivery of an event applied before the deletion is still a duplicate
    let r = t.apply(json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":500,"hold_seconds":0})).await;
    assert_eq!(r.status, EventStatus::Duplicate, "{r:?}");
    assert_invariants(&t, uid).await;
}

// --------------------------------------------------- 4. occurred_at

#[tokio::test]
async fn occurred_at_sets_created_at_and_the_lot_clock() {
    let (t, uid) = setup().await;
    let at = 1_776_680_100; // 2026-04-20T10:15:00Z
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":500,"hold_seconds":7200,"occurred_at":"2026-04-20T10:15:00Z"})).await);
    // another offset, the same instant
    assert_applied(&t.apply(json!({"kind":"fee","event_id":"f1","user_id":uid,"amount":5,"occurred_at":"2026-04-20T12:15:00+02:00"})).await);
    assert_applied(&t.apply(json!({"kind":"affiliate_earning","event_id":"a1","user_id":uid,"amount":100,"hold_seconds":0,"occurred_at":"2025-01-02T03:04:05Z"})).await);
    let before = now();
    assert_applied(
        &t.apply(json!({"kind":"refund","event_id":"r1","user_id":uid,"amount":1}))
            .await,
    );
    assert_applied(&t.apply(json!({"kind":"hold","event_id":"h1","user_id":uid,"amount":10,"occurred_at":"2026-04-21T00:00:00Z"})).await);
    let after = now();

    let l = lot(&t, uid, "p1").await.expect("lot");
    assert_eq!(
        l.release_at,
        Some(at + 7200),
        "release_at = occurred_at + hold_seconds"
    );
    assert_eq!(
        lot(&t, uid, "h1").await.expect("lot").release_at,
        None,
        "an operator hold has no release time"
    );

    let by_event: HashMap<String, Entry> = entries(&t, uid)
        .await
        .into_iter()
        .map(|e| (e.event_id.clone().expect("event id"), e))
        .collect();
    assert_eq!(by_event["p1"].created_at, at);
    assert_eq!(by_event["f1"].created_at, at);
    assert_eq!(by_event["a1"].created_at, 1_735_787_045);
    assert_eq!(by_event["h1"].created_at, 1_776_729_600);
    let default = by_event["r1"].created_at;
    assert!(
        (before..=after).contains(&default),
        "created_at defaults to now: {default}"
    );
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn held_earning_without_occurred_at_starts_its_clock_when_applied() {
    let (t, uid) = setup().await;
    let before = now();
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"p1","user_id":uid,"amount":5,"hold_seconds":86400})).await);
    let after = now();
    let l = lot(&t, uid, "p1").await.expect("lot");
    let at = l.release_at.expect("release_at");
    assert!(
        (before + 86400..=after + 86400).contains(&at),
        "release_at {at}"
    );
    let e = entries(&t, uid).await.pop().expect("entry");
    assert!((before..=after).contains(&e.created_at));
    assert_invariants(&t, uid).await;
}

// ------------------------------------------- 6. matured-on-arrival lots

#[tokio::test]
async fn held_earning_is_a_lot_even_when_already_matured() {
    let (t, uid) = setup().await;
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"old","user_id":uid,"amount":400,"hold_seconds":60,"occurred_at":"2020-01-01T00:00:00Z"})).await);
    assert_applied(&t.apply(json!({"kind":"affiliate_earning","event_id":"old_a","user_id":uid,"amount":50,"hold_seconds":1,"occurred_at":"2021-06-01T00:00:00Z"})).await);
    assert_eq!(
        buckets(&t, uid).await,
        (0, 450, 0),
        "held earnings go to hold even if matured"
    );
    let l = lot(&t, uid, "old")
        .await
        .expect("a matured held earning is still a lot");
    assert_eq!(l.release_at, Some(1_577_836_800 + 60));
    assert!(l.release_at.unwrap_or(i64::MAX) < now());
    assert!(!l.released);
    assert_eq!(l.amount, 400);
    // and it is in the due index, so release-holds will find it
    let raw = partition(&t, uid).await;
    let item = raw
        .iter()
        .find(|i| i.get(keys::SK) == Some(&AttributeValue::S(keys::lot_sk("old"))))
        .expect("lot item");
    assert_eq!(
        item.get(keys::GSI1_SK),
        Some(&AttributeValue::S(keys::due_lot_gsi_sk(
            1_577_836_860,
            uid,
            "old"
        )))
    );
    assert!(lot(&t, uid, "old_a").await.is_some());
    assert_invariants(&t, uid).await;
}

// ------------------------------------------------------- 5. concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_earnings_are_all_applied() {
    let (t, uid) = setup().await;
    let events: Vec<Value> = (1..=50)
        .map(|i| json!({"kind":"product_earning","event_id":format!("c{i}"),"user_id":uid,"amount":i,"hold_seconds":0}))
        .collect();
    let results = t.apply_all(events).await;
    for r in &results {
        assert_applied(r);
    }
    let acc = account(&t, uid).await;
    assert_eq!(acc.balance.available, (1..=50).sum::<i64>());
    assert_eq!((acc.balance.hold, acc.balance.pending), (0, 0));
    assert_eq!(acc.public_count, 50);
    let list = entries(&t, uid).await;
    assert_eq!(list.len(), 50);
    let mut amounts: Vec<i64> = list.iter().map(|e| e.amount).collect();
    amounts.sort_unstable();
    assert_eq!(
        amounts,
        (1..=50).collect::<Vec<_>>(),
        "every event has its own entry"
    );
    assert_invariants(&t, uid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_earnings_held_earnings_and_fees() {
    let (t, uid) = setup().await;
    let mut events = Vec::new();
    for i in 0..15 {
        events.push(json!({"kind":"product_earning","event_id":format!("e{i}"),"user_id":uid,"amount":100,"hold_seconds":0}));
        events.push(json!({"kind":"affiliate_earning","event_id":format!("a{i}"),"user_id":uid,"amount":10,"hold_seconds":600}));
        events.push(json!({"kind":"fee","event_id":format!("f{i}"),"user_id":uid,"amount":30}));
    }
    let results = t.apply_all(events).await;
    for r in &results {
        assert_applied(r);
    }
    let acc = account(&t, uid).await;
    assert_eq!(
        (acc.balance.available, acc.balance.hold, acc.balance.pending),
        (15 * 100 - 15 * 30, 15 * 10, 0)
    );
    assert_eq!(acc.balance.referral_revenue, 150);
    assert_eq!((acc.public_count, acc.affiliate_count), (45, 15));
    assert_eq!(entries(&t, uid).await.len(), 45);
    assert_invariants(&t, uid).await;
}

/// How many results are `applied`, how many `duplicate`.
fn applied_and_duplicates(results: &[EventResult]) -> (usize, usize) {
    let count = |status| results.iter().filter(|r| r.status == status).count();
    (count(EventStatus::Applied), count(EventStatus::Duplicate))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_event_delivered_ten_times_concurrently_applies_once() {
    let (t, uid) = setup().await;
    // a held earning: the transaction also creates a lot
    let event = json!({"kind":"affiliate_earning","event_id":"once","user_id":uid,"amount":777,"hold_seconds":600});
    let results = t.apply_all(vec![event; 10]).await;
    assert_eq!(applied_and_duplicates(&results), (1, 9), "{results:?}");
    assert_eq!(buckets(&t, uid).await, (0, 777, 0));
    assert_eq!(entries(&t, uid).await.len(), 1);
    assert_eq!(account(&t, uid).await.balance.referral_revenue, 777);

    let event = json!({"kind":"fee","event_id":"once_fee","user_id":uid,"amount":7});
    let results = t.apply_all(vec![event; 10]).await;
    assert_eq!(applied_and_duplicates(&results), (1, 9), "{results:?}");
    assert_eq!(buckets(&t, uid).await, (-7, 777, 0));
    assert_eq!(entries(&t, uid).await.len(), 2);
    assert_invariants(&t, uid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_holds_never_overdraw_available() {
    let (t, uid) = setup().await;
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"p","user_id":uid,"amount":1000,"hold_seconds":0})).await);
    let events: Vec<Value> = (0..20)
        .map(|i| json!({"kind":"hold","event_id":format!("h{i}"),"user_id":uid,"amount":100}))
        .collect();
    let results = t.apply_all(events).await;
    let applied = results
        .iter()
        .filter(|r| r.status == EventStatus::Applied)
        .count();
    assert_eq!(applied, 10, "{results:?}");
    for r in results.iter().filter(|r| r.status != EventStatus::Applied) {
        assert_rejected(
            r,
            "insufficient available funds: available is 0, 100 needed",
        );
    }
    assert_eq!(buckets(&t, uid).await, (0, 1000, 0));
    assert_eq!(entries(&t, uid).await.len(), 11);
    assert_eq!(
        sk_count(&t, uid, "LOT#").await,
        10,
        "only applied holds have lots"
    );
    assert_invariants(&t, uid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_releases_of_one_lot_release_it_once() {
    let (t, uid) = setup().await;
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"p","user_id":uid,"amount":300,"hold_seconds":3600})).await);
    let events: Vec<Value> = (0..8)
        .map(|i| json!({"kind":"release_hold","event_id":format!("rh{i}"),"user_id":uid,"hold_event_id":"p"}))
        .collect();
    let results = t.apply_all(events).await;
    assert_eq!(applied_and_duplicates(&results).0, 1, "{results:?}");
    for r in results.iter().filter(|r| r.status != EventStatus::Applied) {
        assert_rejected(r, "hold lot \"p\" is already released");
    }
    assert_eq!(buckets(&t, uid).await, (300, 0, 0));
    assert_eq!(entries(&t, uid).await.len(), 2);
    assert_invariants(&t, uid).await;
}

// ------------------------------------------------ 7. the ledger handler

#[tokio::test]
async fn handler_applies_a_single_event() {
    let (t, uid) = setup().await;
    let event = sample_for("ledger_product_earning", uid);
    let bad = json!({"kind":"fee","event_id":"bad","user_id":uid,"amount":0});
    let too_small = json!("amount must be an integer from 1 to 1000000000000");
    for (event, id, status, error) in [
        (event.clone(), "pay_1", "applied", Value::Null),
        (event, "pay_1", "duplicate", Value::Null),
        (bad, "bad", "rejected", too_small),
    ] {
        assert_eq!(
            ledger::handle(&t, event).await,
            json!([{"event_id": id, "status": status, "error": error}])
        );
        assert_eq!(buckets(&t, uid).await, (550, 0, 0));
    }
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn handler_applies_an_array_in_order() {
    let (t, uid) = setup().await;
    let batch = sample_for("ledger_batch", uid);
    let out = ledger::handle(&t, batch.clone()).await;
    let ids = ["pay_1", "pay_2", "fee_1", "h_1", "rh_1", "ref_1"];
    let want: Vec<Value> = ids
        .iter()
        .map(|id| json!({"event_id":id,"status":"applied","error":null}))
        .collect();
    assert_eq!(out, Value::Array(want));
    // 550 + 220 - 50 - 100 + 100 - 550
    assert_eq!(buckets(&t, uid).await, (170, 0, 0));
    assert_eq!(account(&t, uid).await.balance.referral_revenue, 220);
    let types: Vec<&str> = entries_in_order(&t, uid)
        .await
        .iter()
        .map(|e| e.entry_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "product_earning",
            "affiliate_earning",
            "fee",
            "hold",
            "release_hold",
            "refund"
        ]
    );
    assert!(lot(&t, uid, "h_1").await.expect("lot").released);

    // the whole batch again: nothing applies twice
    let before = snapshot(&t, uid).await;
    let out = ledger::handle(&t, batch).await;
    let want: Vec<Value> = ids
        .iter()
        .map(|id| json!({"event_id":id,"status":"duplicate","error":null}))
        .collect();
    assert_eq!(out, Value::Array(want));
    assert_eq!(snapshot(&t, uid).await, before);
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn handler_reports_only_the_bad_records_of_an_sqs_batch() {
    let (t, uid) = setup().await;
    let batch = sqs_batch_for(uid);
    let failures =
        json!({"batchItemFailures":[{"itemIdentifier":"msg-2"},{"itemIdentifier":"msg-3"}]});
    let out = ledger::handle(&t, batch.clone()).await;
    assert_eq!(out, failures);
    assert_eq!(buckets(&t, uid).await, (1300, 0, 0));
    assert_eq!(account(&t, uid).await.balance.referral_revenue, 300);
    let list = entries_in_order(&t, uid).await;
    let got: Vec<_> = list
        .iter()
        .map(|e| (e.event_id.as_deref(), e.amount))
        .collect();
    assert_eq!(
        got,
        vec![(Some("sqs_pay_1"), 1000), (Some("sqs_pay_2"), 300)]
    );
    assert!(!event_recorded(&t, "sqs_bad_1").await);

    // SQS delivers the whole batch again: the same failures, nothing twice
    let before = snapshot(&t, uid).await;
    let out = ledger::handle(&t, batch).await;
    assert_eq!(out, failures);
    assert_eq!(snapshot(&t, uid).await, before);
    assert_invariants(&t, uid).await;
}

#[tokio::test]
async fn handler_sqs_record_with_several_events_fails_if_one_is_refused() {
    let (t, uid) = setup().await;
    let mut batch = sqs_batch_for(uid);
    // msg-1 carries a JSON array of two events, the second refused (hold > available)
    batch["Records"][0]["body"] = Value::String(
        json!([
            {"kind":"product_earning","event_id":"multi_1","user_id":uid,"amount":10,"hold_seconds":0},
            {"kind":"hold","event_id":"multi_2","user_id":uid,"amount":1000000}
        ])
        .to_string(),
    );
    // msg-3 carries JSON lines
    batch["Records"][2]["body"] = Value::String(format!(
        "{}\n{}\n",
        json!({"kind":"fee","event_id":"jl_1","user_id":uid,"amount":1}),
        json!({"kind":"fee","event_id":"jl_2","user_id":uid,"amount":2})
    ));
    let out = ledger::handle(&t, batch).await;
    assert_eq!(
        out,
        json!({"batchItemFailures":[{"itemIdentifier":"msg-1"},{"itemIdentifier":"msg-2"}]})
    );
    // multi_1 applied (and will be a duplicate on retry), multi_2 not; msg-3 and msg-4 applied
    assert_eq!(buckets(&t, uid).await, (10 - 1 - 2 + 300, 0, 0));
    assert!(event_recorded(&t, "multi_1").await);
    assert!(!event_recorded(&t, "multi_2").await);
    assert_invariants(&t, uid).await;
}

// ------------------------------------------------------------ 8. overflow

#[test]
fn next_balance_refuses_overflow_and_keeps_bucket_rules() {
    let bal = |available, hold, pending| Balance {
        available,
        hold,
        pending,
        referral_revenue: 0,
    };
    let max = i64::MAX;
    for held in [false, true] {
        for t in [EntryType::ProductEarning, EntryType::AffiliateEarning] {
            assert_eq!(
                next_balance(&bal(max, 0, 0), t, 1, false),
                Err(BalanceError::Overflow),
                "{t:?}"
            );
            assert_eq!(
                next_balance(&bal(0, max, 0), t, 1, true),
                Err(BalanceError::Overflow),
                "{t:?}"
            );
            // each bucket fits, but their total would not
            assert_eq!(
                next_balance(&bal(max - 10, 10, 0), t, 1, held),
                Err(BalanceError::Overflow),
                "{t:?} held={held}"
            );
        }
    }
    // referral revenue overflows on its own
    let full = Balance {
        referral_revenue: max,
        ..Balance::default()
    };
    assert_eq!(
        next_balance(&full, EntryType::AffiliateEarning, 1, false),
        Err(BalanceError::Overflow)
    );
    assert!(next_balance(&full, EntryType::ProductEarning, 1, false).is_ok());
    // debits far below zero
    assert_eq!(
        next_balance(&bal(i64::MIN, 0, 0), EntryType::Fee, 1, false),
        Err(BalanceError::Overflow)
    );
    assert_eq!(
        next_balance(&bal(i64::MIN + 1, 0, 0), EntryType::Refund, 1, false).map(|b| b.available),
        Ok(i64::MIN)
    );
    // non-positive amounts never move money
    for t in EntryType::ALL {
        assert_eq!(
            next_balance(&bal(5, 5, 5), t, 0, false),
            Err(BalanceError::NonPositiveAmount)
        );
        assert_eq!(
            next_balance(&bal(5, 5, 5), t, -1, false),
            Err(BalanceError::NonPositiveAmount)
        );
    }
    // the largest allowed event on a large, valid wallet is fine
    let b = next_balance(
        &bal(max / 2, 0, 0),
        EntryType::ProductEarning,
        MAX_AMOUNT,
        false,
    )
    .expect("fits");
    assert_eq!(b.available, max / 2 + MAX_AMOUNT);
}

#[tokio::test]
async fn an_earning_that_would_overflow_the_wallet_is_refused_cleanly() {
    let (t, uid) = setup().await;
    // No sequence of 10^12 events reaches i64::MAX in a test, so the
    // account's buckets are set directly (this wallet breaks the
    // sum-of-entries invariant on purpose; it is not checked here).
    t.db.update_item()
        .table_name(t.table())
        .key(keys::PK, AttributeValue::S(keys::user_pk(uid)))
        .key(keys::SK, AttributeValue::S(keys::ACCOUNT_SK.into()))
        .update_expression("SET #a = :a, #h = :h")
        .expression_attribute_names("#a", "available")
        .expression_attribute_names("#h", "hold")
        .expression_attribute_values(":a", AttributeValue::N((i64::MAX - 5).to_string()))
        .expression_attribute_values(":h", AttributeValue::N("0".into()))
        .send()
        .await
        .expect("set buckets");
    let before = snapshot(&t, uid).await;
    for (id, e) in [
        (
            "o1",
            json!({"kind":"product_earning","event_id":"o1","user_id":uid,"amount":10,"hold_seconds":0}),
        ),
        (
            "o2",
            json!({"kind":"affiliate_earning","event_id":"o2","user_id":uid,"amount":10,"hold_seconds":60}),
        ),
    ] {
        let r = t.apply(e).await;
        assert_rejected(&r, "the wallet balance would overflow");
        assert!(!event_recorded(&t, id).await);
        assert_eq!(snapshot(&t, uid).await, before, "{id}");
        assert!(lot(&t, uid, id).await.is_none());
    }
    // an amount that still fits is applied
    assert_applied(&t.apply(json!({"kind":"product_earning","event_id":"o3","user_id":uid,"amount":5,"hold_seconds":0})).await);
    assert_eq!(buckets(&t, uid).await, (i64::MAX, 0, 0));
}

// ------------------------------------- regression: transaction tokens

/// Two fresh tables on one DynamoDB endpoint (two test tables here; in AWS,
/// two stacks' tables in one account and region: client request tokens are
/// scoped to the account and region, not the table) allocate the same entry
/// ids. While the ledger's transaction token was `"{entry_id}-{attempt}"`,
/// the second table's first movement was refused with
/// IdempotentParameterMismatchException. Every event must apply in both.
#[tokio::test]
async fn client_request_tokens_do_not_collide_across_tables() {
    let mut results = Vec::new();
    for _ in 0..2 {
        let t = test_ctx().await; // ids start at 1, as in a new deployment
        let uid = creator(&t, Profile::new(Currency::Usd)).await.id;
        let r = t.apply(json!({"kind":"product_earning","event_id":"first","user_id":uid,"amount":100,"hold_seconds":0})).await;
        let b = buckets(&t, uid).await;
        results.push((r, b));
    }
    for (r, b) in &results {
        assert_applied(r);
        assert_eq!(*b, (100, 0, 0));
    }
}
