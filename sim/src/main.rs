//! `sim`: a deterministic, seeded simulator that drives the real handlers
//! against DynamoDB Local (optionally through a fault-injecting proxy) and
//! checks SPEC section 5 against an independent model after every step.
//!
//! `cargo run -p sim -- --seed N --steps M [--creators K] [--faults] [--restarts JAR_DIR]`

mod driver;
mod dynamo;
mod faults;
mod model;

use std::process::ExitCode;

#[derive(Debug, Clone)]
pub struct Args {
    pub seed: u64,
    pub steps: u64,
    pub creators: usize,
    pub faults: bool,
    /// Run a DynamoDB Local of its own (data on disk, jar in this folder)
    /// and kill/restart it on a seeded schedule.
    pub restarts: Option<std::path::PathBuf>,
    pub verbose: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seed: 1,
        steps: 200,
        creators: 6,
        faults: false,
        restarts: None,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a non-negative integer"))
        };
        match a.as_str() {
            "--seed" => args.seed = value("--seed")?,
            "--steps" => args.steps = value("--steps")?,
            "--creators" => {
                args.creators = usize::try_from(value("--creators")?)
                    .map_err(|e| e.to_string())?
                    .clamp(1, 50)
            }
            "--faults" => args.faults = true,
            "--restarts" => {
                args.restarts = Some(it.next().map(Into::into).ok_or(
                    "--restarts needs the folder of DynamoDBLocal.jar (scripts/dynamodb-local.sh jar-dir)",
                )?)
            }
            "--verbose" | "-v" => args.verbose = true,
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: sim --seed N --steps M [--creators K] [--faults] [--restarts JAR_DIR] [--verbose]"
                ))
            }
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tokio: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(driver::run(args)) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("simulate: setup failed: {e:#}");
            ExitCode::from(2)
        }
    }
}
