//! Account links (docs/api.md#aggregate and 7): `shared::services::links::{link, unlink}`, the
//! `GET /api/user/linked-accounts` handler, and what linking and unlinking do
//! to the next `POST /api/dashboard/summary/aggregate`, on DynamoDB Local.
//!
//! Every refused link is checked for its error (variant and message) and for
//! changing nothing: both account items (with their versions) are compared
//! before and after. Concurrent links and unlinks check that the conditions
//! of the link transaction, not only the reads before it, enforce the rules.

use domain::account::{Account, Link};
use domain::currency::Currency;
use serde_json::{json, Value};
use shared::services::links::{link, unlink, LinkError, MAX_CHILDREN};
use shared::services::users::delete_user;
use shared::Ctx;
use tests::dynamo::test_ctx;
use tests::expect::{account_entry, balance, currency_code, currency_id, shown_time, top, Summary};
use tests::fixtures::{api_key, creator, creators, Creator, Profile};
use tests::http::{error, ok, Route, CHILD_CANNOT_AGGREGATE, FORBIDDEN, UNAUTHENTICATED};
use tests::invariants::account;

// ---------------------------------------------------------------- helpers

/// A USD creator named as the expected JSON shows.
fn usd(email: &str, name: &str) -> Profile {
    Profile::named(email, name, Currency::Usd)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
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
           "currency_id": currency_id(c.currency), "currency_code": currency_code(c.currency),
           "linked_at": shown_time(l.linked_at)})
}

fn master_view(c: &Creator) -> Value {
    json!({"user_id": c.id, "email": c.email, "display_name": c.name,
           "currency_id": currency_id(c.currency), "currency_code": currency_code(c.currency)})
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

/// Runs a link that must be refused: checks the error (`is`) and its
/// message, and that neither account changed.
async fn assert_link_refused(
    ctx: &Ctx,
    (master, child): (i64, i64),
    message: &str,
    is: impl Fn(&LinkError) -> bool,
) {
    let mut existing = Vec::new();
    for id in [master, child] {
        if shared::store::read::read_account(ctx, id)
            .await
            .expect("read")
            .is_some()
        {
            existing.push(id);
        }
    }
    let before = accounts(ctx, &existing).await;
    let err = link(ctx, master, child)
        .await
        .expect_err("the link must be refused");
    assert_eq!(err.to_string(), message);
    assert!(is(&err), "{err:?}");
    assert_eq!(
        accounts(ctx, &existing).await,
        before,
        "a refused link changed an account"
    );
}

/// A USD wallet summary entry: `c` with `available` and nothing else.
fn entry(c: &Creator, available: i64) -> Value {
    account_entry(c, balance(available, 0, 0, 0))
}

/// A top product `p<id>` with one unlock.
fn top_p(id: i64, owner: &Creator, clicks: i64, rate: f64, earnings: i64) -> Value {
    top(id, owner, &format!("p{id}"), (clicks, 1, rate, earnings))
}

// ------------------------------------------------------ linked-accounts

#[tokio::test]
async fn linked_accounts_for_master_child_and_standalone() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let eve = creator(
        &t,
        Profile::named("eve@example.com", "Eve Euro", Currency::Eur),
    )
    .await;
    let gus = creator(
        &t,
        Profile::named("gus@example.com", "Gus Pound", Currency::Gbp),
    )
    .await;
    let solo = creator(&t, usd("solo@example.com", "Solo")).await;

    // Nobody linked yet: everyone is standalone.
    for c in [&mia, &eve, &gus, &solo] {
        assert_eq!(t.linked_accounts(&c.token).await, (200, standalone()));
    }

    let l_gus = linked(&t, mia.id, gus.id).await;
    let l_eve = linked(&t, mia.id, eve.id).await;
    assert_ne!(l_gus.link_id, l_eve.link_id, "link ids are unique");

    // In link order, not creation order.
    assert_eq!(
        t.linked_accounts(&mia.token).await,
        (
            200,
            ok(json!({"role": "master", "master": null,
                      "linked_accounts": [linked_entry(&l_gus, &gus), linked_entry(&l_eve, &eve)]}))
        )
    );
    assert_eq!(
        t.linked_accounts(&eve.token).await,
        (
            200,
            ok(json!({"role": "child",
                      "master": {"user_id": mia.id, "email": "mia@example.com",
                                 "display_name": "Mia Master", "currency_id": 1, "currency_code": "USD"},
                      "linked_accounts": []}))
        )
    );
    assert_eq!(
        t.linked_accounts(&gus.token).await,
        (
            200,
            ok(json!({"role": "child", "master": master_view(&mia), "linked_accounts": []}))
        )
    );
    assert_eq!(t.linked_accounts(&solo.token).await, (200, standalone()));

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
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    assert_eq!(
        t.sample(Route::LinkedAccounts, "linked-accounts_no_token", None)
            .await,
        (401, error(UNAUTHENTICATED))
    );
    assert_eq!(
        t.sample(Route::LinkedAccounts, "linked-accounts_ok", None)
            .await,
        (401, error(UNAUTHENTICATED)),
        "the sample's placeholder token does not exist"
    );
    let key = api_key(&t, mia.id).await;
    assert_eq!(t.linked_accounts(&key).await, (403, error(FORBIDDEN)));
    delete_user(&t, mia.id).await.expect("delete");
    assert_eq!(
        t.linked_accounts(&mia.token).await,
        (401, error(UNAUTHENTICATED))
    );
}

#[tokio::test]
async fn linked_accounts_leaves_out_deleted_children() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let kids = creators(&t, "kid", 3).await;
    let mut links = Vec::new();
    for k in &kids {
        links.push(linked(&t, mia.id, k.id).await);
    }
    delete_user(&t, kids[1].id).await.expect("delete");
    assert_eq!(
        t.linked_accounts(&mia.token).await,
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
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let kids = creators(&t, "kid", 3).await;
    let ned = creator(&t, usd("ned@example.com", "Ned Next")).await;
    for k in &kids {
        linked(&t, mia.id, k.id).await;
    }
    // A deleted child stays in the list of a master deleted after it.
    delete_user(&t, kids[2].id).await.expect("delete child");
    let child_view =
        ok(json!({"role": "child", "master": master_view(&mia), "linked_accounts": []}));
    assert_eq!(t.linked_accounts(&kids[0].token).await, (200, child_view));
    assert_eq!(
        t.sample(
            Route::Aggregate,
            "aggregate_additional_tokens_empty",
            Some(&kids[0].token)
        )
        .await,
        (403, error(CHILD_CANNOT_AGGREGATE))
    );

    delete_user(&t, mia.id).await.expect("delete master");

    for k in &kids[..2] {
        assert_eq!(t.linked_accounts(&k.token).await, (200, standalone()));
        let body = t
            .sample(
                Route::Aggregate,
                "aggregate_additional_tokens_empty",
                Some(&k.token),
            )
            .await
            .body_of_200();
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
        t.linked_accounts(&kids[0].token).await,
        (
            200,
            ok(json!({"role": "child", "master": master_view(&ned), "linked_accounts": []}))
        )
    );
    // A second deletion of the master is refused and changes nothing.
    assert!(matches!(
        delete_user(&t, mia.id).await,
        Err(shared::services::users::UserError::NotFound(id)) if id == mia.id
    ));
}

/// A link made while the master is being deleted either lands before the
/// deletion (and is undone by it) or is refused: no child is left pointing at
/// a deleted master.
#[tokio::test]
async fn deleting_a_master_races_links_without_leaving_orphans() {
    let t = test_ctx().await;
    for round in 0..12 {
        let mia = creator(&t, usd(&format!("mia{round}@example.com"), "Mia")).await;
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
            assert_eq!(t.linked_accounts(&k.token).await, (200, standalone()));
        }
        assert!(account(&t, mia.id).await.children.is_empty());
    }
}

// ---------------------------------------------------------- link rules

#[tokio::test]
async fn link_refuses_linking_an_account_to_itself() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let kid = creator(&t, usd("kid@example.com", "Kid")).await;
    let message = "an account cannot be linked to itself";
    let self_link = |e: &LinkError| matches!(e, LinkError::SelfLink);
    assert_link_refused(&t, (mia.id, mia.id), message, self_link).await;
    // Also for a master that already has children.
    linked(&t, mia.id, kid.id).await;
    assert_link_refused(&t, (mia.id, mia.id), message, self_link).await;
    assert_eq!(t.linked_accounts(&kid.token).await.status, 200);
}

#[tokio::test]
async fn link_refuses_an_eleventh_child() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let kids = creators(&t, "kid", MAX_CHILDREN + 1).await;
    assert_eq!(MAX_CHILDREN, 10);
    for k in &kids[..10] {
        linked(&t, mia.id, k.id).await;
    }
    let eleventh = &kids[10];
    let message = format!("master {} already has 10 linked accounts", mia.id);
    assert_link_refused(
        &t,
        (mia.id, eleventh.id),
        &message,
        |e| matches!(e, LinkError::TooManyChildren(m) if *m == mia.id),
    )
    .await;
    assert_eq!(account(&t, mia.id).await.children.len(), 10);
    assert_eq!(
        t.linked_accounts(&eleventh.token).await,
        (200, standalone())
    );
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

/// Mia (a master of Kid), Max (standalone) and Kid.
async fn mia_max_and_kid(t: &tests::dynamo::TestCtx) -> [Creator; 3] {
    let mia = creator(t, usd("mia@example.com", "Mia Master")).await;
    let max = creator(t, usd("max@example.com", "Max Master")).await;
    let kid = creator(t, usd("kid@example.com", "Kid")).await;
    linked(t, mia.id, kid.id).await;
    [mia, max, kid]
}

#[tokio::test]
async fn link_refuses_a_child_that_is_already_linked() {
    let t = test_ctx().await;
    let [mia, max, kid] = mia_max_and_kid(&t).await;
    let message = format!("user {} is already linked to master {}", kid.id, mia.id);
    // To the same master again, and to another master.
    for master in [mia.id, max.id] {
        assert_link_refused(&t, (master, kid.id), &message, |e| {
            matches!(e, LinkError::ChildAlreadyLinked { child, master }
                if *child == kid.id && *master == mia.id)
        })
        .await;
    }
    assert_eq!(account(&t, mia.id).await.children.len(), 1);
    assert_eq!(t.linked_accounts(&max.token).await, (200, standalone()));
}

#[tokio::test]
async fn link_refuses_a_master_as_child() {
    let t = test_ctx().await;
    let [mia, max, _kid] = mia_max_and_kid(&t).await;
    let message = format!("user {} is a master account and cannot be a child", mia.id);
    assert_link_refused(
        &t,
        (max.id, mia.id),
        &message,
        |e| matches!(e, LinkError::ChildIsMaster(c) if *c == mia.id),
    )
    .await;
    assert_eq!(t.linked_accounts(&max.token).await, (200, standalone()));
}

#[tokio::test]
async fn link_refuses_a_child_as_master() {
    let t = test_ctx().await;
    let [mia, other, kid] = mia_max_and_kid(&t).await;
    let message = format!("user {} is a child account and cannot be a master", kid.id);
    // Not to another account, not even its own master as its child (a cycle).
    for child in [other.id, mia.id] {
        assert_link_refused(
            &t,
            (kid.id, child),
            &message,
            |e| matches!(e, LinkError::MasterIsChild(m) if *m == kid.id),
        )
        .await;
    }
    assert_eq!(t.linked_accounts(&other.token).await, (200, standalone()));
}

#[tokio::test]
async fn link_refuses_unknown_and_deleted_users() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let gone = creator(&t, usd("gone@example.com", "Gone")).await;
    delete_user(&t, gone.id).await.expect("delete");
    let unknown = 9_000_000;
    for (master, child, missing) in [
        (mia.id, unknown, unknown),
        (unknown, mia.id, unknown),
        (mia.id, gone.id, gone.id),
        (gone.id, mia.id, gone.id),
    ] {
        let message = format!("user {missing} does not exist or is deleted");
        assert_link_refused(
            &t,
            (master, child),
            &message,
            |e| matches!(e, LinkError::NotFound(id) if *id == missing),
        )
        .await;
    }
    assert_eq!(t.linked_accounts(&mia.token).await, (200, standalone()));
}

// -------------------------------------------------------------- unlink

#[tokio::test]
async fn unlink_removes_the_child_from_the_next_aggregate() {
    let t = test_ctx().await;
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let kids = creators(&t, "kid", 3).await;
    // Mia 101: 2 clicks, 100 -> 50 %; kid i: 10i clicks, 100i -> 10/i %.
    t.product(mia.id, 101, "p101", 2, &[100]).await;
    for (i, k) in kids.iter().enumerate() {
        let i = i as i64 + 1;
        t.product(k.id, 200 + i, &format!("p{}", 200 + i), 10 * i, &[100 * i])
            .await;
    }
    for k in &kids {
        linked(&t, mia.id, k.id).await;
    }
    // All: clicks 2+10+20+30 = 62, unlocks 4 -> 6.45 %, revenue 700.
    let body = t
        .sample(Route::Aggregate, "aggregate_empty_object", Some(&mia.token))
        .await
        .body_of_200();
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
    let without_kid2 = Summary::group(
        vec![entry(&mia, 100), entry(&kids[0], 100), entry(&kids[2], 300)],
        balance(500, 0, 0, 0),
    )
    .totals((3, 42, 3, 500, 7.14))
    .top(vec![
        top_p(101, &mia, 2, 50.0, 100),
        top_p(201, &kids[0], 10, 10.0, 100),
        top_p(203, &kids[2], 30, 3.33, 300),
    ])
    .ok();
    assert_eq!(
        t.sample(Route::Aggregate, "aggregate_empty_object", Some(&mia.token))
            .await,
        (200, without_kid2)
    );
    // Kid 2 is standalone again: its aggregate is itself, additional_tokens ignored.
    assert_eq!(account(&t, kids[1].id).await.master_id, None);
    assert_eq!(t.linked_accounts(&kids[1].token).await, (200, standalone()));
    let kid2_alone = Summary::of(&kids[1], balance(200, 0, 0, 0))
        .totals((1, 20, 1, 200, 5.0))
        .top(vec![top_p(202, &kids[1], 20, 5.0, 200)])
        .ok();
    assert_eq!(
        t.sample(
            Route::Aggregate,
            "aggregate_additional_tokens_empty",
            Some(&kids[1].token)
        )
        .await,
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
    let body = t
        .sample(Route::Aggregate, "aggregate_empty_object", Some(&mia.token))
        .await
        .body_of_200();
    let order: Vec<i64> = body["data"]["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["user_id"].as_i64().expect("id"))
        .collect();
    assert_eq!(order, vec![mia.id, kids[0].id, kids[2].id, kids[1].id]);
    let view = t.linked_accounts(&mia.token).await.body;
    assert_eq!(
        view["data"]["linked_accounts"][2],
        linked_entry(&l, &kids[1])
    );

    // Unlinking every child makes the master standalone.
    for k in &kids {
        unlink(&t, mia.id, k.id).await.expect("unlink");
    }
    assert_eq!(t.linked_accounts(&mia.token).await, (200, standalone()));
    let body = t
        .sample(Route::Aggregate, "aggregate_empty_object", Some(&mia.token))
        .await
        .body_of_200();
    assert_eq!(body["data"]["accounts"], json!([entry(&mia, 100)]));
}

// --------------------------------------------------------- concurrency

/// Two masters race for one child: exactly one gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_links_of_one_child_make_one_link() {
    let t = test_ctx().await;
    let masters = creators(&t, "master", 4).await;
    let kid = creator(&t, usd("kid@example.com", "Kid")).await;
    let mut tasks = Vec::new();
    for m in &masters {
        let (ctx, master, child) = (t.clone(), m.id, kid.id);
        tasks.push(tokio::spawn(async move { link(&ctx, master, child).await }));
    }
    // And the same master twice.
    let (ctx, master, child) = (t.clone(), masters[0].id, kid.id);
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
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let kids = creators(&t, "kid", 12).await;
    for k in &kids[..9] {
        linked(&t, mia.id, k.id).await;
    }
    let mut tasks = Vec::new();
    for k in &kids[9..] {
        let (ctx, master, child) = (t.clone(), mia.id, k.id);
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
        let ctx1 = t.clone();
        let ctx2 = t.clone();
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
    let mia = creator(&t, usd("mia@example.com", "Mia Master")).await;
    let kids = creators(&t, "kid", 6).await;
    for k in &kids {
        linked(&t, mia.id, k.id).await;
    }
    let gone = [kids[0].id, kids[2].id, kids[3].id, kids[5].id];
    let mut tasks = Vec::new();
    for child in gone {
        let (ctx, master) = (t.clone(), mia.id);
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
