//! The simulation loop: seeded operations through the real handlers, the model
//! kept alongside, and the checks after every step.

use crate::dynamo::{restart_for, LocalDynamo, Restart};
use crate::faults::{plan_for, Proxy};
use crate::model::{Expect, MoneyEvent, PayoutState, Wallet};
use crate::Args;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, RequestExt, Response};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use shared::auth::{create_token, Ability};
use shared::config::Config;
use shared::currency::Currency;
use shared::db::item::Item;
use shared::db::keys;
use shared::db::model::{Entry, Lot};
use shared::ledger::apply::read_account;
use shared::users::{create_user, NewUser};
use shared::Ctx;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod products;

/// Longer than any handler may take, even with injected latency and retries.
const HANG: Duration = Duration::from_secs(60);
const FAR_FUTURE: &str = "2100-01-01T00:00:00Z";
const HELD_SECONDS: i64 = 86_400;

struct Creator {
    user_id: i64,
    token: String,
    w: Wallet,
    /// Every event delivered for this creator: id, payload, model view.
    sent: Vec<(String, Value, MoneyEvent)>,
    /// Successful keyed cashouts: key, body, Location, to replay.
    keyed: Vec<(String, String, Option<String>)>,
}

/// A decoded HTTP answer.
struct Answer {
    status: u16,
    json: Value,
    body: String,
    location: Option<String>,
}

struct Sim {
    args: Args,
    ctx: Arc<Ctx>,
    proxy: Proxy,
    rng: StdRng,
    creators: Vec<Creator>,
    ops: BTreeMap<&'static str, u64>,
    violations: Vec<String>,
    notes: BTreeMap<String, u64>,
    step: u64,
    /// Faults armed for the current step.
    faulty: bool,
    counter: u64,
    /// Products, analytics events and links (`products.rs`).
    extra: products::Extra,
}

pub async fn run(args: Args) -> anyhow::Result<usize> {
    let started = Instant::now();
    // With --restarts the run owns its DynamoDB Local (data on disk), to kill it.
    let local = match &args.restarts {
        Some(jar_dir) => {
            let data = std::env::temp_dir().join(format!(
                "sim-dynamodb-{}-{}",
                args.seed,
                std::process::id()
            ));
            Some(Arc::new(tokio::sync::Mutex::new(
                LocalDynamo::start(jar_dir, &data).await?,
            )))
        }
        None => None,
    };
    let endpoint = match &local {
        Some(db) => db.lock().await.endpoint(),
        None => std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default(),
    };
    let upstream: SocketAddr = endpoint
        .strip_prefix("http://")
        .filter(|a| a.starts_with("127.0.0.1:"))
        .and_then(|a| a.trim_end_matches('/').parse().ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "AWS_ENDPOINT_URL_DYNAMODB must be DynamoDB Local on http://127.0.0.1:PORT (got {endpoint:?})"
            )
        })?;
    let proxy = Proxy::start(upstream).await?;
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://{}", proxy.addr))
        .credentials_provider(Credentials::new("test", "test", None, None, "sim"))
        .build();
    let db = aws_sdk_dynamodb::Client::from_conf(conf);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000)
        .unwrap_or(0);
    let table = format!("sim-{}-{}-{nanos}", args.seed, std::process::id());
    shared::db::table::create_table(&db, &table).await?;
    let ctx = Arc::new(Ctx::new(db, Config::for_table(table.clone())));
    let mut creators = Vec::new();
    for i in 0..args.creators {
        let details = json!({"account_number": "000123456789", "routing_number": "021000021"});
        let user_id = create_user(
            &ctx,
            NewUser {
                email: &format!("sim{i}@example.com"),
                display_name: &format!("Sim creator {i}"),
                currency: Currency::Usd,
                payout_details: Some(&details),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("create user: {e}"))?;
        let (_, token) = create_token(&ctx, user_id, Ability::All)
            .await
            .map_err(|e| anyhow::anyhow!("create token: {e}"))?;
        creators.push(Creator {
            user_id,
            token,
            w: Wallet::default(),
            sent: Vec::new(),
            keyed: Vec::new(),
        });
    }
    let mut sim = Sim {
        rng: StdRng::seed_from_u64(args.seed),
        args,
        ctx,
        proxy,
        creators,
        ops: BTreeMap::new(),
        violations: Vec::new(),
        notes: BTreeMap::new(),
        step: 0,
        faulty: false,
        counter: 0,
        extra: products::Extra::default(),
    };
    let mut restarts: BTreeMap<&'static str, u64> = BTreeMap::new();
    for step in 0..sim.args.steps {
        sim.step = step;
        // Faults come in blocks of 10 steps, every other block.
        let plan = if sim.args.faults && (step / 10) % 2 == 1 {
            plan_for(sim.args.seed, step)
        } else {
            None
        };
        let restart = local
            .as_ref()
            .and_then(|db| Some((db.clone(), restart_for(sim.args.seed, step)?)));
        sim.faulty = plan.is_some();
        sim.proxy.arm(plan);
        if let (Some((_, r)), true) = (&restart, sim.args.verbose) {
            println!("step {step} restart of DynamoDB Local: {r:?}");
        }
        let mut killer = None;
        if let Some((db, Restart::MidStep { delay_ms })) = &restart {
            // The step's requests meet the dead DynamoDB Local and the
            // outcomes they could not learn are resolved like faults.
            sim.faulty = true;
            sim.proxy.show_outage();
            *restarts.entry("mid-step").or_default() += 1;
            killer = Some(tokio::spawn(kill_and_restart(
                sim.proxy.clone(),
                db.clone(),
                Duration::from_millis(*delay_ms),
            )));
        }
        let touched = sim.one_step().await;
        sim.proxy.arm(None);
        sim.faulty = false;
        if let Some(killer) = killer {
            killer.await??;
        }
        let check_all =
            restart.is_some() || touched.is_none() || step % 25 == 24 || step + 1 == sim.args.steps;
        let which: Vec<usize> = match touched {
            Some(ci) if !check_all => vec![ci],
            _ => (0..sim.creators.len()).collect(),
        };
        for ci in which.iter().copied() {
            sim.check_creator(ci).await;
        }
        if let Some((db, Restart::Idle)) = &restart {
            // Nothing in flight: every committed write must survive.
            *restarts.entry("idle").or_default() += 1;
            kill_and_restart(sim.proxy.clone(), db.clone(), Duration::ZERO).await?;
            for ci in 0..sim.creators.len() {
                sim.check_creator(ci).await;
            }
        }
        if sim.violations.len() > 20 {
            println!("simulate: stopping after 20 violations");
            break;
        }
    }
    if let Some(db) = &local {
        let db = db.lock().await;
        let mut downtime = db.downtime.clone();
        downtime.sort();
        let median = downtime
            .get(downtime.len() / 2)
            .copied()
            .unwrap_or_default();
        println!(
            "restarts of DynamoDB Local (SIGKILL, data on disk): {} ({}), downtime median {:.1} s, {} requests met it down",
            db.restarts,
            restarts
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            median.as_secs_f64(),
            sim.proxy.upstream_failures()
        );
    }
    // A final read of every endpoint with faults off.
    for ci in 0..sim.creators.len() {
        for which in [0, 1, 2, 4, 5] {
            sim.op_read(ci, which).await;
        }
    }
    sim.report(started.elapsed(), &table);
    if sim.violations.is_empty() {
        // Kept when something failed, to look at.
        let _ = sim.ctx.db.delete_table().table_name(&table).send().await;
    }
    if let Some(db) = &local {
        let mut db = db.lock().await;
        if !sim.violations.is_empty() {
            println!(
                "simulate: DynamoDB Local data kept in {}",
                db.data_dir().display()
            );
        }
        db.stop(sim.violations.is_empty());
    }
    Ok(sim.violations.len())
}

/// After `delay`, SIGKILL DynamoDB Local and start it again; requests that do
/// not see the outage wait until it answers.
async fn kill_and_restart(
    proxy: Proxy,
    db: Arc<tokio::sync::Mutex<LocalDynamo>>,
    delay: Duration,
) -> anyhow::Result<()> {
    tokio::time::sleep(delay).await;
    let _restarting = proxy.restarting().await;
    let mut db = db.lock().await;
    db.kill_and_restart().await
}

impl Sim {
    fn violation(&mut self, what: String) {
        let line = format!(
            "step {} (seed {}{}): {what}",
            self.step,
            self.args.seed,
            if self.faulty { ", faults on" } else { "" }
        );
        println!("VIOLATION {line}");
        self.violations.push(line);
    }

    fn note(&mut self, what: &str) {
        if self.args.verbose {
            println!("step {} note: {what}", self.step);
        }
        *self.notes.entry(what.to_owned()).or_default() += 1;
    }

    fn count(&mut self, op: &'static str) {
        *self.ops.entry(op).or_default() += 1;
        if self.args.verbose {
            println!("step {} {op}", self.step);
        }
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    /// One seeded operation; the creator it touched (`None`: several).
    async fn one_step(&mut self) -> Option<usize> {
        self.catalog_init().await;
        let ci = self.rng.random_range(0..self.creators.len());
        let roll = self.rng.random_range(0..130u32);
        match roll {
            0..=17 => {
                self.count("earning");
                let affiliate = self.rng.random_bool(0.3);
                let held = self.rng.random_bool(0.4);
                let amount = self.rng.random_range(1..5000);
                let ev = self.earning(ci, affiliate, held, amount);
                self.deliver(ci, vec![ev]).await;
            }
            18..=23 => {
                self.count("fee");
                let amount = self.rng.random_range(1..800);
                let ev = self.simple(ci, "fee", amount);
                self.deliver(ci, vec![ev]).await;
            }
            24..=27 => {
                self.count("refund");
                let amount = self.rng.random_range(1..2000);
                let ev = self.simple(ci, "refund", amount);
                self.deliver(ci, vec![ev]).await;
            }
            28..=33 => {
                self.count("hold");
                let amount = self.rng.random_range(1..3000);
                let ev = self.simple(ci, "hold", amount);
                self.deliver(ci, vec![ev]).await;
            }
            34..=38 => {
                self.count("release_hold");
                let lots: Vec<String> = self.creators[ci].w.lots.keys().cloned().collect();
                let lot = lots
                    .choose(&mut self.rng)
                    .cloned()
                    .unwrap_or_else(|| "no-such-lot".to_owned());
                let ev = self.release(ci, &lot);
                self.deliver(ci, vec![ev]).await;
            }
            39..=42 => {
                self.count("release_holds_x2");
                self.op_release_runs().await;
                return None;
            }
            43..=54 => {
                self.count("cashout");
                self.op_cashout(ci).await;
            }
            55..=57 => {
                self.count("cashout_replay");
                self.op_cashout_replay(ci).await;
            }
            58..=65 => {
                self.count("decision");
                self.op_decide(ci).await;
            }
            66..=71 => {
                self.count("redelivery");
                let sent = &self.creators[ci].sent;
                if sent.is_empty() {
                    return Some(ci);
                }
                let n = self.rng.random_range(1..=3);
                let mut batch = Vec::new();
                for _ in 0..n {
                    let i = self.rng.random_range(0..sent.len());
                    if let Some(e) = sent.get(i) {
                        batch.push(e.clone());
                    }
                }
                // Sometimes the same event_id with another amount: refused
                // if the first was applied.
                if self.rng.random_bool(0.25) {
                    if let Some(changed) = batch.first().and_then(with_other_amount) {
                        batch.push(changed);
                    }
                }
                self.deliver(ci, batch).await;
            }
            72..=75 => {
                self.count("reordered");
                let hold_id = self.next_id("h");
                let amount = self.rng.random_range(1..1500);
                let release = self.release(ci, &hold_id);
                let hold = self.event(
                    ci,
                    hold_id,
                    json!({"kind": "hold", "amount": amount, "title": "Dispute"}),
                    MoneyEvent::Hold(amount),
                );
                if self.rng.random_bool(0.5) {
                    // The release first, the hold, the release again: one batch.
                    self.deliver(ci, vec![release.clone(), hold, release]).await;
                } else {
                    self.deliver(ci, vec![release.clone()]).await;
                    self.deliver(ci, vec![hold]).await;
                    self.deliver(ci, vec![release]).await;
                }
            }
            76..=99 => {
                self.count("read");
                let which = self.rng.random_range(0..8);
                self.op_read(ci, which).await;
            }
            100..=103 => return self.op_product(ci, "product_upsert").await,
            104..=106 => return self.op_product(ci, "link_clicks").await,
            107..=109 => return self.op_product(ci, "product_earning").await,
            110..=111 => return self.op_product(ci, "product_refund").await,
            112..=113 => return self.op_product(ci, "product_batch").await,
            114..=116 => return self.op_product(ci, "product_redelivery").await,
            117..=118 => return self.op_product(ci, "product_race").await,
            119..=124 => {
                self.op_link(ci).await;
                return None;
            }
            125..=127 => {
                self.op_unlink(ci).await;
                return None;
            }
            128 => {
                self.op_delete_account().await;
                return None;
            }
            _ => {
                self.count("read");
                let which = self.rng.random_range(4..8);
                self.op_read(ci, which).await;
            }
        }
        Some(ci)
    }

    fn event(
        &mut self,
        ci: usize,
        id: String,
        mut payload: Value,
        model: MoneyEvent,
    ) -> (String, Value, MoneyEvent) {
        if let Some(obj) = payload.as_object_mut() {
            obj.insert("event_id".into(), json!(id));
            obj.insert("user_id".into(), json!(self.creators[ci].user_id));
        }
        (id, payload, model)
    }

    fn earning(
        &mut self,
        ci: usize,
        affiliate: bool,
        held: bool,
        amount: i64,
    ) -> (String, Value, MoneyEvent) {
        let id = self.next_id("e");
        let kind = if affiliate {
            "affiliate_earning"
        } else {
            "product_earning"
        };
        let hold_seconds = if held { HELD_SECONDS } else { 0 };
        self.event(
            ci,
            id,
            json!({"kind": kind, "amount": amount, "title": "Sale", "hold_seconds": hold_seconds}),
            MoneyEvent::Earning {
                affiliate,
                held,
                amount,
            },
        )
    }

    fn simple(&mut self, ci: usize, kind: &str, amount: i64) -> (String, Value, MoneyEvent) {
        let id = self.next_id(&kind[..1]);
        let model = match kind {
            "fee" => MoneyEvent::Fee(amount),
            "refund" => MoneyEvent::Refund(amount),
            _ => MoneyEvent::Hold(amount),
        };
        self.event(
            ci,
            id,
            json!({"kind": kind, "amount": amount, "title": kind}),
            model,
        )
    }

    fn release(&mut self, ci: usize, lot: &str) -> (String, Value, MoneyEvent) {
        let id = self.next_id("r");
        self.event(
            ci,
            id,
            json!({"kind": "release_hold", "hold_event_id": lot, "title": "Resolved"}),
            MoneyEvent::ReleaseHold(lot.to_owned()),
        )
    }

    async fn timed<T>(&mut self, what: &str, fut: impl Future<Output = T>) -> Option<T> {
        match tokio::time::timeout(HANG, fut).await {
            Ok(v) => Some(v),
            Err(_) => {
                self.violation(format!("{what} hung for more than {HANG:?}"));
                None
            }
        }
    }

    /// Sends events to the `ledger` function as one delivery (an object, or an
    /// array for several); its results, one per event (`None`: no answer in
    /// time, or another number of results, a violation).
    async fn send_to_ledger<M>(&mut self, batch: &[(String, Value, M)]) -> Option<Vec<Value>> {
        let payload = match batch {
            [one] => one.1.clone(),
            many => Value::Array(many.iter().map(|e| e.1.clone()).collect()),
        };
        let ctx = self.ctx.clone();
        let out = self.timed("ledger", ledger::handle(&ctx, payload)).await?;
        let results = out.as_array().cloned().unwrap_or_default();
        if results.len() != batch.len() {
            self.violation(format!("ledger answered {out} for {} events", batch.len()));
            return None;
        }
        Some(results)
    }

    /// Delivers a batch of events to the `ledger` function and checks each result.
    async fn deliver(&mut self, ci: usize, batch: Vec<(String, Value, MoneyEvent)>) {
        for e in &batch {
            if !self.creators[ci].sent.iter().any(|s| s.0 == e.0) {
                self.creators[ci].sent.push(e.clone());
            }
        }
        let Some(results) = self.send_to_ledger(&batch).await else {
            return;
        };
        let temporary = |r: &Value| {
            r.get("error")
                .and_then(Value::as_str)
                .is_some_and(|e| e.starts_with("temporary failure"))
        };
        if results.iter().any(temporary) {
            if !self.faulty {
                self.violation(format!(
                    "temporary failure without faults: {}",
                    Value::Array(results.clone())
                ));
            }
            self.resolve_batch(ci, &batch, &results).await;
            return;
        }
        for (e, r) in batch.iter().zip(&results) {
            let got = r.get("status").and_then(Value::as_str).unwrap_or("?");
            let expect = self.creators[ci].w.deliver(&e.0, &e.2);
            let ok = match expect {
                Expect::Applied => {
                    got == "applied"
                        || (self.faulty && got == "duplicate" && {
                            // An SDK retry of a commit that had succeeded.
                            true
                        })
                }
                Expect::Duplicate => got == "duplicate",
                Expect::Rejected => got == "rejected",
            };
            if ok && expect == Expect::Applied && got == "duplicate" {
                self.note("first delivery answered duplicate (SDK retry of a committed write)");
            }
            if !ok {
                self.violation(format!(
                    "event {} ({:?}): model {expect:?}, ledger {r}",
                    e.0, e.2
                ));
            }
        }
    }

    /// A batch in which some events failed for a moment: walk it in order;
    /// whether a failed event was applied is read from its event record (the
    /// later events of the batch saw it or not); the ones not applied are
    /// delivered again at the end with faults off, as SQS would.
    async fn resolve_batch(
        &mut self,
        ci: usize,
        batch: &[(String, Value, MoneyEvent)],
        results: &[Value],
    ) {
        self.note("events redelivered after a fault");
        self.proxy.arm(None);
        let was = std::mem::replace(&mut self.faulty, false);
        let mut again = Vec::new();
        for (i, (e, r)) in batch.iter().zip(results).enumerate() {
            let got = r.get("status").and_then(Value::as_str).unwrap_or("?");
            let temporary = r
                .get("error")
                .and_then(Value::as_str)
                .is_some_and(|m| m.starts_with("temporary failure"));
            let again_later = batch.iter().skip(i + 1).any(|later| later.0 == e.0);
            if temporary && again_later {
                // The later copy of the same event settles it (applied, or
                // duplicate if this one had in fact been applied).
                continue;
            }
            if temporary {
                let recorded = self.event_recorded(&e.0).await;
                let known = self.creators[ci].w.applied.contains_key(&e.0);
                if recorded && !known {
                    let expect = self.creators[ci].w.deliver(&e.0, &e.2);
                    if expect != Expect::Applied {
                        self.violation(format!(
                            "event {} ({:?}) was recorded but the model says {expect:?}",
                            e.0, e.2
                        ));
                    }
                } else if !recorded {
                    again.push(e.clone());
                }
                continue;
            }
            let expect = self.creators[ci].w.deliver(&e.0, &e.2);
            let ok = match expect {
                Expect::Applied => got == "applied" || got == "duplicate",
                Expect::Duplicate => got == "duplicate",
                Expect::Rejected => got == "rejected",
            };
            if !ok {
                self.violation(format!(
                    "event {} ({:?}) in a faulted batch: model {expect:?}, ledger {r}",
                    e.0, e.2
                ));
            }
        }
        for e in again {
            let Some(got) = self.redeliver(&e.1).await else {
                break;
            };
            let expect = self.creators[ci].w.deliver(&e.0, &e.2);
            let ok = match expect {
                Expect::Applied => got == "applied",
                Expect::Duplicate => got == "duplicate",
                Expect::Rejected => got == "rejected",
            };
            if !ok {
                self.violation(format!(
                    "redelivery of {} ({:?}): model {expect:?}, ledger answered {got}",
                    e.0, e.2
                ));
            }
        }
        self.faulty = was;
    }

    /// Whether the event record of `event_id` exists (read with faults off).
    /// Delivers one event again, on its own; the status the ledger answered.
    async fn redeliver(&mut self, payload: &Value) -> Option<String> {
        let ctx = self.ctx.clone();
        let out = self
            .timed("ledger", ledger::handle(&ctx, payload.clone()))
            .await?;
        Some(
            out.get(0)
                .and_then(|r| r.get("status"))
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
        )
    }

    async fn event_recorded(&mut self, event_id: &str) -> bool {
        let out = self
            .ctx
            .db
            .get_item()
            .table_name(self.ctx.table())
            .key(keys::PK, AttributeValue::S(keys::event_pk(event_id)))
            .key(keys::SK, AttributeValue::S(keys::EVENT_SK.to_owned()))
            .consistent_read(true)
            .send()
            .await;
        match out {
            Ok(o) => o.item.is_some(),
            Err(e) => {
                self.violation(format!("event record {event_id} unreadable: {e}"));
                false
            }
        }
    }

    fn request(
        &self,
        ci: usize,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        id: Option<i64>,
        key: Option<&str>,
    ) -> Option<lambda_http::Request> {
        let c = self.creators.get(ci)?;
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("https://api.local{path}"))
            .header("authorization", format!("Bearer {}", c.token));
        if let Some(key) = key {
            builder = builder.header("idempotency-key", key);
        }
        let body = if method == "POST" {
            Body::Text("{}".into())
        } else {
            Body::Empty
        };
        let mut req = builder.body(body).ok()?;
        if !query.is_empty() {
            let q: HashMap<String, String> = query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            req = req.with_query_string_parameters(q);
        }
        if let Some(id) = id {
            let p: HashMap<String, String> = [("id".to_owned(), id.to_string())].into();
            req = req.with_path_parameters(p);
        }
        Some(req)
    }

    /// Checks the envelope of an HTTP answer; `None` (and a violation) if malformed.
    fn envelope(&mut self, what: &str, resp: Response<Body>) -> Option<Answer> {
        let status = resp.status().as_u16();
        let json_type = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"application/json");
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match resp.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let well_formed = json_type
            && json.as_object().is_some_and(|o| {
                o.len() == 3
                    && o.get("success").is_some_and(Value::is_boolean)
                    && o.get("errors_message")
                        .is_some_and(|m| m.is_null() || m.is_string())
                    && o.contains_key("data")
            })
            && (json["success"] == json!(status == 200 || status == 201));
        if !well_formed {
            self.violation(format!("{what}: malformed answer {status} {body:?}"));
            return None;
        }
        if status >= 500 {
            if !(status == 500 || status == 503) {
                self.violation(format!("{what}: status {status}"));
            } else if !self.faulty {
                self.violation(format!("{what}: {status} without faults: {body}"));
            } else {
                self.note(&format!("{what} answered {status} under faults"));
            }
        }
        Some(Answer {
            status,
            json,
            body,
            location,
        })
    }

    async fn http<F>(&mut self, what: &str, fut: F) -> Option<Answer>
    where
        F: Future<Output = Response<Body>>,
    {
        let resp = self.timed(what, fut).await?;
        self.envelope(what, resp)
    }

    fn location_id(location: Option<&str>) -> Option<i64> {
        location?.strip_prefix("/api/wallet/payouts/")?.parse().ok()
    }

    /// N cashouts at once on one wallet: none, one shared or distinct Idempotency-Keys.
    async fn op_cashout(&mut self, ci: usize) {
        let n = self.rng.random_range(1..=6usize);
        let mode = self.rng.random_range(0..3);
        let shared_key = self.next_id("k");
        let keys: Vec<Option<String>> = (0..n)
            .map(|i| match mode {
                0 => None,
                1 => Some(shared_key.clone()),
                _ => Some(format!("{shared_key}-{i}")),
            })
            .collect();
        let mut reqs = Vec::new();
        for k in &keys {
            if let Some(r) =
                self.request(ci, "POST", "/api/wallet/cashout", &[], None, k.as_deref())
            {
                reqs.push(r);
            }
        }
        let ctx = self.ctx.clone();
        let futs = reqs.into_iter().map(|r| {
            let ctx = ctx.clone();
            async move { cashout::handle(&ctx, r).await }
        });
        let Some(resps) = self.timed("cashout", futures::future::join_all(futs)).await else {
            return;
        };
        let mut answers = Vec::new();
        for (k, resp) in keys.iter().zip(resps) {
            let a = self.envelope("cashout", resp);
            answers.push((k.clone(), a));
        }
        // Under faults a 409 may come from a key locked by the SDK's own retry
        // of the claim (see docs/reliability.md): the outcome is read back.
        let unsure = answers.iter().any(|(_, a)| {
            a.as_ref()
                .is_none_or(|a| a.status >= 500 || (self.faulty && a.status == 409))
        });
        let allowed = self.creators[ci].w.cashout_allowed();
        let winners: BTreeSet<i64> = answers
            .iter()
            .filter_map(|(_, a)| a.as_ref())
            .filter(|a| a.status == 200)
            .filter_map(|a| Self::location_id(a.location.as_deref()))
            .collect();
        if unsure {
            if mode != 1
                && answers
                    .iter()
                    .any(|(_, a)| a.as_ref().is_some_and(|a| a.status == 409))
            {
                self.note("a fresh Idempotency-Key answered 409 under faults (self-locked claim)");
            }
            self.resolve_cashout(ci, answers, winners).await;
            return;
        }
        // Every answer is known: exactly one payout if funds are available.
        let mut first_body: Option<(String, Option<String>)> = None;
        for (k, a) in &answers {
            let Some(a) = a else { continue };
            let refused_no_funds =
                a.status == 422 && a.json["errors_message"] == json!("No available funds");
            let ok = match (allowed, a.status) {
                (true, 200) => true,
                (_, 409) => mode == 1,
                (_, 422) => refused_no_funds,
                _ => false,
            };
            if !ok {
                self.violation(format!(
                    "cashout (key {k:?}, allowed {allowed}): {} {}",
                    a.status, a.body
                ));
            }
            if a.status == 200 {
                match &first_body {
                    None => first_body = Some((a.body.clone(), a.location.clone())),
                    Some((b, l)) if mode == 1 => {
                        if *b != a.body || *l != a.location {
                            self.violation(format!(
                                "same-key cashouts answered differently: {b} {l:?} vs {} {:?}",
                                a.body, a.location
                            ));
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        match (allowed, winners.len()) {
            (true, 1) => {
                if let Some(&id) = winners.iter().next() {
                    self.creators[ci].w.cashout(id);
                    if let (Some((body, location)), true) = (first_body, mode != 0) {
                        for (k, a) in &answers {
                            if let (Some(k), Some(a)) = (k, a) {
                                if a.status == 200 {
                                    self.creators[ci].keyed.push((
                                        k.clone(),
                                        body.clone(),
                                        location.clone(),
                                    ));
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            (false, 0) => {}
            (_, w) => self.violation(format!(
                "{n} parallel cashouts (mode {mode}, allowed {allowed}) made {w} payouts: {winners:?}"
            )),
        }
    }

    /// After a cashout with an unknown outcome: faults off, retry the keyed
    /// ones, then read the payouts to learn what happened.
    async fn resolve_cashout(
        &mut self,
        ci: usize,
        answers: Vec<(Option<String>, Option<Answer>)>,
        mut winners: BTreeSet<i64>,
    ) {
        self.note("cashouts resolved after a fault");
        self.proxy.arm(None);
        let was = std::mem::replace(&mut self.faulty, false);
        let keys: BTreeSet<String> = answers.iter().filter_map(|(k, _)| k.clone()).collect();
        for k in keys {
            let Some(r) = self.request(ci, "POST", "/api/wallet/cashout", &[], None, Some(&k))
            else {
                continue;
            };
            let ctx = self.ctx.clone();
            if let Some(a) = self.http("cashout retry", cashout::handle(&ctx, r)).await {
                if a.status == 200 {
                    if let Some(id) = Self::location_id(a.location.as_deref()) {
                        winners.insert(id);
                    }
                }
            }
        }
        let known: BTreeSet<i64> = self.creators[ci]
            .w
            .payouts
            .iter()
            .map(|p| p.payout_id)
            .collect();
        let listed = self.list_payouts(ci).await;
        let new: Vec<(i64, i64)> = listed
            .iter()
            .filter(|(id, _, _)| !known.contains(id))
            .map(|(id, amount, _)| (*id, *amount))
            .collect();
        let allowed = self.creators[ci].w.cashout_allowed();
        match new.as_slice() {
            [] if winners.is_empty() => {}
            [(id, amount)] if allowed && winners.iter().all(|w| w == id) => {
                let want = self.creators[ci].w.cashout(*id);
                if want != *amount {
                    self.violation(format!("payout {id} of {amount}, model {want}"));
                }
            }
            _ => self.violation(format!(
                "cashouts under faults: new payouts {new:?}, answered {winners:?}, allowed {allowed}"
            )),
        }
        self.faulty = was;
    }

    /// (id, amount, status) of every payout of a creator, read through the handler.
    async fn list_payouts(&mut self, ci: usize) -> Vec<(i64, i64, String)> {
        let mut all = Vec::new();
        for page in 1..=50 {
            let p = page.to_string();
            let Some(r) = self.request(
                ci,
                "GET",
                "/api/wallet/payouts",
                &[("page", &p), ("limit", "100")],
                None,
                None,
            ) else {
                break;
            };
            let ctx = self.ctx.clone();
            let Some(a) = self.http("payouts", payouts::handle(&ctx, r)).await else {
                break;
            };
            if a.status != 200 {
                break;
            }
            let data = a.json["data"]["data"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for p in &data {
                all.push((
                    p["id"].as_i64().unwrap_or(0),
                    p["amount"].as_i64().unwrap_or(0),
                    p["status"].as_str().unwrap_or("?").to_owned(),
                ));
            }
            if a.json["data"]["last_page"].as_i64().unwrap_or(0) <= page {
                break;
            }
        }
        all
    }

    async fn op_cashout_replay(&mut self, ci: usize) {
        let keyed = self.creators[ci].keyed.clone();
        let Some((key, body, location)) = keyed.choose(&mut self.rng).cloned() else {
            return;
        };
        let Some(r) = self.request(ci, "POST", "/api/wallet/cashout", &[], None, Some(&key)) else {
            return;
        };
        let ctx = self.ctx.clone();
        let Some(a) = self.http("cashout replay", cashout::handle(&ctx, r)).await else {
            return;
        };
        if a.status >= 500 && self.faulty {
            return;
        }
        if a.status != 200 || a.body != body || a.location != location {
            self.violation(format!(
                "replay of key {key}: {} {} {:?}, first {body} {location:?}",
                a.status, a.body, a.location
            ));
        }
    }

    async fn op_decide(&mut self, ci: usize) {
        let payouts = self.creators[ci].w.payouts.clone();
        // Mostly requested payouts; sometimes a decided one again.
        let requested: Vec<_> = payouts
            .iter()
            .filter(|p| p.state == PayoutState::Requested)
            .collect();
        let pick = if !requested.is_empty() && self.rng.random_bool(0.8) {
            requested.choose(&mut self.rng).map(|p| p.payout_id)
        } else {
            payouts.choose(&mut self.rng).map(|p| p.payout_id)
        };
        let Some(id) = pick else { return };
        let approve = self.rng.random_bool(0.6);
        let payload = if approve {
            json!({"action": "approve", "payout_id": id})
        } else {
            json!({"action": "decline", "payout_id": id, "reason": "Bank refused"})
        };
        let twice = self.rng.random_bool(0.2);
        let ctx = self.ctx.clone();
        let Some(mut outs) = self
            .timed("payout-admin", async {
                if twice {
                    // The same decision twice at once.
                    let (a, b) = tokio::join!(
                        payout_admin::handle(&ctx, payload.clone()),
                        payout_admin::handle(&ctx, payload.clone())
                    );
                    vec![a, b]
                } else {
                    vec![payout_admin::handle(&ctx, payload.clone()).await]
                }
            })
            .await
        else {
            return;
        };
        let wanted = if approve { "paid" } else { "declined" };
        let failed = |o: &Value| o["error"].is_string();
        let model = self.creators[ci].w.decide(id, approve);
        let expected_error = model.is_err();
        if outs.iter().any(failed) && !expected_error {
            if !self.faulty {
                self.violation(format!("decision on {id} failed without faults: {outs:?}"));
                return;
            }
            // Unknown outcome: the same decision again, faults off.
            self.note("decisions retried after a fault");
            self.proxy.arm(None);
            let ctx = self.ctx.clone();
            if let Some(o) = self
                .timed("payout-admin", payout_admin::handle(&ctx, payload.clone()))
                .await
            {
                outs = vec![o];
            }
        }
        let changed = outs.iter().filter(|o| o["changed"] == json!(true)).count();
        for o in &outs {
            let ok = if expected_error {
                failed(o) && o["changed"] == json!(false)
            } else {
                o["error"].is_null() && o["status"] == json!(wanted)
            };
            if !ok {
                self.violation(format!(
                    "decision {payload} on {id}: model {model:?}, got {o}"
                ));
            }
        }
        let want_changed = usize::from(model == Ok(true));
        // After a retry the first (faulted) attempt may have made the change.
        if changed != want_changed && !(self.faulty && changed == 0) {
            self.violation(format!(
                "decision on {id} changed {changed} times, model {want_changed}"
            ));
        }
    }

    async fn op_release_runs(&mut self) {
        let ctx = self.ctx.clone();
        let Some((a, b)) = self
            .timed("release-holds", async {
                tokio::join!(
                    release_holds::handle(&ctx, json!({"now": FAR_FUTURE})),
                    release_holds::handle(&ctx, json!({"now": FAR_FUTURE}))
                )
            })
            .await
        else {
            return;
        };
        let mut expected = 0;
        for c in &mut self.creators {
            expected += c.w.release_due();
        }
        let released = a["released"].as_u64().zip(b["released"].as_u64());
        match released {
            Some((x, y)) if x + y == expected => {}
            _ if self.faulty => {
                // A run failed part way: the next run (faults off) finishes.
                self.note("release runs repeated after a fault");
                self.proxy.arm(None);
                let ctx = self.ctx.clone();
                if let Some(c) = self
                    .timed(
                        "release-holds",
                        release_holds::handle(&ctx, json!({"now": FAR_FUTURE})),
                    )
                    .await
                {
                    if c.get("error").is_some() {
                        self.violation(format!("release run without faults failed: {c}"));
                    }
                }
            }
            _ => self.violation(format!(
                "two release runs answered {a} and {b}; model released {expected}"
            )),
        }
    }

    /// Reads an endpoint and compares it with the model.
    async fn op_read(&mut self, ci: usize, which: u32) {
        let ctx = self.ctx.clone();
        let w = self.creators[ci].w.clone();
        match which {
            0 => {
                let Some(r) = self.request(ci, "GET", "/api/wallet", &[("limit", "5")], None, None)
                else {
                    return;
                };
                let Some(a) = self.http("wallet", wallet::handle(&ctx, r)).await else {
                    return;
                };
                if a.status != 200 {
                    return self.read_refused("wallet", &a);
                }
                let d = &a.json["data"];
                let want = json!({
                    "available": w.available, "hold": w.hold, "pending": w.pending,
                    "total": w.total(), "referral_revenue": w.referral,
                    "cashout_available": w.available > 0, "count": w.public_entries,
                });
                let got = json!({
                    "available": d["available"], "hold": d["hold"], "pending": d["pending"],
                    "total": d["total"], "referral_revenue": d["referral_revenue"],
                    "cashout_available": d["cashout_available"], "count": d["transactions"]["total"],
                });
                if want != got {
                    self.violation(format!("wallet read {got} != model {want}"));
                }
            }
            1 => {
                let Some(r) = self.request(ci, "GET", "/api/wallet/affiliate", &[], None, None)
                else {
                    return;
                };
                let Some(a) = self.http("affiliate", affiliate::handle(&ctx, r)).await else {
                    return;
                };
                if a.status != 200 {
                    return self.read_refused("affiliate", &a);
                }
                let d = &a.json["data"];
                let got = json!([d["referral_revenue"], d["transactions"]["total"]]);
                let want = json!([w.referral, w.affiliate_entries]);
                if got != want {
                    self.violation(format!("affiliate read {got} != model {want}"));
                }
            }
            2 => {
                let listed = self.list_payouts(ci).await;
                if self.faulty {
                    return;
                }
                let mut got: Vec<(i64, i64, String)> = listed;
                got.sort();
                let mut want: Vec<(i64, i64, String)> = w
                    .payouts
                    .iter()
                    .map(|p| (p.payout_id, p.amount, state_name(p.state).to_owned()))
                    .collect();
                want.sort();
                if got != want {
                    self.violation(format!("payouts read {got:?} != model {want:?}"));
                }
            }
            3 => {
                let Some(p) = w.payouts.choose(&mut self.rng).cloned() else {
                    return;
                };
                let path = format!("/api/wallet/payouts/{}", p.payout_id);
                let Some(r) = self.request(ci, "GET", &path, &[], Some(p.payout_id), None) else {
                    return;
                };
                let Some(a) = self.http("payout", payouts::handle(&ctx, r)).await else {
                    return;
                };
                if a.status != 200 {
                    return self.read_refused("payout", &a);
                }
                let d = &a.json["data"];
                let got = json!([d["id"], d["amount"], d["status"]]);
                let want = json!([p.payout_id, p.amount, state_name(p.state)]);
                if got != want {
                    self.violation(format!("payout read {got} != model {want}"));
                }
            }
            // 4 summary, 5 aggregate, 6 aggregate with other bodies, 7 linked
            // accounts: the full answers against the model (products.rs).
            _ => self.read_dashboard(ci, which).await,
        }
    }

    fn read_refused(&mut self, what: &str, a: &Answer) {
        if !(self.faulty && a.status >= 500) {
            self.violation(format!("{what} read refused: {} {}", a.status, a.body));
        }
    }

    /// Every item of a creator's partition, read straight from the table (faults off).
    async fn partition(&self, user_id: i64) -> anyhow::Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .ctx
                .db
                .query()
                .table_name(self.ctx.table())
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(keys::user_pk(user_id)))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// SPEC section 5 on the stored items, and the stored state against the model.
    async fn check_creator(&mut self, ci: usize) {
        let (user_id, w) = {
            let c = &self.creators[ci];
            (c.user_id, c.w.clone())
        };
        for v in w.self_check() {
            self.violation(format!("user {user_id}: {v}"));
        }
        let account = match read_account(&self.ctx, user_id).await {
            Ok(Some(a)) => a,
            other => {
                self.violation(format!("user {user_id}: account unreadable: {other:?}"));
                return;
            }
        };
        let items = match self.partition(user_id).await {
            Ok(i) => i,
            Err(e) => {
                self.violation(format!("user {user_id}: partition unreadable: {e:#}"));
                return;
            }
        };
        let sk = |i: &Item| match i.get(keys::SK) {
            Some(AttributeValue::S(s)) => s.clone(),
            _ => String::new(),
        };
        let mut problems = Vec::new();
        let (mut available, mut hold, mut pending, mut referral) = (0i64, 0i64, 0i64, 0i64);
        let mut entry_ids = BTreeSet::new();
        let mut event_ids = BTreeSet::new();
        let mut payout_entries: BTreeMap<(i64, &'static str), u32> = BTreeMap::new();
        let mut public = 0;
        let mut affiliate = 0;
        let mut lots = BTreeMap::new();
        for item in &items {
            let key = sk(item);
            if key.starts_with("TXB#") || key.starts_with("HID#") {
                let e = match Entry::from_item(item) {
                    Ok(e) => e,
                    Err(err) => {
                        problems.push(format!("unreadable entry {key}: {err}"));
                        continue;
                    }
                };
                if e.amount <= 0 {
                    problems.push(format!("entry {} moves {}", e.id, e.amount));
                }
                if !entry_ids.insert(e.id) {
                    problems.push(format!("entry id {} twice", e.id));
                }
                if let Some(ev) = &e.event_id {
                    if !event_ids.insert(ev.clone()) {
                        problems.push(format!("event {ev} applied twice"));
                    }
                }
                if let Some(p) = e.payout_id {
                    *payout_entries
                        .entry((p, e.entry_type.as_str()))
                        .or_default() += 1;
                }
                let held = e.deltas.hold > 0
                    && e.entry_type.direction() == shared::ledger::Direction::Credit;
                if e.deltas != e.entry_type.deltas(e.amount, held) {
                    problems.push(format!("entry {} breaks its type rule", e.id));
                }
                available += e.deltas.available;
                hold += e.deltas.hold;
                pending += e.deltas.pending;
                if e.entry_type == shared::ledger::EntryType::AffiliateEarning {
                    referral += e.amount;
                    affiliate += 1;
                }
                if key.starts_with("TXB#") {
                    public += 1;
                }
            } else if key.starts_with("LOT#") {
                match Lot::from_item(item) {
                    Ok(l) => {
                        lots.insert(l.hold_event_id.clone(), (l.amount, l.released));
                    }
                    Err(err) => problems.push(format!("unreadable lot {key}: {err}")),
                }
            }
        }
        for ((p, t), n) in &payout_entries {
            if *n > 1 {
                problems.push(format!("payout {p} has {n} {t} entries"));
            }
        }
        let b = account.balance;
        let stored = (b.available, b.hold, b.pending, b.referral_revenue);
        if stored != (available, hold, pending, referral) {
            problems.push(format!(
                "buckets {stored:?} != sums of entries {:?}",
                (available, hold, pending, referral)
            ));
        }
        let model = (w.available, w.hold, w.pending, w.referral);
        if stored != model {
            problems.push(format!("buckets {stored:?} != model {model:?}"));
        }
        if b.hold < 0 || b.pending < 0 {
            problems.push(format!("negative hold or pending {stored:?}"));
        }
        if b.pending != w.requested_sum() {
            problems.push(format!(
                "pending {} != requested payouts {}",
                b.pending,
                w.requested_sum()
            ));
        }
        if (account.public_count, account.affiliate_count) != (public, affiliate)
            || (public, affiliate) != (w.public_entries, w.affiliate_entries)
        {
            problems.push(format!(
                "counts stored {:?}, entries {:?}, model {:?}",
                (account.public_count, account.affiliate_count),
                (public, affiliate),
                (w.public_entries, w.affiliate_entries)
            ));
        }
        let applied: BTreeSet<String> = w.applied.keys().cloned().collect();
        if event_ids != applied {
            let extra: Vec<_> = event_ids.difference(&applied).collect();
            let missing: Vec<_> = applied.difference(&event_ids).collect();
            problems.push(format!(
                "applied events differ: stored only {extra:?}, model only {missing:?}"
            ));
        }
        let model_lots: BTreeMap<String, (i64, bool)> = w
            .lots
            .iter()
            .map(|(k, l)| (k.clone(), (l.amount, l.released)))
            .collect();
        if lots != model_lots {
            problems.push(format!("lots {lots:?} != model {model_lots:?}"));
        }
        let unreleased: i64 = lots.values().filter(|l| !l.1).map(|l| l.0).sum();
        if unreleased != b.hold {
            problems.push(format!("hold {} != unreleased lots {unreleased}", b.hold));
        }
        for p in problems {
            self.violation(format!("user {user_id}: {p}"));
        }
        self.check_catalog(&account).await;
    }

    fn report(&self, elapsed: Duration, table: &str) {
        println!("seed: {}", self.args.seed);
        println!("steps: {}", self.args.steps);
        println!("creators: {}", self.args.creators);
        println!("table: {table}");
        let ops: Vec<String> = self.ops.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("operations: {}", ops.join(" "));
        let injected = self.proxy.injected();
        let total: u64 = injected.values().sum();
        let faults: Vec<String> = injected
            .iter()
            .map(|(k, v)| format!("{}={v}", k.name()))
            .collect();
        println!(
            "faults injected: {total}{}{}",
            if faults.is_empty() { "" } else { " " },
            faults.join(" ")
        );
        for (k, v) in &self.notes {
            println!("  {k}: {v}");
        }
        let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
        for c in &self.creators {
            let w = &c.w;
            let text = format!(
                "{} {} {} {} {} {} {:?}",
                w.available,
                w.hold,
                w.pending,
                w.referral,
                w.public_entries,
                w.affiliate_entries,
                w.payouts
                    .iter()
                    .map(|p| (p.amount, p.state))
                    .collect::<Vec<_>>()
            );
            for b in text.bytes() {
                digest = (digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        let (catalog, line) = self.catalog_report();
        println!("{line}");
        for b in catalog.bytes() {
            digest = (digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        println!("model digest: {digest:016x}");
        println!("violations: {}", self.violations.len());
        println!("duration: {:.1}s", elapsed.as_secs_f64());
        let failed = usize::from(!self.violations.is_empty());
        println!("simulate: {} passed, {failed} failed", 1 - failed);
    }
}

/// The same event id with the amount plus one (`None` for events without an amount).
fn with_other_amount(e: &(String, Value, MoneyEvent)) -> Option<(String, Value, MoneyEvent)> {
    let model = match &e.2 {
        MoneyEvent::Earning {
            affiliate,
            held,
            amount,
        } => MoneyEvent::Earning {
            affiliate: *affiliate,
            held: *held,
            amount: amount + 1,
        },
        MoneyEvent::Fee(a) => MoneyEvent::Fee(a + 1),
        MoneyEvent::Refund(a) => MoneyEvent::Refund(a + 1),
        MoneyEvent::Hold(a) => MoneyEvent::Hold(a + 1),
        MoneyEvent::ReleaseHold(_) => return None,
    };
    let mut payload = e.1.clone();
    let amount = payload.get("amount").and_then(Value::as_i64)?;
    payload
        .as_object_mut()?
        .insert("amount".into(), json!(amount + 1));
    Some((e.0.clone(), payload, model))
}

fn state_name(s: PayoutState) -> &'static str {
    match s {
        PayoutState::Requested => "requested",
        PayoutState::Paid => "paid",
        PayoutState::Declined => "declined",
    }
}
