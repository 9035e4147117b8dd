//! Cold starts: spawn to the first `GET /runtime/invocation/next` (the init),
//! then the first invocation, of fresh processes of every binary and of the
//! floors F0 and F1, in the same run.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use bench::{ms, peak_rss_kib};
use bytes::Bytes;

use crate::cli::Args;
use crate::data::{to_bytes, Data};
use crate::process::{bootstrap, Env, Proc};

/// The function binaries, in the order of the report.
pub const FUNCTIONS: [&str; 10] = [
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

/// The hello-world floors (`src/bin/floor_f*.rs`).
pub const FLOORS: [&str; 2] = ["floor_f0", "floor_f1"];

/// The event the floors get.
pub const HELLO: &[u8] = br#"{"hello":"bench"}"#;

#[derive(Default)]
pub struct Cold {
    /// Spawn to the first poll, ms.
    pub init: Vec<f64>,
    /// The first invocation, ms.
    pub first: Vec<f64>,
    /// Peak RSS after the first invocation of the last start.
    pub rss_kib: Option<u64>,
}

/// A binary's cold starts.
pub struct ColdRun {
    pub name: &'static str,
    pub bin: PathBuf,
    pub cold: Cold,
}

/// One cold start: (init ms, first invocation ms) and the process, still
/// running. A function error answer is still a first invocation.
pub async fn cold_one(
    bin: &Path,
    env: &Env,
    event: &Bytes,
    group: Option<&bench::throttle::CpuCgroup>,
    memory_mb: u32,
) -> Result<(f64, f64, Proc)> {
    let (proc, init) = Proc::cold(bin, env, &env.endpoint, group, memory_mb).await?;
    let t1 = std::time::Instant::now();
    proc.answer(event)
        .await
        .map_err(|e| anyhow!("{}: {e}", bin.display()))?;
    Ok((ms(init), ms(t1.elapsed()), proc))
}

async fn cold(bin: &Path, env: &Env, event: &Bytes, n: usize) -> Result<Cold> {
    let mut out = Cold::default();
    for i in 0..n {
        let (init, first, proc) = cold_one(bin, env, event, None, 128).await?;
        out.init.push(init);
        out.first.push(first);
        if i + 1 == n {
            out.rss_kib = proc.pid().and_then(peak_rss_kib);
        }
        proc.kill().await;
    }
    Ok(out)
}

/// The event of a binary's cold starts. A creator with nothing to cash out, and
/// a ledger event of its own: the cold runs must not change the data the warm
/// runs read.
fn cold_event(args: &Args, data: &Data, name: &str) -> Result<Bytes> {
    let file = |f: &str| -> Result<Bytes> {
        let path = args.root.join("events").join(format!("{f}.json"));
        Ok(Bytes::from(std::fs::read(path)?))
    };
    match name {
        "cashout" => to_bytes(&data.idle_cashout),
        "ledger" => to_bytes(&data.cold_ledger),
        "release-holds" => file("release-holds_before_due"),
        "payout-admin" => file("payout-admin_bad_action"),
        _ => match data.endpoints.iter().find(|e| e.function == name) {
            Some(e) => e.bytes(),
            None => Ok(Bytes::from_static(HELLO)),
        },
    }
}

/// `n` cold starts of the floors and of every function.
pub async fn run(args: &Args, env: &Env, data: &Data, n: usize) -> Result<Vec<ColdRun>> {
    let mut runs = Vec::new();
    for name in FLOORS.into_iter().chain(FUNCTIONS) {
        let bin = bootstrap(&args.bin_dir, name);
        let event = cold_event(args, data, name)?;
        eprintln!("bench: cold start {name} x{n}");
        let cold = cold(&bin, env, &event, n).await?;
        runs.push(ColdRun { name, bin, cold });
    }
    Ok(runs)
}
