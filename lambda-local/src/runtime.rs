//! A function's local execution environment: the real function binary, started
//! as a child process with the environment Lambda gives it, behind a
//! [`RuntimeApi`] of its own.
//!
//! - One warm process per function, one invocation at a time (callers queue).
//! - The process is started on the first invocation (a cold start) and kept.
//! - An invocation past the function's `timeout` kills the process (the next
//!   invocation starts a new one) and answers like Lambda, with an error.
//! - A process that exits is reported as `Runtime.ExitError` and restarted next time.
//! - Each process gets a Runtime API listener of its own on 127.0.0.1 (a free
//!   port), which goes away with the process.
//! - Child processes die with their host: `kill_on_drop`, explicit shutdown,
//!   and on Linux `PR_SET_PDEATHSIG` for when the host itself is killed.

use crate::api::{Report, RuntimeApi};
use crate::process::{die_with_parent, forward_logs, peak_memory_mb, stop};
use crate::{ids, FunctionError, FunctionSpec, Invocation, Outcome};
use anyhow::{bail, Context as _, Result};
use bytes::Bytes;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

/// Lambda gives a function's init phase 10 seconds.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running function process and its Runtime API.
struct Instance {
    child: Child,
    pid: Option<u32>,
    started: Instant,
    /// Init duration, until reported on the first invocation.
    init: Option<Duration>,
    initialised: bool,
    api: RuntimeApi,
    /// The tasks copying the process's stdout and stderr to ours.
    logs: Vec<JoinHandle<()>>,
}

/// How [`FunctionRuntime::run_one`] ended: the outcome, its duration, and
/// whether the process stays.
type Ended = (Outcome, Duration, bool);

/// What ended one wait of [`FunctionRuntime::run_one`].
enum Step {
    Report(Option<Report>),
    /// The runtime received the event (`None`: it never will).
    Delivered(Option<Instant>),
    /// The process exited, with this status.
    Exited(String),
    Stopping,
    Deadline,
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
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

        let request_id = ids::request_id();
        if self.report_lines {
            eprintln!("START RequestId: {request_id} Version: $LATEST");
        }
        let (outcome, duration, keep) = self.run_one(instance, &request_id, payload).await;
        let init_duration = instance.init.take();
        let max_memory_mb = instance.pid.and_then(peak_memory_mb);
        if !keep {
            if let Some(mut gone) = slot.take() {
                stop(&mut gone.child).await;
            }
        }
        let invocation = Invocation {
            request_id,
            outcome,
            duration,
            init_duration,
            max_memory_mb,
        };
        if self.report_lines {
            self.print_report(&invocation);
        }
        Ok(invocation)
    }

    /// The END and REPORT lines of an invocation.
    fn print_report(&self, invocation: &Invocation) {
        let request_id = &invocation.request_id;
        let duration = invocation.duration;
        eprintln!("END RequestId: {request_id}");
        let mut report = format!(
            "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB",
            ms(duration),
            duration.as_micros().div_ceil(1000).max(1),
            self.spec.memory_mb
        );
        if let Some(mb) = invocation.max_memory_mb {
            report.push_str(&format!("\tMax Memory Used: {mb} MB"));
        }
        if let Some(init) = invocation.init_duration {
            report.push_str(&format!("\tInit Duration: {:.2} ms", ms(init)));
        }
        eprintln!("{report}");
    }

    /// Stops the process, if any (ending an invocation in flight), and waits for it.
    pub async fn shutdown(&self) {
        self.stopping.send_replace(true);
        if let Some(mut instance) = self.instance.lock().await.take() {
            stop(&mut instance.child).await;
        }
    }

    async fn start(&self) -> Result<Instance> {
        let spec = &self.spec;
        if !spec.path.is_file() {
            bail!(
                "the binary of {} is missing: {}",
                spec.name,
                spec.path.display()
            );
        }
        let api = RuntimeApi::start(spec.arn()).await?;
        let api_addr = api.addr();
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
        // The function's logs (stdout and stderr) go to our stderr.
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
            api,
            logs,
        })
    }

    /// Runs one invocation; `keep` is false when the process must go.
    ///
    /// Reports from the Runtime API may arrive in any order relative to the
    /// delivery notice (a fast runtime can answer before this task runs again),
    /// so one loop handles them all.
    async fn run_one(&self, instance: &mut Instance, request_id: &str, payload: Bytes) -> Ended {
        let timeout = self.spec.timeout;
        let queued = Instant::now();
        let error = |error_type: &str, message: String| {
            Outcome::Error(FunctionError::new(
                error_type,
                format!("RequestId: {request_id} Error: {message}"),
            ))
        };
        let Ok(mut delivered_rx) = instance.api.queue(request_id, payload, timeout).await else {
            let outcome = error("Runtime.Unknown", "the Runtime API is gone".to_owned());
            return (outcome, queued.elapsed(), false);
        };
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
            let step = tokio::select! {
                // Reports first, so that a first poll is seen before the delivery it led to.
                biased;
                report = instance.api.report() => Step::Report(report),
                at = &mut delivered_rx, if delivered.is_none() => Step::Delivered(at.ok()),
                status = instance.child.wait() => Step::Exited(match status {
                    Ok(s) => s.to_string(),
                    Err(e) => e.to_string(),
                }),
                _ = stopping.wait_for(|stop| *stop) => Step::Stopping,
                () = tokio::time::sleep_until(limit) => Step::Deadline,
            };
            match step {
                Step::Report(report) => {
                    let known = delivered;
                    // A fast runtime may answer before the delivery notice was read.
                    if delivered.is_none() {
                        delivered = delivered_rx.try_recv().ok();
                    }
                    if let Some((outcome, keep)) = self.on_report(instance, report, request_id) {
                        // An answer counts from its delivery; the others from
                        // what was known before the report.
                        let from = if keep { delivered } else { known };
                        return (outcome, elapsed(from), keep);
                    }
                }
                Step::Delivered(Some(at)) => delivered = Some(at),
                Step::Delivered(None) => {
                    let outcome =
                        error("Runtime.Unknown", "the event was not delivered".to_owned());
                    return (outcome, elapsed(delivered), false);
                }
                Step::Exited(status) => break status,
                Step::Stopping => {
                    let outcome = error(
                        "Runtime.Unknown",
                        "the local runtime is stopping".to_owned(),
                    );
                    return (outcome, elapsed(delivered), false);
                }
                Step::Deadline => {
                    let message = match delivered {
                        None => format!(
                            "Init timed out after {:.2} seconds",
                            INIT_TIMEOUT.as_secs_f64()
                        ),
                        Some(_) => {
                            format!("Task timed out after {:.2} seconds", timeout.as_secs_f64())
                        }
                    };
                    let outcome = error("Sandbox.Timedout", message);
                    if let Outcome::Error(err) = &outcome {
                        eprintln!(
                            "[{}] {}; stopping process {}",
                            self.spec.binary,
                            err.message,
                            instance.pid.unwrap_or_default()
                        );
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

    /// What a report from the Runtime API means for the invocation
    /// `request_id`: `Some((outcome, keep the process))` when it ends it.
    fn on_report(
        &self,
        instance: &mut Instance,
        report: Option<Report>,
        request_id: &str,
    ) -> Option<(Outcome, bool)> {
        match report {
            Some(Report::FirstPoll(at)) => {
                if !instance.initialised {
                    instance.initialised = true;
                    instance.init = Some(at.saturating_duration_since(instance.started));
                }
                None
            }
            Some(Report::Response {
                request_id: id,
                body,
            }) if id == request_id => Some((Outcome::Response(body), true)),
            // A function error: the process stays warm, as in Lambda.
            Some(Report::Error {
                request_id: id,
                error,
            }) if id == request_id => Some((Outcome::Error(error), true)),
            Some(Report::InitError(err)) => Some((Outcome::Error(err), false)),
            // A late answer to an earlier invocation.
            Some(Report::Response { .. } | Report::Error { .. }) => None,
            None => {
                let message = format!("RequestId: {request_id} Error: the Runtime API stopped");
                let outcome = Outcome::Error(FunctionError::new("Runtime.Unknown", message));
                Some((outcome, false))
            }
        }
    }
}
