//! The bench's data: users with histories, children and tokens in a table of its
//! own, and the events of the endpoints measured (from `events/`, with a token).

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use domain::currency::Currency;
use domain::token::Ability;
use serde_json::{json, Value};
use shared::services::auth::create_token;
use shared::services::ledger::apply_event_value;
use shared::services::users::{create_user, NewUser};
use shared::Ctx;

/// An endpoint measured warm.
pub struct Endpoint {
    pub label: String,
    pub function: &'static str,
    pub event: Value,
}

impl Endpoint {
    pub fn bytes(&self) -> Result<Bytes> {
        to_bytes(&self.event)
    }
}

pub fn to_bytes(event: &Value) -> Result<Bytes> {
    Ok(Bytes::from(serde_json::to_vec(event)?))
}

/// What the runs read: the endpoints and the events of the cold starts that must
/// not change the data the warm runs read.
pub struct Data {
    pub endpoints: Vec<Endpoint>,
    /// A cashout of a user with nothing to cash out.
    pub idle_cashout: Value,
    /// A ledger event of its own for the cold starts.
    pub cold_ledger: Value,
}

/// A creator with a history of `history` entries, a creator who cashes out, a
/// master with two children, and an idle user; their endpoints.
pub async fn seed(ctx: &Ctx, root: &Path, history: usize) -> Result<Data> {
    let (creator, creator_token) = new_user(ctx, "creator", 0).await?;
    earn(ctx, creator, history, "hist").await?;
    let (casher, casher_token) = new_user(ctx, "casher", 0).await?;
    earn(ctx, casher, 5, "cash").await?;
    let (master, master_token) = new_user(ctx, "master", 0).await?;
    earn(ctx, master, 5, "m").await?;
    for c in 0..2 {
        let (child, _) = new_user(ctx, "child", c).await?;
        earn(ctx, child, 3, "c").await?;
        shared::services::links::link(ctx, master, child)
            .await
            .map_err(|e| anyhow!("link: {e}"))?;
    }
    let (idle, idle_token) = new_user(ctx, "idle", 0).await?;
    let cold_ledger = json!({"kind": "product_earning", "event_id": "bench-cold-1", "user_id": idle,
                             "amount": 1, "title": "Cold start", "hold_seconds": 3600});
    let ledger_event = json!({"kind": "product_earning", "event_id": "bench-ledger-1", "user_id": creator,
                              "amount": 550, "title": "Money for a photo", "hold_seconds": 0});
    let deep = format!("page={}&limit=10", history.div_ceil(10));
    let api =
        |label: String, function: &'static str, name: &str, token: &str, query: Option<&str>| {
            api_event(root, name, token, query).map(|event| Endpoint {
                label,
                function,
                event,
            })
        };
    let endpoints = vec![
        api(
            "wallet page 1".into(),
            "wallet",
            "wallet_ok",
            &creator_token,
            None,
        )?,
        api(
            format!("wallet deep ({deep})"),
            "wallet",
            "wallet_ok",
            &creator_token,
            Some(&deep),
        )?,
        api(
            "affiliate page 1".into(),
            "affiliate",
            "affiliate_ok",
            &creator_token,
            None,
        )?,
        api(
            "affiliate page 2 (limit=2)".into(),
            "affiliate",
            "affiliate_ok",
            &creator_token,
            Some("page=2&limit=2"),
        )?,
        api(
            "cashout".into(),
            "cashout",
            "cashout_ok",
            &casher_token,
            None,
        )?,
        api(
            "payouts".into(),
            "payouts",
            "payouts_ok",
            &casher_token,
            None,
        )?,
        api(
            "summary".into(),
            "summary",
            "summary_ok",
            &creator_token,
            None,
        )?,
        api(
            "aggregate (2 children)".into(),
            "aggregate",
            "aggregate_empty_object",
            &master_token,
            None,
        )?,
        api(
            "linked-accounts".into(),
            "linked-accounts",
            "linked-accounts_ok",
            &master_token,
            None,
        )?,
        Endpoint {
            label: "ledger (one event)".into(),
            function: "ledger",
            event: ledger_event,
        },
    ];
    Ok(Data {
        endpoints,
        idle_cashout: api_event(root, "cashout_ok", &idle_token, None)?,
        cold_ledger,
    })
}

pub fn api_event(root: &Path, name: &str, token: &str, query: Option<&str>) -> Result<Value> {
    let path = root.join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let mut event: Value = serde_json::from_str(&text)?;
    if let Some(h) = event.get_mut("headers").and_then(Value::as_object_mut) {
        h.insert("authorization".into(), json!(format!("Bearer {token}")));
    }
    if let (Some(q), Some(obj)) = (query, event.as_object_mut()) {
        obj.insert("rawQueryString".into(), json!(q));
        let params: serde_json::Map<String, Value> = q
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        obj.insert("queryStringParameters".into(), Value::Object(params));
    }
    Ok(event)
}

pub async fn new_user(ctx: &Ctx, tag: &str, n: usize) -> Result<(i64, String)> {
    let details = json!({"account_number": "000123456789", "routing_number": "110000000"});
    let id = create_user(
        ctx,
        NewUser {
            email: &format!("{tag}-{n}@bench.example"),
            display_name: "Bench User",
            currency: Currency::Usd,
            payout_details: Some(&details),
        },
    )
    .await
    .map_err(|e| anyhow!("create_user: {e}"))?;
    let (_, token) = create_token(ctx, id, Ability::All)
        .await
        .map_err(|e| anyhow!("create_token: {e}"))?;
    Ok((id, token))
}

pub async fn earn(ctx: &Ctx, user: i64, count: usize, tag: &str) -> Result<()> {
    for i in 0..count {
        let kind = if i % 5 == 4 {
            "affiliate_earning"
        } else {
            "product_earning"
        };
        let e = json!({"kind": kind, "event_id": format!("{tag}-{user}-{i}"), "user_id": user,
                       "amount": 100 + i as i64, "title": "Bench earning", "hold_seconds": 0});
        let r = apply_event_value(ctx, &e).await;
        if r.status == shared::services::ledger::EventStatus::Rejected {
            bail!("event refused: {:?}", r.error);
        }
    }
    Ok(())
}

/// Gives a fresh user a public list of `count` entries at once: BatchWriteItem of
/// product-earning entries built with the model (`Entry::to_item` at
/// `public_entry_sk(seq)`, seq 1..=count, made-up entry ids), then the account's
/// `public_count` set to `count`. The balances are not touched (they are not what the
/// page reads are timed for). Only for a user whose list is empty.
pub async fn bulk_history(ctx: &Ctx, user: i64, count: i64) -> Result<()> {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    use domain::ledger::{Deltas, Entry};
    use shared::store::keys;
    let now = chrono::Utc::now().timestamp();
    let item = |seq: i64| {
        let entry = Entry {
            id: 4_000_000_000_000 + user * 1_000_000 + seq,
            user_id: user,
            entry_type: domain::ledger::EntryType::ProductEarning,
            amount: 100,
            title: Some("Bench history".into()),
            created_at: now - 100_000 + seq,
            currency: Currency::Usd,
            event_id: Some(format!("bulk-{user}-{seq}")),
            product_id: None,
            payout_id: None,
            deltas: Deltas {
                available: 100,
                hold: 0,
                pending: 0,
            },
        };
        shared::store::codec::entry_item(&entry, keys::public_entry_sk(seq))
    };
    let batches: Vec<Vec<i64>> = (1..=count)
        .collect::<Vec<_>>()
        .chunks(25)
        .map(<[i64]>::to_vec)
        .collect();
    let write = |batch: Vec<i64>| async move {
        let mut pending: Vec<WriteRequest> = batch
            .into_iter()
            .map(|seq| {
                PutRequest::builder()
                    .set_item(Some(item(seq)))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, _>>()?;
        while !pending.is_empty() {
            let out = ctx
                .db
                .batch_write_item()
                .request_items(ctx.table(), std::mem::take(&mut pending))
                .send()
                .await?;
            pending = out
                .unprocessed_items
                .and_then(|mut m| m.remove(ctx.table()))
                .unwrap_or_default();
        }
        anyhow::Ok(())
    };
    use futures::StreamExt;
    let results: Vec<Result<()>> = futures::stream::iter(batches)
        .map(write)
        .buffer_unordered(8)
        .collect()
        .await;
    for r in results {
        r?;
    }
    ctx.db
        .update_item()
        .table_name(ctx.table())
        .key(keys::PK, AttributeValue::S(keys::user_pk(user)))
        .key(keys::SK, AttributeValue::S(keys::ACCOUNT_SK.to_owned()))
        .update_expression("SET public_count = :n")
        .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
        .send()
        .await?;
    Ok(())
}
