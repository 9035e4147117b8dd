//! A recording HTTP proxy in front of DynamoDB (Local, on 127.0.0.1): every request
//! passes through unchanged and is logged with its start and end time, so the bench
//! counts the DynamoDB requests and sequential round trips of one invocation, and can
//! replay exactly those requests straight to DynamoDB as the latency floor.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{anyhow, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// One DynamoDB request seen by the proxy.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `X-Amz-Target`, e.g. `DynamoDB_20120810.Query`.
    pub target: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
    /// Milliseconds since the proxy started.
    pub start_ms: f64,
    pub end_ms: f64,
    /// The answer's HTTP status (502 when DynamoDB could not be reached).
    pub status: u16,
    /// The DynamoDB error type of an error answer, e.g. `TransactionCanceledException`.
    pub error: Option<String>,
}

impl Recorded {
    pub fn operation(&self) -> &str {
        self.target.rsplit('.').next().unwrap_or(&self.target)
    }
}

struct State {
    upstream: String,
    client: HttpClient,
    base: Instant,
    delay: std::time::Duration,
    log: Mutex<Vec<Recorded>>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// A proxy to `upstream` (`http://127.0.0.1:PORT`) that holds every answer back
    /// for `delay`: requests a function sends concurrently then overlap for sure, so
    /// the sequential round trips are counted right even when DynamoDB Local answers
    /// faster than the client builds and signs the next request.
    /// With a zero `delay` it only records (the ledger throughput runs).
    pub async fn start(upstream: &str, delay: std::time::Duration) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: client(),
            base: Instant::now(),
            delay,
            log: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let st = st.clone();
                        async move { Ok::<_, std::convert::Infallible>(forward(&st, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, state, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Takes (and clears) the requests logged so far.
    pub fn take(&self) -> Vec<Recorded> {
        self.state
            .log
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }
}

async fn forward(st: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let start = Instant::now();
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let result = send(&st.client, &st.upstream, &path, &headers, body.clone()).await;
    if !st.delay.is_zero() {
        tokio::time::sleep(st.delay).await;
    }
    let end = Instant::now();
    let (status, error) = match &result {
        Ok((status, _, body)) if !status.is_success() => (status.as_u16(), crate::error_type(body)),
        Ok((status, _, _)) => (status.as_u16(), None),
        Err(_) => (StatusCode::BAD_GATEWAY.as_u16(), None),
    };
    if let Ok(mut log) = st.log.lock() {
        log.push(Recorded {
            target,
            headers,
            body,
            start_ms: crate::ms(start.duration_since(st.base)),
            end_ms: crate::ms(end.duration_since(st.base)),
            status,
            error,
        });
    }
    match result {
        Ok((status, headers, body)) => {
            let mut res = Response::new(Full::new(body));
            *res.status_mut() = status;
            *res.headers_mut() = headers;
            res
        }
        Err(_) => {
            let mut res = Response::new(Full::new(Bytes::new()));
            *res.status_mut() = StatusCode::BAD_GATEWAY;
            res
        }
    }
}

/// Sends one request (the recorded headers, minus hop-by-hop ones) to `upstream`.
pub async fn send(
    client: &HttpClient,
    upstream: &str,
    path: &str,
    headers: &[(String, Vec<u8>)],
    body: Bytes,
) -> Result<(StatusCode, http::HeaderMap, Bytes)> {
    let mut builder = Request::builder()
        .method("POST")
        .uri(format!("{upstream}{path}"));
    for (k, v) in headers {
        if matches!(
            k.as_str(),
            "host" | "connection" | "content-length" | "transfer-encoding"
        ) {
            continue;
        }
        builder = builder.header(k.as_str(), v.as_slice());
    }
    let req = builder.body(Full::new(body))?;
    let res = client.request(req).await.map_err(|e| anyhow!("{e}"))?;
    let (parts, body) = res.into_parts();
    let body = body.collect().await.map_err(|e| anyhow!("{e}"))?.to_bytes();
    let mut out_headers = parts.headers;
    out_headers.remove("content-length");
    out_headers.remove("transfer-encoding");
    out_headers.remove("connection");
    Ok((parts.status, out_headers, body))
}

/// Replays `requests` straight to `upstream` with the same sequential structure as
/// recorded (see [`by_levels`]).
pub async fn replay(client: &HttpClient, upstream: &str, requests: &[Recorded]) -> Result<()> {
    by_levels(requests, |r| async move {
        send(client, upstream, "/", &r.headers, r.body.clone())
            .await
            .map(|_| ())
    })
    .await
}

/// Sends `requests` again with `send`, with the structure they were recorded
/// with: one level of [`crate::levels`] (a round trip) after the other, the
/// requests of a level concurrently.
pub async fn by_levels<'a, F, Fut>(requests: &'a [Recorded], send: F) -> Result<()>
where
    F: Fn(&'a Recorded) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let intervals: Vec<(f64, f64)> = requests.iter().map(|r| (r.start_ms, r.end_ms)).collect();
    let levels = crate::levels(&intervals);
    let depth = levels.iter().max().map_or(0, |l| l + 1);
    for level in 0..depth {
        let batch = requests
            .iter()
            .zip(&levels)
            .filter(|(_, &l)| l == level)
            .map(|(r, _)| send(r));
        for result in futures::future::join_all(batch).await {
            result?;
        }
    }
    Ok(())
}

/// Milliseconds of each of `n` runs of `replay` (after 3 unmeasured ones).
pub async fn time_runs<F, Fut>(n: usize, replay: F) -> Result<Vec<f64>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    for _ in 0..3 {
        replay().await?;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        replay().await?;
        out.push(crate::ms(t.elapsed()));
    }
    Ok(out)
}
