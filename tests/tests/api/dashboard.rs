//! `GET /api/dashboard/summary` and `POST /api/dashboard/summary/aggregate`
//! (docs/api.md#summary, #aggregate) and the product analytics the ledger keeps for them
//! (docs/ledger.md#internal-events), through the handlers, the `ledger` function and the sample events
//! of `events/`, on DynamoDB Local.
//!
//! Every success is compared as a whole envelope with a JSON value written out
//! here: the numbers are worked out by hand from the events each test sends
//! (the arithmetic is in the comments), never taken from the code under test.
//! Conversion rates that are whole numbers are written `10.0`: the API sends
//! them as JSON floats.
//!
//! Round trips: the test context's `RequestCounter` counts requests by
//! operation, and its `Phases` the sequential round trips (requests that
//! overlap in time share a phase), to check that the aggregate's
//! TransactGetItems and its top Queries run concurrently.

use domain::currency::Currency;
use serde_json::{json, Value};
use shared::services::ledger::EventStatus;
use shared::services::users::delete_user;
use shared::store::read::read_product;
use tests::dynamo::{ops, test_ctx, TestCtx};
use tests::events::{assert_applied, Event};
use tests::expect::{account_entry, balance, thumb, top, Summary, Top};
use tests::fixtures::{api_key, creator, Creator, Profile};
use tests::http::{
    error, load_event, ok, Req, Route, CHILD_CANNOT_AGGREGATE, FORBIDDEN, UNAUTHENTICATED,
};
use tests::invariants::{account, assert_invariants, entries};

/// A USD creator named as the expected JSON shows.
fn usd(email: &str, name: &str) -> Profile {
    Profile::named(email, name, Currency::Usd)
}

/// A EUR creator named as the expected JSON shows.
fn eur(email: &str, name: &str) -> Profile {
    Profile::named(email, name, Currency::Eur)
}

/// A GBP creator named as the expected JSON shows.
fn gbp(email: &str, name: &str) -> Profile {
    Profile::named(email, name, Currency::Gbp)
}

/// A fresh table and Ann, a USD creator.
async fn with_ann() -> (TestCtx, Creator) {
    let t = test_ctx().await;
    let ann = creator(&t, usd("ann@example.com", "Ann Lee")).await;
    (t, ann)
}

/// The summary of one account with no products and an empty wallet.
fn empty_summary(c: &Creator) -> Value {
    Summary::of(c, balance(0, 0, 0, 0)).ok()
}

/// The body-less variants of the aggregate's sample events (no additional
/// tokens in them).
const WITHOUT_TOKENS: [&str; 4] = [
    "aggregate_no_body",
    "aggregate_empty_body",
    "aggregate_empty_object",
    "aggregate_additional_tokens_null",
];

// ---------------------------------------------------------- summary: auth

#[tokio::test]
async fn summary_needs_a_live_session_token() {
    let (t, ann) = with_ann().await;

    // No token; the sample's own placeholder token, which does not exist.
    for sample in ["summary_no_token", "summary_ok"] {
        assert_eq!(
            t.sample(Route::Summary, sample, None).await,
            (401, error(UNAUTHENTICATED)),
            "{sample}"
        );
    }
    for bad in [
        "Bearer nonsense".to_owned(),
        format!("Basic {}", ann.token),
        format!("Bearer {}x", ann.token),
    ] {
        let req = Req::sample("summary_ok").authorization(Some(&bad)).build();
        assert_eq!(
            t.send(Route::Summary, req).await,
            (401, error(UNAUTHENTICATED)),
            "{bad}"
        );
    }

    let key = api_key(&t, ann.id).await;
    assert_eq!(
        t.summary(&key).await,
        (403, error(FORBIDDEN)),
        "an API key may not read the dashboard"
    );

    // The scheme word is case-insensitive.
    let lower = format!("bearer {}", ann.token);
    let req = Req::sample("summary_ok")
        .authorization(Some(&lower))
        .build();
    assert_eq!(
        t.send(Route::Summary, req).await,
        (200, empty_summary(&ann))
    );

    delete_user(&t, ann.id).await.expect("delete user");
    assert_eq!(t.summary(&ann.token).await, (401, error(UNAUTHENTICATED)));
}

// ----------------------------------------------------- summary: numbers

#[tokio::test]
async fn summary_of_an_empty_account() {
    let (t, ann) = with_ann().await;
    let eva = creator(&t, eur("eva@example.com", "Eva Roth")).await;
    assert_eq!(t.summary(&ann.token).await, (200, empty_summary(&ann)));
    // Written out in full once (the other tests build it with `Summary`).
    assert_eq!(
        t.summary(&eva.token).await,
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

/// `events/ledger_product_catalog.json` for `user_id`.
fn catalog_of(user_id: i64) -> Value {
    let mut events = load_event("ledger_product_catalog");
    for e in events
        .as_array_mut()
        .expect("an array of events")
        .iter_mut()
    {
        e["user_id"] = json!(user_id);
    }
    events
}

/// `events/ledger_product_catalog.json` through the `ledger` function:
/// complete and incomplete media, a deleted product, a product without clicks,
/// a held earning, an affiliate earning and a fee.
#[tokio::test]
async fn summary_of_the_sample_product_catalog() {
    let (t, ann) = with_ann().await;
    let events = catalog_of(ann.id);
    let expected_results: Vec<Value> = events
        .as_array()
        .expect("an array of events")
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
    let expected = Summary::of(&ann, balance(3270, 500, 0, 220))
        .totals((3, 173, 5, 2700, 2.89))
        .top(vec![
            top(102, &ann, "Beta", (3, 1, 33.33, 500)),
            Top {
                id: 101,
                owner: &ann,
                title: json!("Alpha"),
                clicks: 160,
                unlocks: 1,
                rate: 0.63,
                earnings: 1000,
                thumbnail: thumb("https://cdn.example.test/101.jpg", 640, 480),
            }
            .json(),
        ])
        .ok();
    assert_eq!(t.summary(&ann.token).await, (200, expected.clone()));

    // Delivered again (at-least-once): every event is a duplicate, nothing moves.
    let results = ledger::handle(&t, catalog_of(ann.id)).await;
    assert!(
        results
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r["status"] == "duplicate"),
        "{results}"
    );
    assert_eq!(t.summary(&ann.token).await, (200, expected));
}

#[tokio::test]
async fn conversion_rates_round_half_up_to_two_decimals() {
    let (t, ann) = with_ann().await;
    t.product(ann.id, 501, "p501", 160, &[100]).await; // 0.625   -> 0.63
    t.product(ann.id, 502, "p502", 3, &[100]).await; // 33.333  -> 33.33
    t.product(ann.id, 503, "p503", 3, &[100, 100]).await; // 66.666 -> 66.67
    t.product(ann.id, 504, "p504", 2, &[100, 100, 100]).await; // 150
    t.product(ann.id, 505, "p505", 160, &[100, 100, 100]).await; // 1.875 -> 1.88

    // clicks 160+3+3+2+160 = 328, unlocks 1+1+2+3+3 = 10 -> 3.0487 % -> 3.05;
    // revenue 10 x 100.
    let a = &ann;
    let expected = Summary::of(a, balance(1000, 0, 0, 0))
        .totals((5, 328, 10, 1000, 3.05))
        .top(vec![
            top(504, a, "p504", (2, 3, 150.0, 300)),
            top(503, a, "p503", (3, 2, 66.67, 200)),
            top(502, a, "p502", (3, 1, 33.33, 100)),
            top(505, a, "p505", (160, 3, 1.88, 300)),
            top(501, a, "p501", (160, 1, 0.63, 100)),
        ]);
    assert_eq!(t.summary(&ann.token).await, (200, expected.ok()));

    // The source's example: 120 unlocks over 3400 clicks -> 3.5294 % -> 3.53.
    let bob = creator(&t, usd("bob@example.com", "Bob Stone")).await;
    t.upsert(
        bob.id,
        510,
        json!({"title": "Sunset set", "media_complete": true}),
    )
    .await;
    t.clicks(bob.id, 510, 3400).await;
    for _ in 0..120 {
        t.unlock(bob.id, 510, 5).await;
    }
    let expected = Summary::of(&bob, balance(600, 0, 0, 0))
        .totals((1, 3400, 120, 600, 3.53))
        .top(vec![top(510, &bob, "Sunset set", (3400, 120, 3.53, 600))]);
    assert_eq!(t.summary(&bob.token).await, (200, expected.ok()));
}

#[tokio::test]
async fn earnings_add_unlocks_and_refunds_take_earnings_back_not_below_zero() {
    let (t, ann) = with_ann().await;
    let a = &ann;
    t.product(ann.id, 601, "Refundable", 4, &[1000]).await;
    // A held earning counts as an unlock at once.
    t.applied(
        Event::product_earning(ann.id, "held_1", 500)
            .product(601)
            .hold_seconds(3600),
    )
    .await;
    // 2 unlocks / 4 clicks = 50 %, earnings 1500.
    let summary_with = |available: i64, hold: i64, referral: i64, numbers: (i64, i64, f64)| {
        let (unlocks, earnings, rate) = numbers;
        Summary::of(a, balance(available, hold, 0, referral))
            .totals((1, 4, unlocks, earnings, rate))
            .top(vec![top(
                601,
                a,
                "Refundable",
                (4, unlocks, rate, earnings),
            )])
            .ok()
    };
    assert_eq!(
        t.summary(&ann.token).await,
        (200, summary_with(1000, 500, 0, (2, 1500, 50.0)))
    );

    let refund = |id: &str, amount: i64| Event::refund(ann.id, id, amount).title("Refund");
    // 1500 - 300 = 1200; unlocks stay 2; available 1000 - 300 = 700.
    t.applied(refund("ref_1", 300).product(601)).await;
    assert_eq!(
        t.summary(&ann.token).await,
        (200, summary_with(700, 500, 0, (2, 1200, 50.0)))
    );
    // 1200 - 2000 stops at 0; the wallet goes to 700 - 2000 = -1300.
    t.applied(refund("ref_2", 2000).product(601)).await;
    assert_eq!(
        t.summary(&ann.token).await,
        (200, summary_with(-1300, 500, 0, (2, 0, 50.0)))
    );
    // A refund without a product, or of a product never described, moves money only.
    t.applied(refund("ref_3", 100)).await;
    t.applied(refund("ref_4", 100).product(699)).await;
    assert_eq!(
        read_product(&t, 699).await.expect("read product"),
        None,
        "a refund does not create a product"
    );
    // An affiliate earning is referral revenue, not product revenue.
    t.applied(Event::affiliate_earning(ann.id, "aff_1", 100))
        .await;
    // Earnings start again from 0: 250; unlocks 3 / 4 clicks = 75 %.
    // available -1300 - 100 - 100 + 100 + 250 = -1150.
    t.unlock(ann.id, 601, 250).await;
    assert_eq!(
        t.summary(&ann.token).await,
        (200, summary_with(-1150, 500, 100, (3, 250, 75.0)))
    );
    assert_invariants(&t, ann.id).await;
}

#[tokio::test]
async fn product_upsert_merges_and_deletion_moves_counts_out_and_back() {
    let (t, ann) = with_ann().await;
    let a = &ann;
    let pic = thumb("https://cdn.example.test/701.jpg", 800, 600);
    let delete_event = Event::product_upsert(ann.id, "del_701", 701).set("deleted", json!(true));
    // (available, content, clicks, unlocks, revenue, rate) and 701 in the
    // top with this title and thumbnail, or not.
    let summary_of =
        |available: i64, totals: (i64, i64, i64, i64, f64), top_701: Option<(Value, Value)>| {
            let (_, clicks, unlocks, revenue, rate) = totals;
            let top = top_701.map(|(title, thumbnail)| Top {
                id: 701,
                owner: a,
                title,
                clicks,
                unlocks,
                rate,
                earnings: revenue,
                thumbnail,
            });
            Summary::of(a, balance(available, 0, 0, 0))
                .totals(totals)
                .top(top.iter().map(Top::json).collect())
                .ok()
        };

    t.upsert(
        ann.id,
        701,
        json!({"title": "Original", "media_complete": true, "thumbnail": pic.clone()}),
    )
    .await;
    t.clicks(ann.id, 701, 10).await;
    t.unlock(ann.id, 701, 400).await;
    let original = Some((json!("Original"), pic.clone()));
    // 1 / 10 = 10 %.
    assert_eq!(
        t.summary(&ann.token).await,
        (
            200,
            summary_of(400, (1, 10, 1, 400, 10.0), original.clone())
        )
    );

    // Only `deleted` given: the product leaves every total and the top.
    t.applied(delete_event.clone()).await;
    assert_eq!(
        t.summary(&ann.token).await,
        (200, summary_of(400, (0, 0, 0, 0, 0.0), None))
    );
    // Activity on a deleted product is kept on the product but not counted.
    t.clicks(ann.id, 701, 5).await;
    t.unlock(ann.id, 701, 100).await;
    assert_eq!(
        t.summary(&ann.token).await,
        (200, summary_of(500, (0, 0, 0, 0, 0.0), None))
    );

    // Undeleted (only `deleted` given): title, media and thumbnail were kept;
    // all its counts come back: 15 clicks, 2 unlocks, 500 -> 2/15 = 13.33 %.
    t.upsert(ann.id, 701, json!({"deleted": false})).await;
    let back = (1, 15, 2, 500, 13.33);
    assert_eq!(
        t.summary(&ann.token).await,
        (200, summary_of(500, back, original))
    );

    // The deletion delivered again is a duplicate: it does not delete again.
    let r = t.apply(delete_event).await;
    assert_eq!(r.status, EventStatus::Duplicate, "{r:?}");

    // Only the title.
    t.upsert(ann.id, 701, json!({"title": "Renamed"})).await;
    assert_eq!(
        t.summary(&ann.token).await,
        (
            200,
            summary_of(500, back, Some((json!("Renamed"), pic.clone())))
        )
    );

    // Media no longer complete: out of content items and the top, still in the totals.
    t.upsert(ann.id, 701, json!({"media_complete": false}))
        .await;
    assert_eq!(
        t.summary(&ann.token).await,
        (200, summary_of(500, (0, 15, 2, 500, 13.33), None))
    );

    // `null` clears the title and the thumbnail.
    t.upsert(
        ann.id,
        701,
        json!({"media_complete": true, "title": null, "thumbnail": null}),
    )
    .await;
    assert_eq!(
        t.summary(&ann.token).await,
        (200, summary_of(500, back, Some((Value::Null, Value::Null))))
    );
    assert_invariants(&t, ann.id).await;
}

#[tokio::test]
async fn clicks_and_earnings_for_an_unknown_product_create_it() {
    let (t, ann) = with_ann().await;
    let a = &ann;
    t.clicks(ann.id, 801, 7).await;
    t.unlock(ann.id, 801, 300).await;
    // A product first seen in an earning: 1 unlock, no clicks.
    t.unlock(ann.id, 802, 50).await;
    // Media incomplete: counted in totals, not content items, not in the top.
    // clicks 7, unlocks 2, revenue 350, rate 2/7 = 28.57 %.
    let incomplete = Summary::of(a, balance(350, 0, 0, 0)).totals((0, 7, 2, 350, 28.57));
    assert_eq!(t.summary(&ann.token).await, (200, incomplete.ok()));
    // Completing the media (nothing else given) makes 801 a content item and a
    // top product (no title, no thumbnail; 1/7 = 14.29 %); 802 has no clicks.
    t.upsert(ann.id, 801, json!({"media_complete": true})).await;
    t.upsert(ann.id, 802, json!({"media_complete": true})).await;
    let top_801 = Top {
        id: 801,
        owner: a,
        title: Value::Null,
        clicks: 7,
        unlocks: 1,
        rate: 14.29,
        earnings: 300,
        thumbnail: Value::Null,
    };
    let complete = incomplete
        .clone()
        .totals((2, 7, 2, 350, 28.57))
        .top(vec![top_801.json()]);
    assert_eq!(t.summary(&ann.token).await, (200, complete.ok()));

    // Unlocks without any click: the overall rate is 0, not a division by zero.
    let bob = creator(&t, usd("bob@example.com", "Bob Stone")).await;
    t.unlock(bob.id, 803, 75).await;
    t.upsert(bob.id, 803, json!({"media_complete": true})).await;
    let expected = Summary::of(&bob, balance(75, 0, 0, 0)).totals((1, 0, 1, 75, 0.0));
    assert_eq!(t.summary(&bob.token).await, (200, expected.ok()));
}

#[tokio::test]
async fn a_product_of_another_user_is_refused_and_changes_nothing() {
    let (t, ann) = with_ann().await;
    let bob = creator(&t, usd("bob@example.com", "Bob Stone")).await;
    t.product(ann.id, 901, "Ann's", 10, &[400]).await;
    t.unlock(bob.id, 902, 100).await;

    let state = || async {
        (
            t.summary(&ann.token).await,
            t.summary(&bob.token).await,
            account(&t, ann.id).await,
            account(&t, bob.id).await,
            read_product(&t, 901).await.expect("read product"),
            entries(&t, bob.id).await.len(),
        )
    };
    let before = state().await;
    for event in [
        Event::product_earning(bob.id, "steal_1", 100).product(901),
        Event::refund(bob.id, "steal_2", 100).product(901),
        Event::link_clicks(bob.id, "steal_3", 901, 5),
        Event::product_upsert(bob.id, "steal_4", 901).set("deleted", json!(true)),
    ] {
        let r = t.apply(event).await;
        assert_eq!(r.status, EventStatus::Rejected, "{r:?}");
        assert_eq!(
            r.error.as_deref(),
            Some("product 901 belongs to another user")
        );
        assert_ne!(r.status, EventStatus::Failed);
    }
    assert_eq!(before, state().await);
    // Nothing was recorded for the refused event id: the producer can fix it.
    t.applied(Event::product_earning(bob.id, "steal_1", 100).product(902))
        .await;
    assert_invariants(&t, bob.id).await;
}

#[tokio::test]
async fn top_performing_is_five_ranked_by_rate_then_unlocks_then_id() {
    let (t, ann) = with_ann().await;
    let a = &ann;
    let th12 = thumb("https://cdn.example.test/12.png", 100, 100);
    let th16 = thumb("https://cdn.example.test/16.png", 1080, 1920);
    // Seven eligible products, written in an order unrelated to the ranking:
    t.product(ann.id, 17, "B", 20, &[100, 100]).await; // 10 %, 2 unlocks
    t.upsert(ann.id, 16, json!({"thumbnail": th16.clone()}))
        .await;
    t.product(ann.id, 16, "D", 8, &[100]).await; // 12.5 %
    t.product(ann.id, 15, "G", 3, &[]).await; // 0 %
    t.product(ann.id, 14, "C", 10, &[100]).await; // 10 %, 1 unlock, id 14
    t.product(ann.id, 13, "E", 100, &[100]).await; // 1 %
    t.upsert(ann.id, 12, json!({"thumbnail": th12.clone()}))
        .await;
    t.product(ann.id, 12, "F", 4, &[100, 100]).await; // 50 %
    t.product(ann.id, 11, "A", 10, &[100]).await; // 10 %, 1 unlock, id 11

    // Not eligible: incomplete media (100 %), deleted (100 %), no clicks.
    t.upsert(ann.id, 18, json!({"title": "H", "media_complete": false}))
        .await;
    t.clicks(ann.id, 18, 1).await;
    t.unlock(ann.id, 18, 100).await;
    t.product(ann.id, 19, "I", 2, &[100, 100]).await;
    t.upsert(ann.id, 19, json!({"deleted": true})).await;
    t.product(ann.id, 20, "J", 0, &[100]).await;

    // content: 7 eligible + J = 8 (H incomplete, I deleted);
    // clicks 20+8+3+10+100+4+10+1 = 156; unlocks 2+1+0+1+1+2+1+1(H)+1(J) = 10;
    // revenue 10 x 100 = 1000; rate 10/156 = 6.41 %.
    // Wallet: 12 earnings x 100 (I's two included) = 1200.
    let with_thumb = |id, title: &str, numbers: (i64, i64, f64, i64), thumbnail: &Value| {
        let (clicks, unlocks, rate, earnings) = numbers;
        Top {
            id,
            owner: a,
            title: json!(title),
            clicks,
            unlocks,
            rate,
            earnings,
            thumbnail: thumbnail.clone(),
        }
        .json()
    };
    let expected = Summary::of(a, balance(1200, 0, 0, 0))
        .totals((8, 156, 10, 1000, 6.41))
        .top(vec![
            with_thumb(12, "F", (4, 2, 50.0, 200), &th12),
            with_thumb(16, "D", (8, 1, 12.5, 100), &th16),
            top(17, a, "B", (20, 2, 10.0, 200)),
            top(11, a, "A", (10, 1, 10.0, 100)),
            top(14, a, "C", (10, 1, 10.0, 100)),
        ]);
    assert_eq!(t.summary(&ann.token).await, (200, expected.ok()));
    // Deleting F lets E (1 %) in at the end.
    t.upsert(ann.id, 12, json!({"deleted": true})).await;
    let r = t.summary(&ann.token).await;
    assert_eq!(r.status, 200);
    let ids: Vec<i64> = r.data()["top_performing"]
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
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let cal = creator(&t, usd("cal@example.com", "Cal Child")).await;
    t.product(mia.id, 1, "Mia's", 4, &[100]).await; // 25 %
    t.product(cal.id, 2, "Cal's", 2, &[300]).await; // 50 %
    shared::services::links::link(&t, mia.id, cal.id)
        .await
        .expect("link");
    for (who, product, title, numbers) in [
        (&mia, 1, "Mia's", (4, 1, 25.0, 100)),
        (&cal, 2, "Cal's", (2, 1, 50.0, 300)),
    ] {
        let (clicks, unlocks, rate, earnings) = numbers;
        let expected = Summary::of(who, balance(earnings, 0, 0, 0))
            .totals((1, clicks, unlocks, earnings, rate))
            .top(vec![top(product, who, title, numbers)]);
        assert_eq!(t.summary(&who.token).await, (200, expected.ok()));
    }
}

// -------------------------------------------------------- aggregate: auth

#[tokio::test]
async fn aggregate_needs_a_live_session_token() {
    let (t, ann) = with_ann().await;
    let key = api_key(&t, ann.id).await;
    // Authentication comes before the body checks.
    let cases = [
        ("aggregate_no_token", None, (401, UNAUTHENTICATED)),
        ("aggregate_invalid_json", None, (401, UNAUTHENTICATED)),
        ("aggregate_empty_object", Some(&key), (403, FORBIDDEN)),
        ("aggregate_invalid_json", Some(&key), (403, FORBIDDEN)),
    ];
    for (event, token, (status, message)) in cases {
        let token = token.map(String::as_str);
        assert_eq!(
            t.sample(Route::Aggregate, event, token).await,
            (status, error(message)),
            "{event}"
        );
    }
    delete_user(&t, ann.id).await.expect("delete user");
    assert_eq!(
        t.sample(Route::Aggregate, "aggregate_empty_object", Some(&ann.token))
            .await,
        (401, error(UNAUTHENTICATED))
    );
}

// ------------------------------------------------------ aggregate: bodies

/// The body is checked first, for every role (a child sending bad JSON gets
/// 400/422, not 403).
#[tokio::test]
async fn aggregate_checks_the_body_before_the_role_rules() {
    let t = test_ctx().await;
    let solo = creator(&t, usd("solo@example.com", "Solo")).await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let cal = creator(&t, usd("cal@example.com", "Cal Child")).await;
    shared::services::links::link(&t, mia.id, cal.id)
        .await
        .expect("link");
    let not_an_object = "The request body must be a JSON object.";
    let not_strings = "The additional tokens must be an array of strings.";
    let cases = [
        (
            "aggregate_invalid_json",
            400,
            "The request body must be valid JSON.",
        ),
        ("aggregate_json_array", 422, not_an_object),
        ("aggregate_json_null", 422, not_an_object),
        ("aggregate_wrong_type", 422, not_strings),
        ("aggregate_wrong_item_type", 422, not_strings),
    ];
    for who in [&solo, &mia, &cal] {
        for (event, status, message) in cases {
            assert_eq!(
                t.sample(Route::Aggregate, event, Some(&who.token)).await,
                (status, error(message)),
                "{event} from {}",
                who.name
            );
        }
    }
}

/// The aggregate from `token` with this sample event answers `expected`,
/// sending these requests in this many sequential round trips (and at most
/// that many at once).
async fn assert_aggregate_costs(
    t: &TestCtx,
    (token, sample): (&str, &str),
    expected: &Value,
    operations: &[(&str, usize)],
    phases: (usize, usize),
) {
    t.reset_counts();
    assert_eq!(
        t.sample(Route::Aggregate, sample, Some(token)).await,
        (200, expected.clone()),
        "{sample}"
    );
    assert_eq!(t.counter.sorted_operations(), ops(operations), "{sample}");
    assert_eq!(t.phases.get(), phases, "{sample}");
}

/// Every sample event of the aggregate, each from `token`: all answer `expected`.
async fn assert_samples_answer(
    t: &TestCtx,
    token: &str,
    samples: &[&str],
    expected: &(u16, Value),
) {
    for event in samples {
        assert_eq!(
            &t.sample(Route::Aggregate, event, Some(token)).await,
            expected,
            "{event}"
        );
    }
}

/// Empty body, no body, `{}` and `"additional_tokens": null` all mean "no
/// additional tokens"; for a standalone account or a master the field is
/// ignored whatever it holds.
#[tokio::test]
async fn aggregate_of_a_standalone_account_is_itself_whatever_the_tokens() {
    let t = test_ctx().await;
    let solo = creator(&t, usd("solo@example.com", "Solo")).await;
    let other = creator(&t, usd("other@example.com", "Other")).await;
    let other_child = creator(&t, usd("oc@example.com", "Other Child")).await;
    t.product(solo.id, 1, "Solo's", 8, &[200]).await; // 12.5 %
    t.product(other.id, 2, "Other's", 1, &[900]).await;
    t.product(other_child.id, 3, "Other child's", 1, &[900])
        .await;
    shared::services::links::link(&t, other.id, other_child.id)
        .await
        .expect("link");
    let expected = Summary::of(&solo, balance(200, 0, 0, 0))
        .totals((1, 8, 1, 200, 12.5))
        .top(vec![top(1, &solo, "Solo's", (8, 1, 12.5, 200))])
        .ok();
    assert_eq!(t.summary(&solo.token).await, (200, expected.clone()));
    let with_tokens = [
        "aggregate_additional_tokens_empty",
        "aggregate_additional_tokens_base64",
        "aggregate_additional_tokens",
    ];
    let all: Vec<&str> = WITHOUT_TOKENS.iter().chain(&with_tokens).copied().collect();
    assert_samples_answer(&t, &solo.token, &all, &(200, expected.clone())).await;
    // Valid tokens of other users (a master and its child) add nobody.
    assert_eq!(
        t.aggregate(&solo.token, &[&other.token, &other_child.token, "junk"])
            .await,
        (200, expected)
    );
}

#[tokio::test]
async fn aggregate_of_a_child_is_itself_and_additional_tokens_are_refused() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let cal = creator(&t, eur("cal@example.com", "Cal Child")).await;
    t.product(mia.id, 1, "Mia's", 4, &[100]).await;
    t.product(cal.id, 2, "Cal's", 3, &[700]).await; // 33.33 %
    shared::services::links::link(&t, mia.id, cal.id)
        .await
        .expect("link");
    let itself = Summary::of(&cal, balance(700, 0, 0, 0))
        .totals((1, 3, 1, 700, 33.33))
        .top(vec![top(2, &cal, "Cal's", (3, 1, 33.33, 700))]);
    assert_samples_answer(&t, &cal.token, &WITHOUT_TOKENS, &(200, itself.ok())).await;
    let forbidden = (403, error(CHILD_CANNOT_AGGREGATE));
    let with_tokens = [
        "aggregate_additional_tokens_empty",
        "aggregate_additional_tokens_base64",
        "aggregate_additional_tokens",
    ];
    assert_samples_answer(&t, &cal.token, &with_tokens, &forbidden).await;
    // Even with its master's valid token, or its own.
    for tokens in [[mia.token.as_str()], [cal.token.as_str()]] {
        assert_eq!(t.aggregate(&cal.token, &tokens).await, forbidden.clone());
    }
}

// ---------------------------------------------------- aggregate: numbers

#[tokio::test]
async fn aggregate_of_a_master_without_children_is_its_summary() {
    let t = test_ctx().await;
    let mia = creator(&t, gbp("mia@example.com", "Mia Master")).await;
    let other = creator(&t, gbp("other@example.com", "Other")).await;
    let pic = thumb("https://x.test/1", 1, 1);
    t.upsert(mia.id, 1, json!({"thumbnail": pic.clone()})).await;
    t.product(mia.id, 1, "Mia's", 6, &[100, 100]).await;
    t.product(other.id, 2, "Other's", 1, &[50]).await;
    // 2 / 6 = 33.33 %.
    let top_1 = Top {
        id: 1,
        owner: &mia,
        title: json!("Mia's"),
        clicks: 6,
        unlocks: 2,
        rate: 33.33,
        earnings: 200,
        thumbnail: pic,
    };
    let expected = Summary::of(&mia, balance(200, 0, 0, 0))
        .totals((1, 6, 2, 200, 33.33))
        .top(vec![top_1.json()])
        .ok();
    // token, account, top Query; the account has no children to snapshot.
    let operations = [("GetItem", 2), ("Query", 1)];
    let sample = (mia.token.as_str(), "aggregate_empty_object");
    assert_aggregate_costs(&t, sample, &expected, &operations, (3, 1)).await;

    assert_eq!(
        t.aggregate(&mia.token, &[&other.token]).await,
        (200, expected.clone())
    );
    assert_eq!(t.summary(&mia.token).await, (200, expected));
}

/// One child, both USD: balances summed, ranking global across the accounts.
#[tokio::test]
async fn aggregate_of_a_master_with_one_child_merges_and_ranks_globally() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let cal = creator(&t, usd("cal@example.com", "Cal Child")).await;
    let outsider = creator(&t, usd("out@example.com", "Outsider")).await;
    let (m, c) = (&mia, &cal);
    // Mia: 1203 2/4 = 50 %, 1205 1/10 = 10 %, 1202 2/20 = 10 %, 1208 1/20 = 5 %.
    t.product(mia.id, 1203, "m1203", 4, &[100, 100]).await;
    t.product(mia.id, 1205, "m1205", 10, &[100]).await;
    t.product(mia.id, 1202, "m1202", 20, &[100, 100]).await;
    t.product(mia.id, 1208, "m1208", 20, &[100]).await;
    // Cal: 1204 1/2 = 50 %, 1206 1/5 = 20 %, 1201 1/10 = 10 %, 1207 1/100 = 1 %,
    // and an incomplete 1209 with 9 clicks.
    t.product(cal.id, 1204, "c1204", 2, &[100]).await;
    t.product(cal.id, 1206, "c1206", 5, &[100]).await;
    t.product(cal.id, 1201, "c1201", 10, &[100]).await;
    t.product(cal.id, 1207, "c1207", 100, &[100]).await;
    t.clicks(cal.id, 1209, 9).await;
    t.product(outsider.id, 1300, "out", 1, &[5000]).await;
    shared::services::links::link(&t, mia.id, cal.id)
        .await
        .expect("link");

    // content 8; clicks Mia 4+10+20+20 = 54, Cal 2+5+10+100+9 = 126 -> 180;
    // unlocks Mia 6, Cal 4 -> 10; revenue 1000; rate 10/180 = 5.555 % -> 5.56.
    // Global top: 1203 (50 %, 2 unlocks), 1204 (50 %, 1), 1206 (20 %),
    // 1202 (10 %, 2 unlocks), 1201 (10 %, 1 unlock, id 1201 < 1205).
    let expected = Summary::group(
        vec![
            account_entry(m, balance(600, 0, 0, 0)),
            account_entry(c, balance(400, 0, 0, 0)),
        ],
        balance(1000, 0, 0, 0),
    )
    .totals((8, 180, 10, 1000, 5.56))
    .top(vec![
        top(1203, m, "m1203", (4, 2, 50.0, 200)),
        top(1204, c, "c1204", (2, 1, 50.0, 100)),
        top(1206, c, "c1206", (5, 1, 20.0, 100)),
        top(1202, m, "m1202", (20, 2, 10.0, 200)),
        top(1201, c, "c1201", (10, 1, 10.0, 100)),
    ])
    .ok();
    for event in WITHOUT_TOKENS.iter().chain(&[
        "aggregate_additional_tokens_empty",
        "aggregate_additional_tokens",
    ]) {
        // token GetItem, account GetItem, then one TransactGetItems alongside
        // 1 + 1 top Queries: 5 requests in 3 sequential round trips.
        let operations = [("GetItem", 2), ("Query", 2), ("TransactGetItems", 1)];
        let sample = (mia.token.as_str(), *event);
        assert_aggregate_costs(&t, sample, &expected, &operations, (3, 3)).await;
    }
    // The token of an unlinked user adds nobody.
    assert_eq!(
        t.aggregate(&mia.token, &[&outsider.token]).await,
        (200, expected)
    );
}

#[tokio::test]
async fn aggregate_of_a_master_with_ten_children_in_three_round_trips() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let mut kids = Vec::new();
    for i in 1..=10i64 {
        let kid = creator(&t, usd(&format!("kid{i}@example.com"), &format!("Kid {i}"))).await;
        // Kid i: product 1300+i, 10*i clicks, one unlock of 100*i.
        t.product(kid.id, 1300 + i, &format!("k{i}"), 10 * i, &[100 * i])
            .await;
        kids.push(kid);
    }
    // Mia: product 1300, 5 clicks, one unlock of 50 -> 20 %.
    t.product(mia.id, 1300, "mia", 5, &[50]).await;
    // Linked in an order unrelated to creation: 3, 1, 10, 2, 9, 4, 8, 5, 7, 6.
    let order = [3usize, 1, 10, 2, 9, 4, 8, 5, 7, 6];
    for i in order {
        shared::services::links::link(&t, mia.id, kids[i - 1].id)
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
    let expected = Summary::group(accounts, balance(5550, 0, 0, 0))
        .totals((11, 555, 11, 5550, 1.98))
        .top(vec![
            top(1300, &mia, "mia", (5, 1, 20.0, 50)),
            top(1301, kid(1), "k1", (10, 1, 10.0, 100)),
            top(1302, kid(2), "k2", (20, 1, 5.0, 200)),
            top(1303, kid(3), "k3", (30, 1, 3.33, 300)),
            top(1304, kid(4), "k4", (40, 1, 2.5, 400)),
        ])
        .ok();
    // token GetItem, account GetItem, 1 TransactGetItems (11 accounts) and
    // 1 + 10 top Queries, the last 12 all in flight together: 3 round trips.
    let operations = [("GetItem", 2), ("Query", 11), ("TransactGetItems", 1)];
    let sample = (mia.token.as_str(), "aggregate_empty_object");
    assert_aggregate_costs(&t, sample, &expected, &operations, (3, 12)).await;

    // Summary: token, then the account read alongside the top Query.
    t.reset_counts();
    let r = t.summary(&mia.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.data()["accounts"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        t.counter.sorted_operations(),
        ops(&[("GetItem", 2), ("Query", 1)])
    );
    assert_eq!(t.phases.get(), (2, 2));

    // Linked-accounts of a master: token, account, one TransactGetItems of the children.
    t.reset_counts();
    let r = t.linked_accounts(&mia.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.data()["linked_accounts"].as_array().map(Vec::len),
        Some(10)
    );
    assert_eq!(
        t.counter.sorted_operations(),
        ops(&[("GetItem", 2), ("TransactGetItems", 1)])
    );
}

#[tokio::test]
async fn aggregate_across_currencies() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let eve = creator(&t, eur("eve@example.com", "Eve Euro")).await;
    let gus = creator(&t, gbp("gus@example.com", "Gus Pound")).await;
    let ed = creator(&t, eur("ed@example.com", "Ed Euro")).await;
    // Mia: 1101, 10 clicks, 1000 USD -> 10 %.
    t.product(mia.id, 1101, "usd", 10, &[1000]).await;
    // Eve: 1102, 4 clicks, 2000 EUR held -> 25 %.
    t.product(eve.id, 1102, "eur", 4, &[]).await;
    t.applied(
        Event::product_earning(eve.id, "eve_held", 2000)
            .product(1102)
            .hold_seconds(3600),
    )
    .await;
    // Gus: no products, 50 GBP referral revenue.
    t.applied(Event::affiliate_earning(gus.id, "gus_aff", 50))
        .await;
    // Ed: 1103, 1 click, 300 EUR -> 100 %, and a 20 EUR fee.
    t.product(ed.id, 1103, "eur2", 1, &[300]).await;
    t.applied(Event::fee(ed.id, "ed_fee", 20)).await;
    for child in [&gus, &eve, &ed] {
        shared::services::links::link(&t, mia.id, child.id)
            .await
            .expect("link");
    }
    // content 3; clicks 15; unlocks 3; rate 20 %; revenue 1000 + 2000 + 300 =
    // 3300 as a plain sum; per currency USD 1000, EUR 2300, GBP 0.
    let expected = Summary::group(
        vec![
            account_entry(&mia, balance(1000, 0, 0, 0)),
            account_entry(&gus, balance(50, 0, 0, 50)),
            account_entry(&eve, balance(0, 2000, 0, 0)),
            account_entry(&ed, balance(280, 0, 0, 0)),
        ],
        Value::Null,
    )
    .totals((3, 15, 3, 3300, 20.0))
    .by_currency(json!({"USD": 1000, "GBP": 0, "EUR": 2300}))
    .top(vec![
        top(1103, &ed, "eur2", (1, 1, 100.0, 300)),
        top(1102, &eve, "eur", (4, 1, 25.0, 2000)),
        top(1101, &mia, "usd", (10, 1, 10.0, 1000)),
    ]);
    assert_eq!(
        t.sample(Route::Aggregate, "aggregate_empty_body", Some(&mia.token))
            .await,
        (200, expected.ok())
    );
    // The currencies are not unified.
    assert_eq!(expected.ok()["data"]["currency_unified"], json!(false));
}

#[tokio::test]
async fn aggregate_leaves_out_a_deleted_child() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let eve = creator(&t, eur("eve@example.com", "Eve Euro")).await;
    let sam = creator(&t, usd("sam@example.com", "Sam Same")).await;
    t.product(mia.id, 1, "mia", 2, &[100]).await; // 50 %
    t.product(eve.id, 2, "eve", 1, &[900]).await; // 100 %
    t.product(sam.id, 3, "sam", 4, &[300]).await; // 25 %
    shared::services::links::link(&t, mia.id, eve.id)
        .await
        .expect("link");
    shared::services::links::link(&t, mia.id, sam.id)
        .await
        .expect("link");
    delete_user(&t, eve.id).await.expect("delete user");
    // Eve, her EUR and her product are gone: one currency again.
    // clicks 2+4 = 6, unlocks 2 -> 33.33 %; revenue 400.
    let expected = Summary::group(
        vec![
            account_entry(&mia, balance(100, 0, 0, 0)),
            account_entry(&sam, balance(300, 0, 0, 0)),
        ],
        balance(400, 0, 0, 0),
    )
    .totals((2, 6, 2, 400, 33.33))
    .top(vec![
        top(1, &mia, "mia", (2, 1, 50.0, 100)),
        top(3, &sam, "sam", (4, 1, 25.0, 300)),
    ]);
    assert_eq!(
        t.sample(Route::Aggregate, "aggregate_empty_object", Some(&mia.token))
            .await,
        (200, expected.ok())
    );
    assert_eq!(
        t.sample(Route::Aggregate, "aggregate_empty_object", Some(&eve.token))
            .await,
        (401, error(UNAUTHENTICATED))
    );
}

// ------------------------------------------------------------ concurrency

/// 20 `link_clicks` at once on a product nobody described yet (all racing to
/// create it), then 10 clicks and 10 earnings at once: nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_product_events_lose_nothing() {
    let (t, ann) = with_ann().await;
    let uid = ann.id;
    let clicks = (1..=20i64).map(|i| Event::link_clicks(uid, &format!("cc_{i}"), 42, i));
    for r in t.apply_all(clicks.collect()).await {
        assert_applied(&r);
    }
    let p = read_product(&t, 42).await.expect("read").expect("product");
    assert_eq!(p.link_clicks, 210, "1 + 2 + ... + 20");
    assert_eq!(p.user_id, uid);

    t.upsert(uid, 42, json!({"title": "Hot", "media_complete": true}))
        .await;
    let mut events = Vec::new();
    for i in 1..=10i64 {
        events.push(Event::link_clicks(uid, &format!("cc2_{i}"), 42, 3));
        events.push(Event::product_earning(uid, &format!("ce_{i}"), 10 * i).product(42));
    }
    for r in t.apply_all(events).await {
        assert_applied(&r);
    }
    // clicks 210 + 30 = 240; unlocks 10; earnings 10 * 55 = 550 -> 10/240 = 4.17 %.
    let expected = Summary::of(&ann, balance(550, 0, 0, 0))
        .totals((1, 240, 10, 550, 4.17))
        .top(vec![top(42, &ann, "Hot", (240, 10, 4.17, 550))]);
    assert_eq!(t.summary(&ann.token).await, (200, expected.ok()));
    assert_invariants(&t, uid).await;
}
