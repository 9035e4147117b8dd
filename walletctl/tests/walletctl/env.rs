//! `walletctl` as an operator runs it: the real binary, on a table of its own
//! in DynamoDB Local (or against a dead endpoint, for what needs none), and
//! the function binaries that `serve` and `invoke` run beside it.

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use tests::dynamo::TestCtx;

const FUNCTIONS: &[&str] = &[
    "wallet",
    "affiliate",
    "cashout",
    "payouts",
    "ledger",
    "payout-admin",
    "release-holds",
];

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn walletctl() -> &'static str {
    env!("CARGO_BIN_EXE_walletctl")
}

pub fn bin_dir() -> PathBuf {
    Path::new(walletctl())
        .parent()
        .expect("target dir")
        .to_path_buf()
}

/// Builds the function binaries (once per test run) into walletctl's folder.
pub fn build_functions() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        for args in [
            &["build", "--workspace", "--bins"][..],
            &["build", "-p", "walletctl", "--example", "probe_function"][..],
        ] {
            let mut cmd = Command::new(&cargo);
            cmd.args(args).current_dir(root());
            if bin_dir().ends_with("release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build");
            assert!(status.success(), "cargo {args:?} failed");
        }
    });
    for name in FUNCTIONS {
        assert!(
            bin_dir().join(name).is_file(),
            "the function binary {name} is missing in {}",
            bin_dir().display()
        );
    }
}
static TABLES: AtomicUsize = AtomicUsize::new(0);

/// The environment of one test: a table of its own in DynamoDB Local.
pub struct Env {
    pub table: String,
    pub endpoint: String,
}

impl Env {
    /// A table of its own, created through the CLI.
    pub fn new() -> Self {
        let env = Self::with_endpoint(tests::dynamo::endpoint());
        assert_eq!(
            env.ok(&["table", "create"]),
            json!({"table": env.table, "created": true})
        );
        env
    }

    /// For tests that don't need DynamoDB Local (the endpoint may be a dead one).
    pub fn with_endpoint(endpoint: String) -> Self {
        assert!(endpoint.starts_with("http://127.0.0.1:"));
        let table = format!(
            "w{}-{}",
            std::process::id(),
            TABLES.fetch_add(1, Ordering::SeqCst)
        );
        Self { table, endpoint }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(walletctl());
        cmd.args(args)
            .current_dir(root())
            .env("TABLE_NAME", &self.table)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a command (no standard input).
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run walletctl")
    }

    /// Runs a command with `stdin` as its standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn walletctl");
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(stdin.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("walletctl output")
    }

    /// A command that must succeed: its stdout as JSON.
    pub fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "walletctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("stdout is JSON")
    }

    /// A command that must fail: its stderr (it prints nothing on stdout).
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "walletctl {args:?} should fail");
        assert!(
            out.stdout.is_empty(),
            "a failed command prints nothing on stdout"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// A command that must fail with `part` in its message.
    pub fn refuses(&self, args: &[&str], part: &str) {
        let stderr = self.fails(args);
        assert!(stderr.contains(part), "walletctl {args:?}: {stderr}");
    }

    /// `user create` of "Ann Lee" (with payout details, if given): the user
    /// id and the session token.
    pub fn user(&self, email: &str, currency: &str, payout_details: Option<&str>) -> (i64, String) {
        let args = user_create(email, "Ann Lee", currency, payout_details);
        let out = self.ok(&args);
        let id = out["user_id"].as_i64().expect("user_id");
        let token = out["token"].as_str().expect("token").to_owned();
        let token_id = token.split('|').next().unwrap_or("");
        assert!(token.starts_with(&format!("{token_id}|")));
        (id, token)
    }

    /// Applies events (a JSON array) from a file; each must be applied.
    pub fn events(&self, events: &Value) {
        let file = TempFile::new("events.json", &events.to_string());
        let out = self.ok(&["event", file.path_str()]);
        for result in out.as_array().expect("results") {
            assert_eq!(result["status"], "applied", "{result}");
        }
    }

    /// The library on the same table, for what the CLI does not do.
    pub fn ctx(&self) -> TestCtx {
        TestCtx::on_table(domain::config::Config::for_table(self.table.clone()))
    }
}

/// The arguments of `user create`.
pub fn user_create<'a>(
    email: &'a str,
    display_name: &'a str,
    currency: &'a str,
    payout_details: Option<&'a str>,
) -> Vec<&'a str> {
    let mut args = vec![
        "user",
        "create",
        "--email",
        email,
        "--display-name",
        display_name,
        "--currency",
        currency,
    ];
    if let Some(details) = payout_details {
        args.extend(["--payout-details", details]);
    }
    args
}

/// Valid USD payout details, as `--payout-details` takes them.
pub const USD_DETAILS: &str = r#"{"account_number":"000123456789","routing_number":"110000000"}"#;

/// A file in a folder of its own, removed on drop.
pub struct TempFile {
    pub dir: PathBuf,
    pub path: PathBuf,
}

impl TempFile {
    pub fn new(name: &str, content: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "walletctl-e2e-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, content).expect("write temp file");
        Self { dir, path }
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().expect("utf-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
