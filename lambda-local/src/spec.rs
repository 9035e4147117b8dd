//! How a function runs locally: its binary and the environment Lambda gives it.

use crate::ids::random_hex;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A function to run.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// `AWS_LAMBDA_FUNCTION_NAME` (e.g. the template's logical id).
    pub name: String,
    /// The name its logs are prefixed with.
    pub binary: String,
    /// The executable.
    pub path: PathBuf,
    /// `LAMBDA_TASK_ROOT` and the working directory: the folder of the binary.
    pub task_root: PathBuf,
    pub handler: String,
    pub timeout: Duration,
    pub memory_mb: u64,
    pub region: String,
    /// The account of the function's ARN.
    pub account_id: String,
    /// The function's own variables; the Lambda-reserved ones are added at start.
    pub environment: BTreeMap<String, String>,
}

impl FunctionSpec {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account_id, self.name
        )
    }

    /// The whole environment of the process, for a Runtime API at `api`;
    /// `host_path` is the `PATH` to give it (a default when `None`).
    pub fn process_env(&self, api: &str, host_path: Option<String>) -> Vec<(String, String)> {
        let mut env: BTreeMap<String, String> = self.environment.clone();
        let stream = format!(
            "{}/[$LATEST]{}",
            chrono::Utc::now().format("%Y/%m/%d"),
            random_hex(32)
        );
        let root = self.task_root.to_string_lossy().into_owned();
        // The variables Lambda reserves: they win over the function's.
        for (name, value) in [
            ("AWS_LAMBDA_RUNTIME_API", api.to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME", self.name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            ),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_DEFAULT_REGION", self.region.clone()),
            ("_HANDLER", self.handler.clone()),
            ("LAMBDA_TASK_ROOT", root.clone()),
            ("LAMBDA_RUNTIME_DIR", root),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
            (
                "PATH",
                host_path.unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_owned()),
            ),
        ] {
            env.insert(name.to_owned(), value);
        }
        env.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_environment_is_lambdas() {
        let spec = FunctionSpec {
            name: "WalletFunction".to_owned(),
            binary: "wallet".to_owned(),
            path: PathBuf::from("/bin-dir/wallet"),
            task_root: PathBuf::from("/bin-dir"),
            handler: "bootstrap".to_owned(),
            timeout: Duration::from_secs(10),
            memory_mb: 128,
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            environment: BTreeMap::from([
                ("TABLE_NAME".to_owned(), "t1".to_owned()),
                ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), "spoofed".to_owned()),
            ]),
        };
        let env: BTreeMap<String, String> = spec
            .process_env("127.0.0.1:9001", Some("/usr/bin".to_owned()))
            .into_iter()
            .collect();
        let get = |k: &str| env.get(k).map(String::as_str);
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:9001"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), Some("WalletFunction"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_VERSION"), Some("$LATEST"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), Some("128"));
        assert_eq!(get("AWS_REGION"), Some("us-east-1"));
        assert_eq!(get("_HANDLER"), Some("bootstrap"));
        assert_eq!(get("LAMBDA_TASK_ROOT"), Some("/bin-dir"));
        assert_eq!(get("TABLE_NAME"), Some("t1"));
        assert_eq!(get("PATH"), Some("/usr/bin"));
        assert_eq!(get("HOME"), None, "nothing else leaks in");
        assert_eq!(
            spec.arn(),
            "arn:aws:lambda:us-east-1:123456789012:function:WalletFunction"
        );
    }
}
