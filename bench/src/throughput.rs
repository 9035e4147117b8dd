//! Ledger throughput: fresh money events, in SQS batches, through K warm `ledger`
//! processes at once (Lambda concurrency K), into one hot wallet or spread over many
//! wallets. Every case is run in rounds straight to DynamoDB (events/s, CPU) and once
//! more behind the recording proxy (requests, transaction attempts and cancellations
//! per event), then every balance is checked against the sum of the amounts sent.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cli::Args;
use crate::process::{bootstrap, Env, Proc};
use anyhow::{anyhow, bail, Result};
use bench::proxy::{Proxy, Recorded};
use bytes::Bytes;
use serde_json::{json, Value};
use shared::Ctx;

/// Records per SQS batch (the Lambda default for SQS).
pub const BATCH: usize = 10;

pub struct Plan {
    pub wallets: usize,
    pub processes: usize,
    pub events: usize,
    pub rounds: usize,
}

/// What one case measured.
pub struct LoadRow {
    pub wallets: usize,
    pub processes: usize,
    pub events: usize,
    pub rounds: usize,
    /// events/s of each direct round.
    pub rates: Vec<f64>,
    /// Per direct round: CPU cores used (CPU seconds / wall seconds) by DynamoDB
    /// Local, by the ledger processes, by the bench itself, by the whole machine.
    pub ddb_cores: Vec<f64>,
    pub ledger_cores: Vec<f64>,
    pub bench_cores: Vec<f64>,
    pub machine_cores: Vec<f64>,
    /// The proxied round.
    pub proxied_rate: f64,
    pub requests: usize,
    pub transact_writes: usize,
    pub cancelled: usize,
    pub other_errors: Vec<String>,
    /// Records the function answered as failed (SQS would deliver them again; the
    /// bench does), over all rounds.
    pub redelivered: usize,
    /// Every wallet's available balance and public entry count equal what was sent.
    pub verified: Result<(), String>,
}

impl LoadRow {
    /// A case of `plan`, nothing measured yet.
    pub fn new(plan: &Plan) -> Self {
        Self {
            wallets: plan.wallets,
            processes: plan.processes,
            events: plan.events,
            rounds: plan.rounds,
            rates: Vec::new(),
            ddb_cores: Vec::new(),
            ledger_cores: Vec::new(),
            bench_cores: Vec::new(),
            machine_cores: Vec::new(),
            proxied_rate: 0.0,
            requests: 0,
            transact_writes: 0,
            cancelled: 0,
            other_errors: Vec::new(),
            redelivered: 0,
            verified: Ok(()),
        }
    }

    /// DynamoDB Local's CPU milliseconds per event, per direct round.
    pub fn ddb_ms_per_event(&self) -> Vec<f64> {
        self.ddb_cores
            .iter()
            .zip(&self.rates)
            .filter(|(_, &rate)| rate > 0.0)
            .map(|(cores, rate)| 1000.0 * cores / rate)
            .collect()
    }
}

struct Round {
    secs: f64,
    redelivered: usize,
    ddb_cpu: Option<f64>,
    ledger_cpu: f64,
    bench_cpu: Option<f64>,
    machine_cpu: Option<f64>,
}

/// One batch in the queue: its records, as (message id, event).
type Batch = Vec<(String, Value)>;

async fn start_workers(bin: &Path, env: &Env, endpoint: &str, k: usize) -> Result<Vec<Proc>> {
    let mut workers = Vec::with_capacity(k);
    for _ in 0..k {
        workers.push(Proc::warm(bin, env, endpoint).await?);
    }
    Ok(workers)
}

type Queue = Arc<Mutex<VecDeque<Batch>>>;

/// One worker's loop of [`drain`].
async fn work(w: &Proc, queue: Queue, redelivered: Arc<Mutex<usize>>) -> Result<()> {
    let mut rounds_left = 1000usize;
    loop {
        let next = queue.lock().map_err(|_| anyhow!("poisoned"))?.pop_front();
        let Some(batch) = next else {
            return anyhow::Ok(());
        };
        let bodies: Vec<Value> = batch.iter().map(|(_, e)| e.clone()).collect();
        let mut event = bench::sqs_batch("", &bodies);
        if let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) {
            for (record, (id, _)) in records.iter_mut().zip(&batch) {
                record["messageId"] = json!(id);
            }
        }
        let answer = w.invoke(&Bytes::from(serde_json::to_vec(&event)?)).await?;
        let failed = bench::batch_failures(&answer)
            .ok_or_else(|| anyhow!("not a batch response: {}", String::from_utf8_lossy(&answer)))?;
        if !failed.is_empty() {
            rounds_left = rounds_left
                .checked_sub(1)
                .ok_or_else(|| anyhow!("records keep failing: {failed:?}"))?;
            let again: Batch = batch
                .into_iter()
                .filter(|(id, _)| failed.contains(id))
                .collect();
            *redelivered.lock().map_err(|_| anyhow!("poisoned"))? += again.len();
            queue
                .lock()
                .map_err(|_| anyhow!("poisoned"))?
                .push_back(again);
        }
    }
}

/// Feeds `batches` to the workers, each taking the next batch when it is done with
/// its last; records a batch answers as failed go to the back of the queue again.
async fn drain(workers: &[Proc], batches: Vec<Batch>) -> Result<usize> {
    let queue = Arc::new(Mutex::new(VecDeque::from(batches)));
    let redelivered = Arc::new(Mutex::new(0usize));
    let runs = workers
        .iter()
        .map(|w| work(w, queue.clone(), redelivered.clone()));
    for r in futures::future::join_all(runs).await {
        r?;
    }
    let n = *redelivered.lock().map_err(|_| anyhow!("poisoned"))?;
    Ok(n)
}

/// One round: `events` fresh product earnings to `users` (round robin), after one
/// unmeasured warm-up event per process (to `users[0]`).
#[allow(clippy::too_many_arguments)]
async fn round(
    bin: &Path,
    env: &Env,
    endpoint: &str,
    plan: &Plan,
    users: &[i64],
    tag: &str,
    expected: &mut HashMap<i64, (i64, i64)>,
    ddb_pid: Option<u32>,
) -> Result<Round> {
    let workers = start_workers(bin, env, endpoint, plan.processes).await?;
    let mut sent = |i: usize, user: i64, kind: &str| {
        let amount = 100 + (i % 7) as i64;
        let slot = expected.entry(user).or_insert((0, 0));
        slot.0 += amount;
        slot.1 += 1;
        json!({"kind": "product_earning", "event_id": format!("{tag}-{kind}-{i}"), "user_id": user,
               "amount": amount, "title": "Throughput", "hold_seconds": 0})
    };
    let first = *users.first().ok_or_else(|| anyhow!("no users"))?;
    let warmups: Vec<Batch> = (0..plan.processes)
        .map(|i| vec![(format!("{tag}-w{i}"), sent(i, first, "warm"))])
        .collect();
    // One warm-up batch per process: each worker takes exactly one.
    for (w, b) in workers.iter().zip(warmups) {
        drain(std::slice::from_ref(w), vec![b]).await?;
    }
    let events: Vec<(String, Value)> = (0..plan.events)
        .map(|i| {
            let user = users.get(i % users.len()).copied().unwrap_or(first);
            (format!("{tag}-m{i}"), sent(i, user, "ev"))
        })
        .collect();
    let batches: Vec<Batch> = events.chunks(BATCH).map(<[_]>::to_vec).collect();
    let pids: Vec<u32> = workers.iter().filter_map(Proc::pid).collect();
    let ledger_cpu = || {
        pids.iter()
            .filter_map(|&p| bench::process_cpu_seconds(p))
            .sum::<f64>()
    };
    let me = std::process::id();
    let before = (
        ddb_pid.and_then(bench::process_cpu_seconds),
        ledger_cpu(),
        bench::process_cpu_seconds(me),
        bench::machine_busy_seconds(),
    );
    let t = Instant::now();
    let redelivered = drain(&workers, batches).await?;
    let secs = t.elapsed().as_secs_f64();
    let after = (
        ddb_pid.and_then(bench::process_cpu_seconds),
        ledger_cpu(),
        bench::process_cpu_seconds(me),
        bench::machine_busy_seconds(),
    );
    for w in workers {
        w.kill().await;
    }
    let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
    Ok(Round {
        secs,
        redelivered,
        ddb_cpu: diff(after.0, before.0),
        ledger_cpu: after.1 - before.1,
        bench_cpu: diff(after.2, before.2),
        machine_cpu: diff(after.3, before.3),
    })
}

/// Compares every wallet with what was sent to it.
async fn verify(ctx: &Ctx, expected: &HashMap<i64, (i64, i64)>) -> Result<(), String> {
    let mut wrong = Vec::new();
    for (&user, &(sum, count)) in expected {
        match shared::store::read::read_account(ctx, user).await {
            Ok(Some(a)) if a.balance.available == sum && a.public_count == count => {}
            Ok(Some(a)) => wrong.push(format!(
                "user {user}: available {} for {sum} sent, {} entries for {count} events",
                a.balance.available, a.public_count
            )),
            Ok(None) => wrong.push(format!("user {user}: no account")),
            Err(e) => wrong.push(format!("user {user}: {e}")),
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        wrong.sort();
        Err(wrong.join("; "))
    }
}

fn count_requests(records: &[Recorded]) -> (usize, usize, Vec<String>) {
    let writes = records
        .iter()
        .filter(|r| r.operation() == "TransactWriteItems")
        .count();
    let cancelled = records
        .iter()
        .filter(|r| r.error.as_deref() == Some("TransactionCanceledException"))
        .count();
    let mut other: Vec<String> = records
        .iter()
        .filter(|r| r.status >= 300 && r.error.as_deref() != Some("TransactionCanceledException"))
        .map(|r| {
            format!(
                "{} {}",
                r.operation(),
                r.error.clone().unwrap_or_else(|| r.status.to_string())
            )
        })
        .collect();
    other.sort();
    other.dedup();
    (writes, cancelled, other)
}

pub async fn run(
    ctx: &Ctx,
    bin_dir: &Path,
    env: &Env,
    plan: &Plan,
    case: usize,
) -> Result<LoadRow> {
    let bin = bootstrap(bin_dir, "ledger");
    let mut users = Vec::with_capacity(plan.wallets);
    for i in 0..plan.wallets {
        users.push(
            crate::data::new_user(ctx, &format!("load{case}"), i)
                .await?
                .0,
        );
    }
    let ddb_pid = bench::endpoint_port(&env.endpoint).and_then(bench::pid_listening_on);
    let mut expected = HashMap::new();
    let mut row = LoadRow::new(plan);
    let stamp = chrono::Utc::now().timestamp_millis();
    for r in 0..plan.rounds {
        let tag = format!("tp{case}-{stamp}-r{r}");
        let out = round(
            &bin,
            env,
            &env.endpoint,
            plan,
            &users,
            &tag,
            &mut expected,
            ddb_pid,
        )
        .await?;
        let secs = out.secs.max(1e-9);
        row.rates.push(plan.events as f64 / secs);
        row.ddb_cores.extend(out.ddb_cpu.map(|c| c / secs));
        row.ledger_cores.push(out.ledger_cpu / secs);
        row.bench_cores.extend(out.bench_cpu.map(|c| c / secs));
        row.machine_cores.extend(out.machine_cpu.map(|c| c / secs));
        row.redelivered += out.redelivered;
    }
    // Once more behind the recording proxy, to count requests and cancellations.
    let proxy = Proxy::start(&env.endpoint, Duration::ZERO).await?;
    let tag = format!("tp{case}-{stamp}-proxied");
    let out = round(
        &bin,
        env,
        &proxy.url(),
        plan,
        &users,
        &tag,
        &mut expected,
        None,
    )
    .await?;
    let records = proxy.take();
    row.proxied_rate = plan.events as f64 / out.secs.max(1e-9);
    row.redelivered += out.redelivered;
    row.requests = records.len();
    (row.transact_writes, row.cancelled, row.other_errors) = count_requests(&records);
    row.verified = verify(ctx, &expected).await;
    if let Err(e) = &row.verified {
        bail!("ledger throughput lost or doubled money: {e}");
    }
    Ok(row)
}

/// One hot wallet and many wallets, with K warm ledger processes each.
pub async fn run_all(ctx: &Ctx, args: &Args, env: &Env) -> Result<Vec<LoadRow>> {
    let (events, rounds, ks, many): (usize, usize, &[usize], usize) = if args.quick {
        (40, 1, &[1, 2], 8)
    } else {
        (1000, 3, &[1, 2, 4], 100)
    };
    let mut load = Vec::new();
    for wallets in [1, many] {
        for &processes in ks {
            let case = load.len();
            eprintln!("bench: ledger throughput, {wallets} wallet(s), {processes} process(es)");
            let plan = Plan {
                wallets,
                processes,
                events,
                rounds,
            };
            load.push(run(ctx, &args.bin_dir, env, &plan, case).await?);
        }
    }
    Ok(load)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(op: &str, status: u16, error: Option<&str>) -> Recorded {
        Recorded {
            target: format!("DynamoDB_20120810.{op}"),
            headers: Vec::new(),
            body: Bytes::new(),
            start_ms: 0.0,
            end_ms: 1.0,
            status,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn dynamodb_cpu_per_event_is_cores_over_rate() {
        let plan = Plan {
            wallets: 1,
            processes: 1,
            events: 10,
            rounds: 2,
        };
        let mut row = LoadRow::new(&plan);
        row.rates = vec![400.0, 200.0];
        row.ddb_cores = vec![0.8, 0.5];
        assert_eq!(row.ddb_ms_per_event(), vec![2.0, 2.5]);
    }

    #[test]
    fn requests_are_counted_by_kind_and_answer() {
        let records = [
            rec("GetItem", 200, None),
            rec("TransactWriteItems", 200, None),
            rec(
                "TransactWriteItems",
                400,
                Some("TransactionCanceledException"),
            ),
            rec(
                "TransactWriteItems",
                400,
                Some("TransactionCanceledException"),
            ),
            rec("GetItem", 400, Some("ThrottlingException")),
            rec("GetItem", 400, Some("ThrottlingException")),
        ];
        let (writes, cancelled, other) = count_requests(&records);
        assert_eq!((writes, cancelled), (3, 2));
        assert_eq!(other, vec!["GetItem ThrottlingException".to_owned()]);
    }
}
