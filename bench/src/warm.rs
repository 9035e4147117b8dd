//! Warm latency of every endpoint beside its DynamoDB floors, the requests and
//! round trips of its first invocation and of a repeat (behind the recording
//! proxy), its peak RSS; and `--compare`, a paired A/B of two builds.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use bench::proxy::{Proxy, Recorded};
use bench::{fmt_opt, peak_rss_kib, ratio, summarize, Summary};

use crate::data::Endpoint;
use crate::floors::{interleaved, Case};
use crate::process::{alternate, bootstrap, status_of, Env, Proc};

pub struct Measured {
    pub label: String,
    pub function: &'static str,
    pub status_first: i64,
    pub status_steady: i64,
    pub first: Vec<Recorded>,
    pub steady: Vec<Recorded>,
    pub warm: Option<Summary>,
    /// The raw replay of the captured requests.
    pub floor: Option<Summary>,
    /// The same requests made with the SDK.
    pub floor_sdk: Option<Summary>,
    /// Median over the rounds of warm p50 / floor p50.
    pub ratio_raw: Option<f64>,
    pub ratio_sdk: Option<f64>,
    /// CPU ms per invocation of the function, per replay of the SDK and raw floors.
    pub cpu: [Option<f64>; 3],
    pub rss_kib: Option<u64>,
}

/// The operations of `reqs`, in order.
pub fn describe(reqs: &[Recorded]) -> String {
    reqs.iter()
        .map(|r| r.operation().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn round_trips(reqs: &[Recorded]) -> usize {
    let iv: Vec<(f64, f64)> = reqs.iter().map(|r| (r.start_ms, r.end_ms)).collect();
    bench::sequential_round_trips(&iv)
}

/// A process behind a recording proxy: the first invocation and a repeat.
/// Returns (status, requests) of each.
async fn capture(bin: &Path, env: &Env, event: &bytes::Bytes) -> Result<[(i64, Vec<Recorded>); 2]> {
    let proxy = Proxy::start(&env.endpoint, Duration::from_millis(25)).await?;
    let proc = Proc::warm(bin, env, &proxy.url()).await?;
    proxy.take();
    let status_first = status_of(&proc.invoke(event).await?);
    let first = proxy.take();
    let status_steady = status_of(&proc.invoke(event).await?);
    let steady = proxy.take();
    if std::env::var_os("BENCH_TRACE").is_some() {
        for r in &steady {
            eprintln!("  {} {:.3}..{:.3} ms", r.operation(), r.start_ms, r.end_ms);
        }
    }
    proc.kill().await;
    Ok([(status_first, first), (status_steady, steady)])
}

pub async fn measure(bin_dir: &Path, env: &Env, ep: &Endpoint, n: usize) -> Result<Measured> {
    let bin = bootstrap(bin_dir, ep.function);
    let event = ep.bytes()?;
    let [(status_first, first), (status_steady, steady)] = capture(&bin, env, &event).await?;
    // Warm latency straight to DynamoDB, and the two floors (the same requests
    // replayed raw, and made with the SDK), interleaved in rounds so that a change
    // of machine load hits all three alike; the ratios are medians over the rounds.
    let proc = Proc::warm(&bin, env, &env.endpoint).await?;
    let case = Case {
        proc: &proc,
        event,
        requests: steady.clone(),
    };
    let il = interleaved(case, env, n).await?;
    let rss_kib = proc.pid().and_then(peak_rss_kib);
    proc.kill().await;
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

/// Every endpoint, warm, `n` times.
pub async fn run(
    bin_dir: &Path,
    env: &Env,
    endpoints: &[Endpoint],
    n: usize,
) -> Result<Vec<Measured>> {
    let mut measured = Vec::new();
    for ep in endpoints {
        eprintln!("bench: warm {} x{n}", ep.label);
        measured.push(measure(bin_dir, env, ep, n).await?);
    }
    Ok(measured)
}

/// `--compare`: for each endpoint one warm process of `a_dir`'s binary and one of
/// `b_dir`'s, invoked alternately `n` times (so both see the same machine load);
/// prints the p50s and their ratio.
pub async fn compare(
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
        let bins = [bootstrap(a_dir, ep.function), bootstrap(b_dir, ep.function)];
        let lat = alternate(&bins, env, &ep.bytes()?, 5, n).await?;
        let p50 = |i: usize| lat.get(i).and_then(|l| bench::median(l));
        let (pa, pb) = (p50(0), p50(1));
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
