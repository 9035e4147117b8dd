//! The floors a function is measured beside: the DynamoDB floors (the requests
//! it made, made again with the SDK and replayed raw, `bench::sdk_floor`),
//! interleaved with its warm invocations in [`ROUNDS`] rounds, and the Runtime
//! API exchange alone (the hello-world floors F0 and F1, warm).

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use bench::proxy::Recorded;
use bench::sdk_floor::Floor;
use bench::{summarize, Summary};
use bytes::Bytes;

use crate::cold::{FLOORS, HELLO};
use crate::process::{alternate, bootstrap, status_of, Env, Proc, ROUNDS};

/// Warm invocations of an event on a warm process, and the raw and SDK floors of
/// its requests, interleaved in [`ROUNDS`] rounds of `n / ROUNDS` each.
#[derive(Default)]
pub struct Interleaved {
    pub warm: Vec<f64>,
    pub raw: Vec<f64>,
    pub sdk: Vec<f64>,
    /// Medians over the rounds of warm p50 / floor p50.
    pub ratio_raw: Option<f64>,
    pub ratio_sdk: Option<f64>,
    /// The p50 of each round.
    pub round_warm: Vec<f64>,
    pub round_raw: Vec<f64>,
    pub round_sdk: Vec<f64>,
    /// CPU milliseconds per invocation of the function process, and per replay of
    /// each floor's thread.
    pub cpu_warm: Option<f64>,
    pub cpu_raw: Option<f64>,
    pub cpu_sdk: Option<f64>,
}

/// One member of a series for [`interleaved_many`].
pub struct Case<'a> {
    pub proc: &'a Proc,
    pub event: Bytes,
    /// The requests the function makes for `event` (captured by the proxy).
    pub requests: Vec<Recorded>,
}

/// [`interleaved_many`] of one case.
pub async fn interleaved(case: Case<'_>, env: &Env, n: usize) -> Result<Interleaved> {
    interleaved_many(std::slice::from_ref(&case), env, n)
        .await?
        .pop()
        .ok_or_else(|| anyhow!("no case"))
}

/// CPU milliseconds per invocation, summed over rounds: function, raw, SDK.
type Cpu = [Vec<f64>; 3];

/// Every round runs every case (warm, raw floor, SDK floor), so all cases of
/// the series see the same machine load.
pub async fn interleaved_many(cases: &[Case<'_>], env: &Env, n: usize) -> Result<Vec<Interleaved>> {
    for c in cases {
        for _ in 0..3 {
            let body = c.proc.invoke(&c.event).await?;
            let status = status_of(&body);
            if status >= 500 {
                bail!("answered {status}: {}", String::from_utf8_lossy(&body));
            }
        }
    }
    let per_round = n.div_ceil(ROUNDS).max(1);
    let mut out: Vec<Interleaved> = cases.iter().map(|_| Interleaved::default()).collect();
    let mut cpu: Vec<Cpu> = cases.iter().map(|_| Cpu::default()).collect();
    for _ in 0..ROUNDS {
        for ((c, o), cpu) in cases.iter().zip(out.iter_mut()).zip(cpu.iter_mut()) {
            round(c, env, per_round, o, cpu).await?;
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

/// One round of one case: `per_round` warm invocations, then as many replays of
/// each floor.
async fn round(
    c: &Case<'_>,
    env: &Env,
    per_round: usize,
    o: &mut Interleaved,
    [cw, cr, cs]: &mut Cpu,
) -> Result<()> {
    let mut w = Vec::with_capacity(per_round);
    let before = c.proc.pid().and_then(bench::process_cpu_seconds);
    for _ in 0..per_round {
        w.push(c.proc.timed(&c.event).await?);
    }
    let after = c.proc.pid().and_then(bench::process_cpu_seconds);
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
    Ok(())
}

/// The Runtime API exchange alone: the floors' hello-world functions, warm,
/// invoked alternately `n` times each.
pub async fn exchange(
    bin_dir: &Path,
    env: &Env,
    n: usize,
) -> Result<Vec<(&'static str, Option<Summary>)>> {
    let bins: Vec<_> = FLOORS.iter().map(|f| bootstrap(bin_dir, f)).collect();
    let lat = alternate(&bins, env, &Bytes::from_static(HELLO), 3, n).await?;
    Ok(FLOORS
        .into_iter()
        .zip(&lat)
        .map(|(name, l)| (name, summarize(l)))
        .collect())
}
