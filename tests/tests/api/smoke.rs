//! A whole dashboard on one table: products, clicks and earnings of a master
//! and its child, then every dashboard route (printed, for a look by eye).

use domain::currency::Currency;
use tests::dynamo::test_ctx;
use tests::events::Event;
use tests::fixtures::{creator, Profile};

#[tokio::test]
async fn dashboard_smoke() {
    let t = test_ctx().await;
    let m = creator(&t, Profile::new(Currency::Usd)).await;
    let c = creator(&t, Profile::new(Currency::Eur)).await;
    let thumbnail = serde_json::json!({"url": "https://x/7.jpg", "width": 640, "height": 480});
    for e in [
        Event::product_upsert(m.id, "p_1", 7).merge(serde_json::json!(
            {"title": "Sunset set", "media_complete": true, "deleted": false, "thumbnail": thumbnail}
        )),
        Event::link_clicks(m.id, "c_1", 7, 80),
        Event::product_earning(m.id, "pay_1", 500).product(7),
        Event::product_upsert(c.id, "p_2", 8).merge(serde_json::json!(
            {"title": "Child", "media_complete": true}
        )),
        Event::link_clicks(c.id, "c_2", 8, 3),
        Event::product_earning(c.id, "pay_2", 900).product(8),
        Event::link_clicks(c.id, "c_3", 7, 3),
    ] {
        let r = t.apply(e).await;
        println!("{r:?}");
    }
    shared::services::links::link(&t, m.id, c.id).await.unwrap();
    t.reset_counts();
    let r = t.summary(&m.token).await;
    println!(
        "{} {} {:?}",
        r.status,
        serde_json::to_string_pretty(&r.body).unwrap(),
        t.counter.operations()
    );
    t.reset_counts();
    let r = t.aggregate(&m.token, &["x"]).await;
    println!(
        "{} {} {:?}",
        r.status,
        serde_json::to_string_pretty(&r.body).unwrap(),
        t.counter.operations()
    );
    let r = t.linked_accounts(&c.token).await;
    println!("{} {}", r.status, r.body);
    let r = t.linked_accounts(&m.token).await;
    println!("{} {}", r.status, r.body);
}
