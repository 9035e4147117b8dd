//! A local AWS Lambda execution environment: the Lambda Runtime API
//! (`/2018-06-01/runtime/...`, the real protocol) in front of the real function
//! binary, started as a child process with the environment Lambda gives it.
//!
//! - One warm process per function, one invocation at a time (callers queue).
//! - The process is started on the first invocation (a cold start) and kept.
//! - An invocation past the function's `Timeout` kills the process (the next
//!   invocation starts a new one) and answers like Lambda, with an error.
//! - A process that exits is reported as `Runtime.ExitError` and restarted next time.
//! - Each process gets a Runtime API listener of its own on 127.0.0.1 (a free
//!   port), which goes away with the process.
//! - Child processes die with `walletctl`: `kill_on_drop`, explicit shutdown,
//!   and on Linux `PR_SET_PDEATHSIG` for when `walletctl` itself is killed.

use super::template::{Function, LOCAL_ACCOUNT_ID};
use anyhow::{bail, Context as _, Result};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch, Mutex};
use tokio::task::{JoinHandle, JoinSet};

/// Synchronous invocations may answer at most 6 MB.
const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// Lambda gives a function's init phase 10 seconds.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
const API_PREFIX: &str = "/2018-06-01/runtime";

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

/// How a function is run locally.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// `AWS_LAMBDA_FUNCTION_NAME`: the template's logical id.
    pub name: String,
    pub binary: String,
    /// The executable.
    pub path: PathBuf,
    /// `LAMBDA_TASK_ROOT` and the working directory: the folder of the binary.
    pub task_root: PathBuf,
    pub handler: String,
    pub timeout: Duration,
    pub memory_mb: u64,
    pub region: String,
    /// The template's `Environment` (resolved) with the pass-through variables
    /// applied; the Lambda-reserved variables are added at start.
    pub environment: BTreeMap<String, String>,
}

impl FunctionSpec {
    /// The spec of a template function whose binary is in `bin_dir`; `host_env`
    /// is `walletctl`'s own environment (for the pass-through variables).
    pub fn new(
        function: &Function,
        bin_dir: &Path,
        region: &str,
        host_env: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let mut environment = function.environment.clone();
        for name in PASS_THROUGH {
            if let Some(value) = host_env(name) {
                environment.insert((*name).to_owned(), value);
            }
        }
        Self {
            name: function.logical_id.clone(),
            binary: function.binary.clone(),
            path: bin_dir.join(&function.binary),
            task_root: bin_dir.to_path_buf(),
            handler: function.handler.clone(),
            timeout: function.timeout,
            memory_mb: function.memory_mb,
            region: region.to_owned(),
            environment,
        }
    }

    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, LOCAL_ACCOUNT_ID, self.name
        )
    }

    /// The whole environment of the process, for a Runtime API at `api`.
    pub fn process_env(&self, api: &str, host_path: Option<String>) -> Vec<(String, String)> {
        let mut env: BTreeMap<String, String> = self.environment.clone();
        let stream = format!(
            "{}/[$LATEST]{}",
            chrono::Utc::now().format("%Y/%m/%d"),
            random_hex(32)
        );
        let root = self.task_root.to_string_lossy().into_owned();
        // The variables Lambda reserves: they win over the template's.
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

/// A function error, as Lambda reports it (`X-Amz-Function-Error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// E.g. `Sandbox.Timedout`, `Runtime.ExitError`, or the runtime's own type.
    pub error_type: String,
    pub message: String,
    /// The invocation's response payload: `{"errorType": .., "errorMessage": ..}`
    /// (or what the runtime posted).
    pub payload: Bytes,
}

impl FunctionError {
    fn new(error_type: &str, message: String) -> Self {
        let payload = json!({"errorType": error_type, "errorMessage": message}).to_string();
        Self {
            error_type: error_type.to_owned(),
            message,
            payload: Bytes::from(payload),
        }
    }

    /// From what the runtime posted to `/error` or `/init/error`.
    fn posted(body: Bytes, header_type: Option<String>) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let error_type = field("errorType")
            .or(header_type)
            .unwrap_or_else(|| "Unhandled".to_owned());
        let message = field("errorMessage").unwrap_or_default();
        let payload = if parsed.is_some() {
            body
        } else {
            Bytes::from(json!({"errorType": error_type, "errorMessage": message}).to_string())
        };
        Self {
            error_type,
            message,
            payload,
        }
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function's response payload.
    Response(Bytes),
    Error(FunctionError),
}

#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub outcome: Outcome,
    /// From handing the event to the runtime to its answer.
    pub duration: Duration,
    /// Set on a cold start: from starting the process to its first `next` poll.
    pub init_duration: Option<Duration>,
    /// Peak resident memory of the process (Linux), in MB.
    pub max_memory_mb: Option<u64>,
}

/// What a Runtime API listener tells the invoker.
#[derive(Debug)]
enum Report {
    /// The runtime asked for its first invocation: init is done.
    FirstPoll(Instant),
    Response {
        request_id: String,
        body: Bytes,
    },
    Error {
        request_id: String,
        error: FunctionError,
    },
    InitError(FunctionError),
}

/// An event waiting to be handed to the runtime.
struct Pending {
    request_id: String,
    payload: Bytes,
    timeout: Duration,
    trace_id: String,
    /// Fired when the runtime receives it, with that instant.
    delivered: oneshot::Sender<Instant>,
}

/// State shared by the handlers of one process's Runtime API.
struct Api {
    arn: String,
    next: Mutex<mpsc::Receiver<Pending>>,
    /// The request id the runtime is working on.
    current: std::sync::Mutex<Option<String>>,
    reports: mpsc::UnboundedSender<Report>,
    polled: AtomicBool,
}

/// Aborts a task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running function process and its Runtime API.
struct Instance {
    child: Child,
    pid: Option<u32>,
    started: Instant,
    /// Init duration, until reported on the first invocation.
    init: Option<Duration>,
    initialised: bool,
    next: mpsc::Sender<Pending>,
    reports: mpsc::UnboundedReceiver<Report>,
    /// The tasks copying the process's stdout and stderr to ours.
    logs: Vec<tokio::task::JoinHandle<()>>,
    _server: AbortOnDrop,
}

/// A function's local execution environment.
pub struct FunctionRuntime {
    spec: FunctionSpec,
    /// Held for the whole of an invocation: one at a time.
    instance: Mutex<Option<Instance>>,
    /// Print START/END/REPORT lines (like `sam local invoke`).
    report_lines: bool,
    /// Set by [`FunctionRuntime::shutdown`]: an invocation in flight ends at once.
    stopping: watch::Sender<bool>,
}

impl FunctionRuntime {
    pub fn new(spec: FunctionSpec, report_lines: bool) -> Self {
        Self {
            spec,
            instance: Mutex::new(None),
            report_lines,
            stopping: watch::Sender::new(false),
        }
    }

    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// Invokes the function with `payload` (JSON), starting its process if
    /// needed. `Err` only when the process cannot be started at all.
    pub async fn invoke(&self, payload: Bytes) -> Result<Invocation> {
        let mut slot = self.instance.lock().await;
        if *self.stopping.borrow() {
            bail!("{} is stopping", self.spec.name);
        }
        if let Some(instance) = slot.as_mut() {
            if let Ok(Some(status)) = instance.child.try_wait() {
                eprintln!(
                    "[{}] process {} had exited ({status}); starting a new one",
                    self.spec.binary,
                    instance.pid.unwrap_or_default()
                );
                *slot = None;
            }
        }
        let instance = match slot.as_mut() {
            Some(instance) => instance,
            None => slot.insert(self.start().await?),
        };

        let request_id = uuid_v4();
        if self.report_lines {
            eprintln!("START RequestId: {request_id} Version: $LATEST");
        }
        let (outcome, duration, keep) = self.run_one(instance, &request_id, payload).await;
        let init_duration = instance.init.take();
        let max_memory_mb = instance.pid.and_then(peak_memory_mb);
        if !keep {
            if let Some(mut gone) = slot.take() {
                stop(&mut gone).await;
            }
        }
        if self.report_lines {
            eprintln!("END RequestId: {request_id}");
            let mut report = format!(
                "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB",
                ms(duration),
                duration.as_micros().div_ceil(1000).max(1),
                self.spec.memory_mb
            );
            if let Some(mb) = max_memory_mb {
                report.push_str(&format!("\tMax Memory Used: {mb} MB"));
            }
            if let Some(init) = init_duration {
                report.push_str(&format!("\tInit Duration: {:.2} ms", ms(init)));
            }
            eprintln!("{report}");
        }
        Ok(Invocation {
            request_id,
            outcome,
            duration,
            init_duration,
            max_memory_mb,
        })
    }

    /// Stops the process, if any (ending an invocation in flight), and waits for it.
    pub async fn shutdown(&self) {
        self.stopping.send_replace(true);
        if let Some(mut instance) = self.instance.lock().await.take() {
            stop(&mut instance).await;
        }
    }

    async fn start(&self) -> Result<Instance> {
        let spec = &self.spec;
        if !spec.path.is_file() {
            bail!(
                "the binary of {} is missing: {} (build it with `cargo build --workspace --bins`, \
                 or point --bin-dir at the folder of the function binaries)",
                spec.name,
                spec.path.display()
            );
        }
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the Runtime API on 127.0.0.1")?;
        let api_addr = listener.local_addr().context("the Runtime API's address")?;
        let (next_tx, next_rx) = mpsc::channel(1);
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        let api = Arc::new(Api {
            arn: spec.arn(),
            next: Mutex::new(next_rx),
            current: std::sync::Mutex::new(None),
            reports: reports_tx,
            polled: AtomicBool::new(false),
        });
        let server = AbortOnDrop(tokio::spawn(serve_api(listener, api)));

        let mut command = Command::new(&spec.path);
        command
            .env_clear()
            .envs(spec.process_env(&api_addr.to_string(), std::env::var("PATH").ok()))
            .current_dir(&spec.task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        die_with_parent(&mut command);
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", spec.path.display()))?;
        let pid = child.id();
        // The function's logs (stdout and stderr) go to walletctl's stderr.
        let mut logs = Vec::new();
        if let Some(out) = child.stdout.take() {
            logs.push(tokio::spawn(forward_logs(out, spec.binary.clone())));
        }
        if let Some(err) = child.stderr.take() {
            logs.push(tokio::spawn(forward_logs(err, spec.binary.clone())));
        }
        if !self.report_lines {
            eprintln!(
                "[{}] started process {} (Runtime API on {api_addr})",
                spec.binary,
                pid.unwrap_or_default()
            );
        }
        Ok(Instance {
            child,
            pid,
            started,
            init: None,
            initialised: false,
            next: next_tx,
            reports: reports_rx,
            logs,
            _server: server,
        })
    }

    /// Runs one invocation; `keep` is false when the process must go.
    ///
    /// Reports from the Runtime API may arrive in any order relative to the
    /// delivery notice (a fast runtime can answer before this task runs again),
    /// so one loop handles them all.
    async fn run_one(
        &self,
        instance: &mut Instance,
        request_id: &str,
        payload: Bytes,
    ) -> (Outcome, Duration, bool) {
        let timeout = self.spec.timeout;
        let (delivered_tx, mut delivered_rx) = oneshot::channel();
        let pending = Pending {
            request_id: request_id.to_owned(),
            payload,
            timeout,
            trace_id: trace_id(),
            delivered: delivered_tx,
        };
        let queued = Instant::now();
        let error = |error_type: &str, message: String| {
            Outcome::Error(FunctionError::new(
                error_type,
                format!("RequestId: {request_id} Error: {message}"),
            ))
        };
        if instance.next.send(pending).await.is_err() {
            let outcome = error("Runtime.Unknown", "the Runtime API is gone".to_owned());
            return (outcome, queued.elapsed(), false);
        }
        let mut stopping = self.stopping.subscribe();
        // Until delivery: the init limit; then the function's deadline.
        let init_deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
        // When the runtime received the event.
        let mut delivered: Option<Instant> = None;
        // The duration of the invocation, from its delivery.
        let elapsed = |delivered: Option<Instant>| delivered.unwrap_or(queued).elapsed();
        let status = loop {
            let limit = match delivered {
                Some(at) => tokio::time::Instant::from_std(at + timeout),
                None => init_deadline,
            };
            tokio::select! {
                // Reports first, so that a first poll is seen before the delivery it led to.
                biased;
                report = instance.reports.recv() => match report {
                    Some(Report::FirstPoll(at)) => {
                        if !instance.initialised {
                            instance.initialised = true;
                            instance.init = Some(at.saturating_duration_since(instance.started));
                        }
                    }
                    Some(Report::Response { request_id: id, body }) if id == request_id => {
                        let at = delivered.or_else(|| delivered_rx.try_recv().ok());
                        return (Outcome::Response(body), elapsed(at), true);
                    }
                    Some(Report::Error { request_id: id, error }) if id == request_id => {
                        // A function error: the process stays warm, as in Lambda.
                        let at = delivered.or_else(|| delivered_rx.try_recv().ok());
                        return (Outcome::Error(error), elapsed(at), true);
                    }
                    Some(Report::InitError(err)) => {
                        return (Outcome::Error(err), elapsed(delivered), false);
                    }
                    // A late answer to an earlier invocation.
                    Some(Report::Response { .. } | Report::Error { .. }) => {}
                    None => {
                        let outcome = error("Runtime.Unknown", "the Runtime API stopped".to_owned());
                        return (outcome, elapsed(delivered), false);
                    }
                },
                at = &mut delivered_rx, if delivered.is_none() => match at {
                    Ok(at) => delivered = Some(at),
                    Err(_) => {
                        let outcome = error("Runtime.Unknown", "the event was not delivered".to_owned());
                        return (outcome, elapsed(delivered), false);
                    }
                },
                status = instance.child.wait() => {
                    let status = match status {
                        Ok(s) => s.to_string(),
                        Err(e) => e.to_string(),
                    };
                    break status;
                }
                _ = stopping.wait_for(|stop| *stop) => {
                    let outcome = error("Runtime.Unknown", "walletctl is stopping".to_owned());
                    return (outcome, elapsed(delivered), false);
                }
                () = tokio::time::sleep_until(limit) => {
                    let outcome = match delivered {
                        None => error("Sandbox.Timedout", format!(
                            "Init timed out after {:.2} seconds", INIT_TIMEOUT.as_secs_f64())),
                        Some(_) => error("Sandbox.Timedout", format!(
                            "Task timed out after {:.2} seconds", timeout.as_secs_f64())),
                    };
                    if let Outcome::Error(err) = &outcome {
                        eprintln!("[{}] {}; stopping process {}", self.spec.binary, err.message,
                            instance.pid.unwrap_or_default());
                    }
                    return (outcome, elapsed(delivered), false);
                }
            }
        };
        // The process exited: its last words (why) come before our report.
        for log in instance.logs.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), log).await;
        }
        let outcome = error(
            "Runtime.ExitError",
            format!("Runtime exited with error: {status}"),
        );
        (outcome, elapsed(delivered), false)
    }
}

/// Kills the process and reaps it.
async fn stop(instance: &mut Instance) {
    if matches!(instance.child.try_wait(), Ok(None)) {
        let _ = instance.child.start_kill();
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), instance.child.wait()).await;
}

/// The process gets SIGKILL when the thread that started it (a runtime worker
/// thread or the main thread of `walletctl`, both living as long as `walletctl`)
/// goes away: no orphaned function process if `walletctl` is killed.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (prctl, getppid, errno); nothing is allocated.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died before prctl: don't run as an orphan.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// `VmHWM` of a process, in MB (rounded up).
fn peak_memory_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.div_ceil(1024))
}

async fn forward_logs(stream: impl AsyncRead + Unpin, name: String) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[{name}] {line}");
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn random_hex(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        out.push_str(&format!("{:032x}", rand::random::<u128>()));
    }
    out.truncate(len);
    out
}

/// A random version 4 UUID (Lambda's request id format).
pub fn uuid_v4() -> String {
    let n = rand::random::<u128>();
    let n = (n & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    )
}

/// An X-Ray trace header, as Lambda passes it.
pub fn trace_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        random_hex(24),
        random_hex(16)
    )
}

fn epoch_ms(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The Runtime API server.

async fn serve_api(listener: TcpListener, api: Arc<Api>) {
    // Connections live in this set: aborting this task closes all of them.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let api = api.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| handle_api(req, api.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

type ApiResponse = Response<Full<Bytes>>;

fn api_json(status: StatusCode, body: Value) -> ApiResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> ApiResponse {
    api_json(
        status,
        json!({"errorType": error_type, "errorMessage": message}),
    )
}

async fn handle_api(req: Request<Incoming>, api: Arc<Api>) -> Result<ApiResponse, Infallible> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(API_PREFIX) else {
        return Ok(api_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "unknown Runtime API path",
        ));
    };
    let rest = rest.to_owned();
    let method = req.method().clone();
    let response = match (method, rest.as_str()) {
        (Method::GET, "/invocation/next") => next_invocation(&api).await,
        (Method::POST, "/init/error") => {
            let header_type = error_type_header(&req);
            match read_body(req).await {
                Ok(body) => {
                    let _ = api
                        .reports
                        .send(Report::InitError(FunctionError::posted(body, header_type)));
                    accepted()
                }
                Err(response) => response,
            }
        }
        (Method::POST, other) => {
            let parsed = other
                .strip_prefix("/invocation/")
                .and_then(|r| r.rsplit_once('/'));
            match parsed {
                Some((id, kind @ ("response" | "error"))) => {
                    post_result(&api, id.to_owned(), kind == "error", req).await
                }
                _ => api_error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    "unknown Runtime API path",
                ),
            }
        }
        _ => api_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "unknown Runtime API path",
        ),
    };
    Ok(response)
}

fn accepted() -> ApiResponse {
    api_json(StatusCode::ACCEPTED, json!({"status": "OK"}))
}

fn error_type_header(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, ApiResponse> {
    match Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "the payload is larger than 6 MB",
        )),
    }
}

/// `GET /invocation/next`: waits for an event and hands it over.
async fn next_invocation(api: &Api) -> ApiResponse {
    if !api.polled.swap(true, Ordering::SeqCst) {
        let _ = api.reports.send(Report::FirstPoll(Instant::now()));
    }
    let pending = {
        let mut next = api.next.lock().await;
        next.recv().await
    };
    let Some(pending) = pending else {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "no more invocations",
        );
    };
    let at = Instant::now();
    let deadline_ms = epoch_ms(SystemTime::now() + pending.timeout);
    if let Ok(mut current) = api.current.lock() {
        *current = Some(pending.request_id.clone());
    }
    let _ = pending.delivered.send(at);
    let mut response = Response::new(Full::new(pending.payload));
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", pending.request_id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", api.arn.clone()),
        ("lambda-runtime-trace-id", pending.trace_id),
    ] {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// `POST /invocation/{id}/response` and `/error`.
async fn post_result(api: &Api, id: String, is_error: bool, req: Request<Incoming>) -> ApiResponse {
    let header_type = error_type_header(&req);
    let is_current = api
        .current
        .lock()
        .map(|c| c.as_deref() == Some(id.as_str()))
        .unwrap_or(false);
    if !is_current {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "the request id is not the one being invoked",
        );
    }
    let body = match read_body(req).await {
        Ok(body) => body,
        Err(response) => {
            // Lambda fails the invocation when the response is too large.
            take_current(api, &id);
            let error = FunctionError::new(
                "Function.ResponseSizeTooLarge",
                format!("Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
            );
            let _ = api.reports.send(Report::Error {
                request_id: id,
                error,
            });
            return response;
        }
    };
    if !take_current(api, &id) {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "the request id is not the one being invoked",
        );
    }
    let report = if is_error {
        Report::Error {
            request_id: id,
            error: FunctionError::posted(body, header_type),
        }
    } else {
        Report::Response {
            request_id: id,
            body,
        }
    };
    let _ = api.reports.send(report);
    accepted()
}

/// Clears the current request id if it is `id`; false if it was not.
fn take_current(api: &Api, id: &str) -> bool {
    match api.current.lock() {
        Ok(mut current) if current.as_deref() == Some(id) => {
            *current = None;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_v4() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{id}");
        assert!(
            matches!(parts[3].chars().next(), Some('8' | '9' | 'a' | 'b')),
            "{id}"
        );
        assert_ne!(uuid_v4(), uuid_v4());
    }

    #[test]
    fn trace_ids_have_the_xray_shape() {
        let t = trace_id();
        assert!(t.starts_with("Root=1-"), "{t}");
        assert!(t.ends_with(";Sampled=0"), "{t}");
    }

    #[test]
    fn posted_errors_keep_the_runtime_payload() {
        let e = FunctionError::posted(
            Bytes::from_static(br#"{"errorType":"&str","errorMessage":"boom"}"#),
            Some("unhandled".to_owned()),
        );
        assert_eq!(e.error_type, "&str");
        assert_eq!(e.message, "boom");
        let e = FunctionError::posted(Bytes::from_static(b"not json"), Some("Oops".to_owned()));
        assert_eq!(e.error_type, "Oops");
        let v: Value = serde_json::from_slice(&e.payload).expect("json payload");
        assert_eq!(v["errorType"], "Oops");
    }

    #[test]
    fn the_process_environment_is_lambdas() {
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
        let spec = FunctionSpec::new(&function, Path::new("/bin-dir"), "us-east-1", host);
        assert_eq!(spec.path, Path::new("/bin-dir/wallet"));
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
        assert_eq!(get("RUST_LOG"), Some("debug"), "pass-through wins");
        assert_eq!(
            get("AWS_ENDPOINT_URL_DYNAMODB"),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(get("PATH"), Some("/usr/bin"));
        assert_eq!(get("HOME"), None, "nothing else leaks in");
        assert_eq!(
            spec.arn(),
            "arn:aws:lambda:us-east-1:123456789012:function:WalletFunction"
        );
    }
}
