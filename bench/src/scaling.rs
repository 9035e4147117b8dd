//! Scaling: aggregate latency with 0, 1, 5, 10 children, and wallet page 1 and
//! the last page at several history sizes. Each case beside its floors (its
//! requests captured by a second process behind the recording proxy), all cases
//! of a series interleaved round by round.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use bench::proxy::{Proxy, Recorded};
use bench::{summarize, Summary};
use bytes::Bytes;
use shared::Ctx;

use crate::data::{api_event, bulk_history, earn, new_user, to_bytes};
use crate::floors::{interleaved_many, Case};
use crate::process::{bootstrap, status_of, Env, Proc};
use crate::warm::round_trips;

/// One case of a scaling series.
pub struct ScaleRow {
    pub label: String,
    pub warm: Option<Summary>,
    pub raw: Option<Summary>,
    pub sdk: Option<Summary>,
    pub ratio_sdk: Option<f64>,
    pub requests: usize,
    pub round_trips: usize,
    /// The p50 of each round (to compare cases round by round).
    pub round_warm: Vec<f64>,
    pub round_raw: Vec<f64>,
    pub round_sdk: Vec<f64>,
}

/// The cases of one function: a warm process straight to DynamoDB (timed) and
/// one behind the recording proxy (to capture each case's requests).
struct Series {
    proc: Proc,
    rec: Proc,
    proxy: Proxy,
    /// (label, event, requests) of each case.
    cases: Vec<(String, Bytes, Vec<Recorded>)>,
}

impl Series {
    async fn start(bin_dir: &Path, env: &Env, function: &str) -> Result<Self> {
        let bin = bootstrap(bin_dir, function);
        let proc = Proc::warm(&bin, env, &env.endpoint).await?;
        let proxy = Proxy::start(&env.endpoint, Duration::from_millis(25)).await?;
        let rec = Proc::warm(&bin, env, &proxy.url()).await?;
        Ok(Self {
            proc,
            rec,
            proxy,
            cases: Vec::new(),
        })
    }

    /// Adds a case, capturing its requests; it must answer 200.
    async fn add(&mut self, label: String, event: Bytes) -> Result<()> {
        self.proxy.take();
        let body = self.rec.invoke(&event).await?;
        if status_of(&body) != 200 {
            bail!("{label} answered {}", status_of(&body));
        }
        let requests = self.proxy.take();
        self.cases.push((label, event, requests));
        Ok(())
    }

    /// All cases, `n` warm invocations each, interleaved with their floors.
    async fn run(self, env: &Env, n: usize) -> Result<Vec<ScaleRow>> {
        let cases: Vec<Case<'_>> = self
            .cases
            .iter()
            .map(|(_, event, requests)| Case {
                proc: &self.proc,
                event: event.clone(),
                requests: requests.clone(),
            })
            .collect();
        let results = interleaved_many(&cases, env, n).await?;
        let rows = self
            .cases
            .iter()
            .zip(results)
            .map(|((label, _, requests), il)| ScaleRow {
                label: label.clone(),
                warm: summarize(&il.warm),
                raw: summarize(&il.raw),
                sdk: summarize(&il.sdk),
                ratio_sdk: il.ratio_sdk,
                requests: requests.len(),
                round_trips: round_trips(requests),
                round_warm: il.round_warm,
                round_raw: il.round_raw,
                round_sdk: il.round_sdk,
            })
            .collect();
        drop(cases);
        self.proc.kill().await;
        self.rec.kill().await;
        Ok(rows)
    }
}

/// Aggregate latency with 0, 1, 5, 10 children: one master per case.
pub async fn aggregate(
    ctx: &Ctx,
    root: &Path,
    bin_dir: &Path,
    env: &Env,
    n: usize,
) -> Result<Vec<ScaleRow>> {
    let mut series = Series::start(bin_dir, env, "aggregate").await?;
    let mut linked = 0;
    for (i, target) in [0usize, 1, 5, 10].into_iter().enumerate() {
        let (m, token) = new_user(ctx, "scale-master", i).await?;
        for _ in 0..target {
            let (c, _) = new_user(ctx, "scale-child", linked).await?;
            earn(ctx, c, 2, "sc").await?;
            shared::services::links::link(ctx, m, c)
                .await
                .map_err(|e| anyhow!("link: {e}"))?;
            linked += 1;
        }
        let event = to_bytes(&api_event(root, "aggregate_empty_object", &token, None)?)?;
        series
            .add(format!("aggregate, {target} children"), event)
            .await?;
    }
    eprintln!("bench: aggregate scaling x{n}");
    series.run(env, n).await
}

/// Wallet page 1 and the last page at each history size of `sizes`.
pub async fn history(
    ctx: &Ctx,
    root: &Path,
    bin_dir: &Path,
    env: &Env,
    sizes: &[i64],
    n: usize,
) -> Result<Vec<ScaleRow>> {
    let mut series = Series::start(bin_dir, env, "wallet").await?;
    for (i, &size) in sizes.iter().enumerate() {
        let (u, token) = new_user(ctx, "history", i).await?;
        let t = Instant::now();
        bulk_history(ctx, u, size).await?;
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
            let event = to_bytes(&api_event(root, "wallet_ok", &token, Some(&query))?)?;
            series
                .add(format!("wallet, history {size}, {what}"), event)
                .await?;
        }
    }
    eprintln!("bench: wallet history scaling x{n}");
    series.run(env, n).await
}
