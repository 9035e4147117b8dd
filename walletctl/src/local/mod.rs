//! The local Lambda runtime: `walletctl serve` (the HTTP API of `template.yaml`
//! on 127.0.0.1, like `sam local start-api`) and `walletctl invoke` (one event,
//! like `sam local invoke`), without Docker. Both run the real function
//! binaries behind an emulated Lambda Runtime API (the `lambda-local` crate).

pub mod docs;
pub mod invoke;
pub mod schedule;
pub mod serve;
pub mod template;

use anyhow::{anyhow, bail, Context, Result};
use lambda_local::FunctionSpec;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use template::{Function, LocalSettings, Template, LOCAL_ACCOUNT_ID};

/// Variables passed from `walletctl`'s environment to every function when set.
pub const PASS_THROUGH: &[&str] = &[
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_EC2_METADATA_DISABLED",
    "RUST_LOG",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// How a template function runs locally: its binary in `bin_dir`, the
/// template's `Environment` (resolved) with the pass-through variables of
/// `host_env` (`walletctl`'s own environment) applied.
pub fn function_spec(
    function: &Function,
    bin_dir: &Path,
    region: &str,
    host_env: impl Fn(&str) -> Option<String>,
) -> FunctionSpec {
    let mut environment = function.environment.clone();
    for name in PASS_THROUGH {
        if let Some(value) = host_env(name) {
            environment.insert((*name).to_owned(), value);
        }
    }
    FunctionSpec {
        name: function.logical_id.clone(),
        binary: function.binary.clone(),
        path: bin_dir.join(&function.binary),
        task_root: bin_dir.to_path_buf(),
        handler: function.handler.clone(),
        timeout: function.timeout,
        memory_mb: function.memory_mb,
        region: region.to_owned(),
        account_id: LOCAL_ACCOUNT_ID.to_owned(),
        environment,
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn functions_get_the_template_environment_and_the_pass_through_variables() {
        let function = Function {
            logical_id: "WalletFunction".to_owned(),
            binary: "wallet".to_owned(),
            handler: "bootstrap".to_owned(),
            timeout: Duration::from_secs(10),
            memory_mb: 128,
            environment: BTreeMap::from([
                ("TABLE_NAME".to_owned(), "t1".to_owned()),
                ("RUST_LOG".to_owned(), "info".to_owned()),
                ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), "spoofed".to_owned()),
            ]),
            routes: Vec::new(),
            schedules: Vec::new(),
        };
        let host = |name: &str| match name {
            "RUST_LOG" => Some("debug".to_owned()),
            "AWS_ENDPOINT_URL_DYNAMODB" => Some("http://127.0.0.1:8000".to_owned()),
            "HOME" => Some("/root".to_owned()),
            _ => None,
        };
        let spec = function_spec(&function, Path::new("/bin-dir"), "us-east-1", host);
        assert_eq!(spec.path, Path::new("/bin-dir/wallet"));
        let env: BTreeMap<String, String> = spec
            .process_env("127.0.0.1:9001", Some("/usr/bin".to_owned()))
            .into_iter()
            .collect();
        let get = |k: &str| env.get(k).map(String::as_str);
        assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), Some("WalletFunction"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), Some("128"));
        assert_eq!(get("_HANDLER"), Some("bootstrap"));
        assert_eq!(get("LAMBDA_TASK_ROOT"), Some("/bin-dir"));
        assert_eq!(get("TABLE_NAME"), Some("t1"));
        assert_eq!(get("RUST_LOG"), Some("debug"), "pass-through wins");
        assert_eq!(
            get("AWS_ENDPOINT_URL_DYNAMODB"),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(get("HOME"), None, "nothing else leaks in");
        assert_eq!(
            spec.arn(),
            "arn:aws:lambda:us-east-1:123456789012:function:WalletFunction"
        );
    }
}
