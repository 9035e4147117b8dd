use serde_json::json;
use shared::currency::Currency;
use tests::*;

#[tokio::test]
async fn dashboard_smoke() {
    let t = test_ctx().await;
    let m = new_user(&t, Currency::Usd).await;
    let c = new_user(&t, Currency::Eur).await;
    for e in [
        json!({"kind":"product_upsert","event_id":"p_1","user_id":m.user_id,"product_id":7,"title":"Sunset set","media_complete":true,"deleted":false,"thumbnail":{"url":"https://x/7.jpg","width":640,"height":480}}),
        json!({"kind":"link_clicks","event_id":"c_1","user_id":m.user_id,"product_id":7,"count":80}),
        json!({"kind":"product_earning","event_id":"pay_1","user_id":m.user_id,"amount":500,"product_id":7,"hold_seconds":0}),
        json!({"kind":"product_upsert","event_id":"p_2","user_id":c.user_id,"product_id":8,"title":"Child","media_complete":true}),
        json!({"kind":"link_clicks","event_id":"c_2","user_id":c.user_id,"product_id":8,"count":3}),
        json!({"kind":"product_earning","event_id":"pay_2","user_id":c.user_id,"amount":900,"product_id":8,"hold_seconds":0}),
        json!({"kind":"link_clicks","event_id":"c_3","user_id":c.user_id,"product_id":7,"count":3}),
    ] {
        let r = apply(&t, e).await;
        println!("{r:?}");
    }
    shared::links::link(&t, m.user_id, c.user_id).await.unwrap();
    let req = with_auth(request("wallet_ok"), Some(&bearer(&m.token)));
    t.counter.reset();
    let (status, body) = status_and_json(summary::handle(&t, req).await);
    println!(
        "{status} {} {:?}",
        serde_json::to_string_pretty(&body).unwrap(),
        t.counter.operations()
    );
    let mut req = with_auth(request("wallet_ok"), Some(&bearer(&m.token)));
    *req.body_mut() = lambda_http::Body::Text("{\"additional_tokens\":[\"x\"]}".into());
    t.counter.reset();
    let (status, body) = status_and_json(aggregate::handle(&t, req).await);
    println!(
        "{status} {} {:?}",
        serde_json::to_string_pretty(&body).unwrap(),
        t.counter.operations()
    );
    let req = with_auth(request("wallet_ok"), Some(&bearer(&c.token)));
    let (status, body) = status_and_json(linked_accounts::handle(&t, req).await);
    println!("{status} {body}");
    let req = with_auth(request("wallet_ok"), Some(&bearer(&m.token)));
    let (status, body) = status_and_json(linked_accounts::handle(&t, req).await);
    println!("{status} {body}");
}
