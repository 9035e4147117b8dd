//! A function process of the bench: the bootstrap started with the Lambda
//! environment (`lambda_local::FunctionSpec`) against a Runtime API of its own
//! (`lambda_local::api::RuntimeApi`), optionally inside a CPU cgroup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use bench::sdk_floor;
use bench::throttle::CpuCgroup;
use bytes::Bytes;
use lambda_local::api::RuntimeApi;
use lambda_local::{FunctionSpec, Outcome};
use serde_json::Value;
use tokio::process::{Child, Command};

/// The longest the bench waits for an init or an answer.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Warm latency and its floors are measured in this many interleaved rounds.
pub const ROUNDS: usize = 5;

/// What every measurement needs.
pub struct Env {
    /// DynamoDB Local.
    pub endpoint: String,
    pub table: String,
    /// An empty folder: the functions' `SSL_CERT_DIR`.
    pub cert_dir: PathBuf,
    /// Both floors, on a thread of their own.
    pub floors: sdk_floor::Floors,
}

/// `DIR/NAME/bootstrap` (cargo-lambda's layout) or `DIR/NAME` (cargo's).
pub fn bootstrap(dir: &Path, name: &str) -> PathBuf {
    let lambda = dir.join(name).join("bootstrap");
    if lambda.is_file() {
        lambda
    } else {
        dir.join(name)
    }
}

/// The `statusCode` of an API Gateway proxy response (0 for anything else).
pub fn status_of(body: &Bytes) -> i64 {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("statusCode").and_then(Value::as_i64))
        .unwrap_or(0)
}

/// `bin` as the function `bench`, against DynamoDB at `endpoint`.
fn spec(bin: &Path, env: &Env, endpoint: &str, memory_mb: u32) -> FunctionSpec {
    let variables = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
        ("TABLE_NAME", &env.table),
        ("HOLD_SECONDS", "0"),
        ("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
        ("SSL_CERT_DIR", &env.cert_dir.to_string_lossy()),
    ];
    FunctionSpec {
        name: "bench".to_owned(),
        binary: bin.display().to_string(),
        path: bin.to_path_buf(),
        task_root: bin.parent().map(Path::to_path_buf).unwrap_or_default(),
        handler: "bootstrap".to_owned(),
        timeout: TIMEOUT,
        memory_mb: memory_mb.into(),
        region: "us-east-1".to_owned(),
        account_id: "123456789012".to_owned(),
        environment: variables
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A running function process and its Runtime API.
pub struct Proc {
    pub api: RuntimeApi,
    pub child: Child,
}

impl Proc {
    /// Starts `bin` (inside `group` when given, through its wrapper, so the process
    /// is in the group from its first instruction), telling the function its
    /// memory size; returns once it asked for work, with the time from spawn to
    /// that first `GET /runtime/invocation/next` (the init).
    pub async fn cold(
        bin: &Path,
        env: &Env,
        endpoint: &str,
        group: Option<&CpuCgroup>,
        memory_mb: u32,
    ) -> Result<(Self, Duration)> {
        let spec = spec(bin, env, endpoint, memory_mb);
        let api = RuntimeApi::start(spec.arn()).await?;
        let mut command = match group {
            Some(g) => {
                let (program, args) = g.wrap(bin);
                let mut c = Command::new(program);
                c.args(args);
                c
            }
            None => Command::new(bin),
        };
        let t0 = Instant::now();
        let mut child = command
            .env_clear()
            .envs(spec.process_env(&api.addr().to_string(), None))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let ready = tokio::select! {
            r = tokio::time::timeout(TIMEOUT, api.first_poll()) => {
                r.map_err(|_| anyhow!("no request for work within {TIMEOUT:?}"))??
            }
            s = child.wait() => {
                return Err(anyhow!("bootstrap exited before asking for work: {s:?}"))
            }
        };
        Ok((Self { api, child }, ready.duration_since(t0)))
    }

    /// [`Proc::cold`] of an unthrottled 128 MB function, init not kept.
    pub async fn warm(bin: &Path, env: &Env, endpoint: &str) -> Result<Self> {
        Ok(Self::cold(bin, env, endpoint, None, 128).await?.0)
    }

    /// Invokes the function; a function error is an `Err`.
    pub async fn invoke(&self, event: &Bytes) -> Result<Bytes> {
        match self.api.invoke(event.clone(), TIMEOUT).await? {
            Outcome::Response(body) => Ok(body),
            Outcome::Error(e) => Err(anyhow!("invocation error: {}: {}", e.error_type, e.message)),
        }
    }

    /// Invokes the function; a function error is an answer like any other.
    pub async fn answer(&self, event: &Bytes) -> Result<Outcome> {
        self.api.invoke(event.clone(), TIMEOUT).await
    }

    /// Milliseconds of one [`Proc::invoke`].
    pub async fn timed(&self, event: &Bytes) -> Result<f64> {
        let t = Instant::now();
        self.invoke(event).await?;
        Ok(bench::ms(t.elapsed()))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// One warm process per binary of `bins`, each invoked `warmup` times, then `n`
/// invocations of each, alternating (which goes first alternates too) so that
/// all see the same machine load: the milliseconds of each, per binary.
pub async fn alternate(
    bins: &[PathBuf],
    env: &Env,
    event: &Bytes,
    warmup: usize,
    n: usize,
) -> Result<Vec<Vec<f64>>> {
    let mut procs = Vec::new();
    for bin in bins {
        let p = Proc::warm(bin, env, &env.endpoint).await?;
        for _ in 0..warmup {
            p.invoke(event).await?;
        }
        procs.push(p);
    }
    let mut lat: Vec<Vec<f64>> = procs.iter().map(|_| Vec::with_capacity(n)).collect();
    for i in 0..n {
        for k in 0..procs.len() {
            let idx = (i + k) % procs.len();
            if let (Some(p), Some(l)) = (procs.get(idx), lat.get_mut(idx)) {
                l.push(p.timed(event).await?);
            }
        }
    }
    for p in procs {
        p.kill().await;
    }
    Ok(lat)
}
