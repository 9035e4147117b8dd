//! Account links (SPEC 4.5 and 7): `shared::links::{link, unlink}`, the
//! `GET /api/user/linked-accounts` handler, and what linking and unlinking do
//! to the next `POST /api/dashboard/summary/aggregate`, on DynamoDB Local.
//!
//! Every refused link is checked for its error (variant and message) and for
//! changing nothing: both account items (with their versions) are compared
//! before and after. Concurrent links and unlinks check that the conditions
//! of the link transaction, not only the reads before it, enforce the rules.

use chrono::DateTime;
use lambda_http::Request;
use serde_json::{json, Value};
use shared::currency::Currency;
use shared::db::model::{Account, Link};
use shared::ledger::apply::EventStatus;
use shared::links::{link, unlink, LinkError, MAX_CHILDREN};
use shared::users::delete_user;
use shared::Ctx;
use std::sync::atomic::{AtomicUsize, Ordering};
use tests::*;

// ---------------------------------------------------------------- helpers

/// `n` USD creators `<prefix>1@example.com` ...
async fn creators(ctx: &Ctx, prefix: &str, n: usize) -> Vec<Creator> {
    let mut out = Vec::new();
    for i in 1..=n {
        out.push(
            creator(
                ctx,
                &format!("{prefix}{i}@example.com"),
                &format!("{prefix} {i}"),
                Currency::Usd,
            )
            .await,
        );
    }
    out
}

fn code(c: Currency) -> &'static str {
    match c {
        Currency::Usd => "USD",
        Currency::Eur => "EUR",
        Currency::Gbp => "GBP",
    }
}

fn cid(c: Currency) -> i64 {
    match c {
        Currency::Usd => 1,
        Currency::Eur => 2,
        Currency::Gbp => 3,
    }
}

fn refused(message: &str) -> Value {
    json!({"success": false, "errors_message": message, "data": null})
}

fn req(name: &str, token: Option<&str>) -> Request {
    with_auth(request(name), token.map(bearer).as_deref())
}

async fn get_linked(ctx: &Ctx, token: &str) -> (u16, Value) {
    status_and_json(linked_accounts::handle(ctx, req("linked-accounts_ok", Some(token))).await)
}

async fn post_aggregate(ctx: &Ctx, event: &str, token: &str) -> (u16, Value) {
    status_and_json(aggregate::handle(ctx, req(event, Some(token))).await)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `linked_at` as the API shows it.
fn shown(epoch: i64) -> String {
    DateTime::from_timestamp(epoch, 0)
        .expect("time")
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Links and checks the returned link's time lies within the call.
async fn linked(ctx: &Ctx, master: i64, child: i64) -> Link {
    let before = now();
    let l = link(ctx, master, child).await.expect("link");
    let after = now();
    assert_eq!(l.child_id, child);
    assert!(
        (before..=after).contains(&l.linked_at),
        "linked_at {} outside [{before}, {after}]",
        l.linked_at
    );
    l
}

fn linked_entry(l: &Link, c: &Creator) -> Value {
    json!({"id": l.link_id, "child_user_id": c.id, "email": c.email, "display_name": c.name,
           "currency_id": cid(c.currency), "currency_code": code(c.currency),
           "linked_at": shown(l.linked_at)})
}

fn master_view(c: &Creator) -> Value {
    json!({"user_id": c.id, "email": c.email, "display_name": c.name,
           "currency_id": cid(c.currency), "currency_code": code(c.currency)})
}

fn standalone() -> Value {
    ok(json!({"role": "standalone", "master": null, "linked_accounts": []}))
}

async fn accounts(ctx: &Ctx, ids: &[i64]) -> Vec<Account> {
    let mut out = Vec::new();
    for id in ids {
        out.push(account(ctx, *id).await);
    }
    out
}

/// Runs a link that must be refused: checks the message and that neither
/// account changed.
async fn assert_link_refused(ctx: &Ctx, master: i64, child: i64, message: &str) -> LinkError {
    let existing: Vec<i64> = {
        let mut ids = Vec::new();
        for id in [master, child] {
            if shared::ledger::apply::read_account(ctx, id)
                .await
                .expect("read")
                .is_some()
            {
                ids.push(id);
            }
        }
        ids
    };
    let before = accounts(ctx, &existing).await;
    let err = link(ctx, master, child)
        .await
        .expect_err("the link must be refused");
    assert_eq!(err.to_string(), message);
    assert_eq!(
        accounts(ctx, &existing).await,
        before,
        "a refused link changed an account"
    );
    err
}

static EVENT_IDS: AtomicUsize = AtomicUsize::new(0);

/// A product with complete media, `clicks` clicks and one immediate earning.
async fn product(ctx: &Ctx, user_id: i64, product_id: i64, clicks: i64, amount: i64) {
    let n = EVENT_IDS.fetch_add(1, Ordering::SeqCst);
    for event in [
        json!({"kind": "product_upsert", "event_id": format!("u{n}"), "user_id": user_id,
               "product_id": product_id, "title": format!("p{product_id}"), "media_complete": true}),
        json!({"kind": "link_clicks", "event_id": format!("c{n}"), "user_id": user_id,
               "product_id": product_id, "count": clicks}),
        json!({"kind": "product_earning", "event_id": format!("e{n}"), "user_id": user_id,
               "amount": amount, "product_id": product_id, "hold_seconds": 0}),
    ] {
        let r = apply(ctx, event).await;
        assert_eq!(r.status, EventStatus::Applied, "{r:?}");
    }
}

fn balance(available: i64) -> Value {
    json!({"available": available, "hold": 0, "pending": 0, "total": available, "referral_revenue": 0})
}

fn account_entry(c: &Creator, available: i64) -> Value {
    json!({"user_id": c.id, "email": c.email, "display_name": c.name,
           "currency_id": cid(c.currency), "currency_code": code(c.currency),
           "wallet_balance": balance(available)})
}

fn top(id: i64, owner: &Creator, clicks: i64, rate: f64, earnings: i64) -> Value {
    json!({"id": id, "user_id": owner.id, "title": format!("p{id}"), "link_clicks": clicks,
           "unlocks": 1, "conversion_rate": rate, "total_earnings": earnings,
           "currency_code": code(owner.currency), "thumbnail": null})
}

// ------------------------------------------------------ linked-accounts

#[tokio::test]
async fn linked_accounts_for_master_child_and_standalone() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let eve = creator(&t, "eve@example.com", "Eve Euro", Currency::Eur).await;
    let gus = creator(&t, "gus@example.com", "Gus Pound", Currency::Gbp).await;
    let solo = creator(&t, "solo@example.com", "Solo", Currency::Usd).await;

    // Nobody linked yet: everyone is standalone.
    for c in [&mia, &eve, &gus, &solo] {
        assert_eq!(get_linked(&t, &c.token).await, (200, standalone()));
    }

    let l_gus = linked(&t, mia.id, gus.id).await;
    let l_eve = linked(&t, mia.id, eve.id).await;
    assert_ne!(l_gus.link_id, l_eve.link_id, "link ids are unique");

    // In link order, not creation order.
    assert_eq!(
        get_linked(&t, &mia.token).await,
        (
            200,
            ok(json!({"role": "master", "master": null,
                      "linked_accounts": [linked_entry(&l_gus, &gus), linked_entry(&l_eve, &eve)]}))
        )
    );
    assert_eq!(
        get_linked(&t, &eve.token).await,
        (
            200,
            ok(json!({"role": "child",
                      "master": {"user_id": mia.id, "email": "mia@example.com",
                                 "display_name": "Mia Master", "currency_id": 1, "currency_code": "USD"},
                      "linked_accounts": []}))
        )
    );
    assert_eq!(
        get_linked(&t, &gus.token).await,
        (
            200,
            ok(json!({"role": "child", "master": master_view(&mia), "linked_accounts": []}))
        )
    );
    assert_eq!(get_linked(&t, &solo.token).await, (200, standalone()));

    // The stored items say the same.
    let m = account(&t, mia.id).await;
    assert_eq!(m.children, vec![l_gus, l_eve]);
    assert_eq!(m.master_id, None);
    assert_eq!(account(&t, eve.id).await.master_id, Some(mia.id));
    assert_eq!(account(&t, gus.id).await.master_id, Some(mia.id));
}

#[tokio::test]
async fn linked_accounts_needs_a_live_session_token() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    assert_eq!(
        status_and_json(linked_accounts::handle(&t, request("linked-accounts_no_token")).await),
        (401, refused("Unauthenticated."))
    );
    assert_eq!(
        status_and_json(linked_accounts::handle(&t, request("linked-accounts_ok")).await),
        (401, refused("Unauthenticated.")),
        "the sample's placeholder token does not exist"
    );
    let key = api_key(&t, mia.id).await;
    assert_eq!(get_linked(&t, &key).await, (403, refused("Forbidden")));
    delete_user(&t, mia.id).await.expect("delete");
    assert_eq!(
        get_linked(&t, &mia.token).await,
        (401, refused("Unauthenticated."))
    );
}

#[tokio::test]
async fn linked_accounts_leaves_out_deleted_children() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let kids = creators(&t, "kid", 3).await;
    let mut links = Vec::new();
    for k in &kids {
        links.push(linked(&t, mia.id, k.id).await);
    }
    delete_user(&t, kids[1].id).await.expect("delete");
    assert_eq!(
        get_linked(&t, &mia.token).await,
        (
            200,
            ok(json!({"role": "master", "master": null,
                      "linked_accounts": [linked_entry(&links[0], &kids[0]),
                                          linked_entry(&links[2], &kids[2])]}))
        )
    );
}

/// Decided (docs/decisions.md): a master's links go with it. Its children
/// become standalone at once, in the deletion's transaction: they see no
/// master, may send `additional_tokens` (ignored, like any standalone), and
/// can be linked to another master.
#[tokio::test]
async fn deleting_a_master_makes_its_children_standalone() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let kids = creators(&t, "kid", 3).await;
    let ned = creator(&t, "ned@example.com", "Ned Next", Currency::Usd).await;
    for k in &kids {
        linked(&t, mia.id, k.id).await;
    }
    // A deleted child stays in the list of a master deleted after it.
    delete_user(&t, kids[2].id).await.expect("delete child");
    let child_view =
        ok(json!({"role": "child", "master": master_view(&mia), "linked_accounts": []}));
    assert_eq!(get_linked(&t, &kids[0].token).await, (200, child_view));
    assert_eq!(
        post_aggregate(&t, "aggregate_additional_tokens_empty", &kids[0].token).await,
        (
            403,
            refused("Child accounts cannot aggregate other accounts.")
        )
    );

    delete_user(&t, mia.id).await.expect("delete master");

    for k in &kids[..2] {
        assert_eq!(get_linked(&t, &k.token).await, (200, standalone()));
        let (status, body) =
            post_aggregate(&t, "aggregate_additional_tokens_empty", &k.token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["accounts"].as_array().map(Vec::len), Some(1));
        assert_eq!(body["data"]["accounts"][0]["user_id"], json!(k.id));
        assert_eq!(account(&t, k.id).await.master_id, None);
    }
    let gone = account(&t, mia.id).await;
    assert!(gone.deleted);
    assert!(gone.children.is_empty(), "{:?}", gone.children);
    assert_eq!(account(&t, kids[2].id).await.master_id, None);
    // Free to join another group.
    linked(&t, ned.id, kids[0].id).await;
    assert_eq!(
        get_linked(&t, &kids[0].token).await,
        (
            200,
            ok(json!({"role": "child", "master": master_view(&ned), "linked_accounts": []}))
        )
    );
    // A second deletion of the master is refused and changes nothing.
    assert!(matches!(
        delete_user(&t, mia.id).await,
        Err(shared::users::UserError::NotFound(id)) if id == mia.id
    ));
}

/// A link made while the master is being deleted either lands before the
/// deletion (and is undone by it) or is refused: no child is left pointing at
/// a deleted master.
#[tokio::test]
async fn deleting_a_master_races_links_without_leaving_orphans() {
    let t = test_ctx().await;
    for round in 0..12 {
        let mia = creator(&t, &format!("mia{round}@example.com"), "Mia", Currency::Usd).await;
        let kids = creators(&t, &format!("r{round}kid"), 4).await;
        linked(&t, mia.id, kids[0].id).await;
        let links = kids[1..].iter().map(|k| link(&t, mia.id, k.id));
        let (deleted, linked_results) =
            tokio::join!(delete_user(&t, mia.id), futures::future::join_all(links));
        deleted.expect("delete");
        for r in &linked_results {
            if let Err(e) = r {
                assert!(matches!(e, LinkError::NotFound(id) if *id == mia.id), "{e}");
            }
        }
        for k in &kids {
            assert_eq!(account(&t, k.id).await.master_id, None, "round {round}");
            assert_eq!(get_linked(&t, &k.token).await, (200, standalone()));
        }
        assert!(account(&t, mia.id).await.children.is_empty());
    }
}

// ---------------------------------------------------------- link rules

#[tokio::test]
async fn link_refuses_linking_an_account_to_itself() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let err =
        assert_link_refused(&t, mia.id, mia.id, "an account cannot be linked to itself").await;
    assert!(matches!(err, LinkError::SelfLink), "{err:?}");
    // Also for a master that already has children.
    let kid = creator(&t, "kid@example.com", "Kid", Currency::Usd).await;
    linked(&t, mia.id, kid.id).await;
    let err =
        assert_link_refused(&t, mia.id, mia.id, "an account cannot be linked to itself").await;
    assert!(matches!(err, LinkError::SelfLink), "{err:?}");
    assert_eq!(get_linked(&t, &kid.token).await.0, 200);
}

#[tokio::test]
async fn link_refuses_an_eleventh_child() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let kids = creators(&t, "kid", MAX_CHILDREN + 1).await;
    assert_eq!(MAX_CHILDREN, 10);
    for k in &kids[..10] {
        linked(&t, mia.id, k.id).await;
    }
    let eleventh = &kids[10];
    let err = assert_link_refused(
        &t,
        mia.id,
        eleventh.id,
        &format!("master {} already has 10 linked accounts", mia.id),
    )
    .await;
    assert!(
        matches!(err, LinkError::TooManyChildren(m) if m == mia.id),
        "{err:?}"
    );
    assert_eq!(account(&t, mia.id).await.children.len(), 10);
    assert_eq!(get_linked(&t, &eleventh.token).await, (200, standalone()));
    // After an unlink there is room again.
    unlink(&t, mia.id, kids[4].id).await.expect("unlink");
    linked(&t, mia.id, eleventh.id).await;
    let children: Vec<i64> = account(&t, mia.id)
        .await
        .children
        .iter()
        .map(|l| l.child_id)
        .collect();
    let want: Vec<i64> = kids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, k)| k.id)
        .collect();
    assert_eq!(children, want);
}

#[tokio::test]
async fn link_refuses_a_child_that_is_already_linked() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let max = creator(&t, "max@example.com", "Max Master", Currency::Usd).await;
    let kid = creator(&t, "kid@example.com", "Kid", Currency::Usd).await;
    linked(&t, mia.id, kid.id).await;
    let message = format!("user {} is already linked to master {}", kid.id, mia.id);
    // To the same master again.
    let err = assert_link_refused(&t, mia.id, kid.id, &message).await;
    assert!(
        matches!(err, LinkError::ChildAlreadyLinked { child, master } if child == kid.id && master == mia.id),
        "{err:?}"
    );
    // To another master.
    let err = assert_link_refused(&t, max.id, kid.id, &message).await;
    assert!(
        matches!(err, LinkError::ChildAlreadyLinked { child, master } if child == kid.id && master == mia.id),
        "{err:?}"
    );
    assert_eq!(account(&t, mia.id).await.children.len(), 1);
    assert_eq!(get_linked(&t, &max.token).await, (200, standalone()));
}

#[tokio::test]
async fn link_refuses_a_master_as_child() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let max = creator(&t, "max@example.com", "Max Master", Currency::Usd).await;
    let kid = creator(&t, "kid@example.com", "Kid", Currency::Usd).await;
    linked(&t, mia.id, kid.id).await;
    let err = assert_link_refused(
        &t,
        max.id,
        mia.id,
        &format!("user {} is a master account and cannot be a child", mia.id),
    )
    .await;
    assert!(
        matches!(err, LinkError::ChildIsMaster(c) if c == mia.id),
        "{err:?}"
    );
    assert_eq!(get_linked(&t, &max.token).await, (200, standalone()));
}

#[tokio::test]
async fn link_refuses_a_child_as_master() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let kid = creator(&t, "kid@example.com", "Kid", Currency::Usd).await;
    let other = creator(&t, "other@example.com", "Other", Currency::Usd).await;
    linked(&t, mia.id, kid.id).await;
    let message = format!("user {} is a child account and cannot be a master", kid.id);
    let err = assert_link_refused(&t, kid.id, other.id, &message).await;
    assert!(
        matches!(err, LinkError::MasterIsChild(m) if m == kid.id),
        "{err:?}"
    );
    // Not even its own master as its child (a cycle).
    let err = assert_link_refused(&t, kid.id, mia.id, &message).await;
    assert!(
        matches!(err, LinkError::MasterIsChild(m) if m == kid.id),
        "{err:?}"
    );
    assert_eq!(get_linked(&t, &other.token).await, (200, standalone()));
}

#[tokio::test]
async fn link_refuses_unknown_and_deleted_users() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let gone = creator(&t, "gone@example.com", "Gone", Currency::Usd).await;
    delete_user(&t, gone.id).await.expect("delete");
    let unknown = 9_000_000;
    for (master, child, missing) in [
        (mia.id, unknown, unknown),
        (unknown, mia.id, unknown),
        (mia.id, gone.id, gone.id),
        (gone.id, mia.id, gone.id),
    ] {
        let err = assert_link_refused(
            &t,
            master,
            child,
            &format!("user {missing} does not exist or is deleted"),
        )
        .await;
        assert!(
            matches!(err, LinkError::NotFound(id) if id == missing),
            "{err:?}"
        );
    }
    assert_eq!(get_linked(&t, &mia.token).await, (200, standalone()));
}

// -------------------------------------------------------------- unlink

#[tokio::test]
async fn unlink_removes_the_child_from_the_next_aggregate() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let kids = creators(&t, "kid", 3).await;
    // Mia 101: 2 clicks, 100 -> 50 %; kid i: 10i clicks, 100i -> 10/i %.
    product(&t, mia.id, 101, 2, 100).await;
    for (i, k) in kids.iter().enumerate() {
        let i = i as i64 + 1;
        product(&t, k.id, 200 + i, 10 * i, 100 * i).await;
    }
    for k in &kids {
        linked(&t, mia.id, k.id).await;
    }
    // All: clicks 2+10+20+30 = 62, unlocks 4 -> 6.45 %, revenue 700.
    let (status, body) = post_aggregate(&t, "aggregate_empty_object", &mia.token).await;
    assert_eq!(status, 200);
    let data = &body["data"];
    assert_eq!(
        (
            data["total_link_clicks"].clone(),
            data["total_unlocks"].clone(),
            data["total_product_revenue"].clone(),
            data["overall_conversion_rate"].clone()
        ),
        (json!(62), json!(4), json!(700), json!(6.45))
    );

    unlink(&t, mia.id, kids[1].id).await.expect("unlink");
    // Without kid 2: clicks 42, unlocks 3 -> 7.14 %, revenue 500.
    let without_kid2 = ok(json!({
        "currency_unified": true,
        "accounts": [account_entry(&mia, 100), account_entry(&kids[0], 100), account_entry(&kids[2], 300)],
        "wallet_balance": balance(500),
        "total_content_items": 3, "total_link_clicks": 42, "total_unlocks": 3,
        "total_product_revenue": 500, "overall_conversion_rate": 7.14,
        "revenue_by_currency": {"USD": 500},
        "top_performing": [
            top(101, &mia, 2, 50.0, 100),
            top(201, &kids[0], 10, 10.0, 100),
            top(203, &kids[2], 30, 3.33, 300),
        ]
    }));
    assert_eq!(
        post_aggregate(&t, "aggregate_empty_object", &mia.token).await,
        (200, without_kid2)
    );
    // Kid 2 is standalone again: its aggregate is itself, additional_tokens ignored.
    assert_eq!(account(&t, kids[1].id).await.master_id, None);
    assert_eq!(get_linked(&t, &kids[1].token).await, (200, standalone()));
    let kid2_alone = ok(json!({
        "currency_unified": true,
        "accounts": [account_entry(&kids[1], 200)],
        "wallet_balance": balance(200),
        "total_content_items": 1, "total_link_clicks": 20, "total_unlocks": 1,
        "total_product_revenue": 200, "overall_conversion_rate": 5.0,
        "revenue_by_currency": {"USD": 200},
        "top_performing": [top(202, &kids[1], 20, 5.0, 200)]
    }));
    assert_eq!(
        post_aggregate(&t, "aggregate_additional_tokens_empty", &kids[1].token).await,
        (200, kid2_alone)
    );

    // Unlinking again, or a child that was never linked, is refused.
    let before = accounts(&t, &[mia.id, kids[1].id]).await;
    let err = unlink(&t, mia.id, kids[1].id)
        .await
        .expect_err("not linked");
    assert_eq!(
        err.to_string(),
        format!("user {} is not linked to master {}", kids[1].id, mia.id)
    );
    assert!(matches!(err, LinkError::NotLinked { .. }), "{err:?}");
    assert_eq!(accounts(&t, &[mia.id, kids[1].id]).await, before);

    // Linked again, it comes last.
    let l = linked(&t, mia.id, kids[1].id).await;
    let (status, body) = post_aggregate(&t, "aggregate_empty_object", &mia.token).await;
    assert_eq!(status, 200);
    let order: Vec<i64> = body["data"]["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["user_id"].as_i64().expect("id"))
        .collect();
    assert_eq!(order, vec![mia.id, kids[0].id, kids[2].id, kids[1].id]);
    let (_, view) = get_linked(&t, &mia.token).await;
    assert_eq!(
        view["data"]["linked_accounts"][2],
        linked_entry(&l, &kids[1])
    );

    // Unlinking every child makes the master standalone.
    for k in &kids {
        unlink(&t, mia.id, k.id).await.expect("unlink");
    }
    assert_eq!(get_linked(&t, &mia.token).await, (200, standalone()));
    let (status, body) = post_aggregate(&t, "aggregate_empty_object", &mia.token).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["accounts"], json!([account_entry(&mia, 100)]));
}

// --------------------------------------------------------- concurrency

/// Two masters race for one child: exactly one gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_links_of_one_child_make_one_link() {
    let t = test_ctx().await;
    let masters = creators(&t, "master", 4).await;
    let kid = creator(&t, "kid@example.com", "Kid", Currency::Usd).await;
    let mut tasks = Vec::new();
    for m in &masters {
        let (ctx, master, child) = (t.ctx.clone(), m.id, kid.id);
        tasks.push(tokio::spawn(async move { link(&ctx, master, child).await }));
    }
    // And the same master twice.
    let (ctx, master, child) = (t.ctx.clone(), masters[0].id, kid.id);
    tasks.push(tokio::spawn(async move { link(&ctx, master, child).await }));
    let mut won = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => won += 1,
            Err(LinkError::ChildAlreadyLinked { child, .. }) => assert_eq!(child, kid.id),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let master_id = account(&t, kid.id).await.master_id.expect("linked");
    let mut total_children = 0;
    for m in &masters {
        let children = account(&t, m.id).await.children;
        if m.id == master_id {
            assert_eq!(children.len(), 1);
            assert_eq!(children[0].child_id, kid.id);
        }
        total_children += children.len();
    }
    assert_eq!(total_children, 1);
}

/// Nine children linked, three more race for the last slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_links_never_exceed_ten_children() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let kids = creators(&t, "kid", 12).await;
    for k in &kids[..9] {
        linked(&t, mia.id, k.id).await;
    }
    let mut tasks = Vec::new();
    for k in &kids[9..] {
        let (ctx, master, child) = (t.ctx.clone(), mia.id, k.id);
        tasks.push(tokio::spawn(async move { link(&ctx, master, child).await }));
    }
    let mut won = Vec::new();
    for (task, k) in tasks.into_iter().zip(&kids[9..]) {
        match task.await.expect("task") {
            Ok(_) => won.push(k.id),
            Err(LinkError::TooManyChildren(m)) => {
                assert_eq!(m, mia.id);
                assert_eq!(account(&t, k.id).await.master_id, None);
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won.len(), 1);
    let children = account(&t, mia.id).await.children;
    assert_eq!(children.len(), 10);
    assert_eq!(children[9].child_id, won[0]);
}

/// A links B while B links C: never a chain A -> B -> C.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_links_never_make_a_chain() {
    for _ in 0..5 {
        let t = test_ctx().await;
        let abc = creators(&t, "abc", 3).await;
        let (a, b, c) = (abc[0].id, abc[1].id, abc[2].id);
        let ctx1 = t.ctx.clone();
        let ctx2 = t.ctx.clone();
        let (r1, r2) = tokio::join!(
            tokio::spawn(async move { link(&ctx1, a, b).await }),
            tokio::spawn(async move { link(&ctx2, b, c).await })
        );
        let (r1, r2) = (r1.expect("task"), r2.expect("task"));
        assert!(
            r1.is_ok() != r2.is_ok(),
            "exactly one may succeed: {r1:?} {r2:?}"
        );
        let b_account = account(&t, b).await;
        assert!(
            b_account.master_id.is_none() || b_account.children.is_empty(),
            "B is both a child and a master: {b_account:?}"
        );
        if r1.is_ok() {
            assert!(
                matches!(r2, Err(LinkError::MasterIsChild(m)) if m == b),
                "{r2:?}"
            );
            assert_eq!(account(&t, c).await.master_id, None);
        } else {
            assert!(
                matches!(r1, Err(LinkError::ChildIsMaster(x)) if x == b),
                "{r1:?}"
            );
            assert!(account(&t, a).await.children.is_empty());
        }
    }
}

/// Unlinks of different children at once each remove the right child.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_unlinks_remove_the_right_children() {
    let t = test_ctx().await;
    let mia = creator(&t, "mia@example.com", "Mia Master", Currency::Usd).await;
    let kids = creators(&t, "kid", 6).await;
    for k in &kids {
        linked(&t, mia.id, k.id).await;
    }
    let gone = [kids[0].id, kids[2].id, kids[3].id, kids[5].id];
    let mut tasks = Vec::new();
    for child in gone {
        let (ctx, master) = (t.ctx.clone(), mia.id);
        tasks.push(tokio::spawn(
            async move { unlink(&ctx, master, child).await },
        ));
    }
    for task in tasks {
        task.await.expect("task").expect("unlink");
    }
    let left: Vec<i64> = account(&t, mia.id)
        .await
        .children
        .iter()
        .map(|l| l.child_id)
        .collect();
    assert_eq!(left, vec![kids[1].id, kids[4].id]);
    for child in gone {
        assert_eq!(account(&t, child).await.master_id, None);
    }
    for k in [&kids[1], &kids[4]] {
        assert_eq!(account(&t, k.id).await.master_id, Some(mia.id));
    }
}
