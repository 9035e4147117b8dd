use serde_json::json;
use shared::currency::Currency;
use tests::*;

#[tokio::test]
async fn money_in_then_read_back() {
    let t = test_ctx().await;
    let u = new_user(&t, Currency::Usd).await;
    let r = apply(&t, json!({"kind":"product_earning","event_id":"p1","user_id":u.user_id,"amount":550,"title":"Money for a photo","hold_seconds":0})).await;
    assert_eq!(
        r.status,
        shared::ledger::apply::EventStatus::Applied,
        "{r:?}"
    );
    let r = apply(&t, json!({"kind":"affiliate_earning","event_id":"a1","user_id":u.user_id,"amount":220,"hold_seconds":60})).await;
    assert_eq!(
        r.status,
        shared::ledger::apply::EventStatus::Applied,
        "{r:?}"
    );
    let req = with_auth(request("wallet_ok"), Some(&bearer(&u.token)));
    t.counter.reset();
    let (status, body) = status_and_json(wallet::handle(&t, req).await);
    println!("{}", serde_json::to_string_pretty(&body).unwrap());
    println!("{:?}", t.counter.operations());
    assert_eq!(status, 200);
    assert_invariants(&t, u.user_id).await;
    let req = with_auth(request("affiliate_ok"), Some(&bearer(&u.token)));
    let (status, body) = status_and_json(affiliate::handle(&t, req).await);
    println!("{}", serde_json::to_string_pretty(&body).unwrap());
    assert_eq!(status, 200);
}
