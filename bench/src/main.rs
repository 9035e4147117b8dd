//! `cargo run -p bench --release -- [--quick] [--bin-dir DIR] [--out FILE]`
//! (`--throttled`: cold start and warm latency under a Lambda-like CPU quota, see
//! `throttled.rs`; `--compare DIR`: a paired A/B of two builds, see `warm.rs`)
//!
//! Benchmarks every function binary against DynamoDB Local through a Runtime API of
//! its own (see the crate docs and docs/benchmarks.md for what each number means).
//!
//! The binary's modules, by concern: [`cli`] (flags), [`data`] (users and events),
//! [`process`] (a function process and its Runtime API), [`cold`] (cold starts),
//! [`warm`] (warm latency, `--compare`), [`floors`] (the DynamoDB floors beside
//! the warm runs, the Runtime API exchange alone), [`scaling`], [`throughput`]
//! (the ledger), [`throttled`] (`--throttled`), [`report`] (the Markdown).
//! Measurement helpers, the recording proxy, the SDK floor and the cgroups are
//! the library's (`lib.rs`).

use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use bench::sdk_floor;
use shared::Ctx;

mod cli;
mod cold;
mod data;
mod floors;
mod process;
mod report;
mod scaling;
mod throttled;
mod throughput;
mod warm;

use cli::Args;
use process::Env;

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::from_env()?;
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
        table,
        cert_dir,
    };
    let ctx = context(&env).await?;
    eprintln!(
        "bench: table {}, binaries in {}",
        env.table,
        args.bin_dir.display()
    );
    let result = run(&args, &env, &ctx).await;
    let _ = ctx.db.delete_table().table_name(&env.table).send().await;
    let _ = std::fs::remove_dir_all(&env.cert_dir);
    result
}

/// A client of DynamoDB Local for the bench's table of its own, created here.
async fn context(env: &Env) -> Result<Ctx> {
    let config = domain::config::Config::from_lookup(|name| match name {
        "TABLE_NAME" => Some(env.table.clone()),
        "HOLD_SECONDS" => Some("0".into()),
        other => std::env::var(other).ok(),
    })?;
    let db = aws_sdk_dynamodb::Client::from_conf(
        shared::store::local_config(&env.endpoint, "bench").build(),
    );
    let ctx = Ctx::new(db, config);
    shared::store::table::create_table(&ctx.db, &env.table)
        .await
        .map_err(|e| anyhow!("create_table: {e}"))?;
    Ok(ctx)
}

/// The run the flags ask for.
async fn run(args: &Args, env: &Env, ctx: &Ctx) -> Result<()> {
    let started = Instant::now();
    let (n_cold, n_warm, history) = args.counts();
    let data = data::seed(ctx, &args.root, history).await?;
    if let Some(other) = &args.compare {
        return warm::compare(&args.bin_dir, other, env, &data.endpoints, n_warm).await;
    }
    if args.throttled {
        return throttled::run(args, env, &data).await;
    }
    let colds = cold::run(args, env, &data, n_cold).await?;
    let measured = warm::run(&args.bin_dir, env, &data.endpoints, n_warm).await?;
    let exchange = floors::exchange(&args.bin_dir, env, n_warm).await?;
    let n_scale = if args.quick { 10 } else { 200 };
    let scaling = scaling::aggregate(ctx, &args.root, &args.bin_dir, env, n_scale).await?;
    let sizes: &[i64] = if args.quick {
        &[10, 100, 1_000]
    } else {
        &[10, 1_000, 100_000]
    };
    let history_scaling =
        scaling::history(ctx, &args.root, &args.bin_dir, env, sizes, n_scale).await?;
    let load = throughput::run_all(ctx, args, env).await?;

    let results = report::Results {
        colds,
        measured,
        exchange,
        scaling,
        history_scaling,
        load,
        n_cold,
        n_warm,
    };
    let report = report::render(args, &env.endpoint, &results, started.elapsed());
    match &args.out {
        Some(out) => report::write(out, args, &report)?,
        None => println!("{}", report.markdown),
    }
    println!("{}", report.summary);
    if report.broken > 0 {
        bail!("{} endpoint(s) did not answer 2xx", report.broken);
    }
    Ok(())
}
