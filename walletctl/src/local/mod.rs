//! The local Lambda runtime: `walletctl serve` (the HTTP API of `template.yaml`
//! on 127.0.0.1, like `sam local start-api`) and `walletctl invoke` (one event,
//! like `sam local invoke`), without Docker. Both run the real function
//! binaries behind an emulated Lambda Runtime API ([`runtime`]).

pub mod apigw;
pub mod docs;
pub mod invoke;
pub mod runtime;
pub mod schedule;
pub mod serve;
pub mod template;

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use template::{LocalSettings, Template};

/// Options shared by `serve` and `invoke`.
#[derive(clap::Args, Debug, Clone)]
pub struct LocalArgs {
    /// The SAM template.
    #[arg(long, default_value = "template.yaml")]
    pub template: PathBuf,
    /// The folder of the function binaries [default: the folder of walletctl
    /// itself, e.g. target/debug].
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// A template parameter instead of its default, e.g. HoldSeconds=0 (repeatable).
    #[arg(long = "parameter-overrides", value_name = "NAME=VALUE")]
    pub parameter_overrides: Vec<String>,
}

/// What a local run needs: the template, where the binaries are, the settings.
pub struct Local {
    pub template: Template,
    pub bin_dir: PathBuf,
    pub settings: LocalSettings,
}

impl LocalArgs {
    pub fn load(&self) -> Result<Local> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut parameter_overrides = BTreeMap::new();
        for pair in &self.parameter_overrides {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("--parameter-overrides takes NAME=VALUE, not {pair:?}"))?;
            parameter_overrides.insert(name.trim().to_owned(), value.to_owned());
        }
        let settings = LocalSettings {
            table_name: env("TABLE_NAME")
                .unwrap_or_else(|| domain::config::DEFAULT_TABLE_NAME.to_owned()),
            region: env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".to_owned()),
            parameter_overrides,
        };
        if !self.template.is_file() {
            bail!(
                "no SAM template at {} (run walletctl in the project folder, or give --template)",
                self.template.display()
            );
        }
        let template = Template::load(&self.template, &settings)?;
        let bin_dir = match &self.bin_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_exe()
                .context("finding walletctl's own executable")?
                .parent()
                .map(PathBuf::from)
                .ok_or_else(|| anyhow!("walletctl's executable has no folder"))?,
        };
        if !bin_dir.is_dir() {
            bail!("--bin-dir {} is not a folder", bin_dir.display());
        }
        // Absolute: the functions run in it (LAMBDA_TASK_ROOT).
        let bin_dir = std::fs::canonicalize(&bin_dir)
            .with_context(|| format!("resolving {}", bin_dir.display()))?;
        Ok(Local {
            template,
            bin_dir,
            settings,
        })
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
