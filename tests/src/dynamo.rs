//! DynamoDB Local for the tests: the endpoint, clients that count (and time)
//! their requests, one fresh table per test, and raw reads and writes of items
//! that the handlers do not offer.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::config::Config;
use shared::store::item::Item;
use shared::store::keys;
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

    /// The operations sent since the last reset, sorted.
    pub fn sorted_operations(&self) -> Vec<String> {
        let mut ops = self.operations();
        ops.sort();
        ops
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

/// `n` times each operation, sorted: what [`RequestCounter::sorted_operations`]
/// is compared with.
pub fn ops(list: &[(&str, usize)]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, n) in list {
        out.extend(std::iter::repeat_n((*name).to_owned(), *n));
    }
    out.sort();
    out
}

#[derive(Debug, Default)]
struct PhaseState {
    in_flight: usize,
    max_in_flight: usize,
    phases: usize,
}

/// Counts sequential round trips: a *phase* starts when a request is sent
/// while no other request is in flight, so the number of phases is the number
/// of sequential round trips (requests that overlap in time share a phase).
#[derive(Debug, Clone, Default)]
pub struct Phases(Arc<Mutex<PhaseState>>);

impl Phases {
    pub fn reset(&self) {
        if let Ok(mut s) = self.0.lock() {
            *s = PhaseState::default();
        }
    }

    /// (sequential phases, most requests in flight at once).
    pub fn get(&self) -> (usize, usize) {
        let s = self.0.lock().expect("phases lock");
        assert_eq!(s.in_flight, 0, "a request is still in flight");
        (s.phases, s.max_in_flight)
    }
}

impl Intercept for Phases {
    fn name(&self) -> &'static str {
        "Phases"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut s = self.0.lock().map_err(|_| "phases lock")?;
        if s.in_flight == 0 {
            s.phases += 1;
        }
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut s = self.0.lock().map_err(|_| "phases lock")?;
        s.in_flight = s.in_flight.saturating_sub(1);
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

/// A client of DynamoDB Local whose requests `counter` counts.
pub fn client(counter: &RequestCounter) -> aws_sdk_dynamodb::Client {
    client_with(counter, None)
}

fn client_with(counter: &RequestCounter, phases: Option<&Phases>) -> aws_sdk_dynamodb::Client {
    let mut conf = shared::store::local_config(&endpoint(), "tests").interceptor(counter.clone());
    if let Some(phases) = phases {
        conf = conf.interceptor(phases.clone());
    }
    aws_sdk_dynamodb::Client::from_conf(conf.build())
}

/// A context on a fresh table of its own, the counter of its client and its
/// round trips. Clones share all three (for tasks that run at the same time).
#[derive(Clone)]
pub struct TestCtx {
    pub ctx: Arc<Ctx>,
    pub counter: RequestCounter,
    pub phases: Phases,
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
    let phases = Phases::default();
    let db = client_with(&counter, Some(&phases));
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
    shared::store::table::create_table(&db, &table)
        .await
        .expect("create test table");
    let mut config = Config::for_table(table);
    adjust(&mut config);
    counter.reset();
    phases.reset();
    TestCtx {
        ctx: Arc::new(Ctx::new(db, config)),
        counter,
        phases,
    }
}

impl TestCtx {
    /// A context on an existing table (one that `walletctl` made, say).
    pub fn on_table(config: Config) -> TestCtx {
        let counter = RequestCounter::default();
        let phases = Phases::default();
        let db = client_with(&counter, Some(&phases));
        TestCtx {
            ctx: Arc::new(Ctx::new(db, config)),
            counter,
            phases,
        }
    }

    /// Another "container" on the same table: a client and an id allocator
    /// of its own (its ids come from another block), its own counters.
    pub fn other_container(&self) -> TestCtx {
        TestCtx::on_table(self.config.clone())
    }

    /// Forgets the requests counted so far (count, operations and phases).
    pub fn reset_counts(&self) {
        self.counter.reset();
        self.phases.reset();
    }
}

fn sk_of(item: &Item) -> &str {
    match item.get(keys::SK) {
        Some(AttributeValue::S(s)) => s,
        _ => panic!("item without SK"),
    }
}

/// Whether an item's sort key starts with `prefix`.
pub fn sk_starts_with(item: &Item, prefix: &str) -> bool {
    sk_of(item).starts_with(prefix)
}

pub fn item_key(item: &Item) -> (String, String) {
    let get = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        other => panic!("{name} is {other:?}"),
    };
    (get(keys::PK), get(keys::SK))
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

/// The item at (`pk`, `sk`), read consistently.
pub async fn get_raw(ctx: &Ctx, pk: String, sk: &str) -> Option<Item> {
    ctx.db
        .get_item()
        .table_name(ctx.table())
        .key(keys::PK, AttributeValue::S(pk))
        .key(keys::SK, AttributeValue::S(sk.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
}

/// Writes a bare item at (`pk`, `sk`): an injected obstacle.
pub async fn put_raw(ctx: &Ctx, pk: String, sk: String) {
    ctx.db
        .put_item()
        .table_name(ctx.table())
        .item(keys::PK, AttributeValue::S(pk))
        .item(keys::SK, AttributeValue::S(sk))
        .item("injected", AttributeValue::Bool(true))
        .send()
        .await
        .expect("inject an item");
}

pub async fn delete_raw(ctx: &Ctx, pk: String, sk: String) {
    ctx.db
        .delete_item()
        .table_name(ctx.table())
        .key(keys::PK, AttributeValue::S(pk))
        .key(keys::SK, AttributeValue::S(sk))
        .send()
        .await
        .expect("remove the injected item");
}
