use serde_json::json;
use shared::currency::Currency;
use tests::*;

#[tokio::test]
async fn money_in_cashout_approve() {
    let t = test_ctx().await;
    let u = new_user_with(
        &t,
        Currency::Usd,
        Some(&json!({"account_number":"1","routing_number":"2"})),
    )
    .await;
    apply(&t, json!({"kind":"product_earning","event_id":"p1","user_id":u.user_id,"amount":550,"hold_seconds":0})).await;
    apply(&t, json!({"kind":"product_earning","event_id":"p2","user_id":u.user_id,"amount":100,"hold_seconds":5})).await;
    let mut req = with_auth(request("wallet_ok"), Some(&bearer(&u.token)));
    *req.method_mut() = lambda_http::http::Method::POST;
    req.headers_mut()
        .insert("idempotency-key", "k1".parse().unwrap());
    t.counter.reset();
    let resp = cashout::handle(&t, req).await;
    println!("{:?} {:?}", resp.headers(), t.counter.operations());
    let (status, body) = status_and_json(resp);
    println!("{status} {body}");
    let payouts = shared::payouts::list_payouts(&t, None, None).await.unwrap();
    println!("{payouts:?}");
    assert_invariants(&t, u.user_id).await;
    let out = payout_admin::handle(
        &t,
        json!({"action":"decline","payout_id":payouts[0].payout_id,"reason":"bad"}),
    )
    .await;
    println!("{out}");
    let out = payout_admin::handle(
        &t,
        json!({"action":"approve","payout_id":payouts[0].payout_id}),
    )
    .await;
    println!("{out}");
    assert_invariants(&t, u.user_id).await;
    let out = release_holds::handle(&t, json!({"now":"2099-01-01T00:00:00Z"})).await;
    println!("{out}");
    assert_invariants(&t, u.user_id).await;
    println!("{:?}", buckets(&t, u.user_id).await);
    let req = with_auth(request("wallet_ok"), Some(&bearer(&u.token)));
    let (status, body) = status_and_json(payouts::handle(&t, req).await);
    println!("{status} {body}");
}
