//! `walletctl invoke FUNCTION --event FILE`: runs one function binary on one
//! event, like `sam local invoke -e FILE`. The function's response payload is
//! printed on stdout; its logs and the START/END/REPORT lines go to stderr.
//! A function error (what Lambda flags with `X-Amz-Function-Error`: an error
//! posted by the runtime, a timeout, a crash) prints the error payload on
//! stdout, a message on stderr, and exits non-zero.

use super::LocalArgs;
use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use lambda_local::{FunctionRuntime, Outcome};
use serde_json::Value;
use std::io::Read;
use std::process::ExitCode;

#[derive(clap::Args, Debug, Clone)]
pub struct InvokeArgs {
    /// The function: its template logical id (WalletFunction) or binary name (wallet).
    pub function: String,
    /// The event, a JSON file (`-` reads stdin).
    #[arg(long, short = 'e')]
    pub event: String,
    #[command(flatten)]
    pub local: LocalArgs,
}

pub async fn run(args: InvokeArgs) -> Result<(String, ExitCode)> {
    let local = args.local.load()?;
    let function = local.template.function(&args.function).ok_or_else(|| {
        let names: Vec<String> = local
            .template
            .functions
            .iter()
            .map(|f| format!("{} ({})", f.logical_id, f.binary))
            .collect();
        anyhow!(
            "no function {:?} in {}; there are: {}",
            args.function,
            local.template.path.display(),
            names.join(", ")
        )
    })?;
    let event = read_event(&args.event)?;
    let spec = super::function_spec(function, &local.bin_dir, &local.settings.region, |name| {
        std::env::var(name).ok()
    });
    if !spec.path.is_file() {
        bail!(
            "the binary of {} is missing: {} (build it with `cargo build --workspace --bins`, \
             or point --bin-dir at the folder of the function binaries)",
            spec.name,
            spec.path.display()
        );
    }
    let runtime = FunctionRuntime::new(spec, true);

    let invocation = tokio::select! {
        result = runtime.invoke(event) => result,
        () = super::shutdown_signal() => {
            runtime.shutdown().await;
            bail!("interrupted");
        }
    };
    runtime.shutdown().await;
    let invocation = invocation?;
    match invocation.outcome {
        Outcome::Response(body) => Ok((pretty(&body), ExitCode::SUCCESS)),
        Outcome::Error(error) => {
            eprintln!(
                "walletctl: {} reported an error: {}: {}",
                function.logical_id, error.error_type, error.message
            );
            Ok((pretty(&error.payload), ExitCode::FAILURE))
        }
    }
}

fn read_event(source: &str) -> Result<Bytes> {
    let bytes = if source == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the event from stdin")?;
        buf
    } else {
        std::fs::read(source).with_context(|| format!("reading the event {source}"))?
    };
    serde_json::from_slice::<Value>(&bytes)
        .with_context(|| format!("the event {source} is not valid JSON"))?;
    Ok(Bytes::from(bytes))
}

/// JSON pretty-printed like every walletctl command; anything else as text.
fn pretty(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string()),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}
