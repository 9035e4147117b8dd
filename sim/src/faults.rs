//! The fault injector: a loopback HTTP proxy in front of DynamoDB Local that
//! fails requests on a seeded schedule, switchable at any moment.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// 500 InternalServerError, before the request reaches DynamoDB.
    Error500,
    /// 400 ThrottlingException, before the request reaches DynamoDB.
    Throttle,
    /// The connection is closed without an answer, before the request reaches DynamoDB.
    Drop,
    /// The request reaches DynamoDB, then the connection is closed: the
    /// caller cannot know whether it happened.
    DropAfter,
    /// 50 to 400 ms more, then forwarded.
    Latency,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::Error500 => "500",
            Fault::Throttle => "throttle",
            Fault::Drop => "drop",
            Fault::DropAfter => "drop-after-forward",
            Fault::Latency => "latency",
        }
    }
}

/// The faults of one step: `count` consecutive requests from the `first`-th
/// request of the step on (0-based) get `fault`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub fault: Fault,
    pub first: u32,
    pub count: u32,
    pub latency_ms: u64,
}

/// The seeded fault schedule: the plan of step `step` of the run `seed`,
/// a pure function so that a failing seed replays the same faults.
pub fn plan_for(seed: u64, step: u64) -> Option<Plan> {
    let mut rng = StdRng::seed_from_u64(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xFA17);
    if rng.random_bool(0.3) {
        return None;
    }
    let fault = match rng.random_range(0..5) {
        0 => Fault::Error500,
        1 => Fault::Throttle,
        2 => Fault::Drop,
        3 => Fault::DropAfter,
        _ => Fault::Latency,
    };
    Some(Plan {
        fault,
        first: rng.random_range(0..6),
        count: rng.random_range(1..9),
        latency_ms: rng.random_range(50..400),
    })
}

#[derive(Debug, Default)]
struct State {
    plan: Option<Plan>,
    seen: u32,
    injected: BTreeMap<Fault, u64>,
    /// While set, requests meet a DynamoDB Local that is down (refused or
    /// reset connections); otherwise they wait for a restart to finish.
    outage_visible: bool,
    /// Requests that DynamoDB Local refused or dropped (it was down).
    upstream_failures: u64,
}

/// A running proxy; clones share it.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// Held for writing while DynamoDB Local restarts (`Proxy::restarting`).
    gate: Arc<tokio::sync::RwLock<()>>,
}

impl Proxy {
    /// Listens on 127.0.0.1 (a free port) and forwards to `upstream` (127.0.0.1 only).
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Proxy> {
        anyhow::ensure!(
            upstream.ip().is_loopback(),
            "the proxy only forwards to 127.0.0.1"
        );
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let proxy = Proxy {
            addr: listener.local_addr()?,
            state: Arc::default(),
            gate: Arc::default(),
        };
        let state = proxy.state.clone();
        let gate = proxy.gate.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                let gate = gate.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        let gate = gate.clone();
                        async move { handle(state, gate, upstream, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(proxy)
    }

    /// Sets the plan of the coming requests (`None`: no faults); hides an
    /// outage (a restart of DynamoDB Local is waited for, not seen).
    pub fn arm(&self, plan: Option<Plan>) {
        if let Ok(mut s) = self.state.lock() {
            s.plan = plan;
            s.seen = 0;
            s.outage_visible = false;
        }
    }

    /// Lets the coming requests meet DynamoDB Local down (until `arm`).
    pub fn show_outage(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.outage_visible = true;
        }
    }

    /// Held while DynamoDB Local restarts: requests that do not see the
    /// outage wait for the guard to drop.
    pub async fn restarting(&self) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        self.gate.clone().write_owned().await
    }

    /// Requests that met DynamoDB Local down (refused or reset connections).
    pub fn upstream_failures(&self) -> u64 {
        self.state.lock().map(|s| s.upstream_failures).unwrap_or(0)
    }

    pub fn injected(&self) -> BTreeMap<Fault, u64> {
        self.state
            .lock()
            .map(|s| s.injected.clone())
            .unwrap_or_default()
    }
}

fn decide(state: &Mutex<State>) -> Option<Plan> {
    let mut s = state.lock().ok()?;
    let plan = s.plan?;
    let n = s.seen;
    s.seen = s.seen.saturating_add(1);
    if n >= plan.first && n < plan.first.saturating_add(plan.count) {
        *s.injected.entry(plan.fault).or_default() += 1;
        Some(plan)
    } else {
        None
    }
}

/// Why the proxy closes a connection without an answer.
#[derive(Debug)]
pub struct ProxyError(String);

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProxyError {}

fn dropped() -> ProxyError {
    ProxyError("connection dropped by the fault injector".into())
}

fn err(e: impl std::fmt::Display) -> ProxyError {
    ProxyError(e.to_string())
}

type ProxyResult = Result<Response<Full<Bytes>>, ProxyError>;

fn amz_error(status: u16, kind: &str, message: &str) -> ProxyResult {
    let body = format!(
        "{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{kind}\",\"message\":\"{message}\"}}"
    );
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", "sim-fault")
        .body(Full::new(Bytes::from(body)))
        .map_err(err)
}

async fn handle(
    state: Arc<Mutex<State>>,
    gate: Arc<tokio::sync::RwLock<()>>,
    upstream: SocketAddr,
    req: Request<Incoming>,
) -> ProxyResult {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(err)?.to_bytes();
    let visible = state.lock().map(|s| s.outage_visible).unwrap_or(false);
    // Checks and resolutions run with the outage hidden: they wait for the
    // restart, and a restart waits for them.
    let _guard = if visible {
        None
    } else {
        Some(gate.read().await)
    };
    let plan = decide(&state);
    match plan.map(|p| p.fault) {
        Some(Fault::Error500) => {
            return amz_error(500, "InternalServerError", "injected by the simulator")
        }
        Some(Fault::Throttle) => return amz_error(400, "ThrottlingException", "Rate exceeded"),
        Some(Fault::Drop) => return Err(dropped()),
        Some(Fault::Latency) => {
            let ms = plan.map(|p| p.latency_ms).unwrap_or(100);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Some(Fault::DropAfter) | None => {}
    }
    let response = match forward(upstream, Request::from_parts(parts, Full::new(body))).await {
        Ok(r) => r,
        Err(e) => {
            if let Ok(mut s) = state.lock() {
                s.upstream_failures += 1;
            }
            return Err(e);
        }
    };
    if plan.map(|p| p.fault) == Some(Fault::DropAfter) {
        return Err(dropped());
    }
    Ok(response)
}

async fn forward(upstream: SocketAddr, req: Request<Full<Bytes>>) -> ProxyResult {
    let stream = TcpStream::connect(upstream).await.map_err(err)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(err)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = sender.send_request(req).await.map_err(err)?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(err)?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_a_function_of_seed_and_step() {
        let a = crate::testing::seeded_schedule(plan_for, (42, 43), 200);
        assert!(a.iter().any(Option::is_none));
        for fault in [
            Fault::Error500,
            Fault::Throttle,
            Fault::Drop,
            Fault::DropAfter,
            Fault::Latency,
        ] {
            assert!(a.iter().flatten().any(|p| p.fault == fault), "{fault:?}");
        }
    }

    #[test]
    fn a_plan_faults_its_window_only() {
        let state = Mutex::new(State::default());
        if let Ok(mut s) = state.lock() {
            s.plan = Some(Plan {
                fault: Fault::Throttle,
                first: 1,
                count: 2,
                latency_ms: 0,
            });
        }
        let hits: Vec<bool> = (0..5).map(|_| decide(&state).is_some()).collect();
        assert_eq!(hits, [false, true, true, false, false]);
    }
}

/// Regression test for a bug the simulator found: when the answer to the
/// Idempotency-Key claim (a conditional Put) was lost after DynamoDB had
/// written it, the SDK's retry met the lock it had just written and the
/// request answered 409 for 60 s.
#[cfg(test)]
mod lost_answer {
    use super::*;
    use shared::services::idempotency::{claim, Claim};

    fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(shared::store::local_config(endpoint, "sim").build())
    }

    #[tokio::test]
    async fn a_claim_whose_answer_is_lost_is_still_ours() {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default();
        let upstream: SocketAddr = endpoint
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .expect("AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:PORT (run with make test)");
        let table = format!("sim-lost-{}", std::process::id());
        shared::store::table::create_table(&client(&endpoint), &table)
            .await
            .expect("table");
        let proxy = Proxy::start(upstream).await.expect("proxy");
        let ctx = shared::Ctx::new(
            client(&format!("http://{}", proxy.addr)),
            domain::config::Config::for_table(table),
        );
        proxy.arm(Some(Plan {
            fault: Fault::DropAfter,
            first: 0,
            count: 1,
            latency_ms: 0,
        }));
        let first = claim(&ctx, 7, "key-1", 1_000).await.expect("claim");
        proxy.arm(None);
        assert_eq!(
            proxy.injected().get(&Fault::DropAfter),
            Some(&1),
            "the answer of the first Put was dropped"
        );
        assert!(matches!(first, Claim::Acquired(_)), "{first:?}");
        // Another request with the key meanwhile: still in flight, not ours.
        assert_eq!(
            claim(&ctx, 7, "key-1", 1_001).await.expect("claim"),
            Claim::InFlight
        );
    }
}
