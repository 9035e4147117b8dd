//! `walletctl seed demo`: demo creators for `make dev` and for trying the API.
//!
//! Creates the data once (a marker item records it) and prints fresh tokens on
//! every run, since only hashes of tokens are stored. The demo has a master in
//! USD with two children (EUR and USD), a standalone GBP creator without payout
//! details, products with clicks and unlocks, a history with every public
//! transaction type, a paid, a declined and a pending payout, and open holds.

use anyhow::{anyhow, Context, Result};
use domain::currency::Currency;
use domain::token::Ability;
use serde_json::{json, Value};
use shared::services::auth::create_token;
use shared::services::ledger::{apply_event_value, EventStatus};
use shared::services::links::{link, LinkError};
use shared::services::payouts::{cashout, decide, Cashout, Decision};
use shared::services::users::{create_user, NewUser};
use shared::store::item::{get_i64, n, s};
use shared::store::keys;
use shared::{ApiResponse, Ctx};

struct DemoUser {
    email: &'static str,
    display_name: &'static str,
    currency: Currency,
    payout_details: Option<Value>,
    role: &'static str,
}

fn demo_users() -> Vec<DemoUser> {
    vec![
        DemoUser {
            email: "ann@demo.example",
            display_name: "Ann Lee",
            currency: Currency::Usd,
            payout_details: Some(
                json!({"account_number": "000123456789", "routing_number": "110000000"}),
            ),
            role: "master",
        },
        DemoUser {
            email: "ben@demo.example",
            display_name: "Ben Ortiz",
            currency: Currency::Eur,
            payout_details: Some(
                json!({"iban": "DE89370400440532013000", "bic_swift": "COBADEFFXXX"}),
            ),
            role: "child of ann",
        },
        DemoUser {
            email: "cleo@demo.example",
            display_name: "Cleo Park",
            currency: Currency::Usd,
            payout_details: Some(
                json!({"account_number": "000987654321", "routing_number": "110000000"}),
            ),
            role: "child of ann",
        },
        DemoUser {
            email: "dana@demo.example",
            display_name: "Dana Kim",
            currency: Currency::Gbp,
            payout_details: None,
            role: "standalone, no payout details",
        },
    ]
}

/// Seeds the demo (once) and returns the users with new tokens.
pub async fn seed_demo(ctx: &Ctx) -> Result<Value> {
    let already = seeded(ctx).await?;
    let mut ids = Vec::new();
    for user in demo_users() {
        let id = match existing_user(ctx, user.email).await? {
            Some(id) => id,
            None => create_user(
                ctx,
                NewUser {
                    email: user.email,
                    display_name: user.display_name,
                    currency: user.currency,
                    payout_details: user.payout_details.as_ref(),
                },
            )
            .await
            .with_context(|| format!("creating {}", user.email))?,
        };
        ids.push(id);
    }
    let &[ann, ben, cleo, dana] = ids.as_slice() else {
        return Err(anyhow!("expected four demo users"));
    };
    if !already {
        history(ctx, ann, ben, cleo, dana).await?;
        mark_seeded(ctx).await?;
    }
    let mut users = Vec::new();
    for (user, id) in demo_users().into_iter().zip([ann, ben, cleo, dana]) {
        let (_, token) = create_token(ctx, id, Ability::All).await?;
        let (_, api_key) = create_token(ctx, id, Ability::TransactionsRead).await?;
        users.push(json!({
            "user_id": id,
            "email": user.email,
            "display_name": user.display_name,
            "currency": user.currency.code(),
            "role": user.role,
            "token": token,
            "api_key": api_key,
        }));
    }
    Ok(json!({"seeded_now": !already, "users": users}))
}

async fn history(ctx: &Ctx, ann: i64, ben: i64, cleo: i64, dana: i64) -> Result<()> {
    for (master, child) in [(ann, ben), (ann, cleo)] {
        match link(ctx, master, child).await {
            Ok(_) | Err(LinkError::ChildAlreadyLinked { .. }) => {}
            Err(err) => return Err(err.into()),
        }
    }
    let day = 24 * 3600;
    let now = domain::time::now_epoch();
    let at = |days_ago: i64| {
        chrono::DateTime::from_timestamp(now - days_ago * day, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    };
    let product = |user: i64, id: i64, title: &str, complete: bool, clicks: i64| {
        vec![
            json!({"kind":"product_upsert","event_id":format!("demo-p{id}"),"user_id":user,"product_id":id,"title":title,
                   "media_complete":complete,"deleted":false,
                   "thumbnail": complete.then(|| json!({"url": format!("https://cdn.demo.example/p{id}.jpg"), "width": 640, "height": 480}))}),
            json!({"kind":"link_clicks","event_id":format!("demo-c{id}"),"user_id":user,"product_id":id,"count":clicks}),
        ]
    };
    let mut events = Vec::new();
    events.extend(product(ann, 9001, "Sunset set", true, 3400));
    events.extend(product(ann, 9002, "City at night", true, 800));
    events.extend(product(ann, 9003, "Behind the scenes", false, 120));
    events.extend(product(ben, 9101, "Alpine morning", true, 950));
    events.extend(product(cleo, 9201, "Studio portraits", true, 400));
    events.extend(product(dana, 9301, "London rain", true, 60));
    let earning = |id: &str,
                   user: i64,
                   amount: i64,
                   product: Option<i64>,
                   days_ago: i64,
                   hold: i64| {
        let mut e = json!({"kind":"product_earning","event_id":id,"user_id":user,"amount":amount,
                           "title":"Money for a photo","occurred_at":at(days_ago),"hold_seconds":hold});
        if let (Some(p), Value::Object(map)) = (product, &mut e) {
            map.insert("product_id".into(), json!(p));
        }
        e
    };
    events.extend([
        earning("demo-e1", ann, 5500, Some(9001), 28, 0),
        earning("demo-e2", ann, 4200, Some(9001), 26, 0),
        earning("demo-e3", ann, 3100, Some(9002), 21, 0),
        json!({"kind":"affiliate_earning","event_id":"demo-a1","user_id":ann,"amount":2500,"title":"Referral revenue","occurred_at":at(20),"hold_seconds":0}),
        json!({"kind":"fee","event_id":"demo-f1","user_id":ann,"amount":300,"title":"Service fee","occurred_at":at(19)}),
        earning("demo-e4", ann, 1200, Some(9002), 12, 0),
        json!({"kind":"refund","event_id":"demo-r1","user_id":ann,"amount":1200,"title":"Refund","product_id":9002,"occurred_at":at(11)}),
        json!({"kind":"hold","event_id":"demo-h1","user_id":ann,"amount":1000,"title":"Dispute","occurred_at":at(10)}),
        json!({"kind":"release_hold","event_id":"demo-rh1","user_id":ann,"hold_event_id":"demo-h1","title":"Dispute resolved","occurred_at":at(8)}),
        json!({"kind":"hold","event_id":"demo-h2","user_id":ann,"amount":500,"title":"Chargeback review","occurred_at":at(2)}),
        earning("demo-e5", ann, 3000, Some(9001), 0, 3600),
        json!({"kind":"affiliate_earning","event_id":"demo-a2","user_id":ann,"amount":700,"title":"Referral revenue","occurred_at":at(1),"hold_seconds":86400}),
        earning("demo-e6", ben, 8000, Some(9101), 15, 0),
        earning("demo-e7", ben, 2600, Some(9101), 3, 0),
        json!({"kind":"affiliate_earning","event_id":"demo-a3","user_id":ben,"amount":400,"title":"Referral revenue","occurred_at":at(5),"hold_seconds":0}),
        earning("demo-e8", cleo, 4500, Some(9201), 9, 0),
        earning("demo-e9", cleo, 900, Some(9201), 0, 7200),
        earning("demo-e10", dana, 1500, Some(9301), 4, 0),
    ]);
    for event in &events {
        let result = apply_event_value(ctx, event).await;
        if matches!(result.status, EventStatus::Rejected | EventStatus::Failed) {
            return Err(anyhow!(
                "demo event {:?} refused: {:?}",
                result.event_id,
                result.error
            ));
        }
    }
    // Ann: a paid payout, then a declined one, then more income and one still pending.
    let paid = demo_cashout(ctx, ann, "demo-cashout-1").await?;
    decide(ctx, paid, Decision::Approve).await?;
    apply_event_value(ctx, &earning("demo-e11", ann, 2400, Some(9002), 6, 0)).await;
    let declined = demo_cashout(ctx, ann, "demo-cashout-2").await?;
    decide(
        ctx,
        declined,
        Decision::Decline {
            reason: "The bank rejected the account number".into(),
        },
    )
    .await?;
    apply_event_value(ctx, &earning("demo-e12", ann, 1800, Some(9001), 1, 0)).await;
    demo_cashout(ctx, cleo, "demo-cashout-3").await?;
    Ok(())
}

/// A cashout with an idempotency key, so a second seed run cannot double it.
async fn demo_cashout(ctx: &Ctx, user_id: i64, key: &str) -> Result<i64> {
    let success = |id| ApiResponse::cashout_created(id).stored();
    match cashout(ctx, user_id, Some(key), success)
        .await
        .map_err(|e| anyhow!(shared::services::error::cause_chain(&e)))?
    {
        Cashout::Created { payout_id } => Ok(payout_id),
        Cashout::Replayed(stored) => stored
            .location
            .as_deref()
            .and_then(|location| location.rsplit('/').next())
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| anyhow!("demo cashout for user {user_id} failed: {}", stored.body)),
    }
}

async fn existing_user(ctx: &Ctx, email: &str) -> Result<Option<i64>> {
    let out = ctx
        .db
        .get_item()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::email_pk(email)))
        .key(keys::SK, s(keys::EMAIL_SK))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| anyhow!(shared::services::error::cause_chain(&e)))?;
    Ok(out.item.and_then(|item| get_i64(&item, "user_id").ok()))
}

async fn seeded(ctx: &Ctx) -> Result<bool> {
    let out = ctx
        .db
        .get_item()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::DEMO_MARKER_PK))
        .key(keys::SK, s(keys::DEMO_MARKER_PK))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| anyhow!(shared::services::error::cause_chain(&e)))?;
    Ok(out.item.is_some())
}

async fn mark_seeded(ctx: &Ctx) -> Result<()> {
    ctx.db
        .put_item()
        .table_name(ctx.table())
        .item(keys::PK, s(keys::DEMO_MARKER_PK))
        .item(keys::SK, s(keys::DEMO_MARKER_PK))
        .item("seeded_at", n(domain::time::now_epoch()))
        .send()
        .await
        .map_err(|e| anyhow!(shared::services::error::cause_chain(&e)))?;
    Ok(())
}
