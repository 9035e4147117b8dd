//! `bench --throttled`: cold start and warm latency of a few functions with the
//! bootstrap process under the CPU quota of a 128 MB and of a 1024 MB Lambda (cgroup
//! v1 `cpu`, CFS quota = period x memory / 1,769 MB), beside the same functions
//! unthrottled in the same run. Only the function process is in a group; the bench,
//! its Runtime API and DynamoDB Local are not. Every process, the unthrottled ones
//! too, is started through the same wrapper (`sh` moves itself into its group, then
//! `exec`s the bootstrap), so the init is throttled from its first instruction and
//! the wrapper's cost is the same in every column. Before each cold start the
//! group's quota is written again, which refills its budget for the current period:
//! every start begins with a whole period's budget, as a fresh sandbox would, not
//! with what the previous start in the same group left (`--shared-budget` skips
//! the refill).

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use bench::throttle::{self, CpuCgroup, PERIOD_US};
use bench::{fmt_opt, percentile, ratio, summarize};
use bytes::Bytes;

use crate::cli::Args;
use crate::cold::{cold_one, HELLO};
use crate::data::{to_bytes, Data, Endpoint};
use crate::process::{bootstrap, status_of, Env, Proc, ROUNDS};

/// The Lambda sizes compared: `None` is the unthrottled column.
const SIZES: [Option<u32>; 3] = [None, Some(1024), Some(128)];

fn size_label(size: Option<u32>) -> String {
    size.map_or("unthrottled".to_owned(), |mb| format!("{mb} MB"))
}

/// A group per size.
struct Groups(Vec<(Option<u32>, CpuCgroup)>);

impl Groups {
    fn create() -> Result<Self> {
        let root = Path::new(throttle::CPU_ROOT);
        if !throttle::writable(root) {
            bail!(
                "--throttled needs a writable cgroup v1 cpu controller at {} (root, cgroup v1)",
                root.display()
            );
        }
        let mut groups = Vec::new();
        for size in SIZES {
            let name = format!(
                "bench-throttle-{}-{}",
                std::process::id(),
                size.map_or("none".to_owned(), |mb| format!("{mb}mb"))
            );
            let quota = size.map(|mb| throttle::quota_us(mb, PERIOD_US));
            let g = CpuCgroup::create(root, &name, quota, PERIOD_US)
                .with_context(|| format!("creating cgroup {name}"))?;
            groups.push((size, g));
        }
        Ok(Self(groups))
    }

    fn get(&self, size: Option<u32>) -> Result<&CpuCgroup> {
        self.0
            .iter()
            .find(|(s, _)| *s == size)
            .map(|(_, g)| g)
            .ok_or_else(|| anyhow!("no group for {size:?}"))
    }
}

/// Throttled periods and periods with the group's process running, over a phase.
#[derive(Default, Clone, Copy)]
struct Throttling {
    periods: u64,
    throttled: u64,
    throttled_ns: u64,
}

impl Throttling {
    fn add(&mut self, before: Option<(u64, u64, u64)>, after: Option<(u64, u64, u64)>) {
        if let (Some(b), Some(a)) = (before, after) {
            self.periods += a.0.saturating_sub(b.0);
            self.throttled += a.1.saturating_sub(b.1);
            self.throttled_ns += a.2.saturating_sub(b.2);
        }
    }

    fn show(&self) -> String {
        format!(
            "{} / {} ({:.0} ms)",
            self.throttled,
            self.periods,
            self.throttled_ns as f64 / 1e6
        )
    }
}

#[derive(Default)]
struct ColdRow {
    init: Vec<f64>,
    first: Vec<f64>,
    throttling: Throttling,
}

#[derive(Default)]
struct WarmRow {
    lat: Vec<f64>,
    /// CPU time of the process over the timed invocations (`/proc/PID/task/*/schedstat`).
    cpu_ns: u64,
    cpu_invocations: usize,
    status_first: i64,
    throttling: Throttling,
}

/// A binary's cold starts, per size.
type ColdSeries<'a> = (&'a str, Vec<(Option<u32>, ColdRow)>);
/// An endpoint's warm invocations, per size.
type WarmSeries<'a> = (&'a str, Vec<(Option<u32>, WarmRow)>);

/// CPU nanoseconds a process has run so far, all its threads (the first field of
/// `/proc/PID/task/TID/schedstat`; finer than the clock ticks of `/proc/PID/stat`).
fn process_cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let text = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// The endpoints measured warm, throttled.
const WARM_LABELS: [&str; 4] = [
    "wallet page 1",
    "cashout",
    "aggregate (2 children)",
    "ledger (one event)",
];

/// `bench --throttled`: `args.cold` cold starts (default 20) per binary and size,
/// `args.warm` warm invocations (default 200) per endpoint and size; prints the
/// report.
pub async fn run(args: &Args, env: &Env, data: &Data) -> Result<()> {
    let (n_cold, n_warm) = (args.cold.unwrap_or(20), args.warm.unwrap_or(200));
    let refill = !args.shared_budget;
    let started = Instant::now();
    let groups = Groups::create()?;
    let bin_dir =
        std::fs::canonicalize(&args.bin_dir).with_context(|| args.bin_dir.display().to_string())?;
    let warm_eps: Vec<&Endpoint> = WARM_LABELS
        .iter()
        .map(|l| {
            data.endpoints
                .iter()
                .find(|e| e.label == *l)
                .ok_or_else(|| anyhow!("no endpoint {l}"))
        })
        .collect::<Result<_>>()?;
    let event_of = |function: &str| -> Result<Bytes> {
        match warm_eps.iter().find(|e| e.function == function) {
            Some(e) => e.bytes(),
            None => Err(anyhow!("no endpoint of {function}")),
        }
    };
    let hello = Bytes::from_static(HELLO);
    let cold_cases: Vec<(&str, Bytes)> = vec![
        ("floor_f0", hello.clone()),
        ("floor_f1", hello),
        ("wallet", event_of("wallet")?),
        // Nothing to cash out (422), as in the main bench.
        ("cashout", to_bytes(&data.idle_cashout)?),
        ("aggregate", event_of("aggregate")?),
        ("ledger", to_bytes(&data.cold_ledger)?),
    ];
    let mut colds: Vec<ColdSeries<'_>> = Vec::new();
    for (name, event) in &cold_cases {
        let bin = bootstrap(&bin_dir, name);
        eprintln!("bench: throttled cold start {name} x{n_cold} per size");
        colds.push((
            name,
            cold_series(&bin, env, event, &groups, n_cold, refill).await?,
        ));
    }
    // Warm: ROUNDS rounds of n_warm / ROUNDS invocations of each size's process.
    let per_round = n_warm.div_ceil(ROUNDS).max(1);
    let mut warms: Vec<WarmSeries<'_>> = Vec::new();
    for ep in &warm_eps {
        eprintln!(
            "bench: throttled warm {} x{} per size",
            ep.label,
            per_round * ROUNDS
        );
        warms.push((
            ep.label.as_str(),
            warm_series(&bin_dir, env, ep, &groups, per_round).await?,
        ));
    }

    print!(
        "{}",
        render(&bin_dir, n_cold, per_round * ROUNDS, refill, &colds, &warms)
    );
    println!(
        "\nRun: binaries {}, DynamoDB {}, {:.0} s.",
        bin_dir.display(),
        env.endpoint,
        started.elapsed().as_secs_f64()
    );
    for (_, g) in groups.0 {
        g.remove()
            .with_context(|| "removing a cgroup of the bench".to_owned())?;
    }
    Ok(())
}

/// `n` cold starts of `bin` per size, the sizes alternating start by start (the
/// order rotated).
async fn cold_series(
    bin: &Path,
    env: &Env,
    event: &Bytes,
    groups: &Groups,
    n: usize,
    refill: bool,
) -> Result<Vec<(Option<u32>, ColdRow)>> {
    let mut rows: Vec<(Option<u32>, ColdRow)> =
        SIZES.iter().map(|&s| (s, ColdRow::default())).collect();
    for i in 0..n {
        for k in 0..rows.len() {
            let idx = (i + k) % rows.len();
            let Some((size, row)) = rows.get_mut(idx) else {
                continue;
            };
            let group = groups.get(*size)?;
            let before = group.stat();
            if refill {
                group.refill()?;
            }
            let (init, first, proc) =
                cold_one(bin, env, event, Some(group), size.unwrap_or(128)).await?;
            proc.kill().await;
            row.throttling.add(before, group.stat());
            row.init.push(init);
            row.first.push(first);
        }
    }
    Ok(rows)
}

/// One warm process of the endpoint per size, each warmed up, then [`ROUNDS`]
/// rounds of `per_round` sequential invocations of each process in turn.
async fn warm_series(
    bin_dir: &Path,
    env: &Env,
    ep: &Endpoint,
    groups: &Groups,
    per_round: usize,
) -> Result<Vec<(Option<u32>, WarmRow)>> {
    let bin = bootstrap(bin_dir, ep.function);
    let event = ep.bytes()?;
    let mut procs = Vec::new();
    for size in SIZES {
        let group = groups.get(size)?;
        let (proc, _) =
            Proc::cold(&bin, env, &env.endpoint, Some(group), size.unwrap_or(128)).await?;
        let mut row = WarmRow::default();
        for w in 0..3 {
            let status = status_of(&proc.invoke(&event).await?);
            if w == 0 {
                row.status_first = status;
            }
            if status >= 500 {
                bail!("{} ({}) answered {status}", ep.label, size_label(size));
            }
        }
        procs.push((size, proc, row));
    }
    for r in 0..ROUNDS {
        for k in 0..procs.len() {
            let idx = (r + k) % procs.len();
            let Some((size, proc, row)) = procs.get_mut(idx) else {
                continue;
            };
            let group = groups.get(*size)?;
            let before = group.stat();
            let cpu_before = proc.pid().and_then(process_cpu_ns);
            for _ in 0..per_round {
                row.lat.push(proc.timed(&event).await?);
            }
            let cpu_after = proc.pid().and_then(process_cpu_ns);
            row.throttling.add(before, group.stat());
            if let Some((a, b)) = cpu_after.zip(cpu_before) {
                row.cpu_ns += a.saturating_sub(b);
                row.cpu_invocations += per_round;
            }
        }
    }
    let mut rows = Vec::new();
    for (size, proc, row) in procs {
        proc.kill().await;
        rows.push((size, row));
    }
    Ok(rows)
}

fn render(
    bin_dir: &Path,
    n_cold: usize,
    n_warm: usize,
    refill: bool,
    colds: &[ColdSeries<'_>],
    warms: &[WarmSeries<'_>],
) -> String {
    use std::fmt::Write;
    let mut md = String::new();
    let p = |v: &[f64], q: f64| percentile(v, q);
    let _ = writeln!(
        md,
        "`bench --throttled`, {}, binaries `{}`. CPU quota per {} us period: {}.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        bin_dir.display(),
        PERIOD_US,
        SIZES
            .iter()
            .flatten()
            .map(|&mb| format!(
                "{mb} MB = {:.4} vCPU = {} us",
                throttle::vcpus(mb),
                throttle::quota_us(mb, PERIOD_US)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(md, "Cold start (spawn of the wrapper to the first `GET /runtime/invocation/next`), {n_cold} fresh processes per binary and size, the sizes alternating; {}:\n", if refill { "each start begins with a refilled budget" } else { "budget shared by consecutive starts in the same group (`--shared-budget`)" });
    let _ = writeln!(md, "| binary | size | init p50 ms | init p90 ms | init p50 x unthrottled | init p50 x F1 (same size) | first invocation p50 ms | p90 ms | first p50 x unthrottled | periods throttled / periods (time throttled) |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    let f1 = colds.iter().find(|c| c.0 == "floor_f1");
    for (name, rows) in colds {
        let base = rows.iter().find(|r| r.0.is_none()).map(|r| &r.1);
        for (size, row) in rows {
            let ip50 = p(&row.init, 0.5);
            let fp50 = p(&row.first, 0.5);
            let f1p50 = f1
                .and_then(|f| f.1.iter().find(|r| r.0 == *size))
                .and_then(|r| p(&r.1.init, 0.5));
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                size_label(*size),
                fmt_opt(ip50, 2),
                fmt_opt(p(&row.init, 0.9), 2),
                fmt_opt(
                    ip50.zip(base.and_then(|b| p(&b.init, 0.5)))
                        .and_then(|(a, b)| ratio(a, b)),
                    2
                ),
                fmt_opt(ip50.zip(f1p50).and_then(|(a, b)| ratio(a, b)), 2),
                fmt_opt(fp50, 2),
                fmt_opt(p(&row.first, 0.9), 2),
                fmt_opt(
                    fp50.zip(base.and_then(|b| p(&b.first, 0.5)))
                        .and_then(|(a, b)| ratio(a, b)),
                    2
                ),
                if size.is_some() {
                    row.throttling.show()
                } else {
                    "-".into()
                },
            );
        }
    }
    let _ = writeln!(md, "\nWarm latency, {n_warm} sequential invocations per size (one warm process per size, {ROUNDS} rounds of {} each, the sizes in turn):\n", n_warm / ROUNDS);
    let _ = writeln!(md, "| endpoint | size | status (1st) | p50 ms | p90 ms | p99 ms | max ms | p50 x unthrottled | p99 x unthrottled | CPU ms per invocation | periods throttled / periods (time throttled) |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, rows) in warms {
        let base = rows
            .iter()
            .find(|r| r.0.is_none())
            .and_then(|r| summarize(&r.1.lat));
        for (size, row) in rows {
            let s = summarize(&row.lat);
            let max = row.lat.iter().copied().fold(f64::NAN, f64::max);
            let cpu = (row.cpu_invocations > 0)
                .then(|| row.cpu_ns as f64 / 1e6 / row.cpu_invocations as f64);
            let _ = writeln!(
                md,
                "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                size_label(*size),
                if label.starts_with("ledger") {
                    "result".to_owned()
                } else {
                    row.status_first.to_string()
                },
                fmt_opt(s.map(|s| s.p50), 2),
                fmt_opt(s.map(|s| s.p90), 2),
                fmt_opt(s.map(|s| s.p99), 2),
                fmt_opt(max.is_finite().then_some(max), 1),
                fmt_opt(s.zip(base).and_then(|(s, b)| ratio(s.p50, b.p50)), 2),
                fmt_opt(s.zip(base).and_then(|(s, b)| ratio(s.p99, b.p99)), 2),
                fmt_opt(cpu, 2),
                if size.is_some() {
                    row.throttling.show()
                } else {
                    "-".into()
                },
            );
        }
    }
    md
}
