//! `cargo run -p bench --release -- [--quick] [--bin-dir DIR] [--out FILE]`
//! (`--throttled`: cold start and warm latency under a Lambda-like CPU quota, see
//! `throttled.rs`)
//!
//! Benchmarks every function binary against DynamoDB Local through a Runtime API of
//! its own (see the crate docs and docs/benchmarks.md for what each number means).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bench::proxy::{Proxy, Recorded};
use bench::runtime::RuntimeApi;
use bench::sdk_floor::{self, Floor};
use bench::{fmt_opt, ms, peak_rss_kib, ratio, summarize, Summary};
use bytes::Bytes;
use serde_json::{json, Value};
use shared::auth::{create_token, Ability};
use shared::currency::Currency;
use shared::ledger::apply::apply_event_value;
use shared::users::{create_user, NewUser};
use shared::Ctx;
use tokio::process::{Child, Command};

mod throttled;
mod throughput;

const FUNCTIONS: [&str; 10] = [
    "wallet",
    "affiliate",
    "cashout",
    "payouts",
    "summary",
    "aggregate",
    "linked-accounts",
    "ledger",
    "release-holds",
    "payout-admin",
];
const TIMEOUT: Duration = Duration::from_secs(30);

struct Args {
    quick: bool,
    /// Warm invocations per endpoint instead of the mode's default.
    warm: Option<usize>,
    /// Only compare the warm latency of every endpoint with the binaries of this
    /// folder, invocation by invocation (an A/B test of a change), and exit.
    compare: Option<PathBuf>,
    /// Only run the CPU-throttled comparison (`throttled.rs`) and exit.
    throttled: bool,
    /// `--throttled`: do not refill the group's budget before each cold start.
    shared_budget: bool,
    /// Cold starts per binary instead of the mode's default.
    cold: Option<usize>,
    bin_dir: PathBuf,
    out: Option<PathBuf>,
    root: PathBuf,
}

fn parse_args() -> Result<Args> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| anyhow!("no workspace root"))?;
    let mut quick = false;
    let mut bin_dir = None;
    let mut out = None;
    let mut warm = None;
    let mut compare = None;
    let mut throttled = false;
    let mut shared_budget = false;
    let mut cold = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--bin-dir" => bin_dir = Some(PathBuf::from(it.next().context("--bin-dir DIR")?)),
            "--out" => out = Some(PathBuf::from(it.next().context("--out FILE")?)),
            "--compare" => compare = Some(PathBuf::from(it.next().context("--compare DIR")?)),
            "--warm" => warm = Some(it.next().context("--warm N")?.parse()?),
            "--cold" => cold = Some(it.next().context("--cold N")?.parse()?),
            "--throttled" => throttled = true,
            "--shared-budget" => shared_budget = true,
            "-h" | "--help" => {
                println!(
                    "bench [--quick] [--bin-dir DIR] [--out FILE] [--warm N] [--compare OTHER_DIR]\n      bench --throttled [--bin-dir DIR] [--cold N] [--warm N] [--shared-budget]   (cgroup v1 CPU quota of a 128 MB and a 1024 MB Lambda; needs a writable /sys/fs/cgroup/cpu)"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin_dir = bin_dir.unwrap_or_else(|| {
        if quick {
            target.join("debug")
        } else {
            target.join("lambda")
        }
    });
    Ok(Args {
        quick,
        warm,
        compare,
        throttled,
        shared_budget,
        cold,
        bin_dir,
        out,
        root,
    })
}

/// `DIR/NAME/bootstrap` (cargo-lambda's layout) or `DIR/NAME` (cargo's).
fn bootstrap(dir: &Path, name: &str) -> PathBuf {
    let lambda = dir.join(name).join("bootstrap");
    if lambda.is_file() {
        lambda
    } else {
        dir.join(name)
    }
}

struct Env {
    endpoint: String,
    table: String,
    cert_dir: PathBuf,
    /// Both floors, on a thread of their own.
    floors: sdk_floor::Floors,
}

/// Warm latency and its floors are measured in this many interleaved rounds.
const ROUNDS: usize = 5;

fn spawn(bin: &Path, api: &RuntimeApi, env: &Env, endpoint: &str) -> Result<Child> {
    spawn_in(bin, api, env, endpoint, None, 128)
}

/// [`spawn`], inside `group` when given (through its wrapper, so the process is in
/// the group from its first instruction), telling the function its memory size.
fn spawn_in(
    bin: &Path,
    api: &RuntimeApi,
    env: &Env,
    endpoint: &str,
    group: Option<&bench::throttle::CpuCgroup>,
    memory_mb: u32,
) -> Result<Child> {
    let mut command = match group {
        Some(g) => {
            let (program, args) = g.wrap(bin);
            let mut c = Command::new(program);
            c.args(args);
            c
        }
        None => Command::new(bin),
    };
    let child = command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        .env("TABLE_NAME", &env.table)
        .env("HOLD_SECONDS", "0")
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .env("SSL_CERT_DIR", &env.cert_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawning {}", bin.display()))?;
    Ok(child)
}

async fn wait_ready(api: &RuntimeApi, child: &mut Child) -> Result<Instant> {
    tokio::select! {
        r = api.first_next(TIMEOUT) => r,
        s = child.wait() => Err(anyhow!("bootstrap exited before asking for work: {s:?}")),
    }
}

fn status_of(body: &Bytes) -> i64 {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("statusCode").and_then(Value::as_i64))
        .unwrap_or(0)
}

#[derive(Default)]
struct Cold {
    init: Vec<f64>,
    first: Vec<f64>,
    rss_kib: Option<u64>,
}

async fn cold(bin: &Path, env: &Env, event: &Bytes, n: usize) -> Result<Cold> {
    let mut out = Cold::default();
    for i in 0..n {
        let api = RuntimeApi::start().await?;
        let t0 = Instant::now();
        let mut child = spawn(bin, &api, env, &env.endpoint)?;
        let ready = wait_ready(&api, &mut child).await?;
        out.init.push(ms(ready.duration_since(t0)));
        let t1 = Instant::now();
        // A function error answer is still a first invocation.
        let answer = api.invoke(event.clone(), TIMEOUT).await;
        if let Err(e) = &answer {
            if !e.to_string().starts_with("invocation error") {
                return Err(anyhow!("{}: {e}", bin.display()));
            }
        }
        out.first.push(ms(t1.elapsed()));
        if i + 1 == n {
            out.rss_kib = child.id().and_then(peak_rss_kib);
        }
        let _ = child.kill().await;
    }
    Ok(out)
}

struct Endpoint {
    label: String,
    function: &'static str,
    event: Value,
}

/// `--compare`: for each endpoint one warm process of `a_dir`'s binary and one of
/// `b_dir`'s, invoked alternately `n` times (so both see the same machine load);
/// prints the p50s and their ratio.
async fn compare(
    a_dir: &Path,
    b_dir: &Path,
    env: &Env,
    endpoints: &[Endpoint],
    n: usize,
) -> Result<()> {
    println!(
        "| endpoint | A p50 ms | B p50 ms | B / A | A: {} | B: {} |",
        a_dir.display(),
        b_dir.display()
    );
    println!("|---|---|---|---|---|---|");
    for ep in endpoints {
        let event = Bytes::from(serde_json::to_vec(&ep.event)?);
        let mut procs = Vec::new();
        for dir in [a_dir, b_dir] {
            let api = RuntimeApi::start().await?;
            let mut child = spawn(&bootstrap(dir, ep.function), &api, env, &env.endpoint)?;
            wait_ready(&api, &mut child).await?;
            for _ in 0..5 {
                api.invoke(event.clone(), TIMEOUT).await?;
            }
            procs.push((api, child));
        }
        let mut lat = [Vec::with_capacity(n), Vec::with_capacity(n)];
        for i in 0..n {
            // Alternate which goes first.
            for k in [i % 2, 1 - i % 2] {
                if let (Some((api, _)), Some(l)) = (procs.get(k), lat.get_mut(k)) {
                    let t = Instant::now();
                    api.invoke(event.clone(), TIMEOUT).await?;
                    l.push(ms(t.elapsed()));
                }
            }
        }
        for (_, mut child) in procs {
            let _ = child.kill().await;
        }
        let [a, b] = &lat;
        let (pa, pb) = (bench::median(a), bench::median(b));
        println!(
            "| {} | {} | {} | {} | | |",
            ep.label,
            fmt_opt(pa, 3),
            fmt_opt(pb, 3),
            fmt_opt(pb.zip(pa).and_then(|(b, a)| ratio(b, a)), 3)
        );
    }
    Ok(())
}

/// Writes a scaling table; `base_of(i)` is the index of the row row `i` is
/// compared with. Raises `worst` and `worst_floor` to the largest "x first case"
/// of the function and of its SDK floor.
fn scale_table(
    md: &mut String,
    what: &str,
    rows: &[ScaleRow],
    base_of: impl Fn(usize) -> usize,
    worst: &mut f64,
    worst_floor: &mut f64,
) {
    use std::fmt::Write;
    let _ = writeln!(md, "| {what} | p50 ms | p90 ms | p99 ms | x first case | SDK floor p50 ms | SDK floor x first case | raw floor p50 ms | raw floor x first case | x SDK floor | requests / round trips |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, row) in rows.iter().enumerate() {
        let Some(base) = rows.get(base_of(i)) else {
            continue;
        };
        let r = bench::median_ratio(&row.round_warm, &base.round_warm);
        let r_sdk = bench::median_ratio(&row.round_sdk, &base.round_sdk);
        let r_raw = bench::median_ratio(&row.round_raw, &base.round_raw);
        *worst = worst.max(r.unwrap_or(0.0));
        *worst_floor = worst_floor.max(r_sdk.unwrap_or(0.0));
        let p50 = |s: Option<Summary>| s.map(|s| s.p50);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
            row.label,
            fmt_opt(p50(row.warm), 2),
            fmt_opt(row.warm.map(|s| s.p90), 2),
            fmt_opt(row.warm.map(|s| s.p99), 2),
            fmt_opt(r, 2),
            fmt_opt(p50(row.sdk), 2),
            fmt_opt(r_sdk, 2),
            fmt_opt(p50(row.raw), 2),
            fmt_opt(r_raw, 2),
            fmt_opt(row.ratio_sdk, 2),
            row.requests,
            row.round_trips,
        );
    }
}

/// One case of a scaling series.
struct ScaleRow {
    label: String,
    warm: Option<Summary>,
    raw: Option<Summary>,
    sdk: Option<Summary>,
    ratio_sdk: Option<f64>,
    requests: usize,
    round_trips: usize,
    /// The p50 of each round (to compare cases round by round).
    round_warm: Vec<f64>,
    round_raw: Vec<f64>,
    round_sdk: Vec<f64>,
}

fn scale_rows(labels: Vec<String>, cases: &[Case<'_>], results: Vec<Interleaved>) -> Vec<ScaleRow> {
    labels
        .into_iter()
        .zip(cases)
        .zip(results)
        .map(|((label, case), il)| ScaleRow {
            label,
            warm: summarize(&il.warm),
            raw: summarize(&il.raw),
            sdk: summarize(&il.sdk),
            ratio_sdk: il.ratio_sdk,
            requests: case.requests.len(),
            round_trips: round_trips(&case.requests),
            round_warm: il.round_warm,
            round_raw: il.round_raw,
            round_sdk: il.round_sdk,
        })
        .collect()
}

struct Measured {
    label: String,
    function: &'static str,
    status_first: i64,
    status_steady: i64,
    first: Vec<Recorded>,
    steady: Vec<Recorded>,
    warm: Option<Summary>,
    /// The raw replay of the captured requests.
    floor: Option<Summary>,
    /// The same requests made with the SDK.
    floor_sdk: Option<Summary>,
    /// Median over the rounds of warm p50 / floor p50.
    ratio_raw: Option<f64>,
    ratio_sdk: Option<f64>,
    /// CPU ms per invocation of the function, per replay of the SDK and raw floors.
    cpu: [Option<f64>; 3],
    rss_kib: Option<u64>,
}

fn describe(reqs: &[Recorded]) -> String {
    reqs.iter()
        .map(|r| r.operation().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

fn round_trips(reqs: &[Recorded]) -> usize {
    let iv: Vec<(f64, f64)> = reqs.iter().map(|r| (r.start_ms, r.end_ms)).collect();
    bench::sequential_round_trips(&iv)
}

/// Warm invocations of `event` on a warm process, and the raw and SDK floors of
/// `requests`, interleaved in [`ROUNDS`] rounds of `n / ROUNDS` each.
struct Interleaved {
    warm: Vec<f64>,
    raw: Vec<f64>,
    sdk: Vec<f64>,
    /// Medians over the rounds of warm p50 / floor p50.
    ratio_raw: Option<f64>,
    ratio_sdk: Option<f64>,
    /// The p50 of each round.
    round_warm: Vec<f64>,
    round_raw: Vec<f64>,
    round_sdk: Vec<f64>,
    /// CPU milliseconds per invocation of the function process, and per replay of
    /// each floor's thread.
    cpu_warm: Option<f64>,
    cpu_raw: Option<f64>,
    cpu_sdk: Option<f64>,
}

/// One series member for [`interleaved_many`].
struct Case<'a> {
    api: &'a RuntimeApi,
    /// The function process (for its CPU time).
    pid: Option<u32>,
    event: Bytes,
    requests: Vec<Recorded>,
}

async fn interleaved(
    api: &RuntimeApi,
    pid: Option<u32>,
    event: &Bytes,
    env: &Env,
    requests: &[Recorded],
    n: usize,
) -> Result<Interleaved> {
    let case = Case {
        api,
        pid,
        event: event.clone(),
        requests: requests.to_vec(),
    };
    interleaved_many(std::slice::from_ref(&case), env, n)
        .await?
        .pop()
        .ok_or_else(|| anyhow!("no case"))
}

/// [`interleaved`] for a series of cases: every round runs every case (warm, raw
/// floor, SDK floor), so all cases of the series see the same machine load.
async fn interleaved_many(cases: &[Case<'_>], env: &Env, n: usize) -> Result<Vec<Interleaved>> {
    for c in cases {
        for _ in 0..3 {
            let body = c.api.invoke(c.event.clone(), TIMEOUT).await?;
            let status = status_of(&body);
            if status >= 500 {
                bail!("answered {status}: {}", String::from_utf8_lossy(&body));
            }
        }
    }
    let per_round = n.div_ceil(ROUNDS).max(1);
    let mut out: Vec<Interleaved> = cases
        .iter()
        .map(|_| Interleaved {
            warm: Vec::new(),
            raw: Vec::new(),
            sdk: Vec::new(),
            ratio_raw: None,
            ratio_sdk: None,
            round_warm: Vec::new(),
            round_raw: Vec::new(),
            round_sdk: Vec::new(),
            cpu_warm: None,
            cpu_raw: None,
            cpu_sdk: None,
        })
        .collect();
    let mut cpu: Vec<[Vec<f64>; 3]> = cases.iter().map(|_| Default::default()).collect();
    for _ in 0..ROUNDS {
        for ((c, o), cpu) in cases.iter().zip(out.iter_mut()).zip(cpu.iter_mut()) {
            let mut w = Vec::with_capacity(per_round);
            let before = c.pid.and_then(bench::process_cpu_seconds);
            for _ in 0..per_round {
                let t = Instant::now();
                c.api.invoke(c.event.clone(), TIMEOUT).await?;
                w.push(ms(t.elapsed()));
            }
            let after = c.pid.and_then(bench::process_cpu_seconds);
            let [cw, cr, cs] = cpu;
            cw.extend(
                after
                    .zip(before)
                    .map(|(a, b)| 1000.0 * (a - b) / per_round as f64),
            );
            let f = env.floors.time(Floor::Raw, &c.requests, per_round).await?;
            let fs = env.floors.time(Floor::Sdk, &c.requests, per_round).await?;
            cr.extend(f.cpu_ms);
            cs.extend(fs.cpu_ms);
            let (f, fs) = (f.ms, fs.ms);
            o.round_warm.extend(bench::median(&w));
            o.round_raw.extend(bench::median(&f));
            o.round_sdk.extend(bench::median(&fs));
            o.warm.extend(w);
            o.raw.extend(f);
            o.sdk.extend(fs);
        }
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    for (o, [cw, cr, cs]) in out.iter_mut().zip(&cpu) {
        o.ratio_raw = bench::median_ratio(&o.round_warm, &o.round_raw);
        o.ratio_sdk = bench::median_ratio(&o.round_warm, &o.round_sdk);
        o.cpu_warm = mean(cw);
        o.cpu_raw = mean(cr);
        o.cpu_sdk = mean(cs);
    }
    Ok(out)
}

async fn measure(bin_dir: &Path, env: &Env, ep: &Endpoint, n: usize) -> Result<Measured> {
    let bin = bootstrap(bin_dir, ep.function);
    let event = Bytes::from(serde_json::to_vec(&ep.event)?);
    // Requests through the recording proxy: the first invocation and a repeat.
    let proxy = Proxy::start(&env.endpoint, Duration::from_millis(25)).await?;
    let api = RuntimeApi::start().await?;
    let mut child = spawn(&bin, &api, env, &proxy.url())?;
    wait_ready(&api, &mut child).await?;
    proxy.take();
    let status_first = status_of(&api.invoke(event.clone(), TIMEOUT).await?);
    let first = proxy.take();
    let status_steady = status_of(&api.invoke(event.clone(), TIMEOUT).await?);
    let steady = proxy.take();
    if std::env::var_os("BENCH_TRACE").is_some() {
        for r in &steady {
            eprintln!("  {} {:.3}..{:.3} ms", r.operation(), r.start_ms, r.end_ms);
        }
    }
    let _ = child.kill().await;
    drop(api);
    // Warm latency straight to DynamoDB, and the two floors (the same requests
    // replayed raw, and made with the SDK), interleaved in rounds so that a change
    // of machine load hits all three alike; the ratios are medians over the rounds.
    let api = RuntimeApi::start().await?;
    let mut child = spawn(&bin, &api, env, &env.endpoint)?;
    wait_ready(&api, &mut child).await?;
    let il = interleaved(&api, child.id(), &event, env, &steady, n).await?;
    let rss_kib = child.id().and_then(peak_rss_kib);
    let _ = child.kill().await;
    Ok(Measured {
        label: ep.label.clone(),
        function: ep.function,
        status_first,
        status_steady,
        first,
        steady,
        warm: summarize(&il.warm),
        floor: summarize(&il.raw),
        floor_sdk: summarize(&il.sdk),
        ratio_raw: il.ratio_raw,
        ratio_sdk: il.ratio_sdk,
        cpu: [il.cpu_warm, il.cpu_sdk, il.cpu_raw],
        rss_kib,
    })
}

fn api_event(root: &Path, name: &str, token: &str, query: Option<&str>) -> Result<Value> {
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

async fn new_user(ctx: &Ctx, tag: &str, n: usize) -> Result<(i64, String)> {
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

async fn earn(ctx: &Ctx, user: i64, count: usize, tag: &str) -> Result<()> {
    for i in 0..count {
        let kind = if i % 5 == 4 {
            "affiliate_earning"
        } else {
            "product_earning"
        };
        let e = json!({"kind": kind, "event_id": format!("{tag}-{user}-{i}"), "user_id": user,
                       "amount": 100 + i as i64, "title": "Bench earning", "hold_seconds": 0});
        let r = apply_event_value(ctx, &e).await;
        if r.status == shared::ledger::apply::EventStatus::Rejected {
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
async fn bulk_history(ctx: &Ctx, user: i64, count: i64) -> Result<()> {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    use shared::db::keys;
    use shared::db::model::{Deltas, Entry};
    let now = chrono::Utc::now().timestamp();
    let item = |seq: i64| {
        Entry {
            id: 4_000_000_000_000 + user * 1_000_000 + seq,
            user_id: user,
            entry_type: shared::ledger::EntryType::ProductEarning,
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
        }
        .to_item(keys::public_entry_sk(seq))
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

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let started = Instant::now();
    let (n_cold, n_warm, history) = if args.quick {
        (3, 20, 25)
    } else {
        (30, 500, 40)
    };
    let n_warm = args.warm.unwrap_or(n_warm);
    let n_cold = args.cold.unwrap_or(n_cold);
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .context("AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local")?;
    if !endpoint.starts_with("http://127.0.0.1") && !endpoint.starts_with("http://localhost") {
        bail!("AWS_ENDPOINT_URL_DYNAMODB must be on 127.0.0.1, got {endpoint}");
    }
    let table = format!(
        "bench-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp()
    );
    let cert_dir = std::env::temp_dir().join(format!("bench-empty-certs-{}", std::process::id()));
    std::fs::create_dir_all(&cert_dir)?;
    let env = Env {
        floors: sdk_floor::Floors::start(endpoint.clone(), None)?,
        endpoint,
        table: table.clone(),
        cert_dir,
    };
    let config = shared::config::Config::from_lookup(|name| match name {
        "TABLE_NAME" => Some(table.clone()),
        "HOLD_SECONDS" => Some("0".into()),
        other => std::env::var(other).ok(),
    })?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ctx = Ctx::new(aws_sdk_dynamodb::Client::new(&sdk), config);
    shared::db::table::create_table(&ctx.db, &table)
        .await
        .map_err(|e| anyhow!("create_table: {e}"))?;
    eprintln!(
        "bench: table {table}, binaries in {}",
        args.bin_dir.display()
    );

    // Data: a creator with a history, a creator who cashes out, a master with children.
    let (creator, creator_token) = new_user(&ctx, "creator", 0).await?;
    earn(&ctx, creator, history, "hist").await?;
    let (casher, casher_token) = new_user(&ctx, "casher", 0).await?;
    earn(&ctx, casher, 5, "cash").await?;
    let (master, master_token) = new_user(&ctx, "master", 0).await?;
    earn(&ctx, master, 5, "m").await?;
    for c in 0..2 {
        let (child, _) = new_user(&ctx, "child", c).await?;
        earn(&ctx, child, 3, "c").await?;
        shared::links::link(&ctx, master, child)
            .await
            .map_err(|e| anyhow!("link: {e}"))?;
    }
    let (idle, idle_token) = new_user(&ctx, "idle", 0).await?;
    let cold_ledger = json!({"kind": "product_earning", "event_id": "bench-cold-1", "user_id": idle,
                             "amount": 1, "title": "Cold start", "hold_seconds": 3600});
    let root = &args.root;
    let ledger_event = json!({"kind": "product_earning", "event_id": "bench-ledger-1", "user_id": creator,
                              "amount": 550, "title": "Money for a photo", "hold_seconds": 0});
    let deep = format!("page={}&limit=10", history.div_ceil(10));
    let endpoints = vec![
        Endpoint {
            label: "wallet page 1".into(),
            function: "wallet",
            event: api_event(root, "wallet_ok", &creator_token, None)?,
        },
        Endpoint {
            label: format!("wallet deep ({deep})"),
            function: "wallet",
            event: api_event(root, "wallet_ok", &creator_token, Some(&deep))?,
        },
        Endpoint {
            label: "affiliate page 1".into(),
            function: "affiliate",
            event: api_event(root, "affiliate_ok", &creator_token, None)?,
        },
        Endpoint {
            label: "affiliate page 2 (limit=2)".into(),
            function: "affiliate",
            event: api_event(root, "affiliate_ok", &creator_token, Some("page=2&limit=2"))?,
        },
        Endpoint {
            label: "cashout".into(),
            function: "cashout",
            event: api_event(root, "cashout_ok", &casher_token, None)?,
        },
        Endpoint {
            label: "payouts".into(),
            function: "payouts",
            event: api_event(root, "payouts_ok", &casher_token, None)?,
        },
        Endpoint {
            label: "summary".into(),
            function: "summary",
            event: api_event(root, "summary_ok", &creator_token, None)?,
        },
        Endpoint {
            label: "aggregate (2 children)".into(),
            function: "aggregate",
            event: api_event(root, "aggregate_empty_object", &master_token, None)?,
        },
        Endpoint {
            label: "linked-accounts".into(),
            function: "linked-accounts",
            event: api_event(root, "linked-accounts_ok", &master_token, None)?,
        },
        Endpoint {
            label: "ledger (one event)".into(),
            function: "ledger",
            event: ledger_event.clone(),
        },
    ];

    if let Some(other) = &args.compare {
        return compare(&args.bin_dir, other, &env, &endpoints, n_warm).await;
    }
    if args.throttled {
        let idle_cashout = api_event(root, "cashout_ok", &idle_token, None)?;
        let result = throttled::run(
            &args,
            &env,
            &endpoints,
            &idle_cashout,
            &cold_ledger,
            args.cold.unwrap_or(20),
            args.warm.unwrap_or(200),
            !args.shared_budget,
        )
        .await;
        let _ = ctx.db.delete_table().table_name(&table).send().await;
        let _ = std::fs::remove_dir_all(&env.cert_dir);
        return result;
    }

    // Cold starts: the floors and every function, in the same run.
    let hello = Bytes::from_static(br#"{"hello":"bench"}"#);
    let mut colds = Vec::new();
    for name in ["floor_f0", "floor_f1"].into_iter().chain(FUNCTIONS) {
        let bin = bootstrap(&args.bin_dir, name);
        let event = match name {
            // A creator with nothing to cash out, and a duplicate ledger event: the
            // cold runs must not change the data the warm runs read.
            "cashout" => Bytes::from(serde_json::to_vec(&api_event(
                root,
                "cashout_ok",
                &idle_token,
                None,
            )?)?),
            "ledger" => Bytes::from(serde_json::to_vec(&cold_ledger)?),
            "release-holds" | "payout-admin" => {
                Bytes::from(std::fs::read(root.join("events").join(format!(
                    "{}.json",
                    if name == "release-holds" {
                        "release-holds_before_due"
                    } else {
                        "payout-admin_bad_action"
                    }
                )))?)
            }
            _ => endpoints
                .iter()
                .find(|e| e.function == name)
                .map(|e| serde_json::to_vec(&e.event))
                .transpose()?
                .map(Bytes::from)
                .unwrap_or_else(|| hello.clone()),
        };
        eprintln!("bench: cold start {name} x{n_cold}");
        let c = cold(&bin, &env, &event, n_cold).await?;
        colds.push((name, bin, c));
    }

    let mut measured = Vec::new();
    for ep in &endpoints {
        eprintln!("bench: warm {} x{n_warm}", ep.label);
        measured.push(measure(&args.bin_dir, &env, ep, n_warm).await?);
    }
    // The Runtime API exchange alone: the floors' hello-world functions, warm,
    // invoked alternately.
    let mut exchange = Vec::new();
    {
        let names = ["floor_f0", "floor_f1"];
        let mut procs = Vec::new();
        for name in names {
            let api = RuntimeApi::start().await?;
            let mut child = spawn(&bootstrap(&args.bin_dir, name), &api, &env, &env.endpoint)?;
            wait_ready(&api, &mut child).await?;
            for _ in 0..3 {
                api.invoke(hello.clone(), TIMEOUT).await?;
            }
            procs.push((api, child));
        }
        let mut lat = [Vec::with_capacity(n_warm), Vec::with_capacity(n_warm)];
        for i in 0..n_warm {
            for k in [i % 2, 1 - i % 2] {
                if let (Some((api, _)), Some(l)) = (procs.get(k), lat.get_mut(k)) {
                    let t = Instant::now();
                    api.invoke(hello.clone(), TIMEOUT).await?;
                    l.push(ms(t.elapsed()));
                }
            }
        }
        for (_, mut child) in procs {
            let _ = child.kill().await;
        }
        for (name, l) in names.into_iter().zip(&lat) {
            exchange.push((name, summarize(l)));
        }
    }

    // Scaling: aggregate latency with 0, 1, 5, 10 children: one master per case,
    // each case beside its floors (its requests captured by a second process
    // behind the recording proxy), all cases interleaved round by round.
    let n_scale = if args.quick { 10 } else { 200 };
    let scaling = {
        let bin = bootstrap(&args.bin_dir, "aggregate");
        let api = RuntimeApi::start().await?;
        let mut child = spawn(&bin, &api, &env, &env.endpoint)?;
        wait_ready(&api, &mut child).await?;
        let proxy = Proxy::start(&env.endpoint, Duration::from_millis(25)).await?;
        let rec_api = RuntimeApi::start().await?;
        let mut rec_child = spawn(&bin, &rec_api, &env, &proxy.url())?;
        wait_ready(&rec_api, &mut rec_child).await?;
        let mut cases = Vec::new();
        let mut labels = Vec::new();
        let mut linked = 0;
        for (i, target) in [0usize, 1, 5, 10].into_iter().enumerate() {
            let (m, token) = new_user(&ctx, "scale-master", i).await?;
            for _ in 0..target {
                let (c, _) = new_user(&ctx, "scale-child", linked).await?;
                earn(&ctx, c, 2, "sc").await?;
                shared::links::link(&ctx, m, c)
                    .await
                    .map_err(|e| anyhow!("link: {e}"))?;
                linked += 1;
            }
            let event = Bytes::from(serde_json::to_vec(&api_event(
                root,
                "aggregate_empty_object",
                &token,
                None,
            )?)?);
            proxy.take();
            let body = rec_api.invoke(event.clone(), TIMEOUT).await?;
            if status_of(&body) != 200 {
                bail!(
                    "aggregate with {target} children answered {}",
                    status_of(&body)
                );
            }
            cases.push(Case {
                api: &api,
                pid: child.id(),
                event,
                requests: proxy.take(),
            });
            labels.push(format!("aggregate, {target} children"));
        }
        eprintln!("bench: aggregate scaling x{n_scale}");
        let results = interleaved_many(&cases, &env, n_scale).await?;
        let rows = scale_rows(labels, &cases, results);
        let _ = child.kill().await;
        let _ = rec_child.kill().await;
        rows
    };

    // Scaling: wallet page 1 and the last page at several history sizes, beside
    // their floors, interleaved round by round.
    let history_scaling = {
        let sizes: &[i64] = if args.quick {
            &[10, 100, 1_000]
        } else {
            &[10, 1_000, 100_000]
        };
        let bin = bootstrap(&args.bin_dir, "wallet");
        let api = RuntimeApi::start().await?;
        let mut child = spawn(&bin, &api, &env, &env.endpoint)?;
        wait_ready(&api, &mut child).await?;
        let proxy = Proxy::start(&env.endpoint, Duration::from_millis(25)).await?;
        let rec_api = RuntimeApi::start().await?;
        let mut rec_child = spawn(&bin, &rec_api, &env, &proxy.url())?;
        wait_ready(&rec_api, &mut rec_child).await?;
        let mut cases = Vec::new();
        let mut labels = Vec::new();
        for (i, &size) in sizes.iter().enumerate() {
            let (u, token) = new_user(&ctx, "history", i).await?;
            let t = Instant::now();
            bulk_history(&ctx, u, size).await?;
            eprintln!(
                "bench: history of {size} written in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            // The last page at limit 5 (page 2 of the 10-entry history).
            let deep_page = (size / 5).max(2);
            for (what, query) in [
                ("page 1, limit 20".to_owned(), "page=1&limit=20".to_owned()),
                (
                    format!("last page {deep_page}, limit 5"),
                    format!("page={deep_page}&limit=5"),
                ),
            ] {
                let event = Bytes::from(serde_json::to_vec(&api_event(
                    root,
                    "wallet_ok",
                    &token,
                    Some(&query),
                )?)?);
                proxy.take();
                let body = rec_api.invoke(event.clone(), TIMEOUT).await?;
                if status_of(&body) != 200 {
                    bail!("wallet {size} {what} answered {}", status_of(&body));
                }
                cases.push(Case {
                    api: &api,
                    pid: child.id(),
                    event,
                    requests: proxy.take(),
                });
                labels.push(format!("wallet, history {size}, {what}"));
            }
        }
        eprintln!("bench: wallet history scaling x{n_scale}");
        let results = interleaved_many(&cases, &env, n_scale).await?;
        let rows = scale_rows(labels, &cases, results);
        let _ = child.kill().await;
        let _ = rec_child.kill().await;
        rows
    };

    // Ledger throughput: one hot wallet and many wallets, K warm ledger processes.
    let mut load = Vec::new();
    {
        let (events, rounds, ks, many): (usize, usize, &[usize], usize) = if args.quick {
            (40, 1, &[1, 2], 8)
        } else {
            (1000, 3, &[1, 2, 4], 100)
        };
        for wallets in [1, many] {
            for &processes in ks {
                let case = load.len();
                eprintln!("bench: ledger throughput, {wallets} wallet(s), {processes} process(es)");
                let plan = throughput::Plan {
                    wallets,
                    processes,
                    events,
                    rounds,
                };
                load.push(throughput::run(&ctx, &args.bin_dir, &env, &plan, case).await?);
            }
        }
    }

    let report = render(
        &args,
        &env,
        &colds,
        &measured,
        &exchange,
        &scaling,
        &history_scaling,
        &load,
        n_cold,
        n_warm,
        started.elapsed(),
    );
    if let Some(out) = &args.out {
        // Everything from the analysis marker on is written by hand: keep it.
        let kept = std::fs::read_to_string(out)
            .ok()
            .and_then(|old| old.find(ANALYSIS_MARKER).map(|i| old[i..].to_owned()))
            .unwrap_or_else(|| format!("{ANALYSIS_MARKER}\n"));
        let text = format!("{}\n{}\n{kept}", header(&args), report.markdown);
        std::fs::write(out, text).with_context(|| out.display().to_string())?;
        eprintln!("bench: wrote {}", out.display());
    } else {
        println!("{}", report.markdown);
    }
    let _ = ctx.db.delete_table().table_name(&table).send().await;
    let _ = std::fs::remove_dir_all(&env.cert_dir);
    println!("{}", report.summary);
    if report.broken > 0 {
        bail!("{} endpoint(s) did not answer 2xx", report.broken);
    }
    Ok(())
}

const ANALYSIS_MARKER: &str = "<!-- analysis: kept by the bench across runs -->";

fn header(args: &Args) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or("?".into(), |kib| format!("{:.0}", kib / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "# Benchmarks\n\nGenerated by `{}` (bench/; `make bench`).\n\n- date: {}\n- machine: {cpu}, {cores} cores, {mem_gib} GiB, Linux {}\n- binaries: `{}`\n- every bootstrap runs with `SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt` and `SSL_CERT_DIR` an empty folder, against DynamoDB Local on 127.0.0.1\n",
        if args.quick { "scripts/bench.sh --quick" } else { "scripts/bench.sh" },
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        kernel.trim(),
        args.bin_dir.display(),
    )
}

struct Report {
    markdown: String,
    summary: String,
    broken: usize,
}

fn check(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    args: &Args,
    env: &Env,
    colds: &[(&str, PathBuf, Cold)],
    measured: &[Measured],
    exchange: &[(&str, Option<Summary>)],
    scaling: &[ScaleRow],
    history_scaling: &[ScaleRow],
    load: &[throughput::LoadRow],
    n_cold: usize,
    n_warm: usize,
    took: Duration,
) -> Report {
    use std::fmt::Write;
    let mut md = String::new();
    let mut met = 0;
    let mut missed = Vec::new();
    let mut tally = |ok: bool, what: String| {
        if ok {
            met += 1;
        } else {
            missed.push(what);
        }
        check(ok)
    };
    let p50 = |v: &[f64]| bench::percentile(v, 0.5);
    let p90 = |v: &[f64]| bench::percentile(v, 0.9);
    let f0 = colds
        .iter()
        .find(|c| c.0 == "floor_f0")
        .and_then(|c| p50(&c.2.init));
    let f1 = colds
        .iter()
        .find(|c| c.0 == "floor_f1")
        .and_then(|c| p50(&c.2.init));
    let _ = writeln!(md, "## Cold start (spawn to first `GET /runtime/invocation/next`), {n_cold} fresh processes each\n");
    let _ = writeln!(md, "| binary | init p50 ms | init p90 ms | x F0 | x F1 | first invocation p50 ms | p90 ms | bootstrap bytes | zip bytes | peak RSS KiB (after 1st invocation) | target p50 <= 1.25x F1 | zip <= 5 MB |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, bin, c) in colds {
        let ip50 = p50(&c.init);
        let zip = bench::file_size(&args.bin_dir.join(name).join("bootstrap.zip"));
        let floor = name.starts_with("floor");
        let cold_ok = if floor {
            "floor".to_owned()
        } else {
            let r = ip50.zip(f1).and_then(|(a, b)| ratio(a, b));
            tally(r.is_some_and(|r| r <= 1.25), format!("{name} cold start")).to_owned()
        };
        let zip_ok = match zip {
            Some(z) => tally(z <= 5 * 1024 * 1024, format!("{name} zip")).to_owned(),
            None => "no zip".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {cold_ok} | {zip_ok} |",
            fmt_opt(ip50, 2),
            fmt_opt(p90(&c.init), 2),
            fmt_opt(ip50.zip(f0).and_then(|(a, b)| ratio(a, b)), 2),
            fmt_opt(ip50.zip(f1).and_then(|(a, b)| ratio(a, b)), 2),
            fmt_opt(p50(&c.first), 2),
            fmt_opt(p90(&c.first), 2),
            bench::file_size(bin).map_or("-".into(), |s| s.to_string()),
            zip.map_or("-".into(), |s| s.to_string()),
            c.rss_kib.map_or("-".into(), |s| s.to_string()),
        );
    }
    let _ = writeln!(md, "\n## Warm latency ({n_warm} sequential invocations) vs the DynamoDB floors; requests and round trips\n");
    let _ = writeln!(md, "Two floors, both made of exactly the requests the function made for the same invocation (captured by the recording proxy), one round trip after the other and the requests of one round trip concurrently, straight to DynamoDB Local: **SDK floor** = each request made with `aws-sdk-dynamodb` (default client of the environment, the captured body put in place by an interceptor before signing: signed, sent, deserialized by the SDK); **raw floor** = the captured HTTP requests replayed by a keep-alive HTTP client (no SDK, no signing). Both floors run on a thread of their own with a single-threaded tokio runtime, as the functions do. The warm runs and both floors are interleaved in {ROUNDS} rounds; a ratio is the median over the rounds of (warm p50 / floor p50). The target is against the SDK floor.\n");
    let _ = writeln!(md, "| endpoint | status (1st / repeat) | warm p50 ms | p90 | p99 | SDK floor p50 ms | p90 | p99 | raw floor p50 ms | p99 | x SDK floor | x raw floor | target <= 1.2x SDK floor | CPU ms per invocation: function / SDK floor / raw floor | DynamoDB requests (1st) | round trips (1st) | requests / round trips (repeat) | round-trip target | peak RSS KiB after warm run | RSS <= 32 MB |");
    let _ = writeln!(
        md,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let mut broken = 0;
    for m in measured {
        // The repeat of a cashout is refused (nothing left to cash out): a 4xx there
        // is the expected answer, a 5xx is not.
        if !(200..300).contains(&m.status_first) || !(200..500).contains(&m.status_steady) {
            // The ledger answers a plain result, not an HTTP response.
            if m.function != "ledger" {
                broken += 1;
            }
        }
        let w = m.warm;
        let f = m.floor;
        let fs = m.floor_sdk;
        let lat_ok = tally(
            m.ratio_sdk.is_some_and(|r| r <= 1.2),
            format!("{} warm ratio", m.label),
        );
        let rt_first = round_trips(&m.first);
        let rt_steady = round_trips(&m.steady);
        let limit = match m.function {
            "wallet" | "affiliate" if m.label.contains("page 1") => Some(2),
            "wallet" | "affiliate" => Some(3),
            "cashout" | "summary" => Some(3),
            "aggregate" => Some(4),
            _ => None,
        };
        let rt_ok = match limit {
            Some(l) => format!(
                "<= {l}: {}",
                tally(
                    rt_first <= l && rt_steady <= l,
                    format!("{} round trips", m.label)
                )
            ),
            None => "-".into(),
        };
        let rss_ok = match m.rss_kib {
            Some(k) => tally(k <= 32 * 1024, format!("{} RSS", m.function)).to_owned(),
            None => "-".into(),
        };
        let status_steady = if m.function == "ledger" {
            "result".to_owned()
        } else {
            m.status_steady.to_string()
        };
        let status_first = if m.function == "ledger" {
            "result".to_owned()
        } else {
            m.status_first.to_string()
        };
        let _ = writeln!(
            md,
            "| {} | {status_first} / {status_steady} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {lat_ok} | {} / {} / {} | {} ({}) | {rt_first} | {} / {rt_steady} ({}) | {rt_ok} | {} | {rss_ok} |",
            m.label,
            fmt_opt(w.map(|s| s.p50), 2),
            fmt_opt(w.map(|s| s.p90), 2),
            fmt_opt(w.map(|s| s.p99), 2),
            fmt_opt(fs.map(|s| s.p50), 2),
            fmt_opt(fs.map(|s| s.p90), 2),
            fmt_opt(fs.map(|s| s.p99), 2),
            fmt_opt(f.map(|s| s.p50), 2),
            fmt_opt(f.map(|s| s.p99), 2),
            fmt_opt(m.ratio_sdk, 2),
            fmt_opt(m.ratio_raw, 2),
            fmt_opt(m.cpu[0], 2),
            fmt_opt(m.cpu[1], 2),
            fmt_opt(m.cpu[2], 2),
            m.first.len(),
            describe(&m.first),
            m.steady.len(),
            describe(&m.steady),
            m.rss_kib.map_or("-".into(), |k| k.to_string()),
        );
    }
    for (name, s) in exchange {
        let _ = writeln!(
            md,
            "{}Warm `{name}` (a hello-world function: the Runtime API exchange alone, no DynamoDB), {n_warm} invocations alternating with the other floor: p50 {} ms, p90 {} ms, p99 {} ms.",
            if *name == "floor_f0" { "\n" } else { "" },
            fmt_opt(s.map(|s| s.p50), 3),
            fmt_opt(s.map(|s| s.p90), 3),
            fmt_opt(s.map(|s| s.p99), 3),
        );
    }
    let _ = writeln!(md, "\n## Scaling\n");
    let _ = writeln!(md, "Every case beside its floors: the requests of that case (captured by a second process behind the recording proxy) made with the SDK and replayed raw. The cases of a series are interleaved: {ROUNDS} rounds, each running every case (function, raw floor, SDK floor); \"x first case\" is the median over the rounds of (this case's p50 / the first case's p50 in the same round). If the floor grows as much as the function does, the growth is DynamoDB Local's, not the function's.\n");
    let mut worst = 0.0;
    let mut worst_floor = 0.0;
    scale_table(
        &mut md,
        "case",
        scaling,
        |_| 0,
        &mut worst,
        &mut worst_floor,
    );
    if !scaling.is_empty() {
        let ok = tally(worst <= 1.3, "aggregate latency flat".into());
        let _ = writeln!(
            md,
            "\nAggregate latency flat within 1.3x from 0 to 10 children: {ok} (worst {worst:.2}x; its SDK floor grows {worst_floor:.2}x).\n"
        );
    }
    let mut worst_h = 0.0;
    let mut worst_hf = 0.0;
    // Page 1 rows are compared with the first page-1 row, last-page rows with the first last-page row.
    scale_table(
        &mut md,
        "wallet case (x first case: x history 10, same page kind)",
        history_scaling,
        |i| i % 2,
        &mut worst_h,
        &mut worst_hf,
    );
    if !history_scaling.is_empty() {
        let ok = tally(worst_h <= 1.3, "wallet latency flat over history".into());
        let _ = writeln!(md, "\nWallet latency flat within 1.3x over history size: {ok} (worst {worst_h:.2}x; its SDK floor {worst_hf:.2}x). The histories are bulk-written (BatchWriteItem of model entries, `public_count` set directly; balances untouched).");
    }
    if !load.is_empty() {
        let _ = writeln!(md, "\n## Ledger throughput\n");
        let _ = writeln!(md, "Fresh `product_earning` events (no hold) in SQS batches of {} records, fed to K warm `ledger` processes at once (Lambda concurrency K; each process takes the next batch when it has answered the last). Each case: {} round(s) of {} events straight to DynamoDB Local (events/s is the median over the rounds; CPU is CPU seconds / wall seconds during the rounds, medians), then one more round behind the recording proxy (no delay) to count requests, transaction attempts and cancellations. Records a batch answers as failed are delivered again, as SQS would. After the case every wallet's available balance and entry count are checked against the sum and number of the events sent (warm-up events included).\n", throughput::BATCH, load.first().map_or(0, |r| r.rounds), load.first().map_or(0, |r| r.events));
        let _ = writeln!(md, "| wallets | K processes | events/s (median) | min-max | ms per event per process | events/s behind proxy | DynamoDB requests per event | TransactWriteItems per event | TransactionCanceledException | other error answers | records redelivered | DynamoDB Local CPU cores | DynamoDB Local CPU ms per event | ledger processes CPU cores | bench CPU cores | machine busy cores | balances = sums sent |");
        let _ = writeln!(
            md,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for row in load {
            let rate = bench::median(&row.rates);
            let lo = row.rates.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = row.rates.iter().copied().fold(0.0, f64::max);
            // Events of the proxied round (the warm-up events are not counted in the rate,
            // but their requests are in the proxy's log).
            let sent = (row.events + row.processes) as f64;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {lo:.0}-{hi:.0} | {} | {:.0} | {:.2} | {:.3} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.wallets,
                row.processes,
                fmt_opt(rate, 0),
                fmt_opt(rate.map(|r| 1000.0 * row.processes as f64 / r), 2),
                row.proxied_rate,
                row.requests as f64 / sent,
                row.transact_writes as f64 / sent,
                row.cancelled,
                if row.other_errors.is_empty() { "0".to_owned() } else { row.other_errors.join(", ") },
                row.redelivered,
                fmt_opt(bench::median(&row.ddb_cores), 2),
                fmt_opt(bench::median(&row.ddb_ms_per_event()), 2),
                fmt_opt(bench::median(&row.ledger_cores), 2),
                fmt_opt(bench::median(&row.bench_cores), 2),
                fmt_opt(bench::median(&row.machine_cores), 2),
                match &row.verified { Ok(()) => "yes".to_owned(), Err(e) => format!("**no**: {e}") },
            );
        }
    }
    let _ = writeln!(
        md,
        "\nRun: {} mode, binaries {}, DynamoDB {}, {:.0} s.",
        if args.quick { "quick" } else { "full" },
        args.bin_dir.display(),
        env.endpoint,
        took.as_secs_f64()
    );
    let summary = format!(
        "bench: {} binaries cold-started x{n_cold}, {} endpoints x{n_warm} warm; targets met {met}, missed {}{}; {} non-2xx; {:.0} s",
        colds.len(),
        measured.len(),
        missed.len(),
        if missed.is_empty() { String::new() } else { format!(" ({})", missed.join(", ")) },
        broken,
        took.as_secs_f64()
    );
    Report {
        markdown: md,
        summary,
        broken,
    }
}
