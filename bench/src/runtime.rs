//! A minimal Lambda Runtime API (2018-06-01) for one bootstrap process: it records
//! when the process first asks for work and hands it events one at a time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

const PREFIX: &str = "/2018-06-01/runtime";

type Reply = std::result::Result<Bytes, String>;

struct Shared {
    first_next: watch::Sender<Option<Instant>>,
    init_error: watch::Sender<Option<String>>,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Bytes)>>,
    waiters: Mutex<HashMap<String, oneshot::Sender<Reply>>>,
}

/// A running Runtime API on 127.0.0.1 (an ephemeral port).
pub struct RuntimeApi {
    pub addr: SocketAddr,
    tx: mpsc::UnboundedSender<(String, Bytes)>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            first_next: watch::channel(None).0,
            init_error: watch::channel(None).0,
            events: tokio::sync::Mutex::new(rx),
            waiters: Mutex::new(HashMap::new()),
        });
        let state = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(route(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            tx,
            shared,
            next_id: AtomicU64::new(1),
            task,
        })
    }

    /// Waits for the first `GET .../invocation/next` and returns when it arrived.
    pub async fn first_next(&self, timeout: Duration) -> Result<Instant> {
        let mut rx = self.shared.first_next.subscribe();
        let mut err = self.shared.init_error.subscribe();
        let wait = async {
            loop {
                if let Some(at) = *rx.borrow_and_update() {
                    return Ok(at);
                }
                if let Some(e) = err.borrow_and_update().clone() {
                    return Err(anyhow!("init error: {e}"));
                }
                tokio::select! {
                    r = rx.changed() => r?,
                    r = err.changed() => r?,
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| anyhow!("no request for work within {timeout:?}"))?
    }

    /// Hands one event to the function and waits for its response body.
    pub async fn invoke(&self, event: Bytes, timeout: Duration) -> Result<Bytes> {
        let id = format!("bench-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.shared
            .waiters
            .lock()
            .map_err(|_| anyhow!("poisoned"))?
            .insert(id.clone(), tx);
        self.tx
            .send((id, event))
            .map_err(|_| anyhow!("runtime closed"))?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(body))) => Ok(body),
            Ok(Ok(Err(e))) => Err(anyhow!("invocation error: {e}")),
            Ok(Err(_)) => Err(anyhow!("invocation dropped")),
            Err(_) => Err(anyhow!("no response within {timeout:?}")),
        }
    }
}

fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res
}

async fn route(state: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return respond(StatusCode::NOT_FOUND, Bytes::new());
    };
    if method == Method::GET && rest == "/invocation/next" {
        state.first_next.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(Instant::now());
                true
            } else {
                false
            }
        });
        let next = state.events.lock().await.recv().await;
        let Some((id, event)) = next else {
            return respond(StatusCode::GONE, Bytes::new());
        };
        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
        let mut res = respond(StatusCode::OK, event);
        let headers = res.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000".to_owned(),
            ),
            ("content-type", "application/json".to_owned()),
        ] {
            if let Ok(v) = http::HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        return res;
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if method == Method::POST && rest == "/init/error" {
        let text = String::from_utf8_lossy(&body).into_owned();
        state.init_error.send_replace(Some(text));
        return respond(StatusCode::ACCEPTED, Bytes::new());
    }
    if method == Method::POST {
        if let Some(id_kind) = rest.strip_prefix("/invocation/") {
            if let Some((id, kind)) = id_kind.split_once('/') {
                let waiter = state.waiters.lock().ok().and_then(|mut w| w.remove(id));
                let reply = match kind {
                    "response" => Ok(body),
                    _ => Err(String::from_utf8_lossy(&body).into_owned()),
                };
                if let Some(w) = waiter {
                    let _ = w.send(reply);
                }
                return respond(StatusCode::ACCEPTED, Bytes::new());
            }
        }
    }
    respond(StatusCode::NOT_FOUND, Bytes::new())
}
