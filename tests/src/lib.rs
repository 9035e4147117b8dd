//! Helpers shared by the integration tests. Every test gets its own table in
//! the DynamoDB Local that `make test` starts (`AWS_ENDPOINT_URL_DYNAMODB`),
//! and a client that counts the requests it sends.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::HeaderValue;
use serde_json::{json, Value};
use shared::auth::{create_token, Ability};
use shared::config::Config;
use shared::currency::Currency;
use shared::db::item::Item;
use shared::db::keys;
use shared::db::model::{Account, Entry, Lot, Payout, PayoutStatus};
use shared::ledger::apply::{apply_event_value, read_account, EventResult};
use shared::ledger::EntryType;
use shared::payouts::{list_payouts, read_payout};
use shared::users::{create_user, NewUser};
use shared::Ctx;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Counts the HTTP requests a client sends to DynamoDB, by operation.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    count: Arc<AtomicUsize>,
    operations: Arc<Mutex<Vec<String>>>,
}

impl RequestCounter {
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// The operations sent since the last reset, e.g. `["GetItem", "Query"]`.
    pub fn operations(&self) -> Vec<String> {
        self.operations
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default()
    }

    pub fn reset(&self) {
        self.count.store(0, Ordering::SeqCst);
        if let Ok(mut o) = self.operations.lock() {
            o.clear();
        }
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.count.fetch_add(1, Ordering::SeqCst);
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.split('.').next_back())
            .unwrap_or("?")
            .to_owned();
        if let Ok(mut o) = self.operations.lock() {
            o.push(target);
        }
        Ok(())
    }
}

/// The DynamoDB Local endpoint; only loopback is allowed.
pub fn endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local on 127.0.0.1 \
         (got {endpoint:?}); run the tests with `make test`"
    );
    endpoint
}

pub fn client(counter: &RequestCounter) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .interceptor(counter.clone())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// A context on a fresh table of its own, and the counter of its client.
pub struct TestCtx {
    pub ctx: Arc<Ctx>,
    pub counter: RequestCounter,
}

impl std::ops::Deref for TestCtx {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

static TABLES: AtomicUsize = AtomicUsize::new(0);

pub async fn test_ctx() -> TestCtx {
    test_ctx_with(|_| {}).await
}

/// Like [`test_ctx`], with the configuration changed by `adjust`.
pub async fn test_ctx_with(adjust: impl FnOnce(&mut Config)) -> TestCtx {
    let counter = RequestCounter::default();
    let db = client(&counter);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let table = format!(
        "t{}-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::SeqCst),
        nanos % 1_000_000_000
    );
    shared::db::table::create_table(&db, &table)
        .await
        .expect("create test table");
    let mut config = Config::for_table(table);
    adjust(&mut config);
    counter.reset();
    TestCtx {
        ctx: Arc::new(Ctx::new(db, config)),
        counter,
    }
}

/// A user and a creator-session token (`*`).
pub struct TestUser {
    pub user_id: i64,
    pub token: String,
}

static EMAILS: AtomicUsize = AtomicUsize::new(0);

pub async fn new_user(ctx: &Ctx, currency: Currency) -> TestUser {
    new_user_with(ctx, currency, None).await
}

pub async fn new_user_with(
    ctx: &Ctx,
    currency: Currency,
    payout_details: Option<&Value>,
) -> TestUser {
    let n = EMAILS.fetch_add(1, Ordering::SeqCst);
    let user_id = create_user(
        ctx,
        NewUser {
            email: &format!("creator{n}@example.com"),
            display_name: &format!("Creator {n}"),
            currency,
            payout_details,
        },
    )
    .await
    .expect("create user");
    let (_, token) = create_token(ctx, user_id, Ability::All)
        .await
        .expect("create token");
    TestUser { user_id, token }
}

pub async fn api_key(ctx: &Ctx, user_id: i64) -> String {
    create_token(ctx, user_id, Ability::TransactionsRead)
        .await
        .expect("create api key")
        .1
}

/// Applies one event given as JSON.
pub async fn apply(ctx: &Ctx, event: Value) -> EventResult {
    apply_event_value(ctx, &event).await
}

pub async fn account(ctx: &Ctx, user_id: i64) -> Account {
    read_account(ctx, user_id)
        .await
        .expect("read account")
        .expect("account exists")
}

/// (available, hold, pending) of a user.
pub async fn buckets(ctx: &Ctx, user_id: i64) -> (i64, i64, i64) {
    let b = account(ctx, user_id).await.balance;
    (b.available, b.hold, b.pending)
}

/// Every item of a user's partition.
pub async fn partition(ctx: &Ctx, user_id: i64) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = ctx
            .db
            .query()
            .table_name(ctx.table())
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(keys::user_pk(user_id)))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("query partition");
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

fn sk(item: &Item) -> &str {
    match item.get(keys::SK) {
        Some(AttributeValue::S(s)) => s,
        _ => panic!("item without SK"),
    }
}

/// The ledger entries of a user (public and hidden; affiliate copies excluded).
pub async fn entries(ctx: &Ctx, user_id: i64) -> Vec<Entry> {
    partition(ctx, user_id)
        .await
        .iter()
        .filter(|i| sk(i).starts_with("TXB#") || sk(i).starts_with("HID#"))
        .map(|i| Entry::from_item(i).expect("entry item"))
        .collect()
}

/// Checks the invariants of SPEC section 5 for one user, from the stored items:
/// each bucket equals the sum of its entries' deltas (recomputed from the
/// type rules), no bucket that must not be negative is, `hold` equals the
/// unreleased lots, the lists are contiguous and their counters exact,
/// referral revenue is the sum of affiliate earnings.
pub async fn assert_invariants(ctx: &Ctx, user_id: i64) {
    let account = account(ctx, user_id).await;
    let items = partition(ctx, user_id).await;
    let (mut available, mut hold, mut pending, mut referral) = (0i64, 0i64, 0i64, 0i64);
    let mut public = 0;
    let mut affiliate_public = 0;
    let mut ids = std::collections::HashSet::new();
    for item in items
        .iter()
        .filter(|i| sk(i).starts_with("TXB#") || sk(i).starts_with("HID#"))
    {
        let e = Entry::from_item(item).expect("entry");
        assert!(e.amount > 0, "entry {} has a non-positive amount", e.id);
        assert!(ids.insert(e.id), "entry id {} appears twice", e.id);
        let held =
            e.deltas.hold > 0 && e.entry_type.direction() == shared::ledger::Direction::Credit;
        assert_eq!(
            e.deltas,
            e.entry_type.deltas(e.amount, held),
            "entry {} has deltas that break the type rule",
            e.id
        );
        available += e.deltas.available;
        hold += e.deltas.hold;
        pending += e.deltas.pending;
        if e.entry_type == shared::ledger::EntryType::AffiliateEarning {
            referral += e.amount;
            affiliate_public += 1;
        }
        if sk(item).starts_with("TXB#") {
            public += 1;
            assert!(e.entry_type.is_public());
        } else {
            assert!(!e.entry_type.is_public());
        }
    }
    let b = account.balance;
    assert_eq!(b.available, available, "available != sum of deltas");
    assert_eq!(b.hold, hold, "hold != sum of deltas");
    assert_eq!(b.pending, pending, "pending != sum of deltas");
    assert_eq!(
        b.referral_revenue, referral,
        "referral_revenue != affiliate earnings"
    );
    assert!(
        b.hold >= 0 && b.pending >= 0,
        "negative hold or pending: {b:?}"
    );
    assert_eq!(
        account.public_count, public,
        "public_count != public entries"
    );
    for seq in 1..=public {
        let want = keys::public_entry_sk(seq);
        assert!(
            items.iter().any(|i| sk(i) == want),
            "public list has a gap at {seq}"
        );
    }
    let affiliate_copies = items.iter().filter(|i| sk(i).starts_with("TXA#")).count() as i64;
    assert_eq!(
        account.affiliate_count, affiliate_copies,
        "affiliate_count != copies"
    );
    assert_eq!(
        affiliate_public, affiliate_copies,
        "affiliate copies != affiliate entries"
    );
    for seq in 1..=affiliate_copies {
        let want = keys::affiliate_entry_sk(seq);
        assert!(
            items.iter().any(|i| sk(i) == want),
            "affiliate list has a gap at {seq}"
        );
    }
    let unreleased: i64 = items
        .iter()
        .filter(|i| sk(i).starts_with("LOT#"))
        .map(|i| Lot::from_item(i).expect("lot"))
        .filter(|l| !l.released)
        .map(|l| l.amount)
        .sum();
    assert_eq!(b.hold, unreleased, "hold != unreleased lots");
}

/// An API Gateway HTTP API (v2) event from `events/`, as the handler gets it.
pub fn request(event_name: &str) -> lambda_http::Request {
    let path = format!("{}/../events/{event_name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// The same request with another `Authorization` header (`None` removes it).
pub fn with_auth(
    mut req: lambda_http::Request,
    authorization: Option<&str>,
) -> lambda_http::Request {
    let headers = req.headers_mut();
    headers.remove("authorization");
    if let Some(value) = authorization {
        headers.insert(
            "authorization",
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    req
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Status and body JSON of a handler response.
pub fn status_and_json(resp: lambda_http::Response<lambda_http::Body>) -> (u16, Value) {
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..]),
        "every response is JSON"
    );
    let body = match resp.body() {
        lambda_http::Body::Text(t) => t.clone(),
        lambda_http::Body::Binary(b) => String::from_utf8(b.clone()).expect("utf-8 body"),
        lambda_http::Body::Empty => String::new(),
        _ => panic!("unexpected body kind"),
    };
    let json =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {body}"));
    (status, json)
}

/// A creator with the profile an expected JSON shows (no payout details).
pub struct Creator {
    pub id: i64,
    pub token: String,
    pub email: String,
    pub name: String,
    pub currency: Currency,
}

pub async fn creator(ctx: &Ctx, email: &str, name: &str, currency: Currency) -> Creator {
    let id = create_user(
        ctx,
        NewUser {
            email,
            display_name: name,
            currency,
            payout_details: None,
        },
    )
    .await
    .expect("create user");
    let (_, token) = create_token(ctx, id, Ability::All)
        .await
        .expect("create token");
    Creator {
        id,
        token,
        email: email.to_owned(),
        name: name.to_owned(),
        currency,
    }
}

// ------------------------------------------------ payouts and whole-table checks

/// A user's payouts from their list copies, oldest first.
pub async fn payouts_of(ctx: &Ctx, user_id: i64) -> Vec<Payout> {
    list_payouts(ctx, Some(user_id), None)
        .await
        .expect("list payouts")
}

/// SPEC 5: `pending` equals the sum of payouts in status `requested`. Also:
/// the canonical payout items, their list copies and the operator's status
/// index agree; the list is contiguous; every payout has exactly the ledger
/// entries its status implies (one `pending`, plus one `withdrawal` when paid
/// or one `RELEASE_PENDING` when declined), for its exact amount.
pub async fn assert_pending_is_requested_payouts(ctx: &Ctx, user_id: i64) {
    let acc = account(ctx, user_id).await;
    let listed = payouts_of(ctx, user_id).await;
    let requested: i64 = listed
        .iter()
        .filter(|p| p.status == PayoutStatus::Requested)
        .map(|p| p.amount)
        .sum();
    assert_eq!(
        acc.balance.pending, requested,
        "pending != sum of requested payouts {listed:?}"
    );
    assert_eq!(acc.payout_count, listed.len() as i64, "payout_count");
    let mut seqs: Vec<i64> = listed.iter().map(|p| p.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=listed.len() as i64).collect::<Vec<_>>(), "seqs");
    for p in &listed {
        assert!(p.amount > 0, "a payout of a non-positive amount: {p:?}");
        assert_eq!(p.user_id, user_id);
        assert_eq!(p.currency, acc.currency);
        let canonical = read_payout(ctx, p.payout_id)
            .await
            .expect("read payout")
            .expect("canonical payout item");
        assert_eq!(&canonical, p, "payout item and list copy differ");
    }
    let indexed: Vec<Payout> = list_payouts(ctx, None, None)
        .await
        .expect("list all payouts")
        .into_iter()
        .filter(|p| p.user_id == user_id)
        .collect();
    assert_eq!(indexed, listed, "status index != the user's list");
    let all = entries(ctx, user_id).await;
    for p in &listed {
        let of = |t: EntryType| -> Vec<i64> {
            all.iter()
                .filter(|e| e.entry_type == t && e.payout_id == Some(p.payout_id))
                .map(|e| e.amount)
                .collect()
        };
        assert_eq!(
            of(EntryType::Pending),
            vec![p.amount],
            "pending entry of {p:?}"
        );
        let (withdrawals, releases) = match p.status {
            PayoutStatus::Requested => (vec![], vec![]),
            PayoutStatus::Paid => (vec![p.amount], vec![]),
            PayoutStatus::Declined => (vec![], vec![p.amount]),
        };
        assert_eq!(of(EntryType::Withdrawal), withdrawals, "{p:?}");
        assert_eq!(of(EntryType::ReleasePending), releases, "{p:?}");
    }
    let orphans = all
        .iter()
        .filter(|e| {
            matches!(
                e.entry_type,
                EntryType::Pending | EntryType::Withdrawal | EntryType::ReleasePending
            ) && !listed.iter().any(|p| Some(p.payout_id) == e.payout_id)
        })
        .count();
    assert_eq!(orphans, 0, "payout entries without a payout");
}

/// Every invariant of SPEC 5 for one user, payouts included.
pub async fn check(ctx: &Ctx, user_id: i64) {
    assert_invariants(ctx, user_id).await;
    assert_pending_is_requested_payouts(ctx, user_id).await;
}

pub fn item_key(item: &Item) -> (String, String) {
    let get = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        other => panic!("{name} is {other:?}"),
    };
    (get(keys::PK), get(keys::SK))
}

/// Every item of the test's table except the id counter, sorted by key: what
/// "changes nothing" is compared against.
pub async fn table_items(ctx: &Ctx) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = ctx
            .db
            .scan()
            .table_name(ctx.table())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    items.retain(|i| item_key(i).0 != keys::ID_COUNTER_PK);
    items.sort_by_key(item_key);
    items
}

#[track_caller]
pub fn assert_same_table(before: &[Item], after: &[Item], what: &str) {
    if before != after {
        let keys_before: Vec<_> = before.iter().map(item_key).collect();
        let keys_after: Vec<_> = after.iter().map(item_key).collect();
        panic!("{what} changed the table:\nbefore {keys_before:?}\nafter  {keys_after:?}");
    }
}

// ------------------------------------------------ envelopes and fixtures

/// The envelope of a 200.
pub fn ok(data: Value) -> Value {
    json!({"success": true, "errors_message": null, "data": data})
}

/// The envelope of a refusal.
pub fn error(message: &str) -> Value {
    json!({"success": false, "errors_message": message, "data": null})
}

/// Valid USD payout details.
pub fn usd_details() -> Value {
    json!({"account_number": "000123456789", "routing_number": "021000021"})
}

/// A sample event of `events/` as JSON.
pub fn load_event(name: &str) -> Value {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}
