//! The Lambda Runtime API (2018-06-01) for one function process, on 127.0.0.1
//! (a free port): the runtime polls `GET /invocation/next` for an event (with
//! its request id, deadline, function ARN and trace id in headers) and posts
//! the answer to `/invocation/{id}/response` or `/invocation/{id}/error`, or an
//! init failure to `/init/error`. The owner of a [`RuntimeApi`] queues events
//! and reads [`Report`]s; [`RuntimeApi::invoke`] does both for one event.

use crate::{ids, FunctionError, Outcome};
use anyhow::{anyhow, bail, Context as _, Result};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::{JoinHandle, JoinSet};

/// Synchronous invocations may answer at most 6 MB.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
const API_PREFIX: &str = "/2018-06-01/runtime";

/// What the Runtime API tells its owner.
#[derive(Debug)]
pub enum Report {
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
    /// The deadline the runtime is told: this long after it receives the event.
    timeout: Duration,
    trace_id: String,
    /// Fired when the runtime receives it, with that instant.
    delivered: oneshot::Sender<Instant>,
}

/// State shared by the handlers of one process's Runtime API.
struct Shared {
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

/// A running Runtime API; it stops (closing its connections) when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    next: mpsc::Sender<Pending>,
    reports: Mutex<mpsc::UnboundedReceiver<Report>>,
    _server: AbortOnDrop,
}

impl RuntimeApi {
    /// Listens on 127.0.0.1 (a free port); `arn` is the function ARN given
    /// with every event.
    pub async fn start(arn: String) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the Runtime API on 127.0.0.1")?;
        let addr = listener.local_addr().context("the Runtime API's address")?;
        let (next_tx, next_rx) = mpsc::channel(1);
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            arn,
            next: Mutex::new(next_rx),
            current: std::sync::Mutex::new(None),
            reports: reports_tx,
            polled: AtomicBool::new(false),
        });
        Ok(Self {
            addr,
            next: next_tx,
            reports: Mutex::new(reports_rx),
            _server: AbortOnDrop(tokio::spawn(serve(listener, shared))),
        })
    }

    /// `AWS_LAMBDA_RUNTIME_API` of the function process.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues an event for the runtime's next poll (it is told a deadline of
    /// `timeout` after it receives the event). The receiver fires with the
    /// instant the runtime received it.
    pub async fn queue(
        &self,
        request_id: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<oneshot::Receiver<Instant>> {
        let (delivered, rx) = oneshot::channel();
        let pending = Pending {
            request_id: request_id.to_owned(),
            payload,
            timeout,
            trace_id: ids::trace_id(),
            delivered,
        };
        self.next
            .send(pending)
            .await
            .map_err(|_| anyhow!("the Runtime API is gone"))?;
        Ok(rx)
    }

    /// The next report; `None` when the server has stopped.
    pub async fn report(&self) -> Option<Report> {
        self.reports.lock().await.recv().await
    }

    /// Waits for the runtime's first poll (the end of its init). An init error
    /// posted by the runtime is an `Err`.
    pub async fn first_poll(&self) -> Result<Instant> {
        loop {
            match self.report().await {
                Some(Report::FirstPoll(at)) => return Ok(at),
                Some(Report::InitError(e)) => {
                    bail!("init error: {}: {}", e.error_type, e.message)
                }
                Some(_) => {}
                None => bail!("the Runtime API stopped"),
            }
        }
    }

    /// Hands `payload` to the runtime and waits, at most `timeout`, for its
    /// answer. For callers that run the process themselves (the bench);
    /// [`crate::FunctionRuntime`] adds the process, its exits and Lambda's limits.
    pub async fn invoke(&self, payload: Bytes, timeout: Duration) -> Result<Outcome> {
        let request_id = ids::request_id();
        let answer = async {
            self.queue(&request_id, payload, timeout).await?;
            loop {
                match self.report().await {
                    Some(Report::Response {
                        request_id: id,
                        body,
                    }) if id == request_id => return Ok(Outcome::Response(body)),
                    Some(Report::Error {
                        request_id: id,
                        error,
                    }) if id == request_id => return Ok(Outcome::Error(error)),
                    Some(Report::InitError(error)) => return Ok(Outcome::Error(error)),
                    Some(_) => {}
                    None => bail!("the Runtime API stopped"),
                }
            }
        };
        tokio::time::timeout(timeout, answer)
            .await
            .map_err(|_| anyhow!("no response within {timeout:?}"))?
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    // Connections live in this set: aborting this task closes all of them.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| handle(req, shared.clone()));
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

fn not_found() -> ApiResponse {
    api_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "unknown Runtime API path",
    )
}

fn invalid_request_id() -> ApiResponse {
    api_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        "the request id is not the one being invoked",
    )
}

fn accepted() -> ApiResponse {
    api_json(StatusCode::ACCEPTED, json!({"status": "OK"}))
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Result<ApiResponse, Infallible> {
    let Some(rest) = req.uri().path().strip_prefix(API_PREFIX).map(str::to_owned) else {
        return Ok(not_found());
    };
    let method = req.method().clone();
    let response = match (method, rest.as_str()) {
        (Method::GET, "/invocation/next") => next_invocation(&shared).await,
        (Method::POST, "/init/error") => {
            let header_type = error_type_header(&req);
            match read_body(req).await {
                Ok(body) => {
                    let error = FunctionError::posted(body, header_type);
                    let _ = shared.reports.send(Report::InitError(error));
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
                    post_result(&shared, id.to_owned(), kind == "error", req).await
                }
                _ => not_found(),
            }
        }
        _ => not_found(),
    };
    Ok(response)
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

fn epoch_ms(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

/// `GET /invocation/next`: waits for an event and hands it over.
async fn next_invocation(shared: &Shared) -> ApiResponse {
    if !shared.polled.swap(true, Ordering::SeqCst) {
        let _ = shared.reports.send(Report::FirstPoll(Instant::now()));
    }
    let pending = {
        let mut next = shared.next.lock().await;
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
    if let Ok(mut current) = shared.current.lock() {
        *current = Some(pending.request_id.clone());
    }
    let _ = pending.delivered.send(at);
    let mut response = Response::new(Full::new(pending.payload));
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", pending.request_id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", shared.arn.clone()),
        ("lambda-runtime-trace-id", pending.trace_id),
    ] {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// `POST /invocation/{id}/response` and `/error`.
async fn post_result(
    shared: &Shared,
    id: String,
    is_error: bool,
    req: Request<Incoming>,
) -> ApiResponse {
    let header_type = error_type_header(&req);
    let is_current = shared
        .current
        .lock()
        .map(|c| c.as_deref() == Some(id.as_str()))
        .unwrap_or(false);
    if !is_current {
        return invalid_request_id();
    }
    let body = match read_body(req).await {
        Ok(body) => body,
        Err(response) => {
            // Lambda fails the invocation when the response is too large.
            take_current(shared, &id);
            let error = FunctionError::new(
                "Function.ResponseSizeTooLarge",
                format!("Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
            );
            let _ = shared.reports.send(Report::Error {
                request_id: id,
                error,
            });
            return response;
        }
    };
    if !take_current(shared, &id) {
        return invalid_request_id();
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
    let _ = shared.reports.send(report);
    accepted()
}

/// Clears the current request id if it is `id`; false if it was not.
fn take_current(shared: &Shared, id: &str) -> bool {
    match shared.current.lock() {
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// One HTTP/1.1 exchange on a connection of its own: (status, the whole answer).
    async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, answer)
    }

    /// `GET /invocation/next`: the request id and the whole answer.
    async fn next(addr: SocketAddr) -> (String, String) {
        let (status, answer) = http(addr, "GET", "/2018-06-01/runtime/invocation/next", "").await;
        assert_eq!(status, 200, "{answer}");
        let id = answer
            .lines()
            .find_map(|l| l.strip_prefix("lambda-runtime-aws-request-id: "))
            .expect("a request id")
            .trim()
            .to_owned();
        (id, answer)
    }

    #[tokio::test]
    async fn a_runtime_gets_its_events_and_answers_them() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
        let api = RuntimeApi::start(arn.to_owned()).await.expect("start");
        let addr = api.addr();
        let runtime = tokio::spawn(async move {
            let (id, event) = next(addr).await;
            assert!(event.contains(&format!("lambda-runtime-invoked-function-arn: {arn}")));
            assert!(event.contains("lambda-runtime-deadline-ms: "));
            assert!(event.contains("lambda-runtime-trace-id: Root=1-"));
            assert!(event.ends_with(r#"{"n":1}"#), "{event}");
            let wrong = http(
                addr,
                "POST",
                "/2018-06-01/runtime/invocation/x/response",
                "{}",
            )
            .await;
            assert_eq!(wrong.0, 400, "not the request id being invoked");
            let path = format!("/2018-06-01/runtime/invocation/{id}/response");
            assert_eq!(http(addr, "POST", &path, r#"{"ok":true}"#).await.0, 202);
            let (id, _) = next(addr).await;
            let path = format!("/2018-06-01/runtime/invocation/{id}/error");
            let error = r#"{"errorType":"Boom","errorMessage":"bad"}"#;
            assert_eq!(http(addr, "POST", &path, error).await.0, 202);
            assert_eq!(http(addr, "GET", "/other", "").await.0, 404);
        });
        api.first_poll().await.expect("first poll");
        let timeout = Duration::from_secs(10);
        let answer = api.invoke(Bytes::from_static(br#"{"n":1}"#), timeout).await;
        assert_eq!(
            answer.expect("answer"),
            Outcome::Response(Bytes::from_static(br#"{"ok":true}"#))
        );
        let answer = api.invoke(Bytes::from_static(b"{}"), timeout).await;
        match answer.expect("answer") {
            Outcome::Error(e) => {
                assert_eq!((e.error_type.as_str(), e.message.as_str()), ("Boom", "bad"))
            }
            other => panic!("{other:?}"),
        }
        runtime.await.expect("the runtime's checks");
    }

    #[tokio::test]
    async fn an_init_error_ends_the_wait_for_the_first_poll() {
        let api = RuntimeApi::start("arn".to_owned()).await.expect("start");
        let init = r#"{"errorType":"Config","errorMessage":"no table"}"#;
        let posted = http(api.addr(), "POST", "/2018-06-01/runtime/init/error", init).await;
        assert_eq!(posted.0, 202);
        let err = api.first_poll().await.expect_err("init error");
        assert_eq!(err.to_string(), "init error: Config: no table");
    }
}
