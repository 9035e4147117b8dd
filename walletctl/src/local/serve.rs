//! `walletctl serve [--port 3000]`: the HTTP API of `template.yaml` on
//! 127.0.0.1, at the routes' real paths, like API Gateway in front of the real
//! function binaries (see `lambda_local::apigw` and `lambda_local::runtime`). Scheduled
//! functions run on their template schedule. Each request is logged to stderr.

use super::schedule::{parse_rate, scheduled_event};
use super::template::LOCAL_ACCOUNT_ID;
use super::{Local, LocalArgs};
use anyhow::{bail, Context, Result};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_local::apigw::{self, ProxyResponse, RequestMeta, Router};
use lambda_local::{FunctionRuntime, Outcome};
use serde_json::json;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Served from `openapi.yaml` beside the template, when that file exists.
pub const DOCS_PATH: &str = "/api/documentation/openapi.yaml";
/// The HTML page rendered from that file ([`super::docs`]).
pub const DOCS_PAGE_PATH: &str = "/api/documentation";
const API_ID: &str = "local";

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    #[command(flatten)]
    pub local: LocalArgs,
}

struct App {
    router: Router<usize>,
    runtimes: Vec<Arc<FunctionRuntime>>,
    docs: PathBuf,
    local_port: u16,
    requests: AtomicU64,
}

pub async fn run(args: ServeArgs) -> Result<(String, ExitCode)> {
    let local = args.local.load()?;
    let (router, runtimes, schedules) = functions(&local)?;

    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("listening on 127.0.0.1:{} (is the port in use?)", args.port))?;
    let addr = listener.local_addr().context("the local address")?;
    let url = format!("http://{addr}");

    let docs = local.template.dir().join("openapi.yaml");
    eprintln!(
        "walletctl serve: {} on {url} (table {}, binaries in {})",
        local.template.path.display(),
        local.settings.table_name,
        local.bin_dir.display()
    );
    for (key, index) in router.keys() {
        if let Some(runtime) = runtimes.get(*index) {
            let spec = runtime.spec();
            eprintln!("  {key:<36} -> {} ({})", spec.name, spec.binary);
        }
    }
    eprintln!("  {:<36} -> {}", format!("GET {DOCS_PATH}"), docs.display());
    eprintln!(
        "  {:<36} -> HTML rendered from {}",
        format!("GET {DOCS_PAGE_PATH}"),
        docs.display()
    );
    for (index, _, expression, _) in &schedules {
        if let Some(runtime) = runtimes.get(*index) {
            eprintln!(
                "  schedule {expression:<27} -> {} ({})",
                runtime.spec().name,
                runtime.spec().binary
            );
        }
    }
    eprintln!("walletctl serve: ready; Ctrl-C stops it");

    let app = Arc::new(App {
        router,
        runtimes,
        docs,
        local_port: addr.port(),
        requests: AtomicU64::new(0),
    });

    let mut scheduled = JoinSet::new();
    for (index, rule, expression, period) in schedules {
        if let Some(runtime) = app.runtimes.get(index).cloned() {
            let region = local.settings.region.clone();
            scheduled.spawn(run_schedule(runtime, rule, expression, period, region));
        }
    }

    let mut connections = JoinSet::new();
    let shutdown = super::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let app = app.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| handle(app.clone(), req, peer));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }

    eprintln!("walletctl serve: stopping");
    drop(listener);
    connections.shutdown().await;
    scheduled.shutdown().await;
    for runtime in &app.runtimes {
        runtime.shutdown().await;
    }
    let summary = json!({
        "stopped": true,
        "url": url,
        "requests": app.requests.load(Ordering::SeqCst),
    });
    Ok((
        serde_json::to_string_pretty(&summary).unwrap_or_else(|_| summary.to_string()),
        ExitCode::SUCCESS,
    ))
}

/// A scheduled function: (index of its runtime, rule name, expression, period).
type Schedule = (usize, String, String, Duration);

/// The runtimes of the template's routed and scheduled functions, the router
/// to them (by index) and their schedules.
type Functions = (Router<usize>, Vec<Arc<FunctionRuntime>>, Vec<Schedule>);

fn functions(local: &Local) -> Result<Functions> {
    let mut router = Router::default();
    let mut runtimes = Vec::new();
    let mut schedules = Vec::new();
    for function in &local.template.functions {
        if function.routes.is_empty() && function.schedules.is_empty() {
            continue;
        }
        let spec = super::function_spec(function, &local.bin_dir, &local.settings.region, |name| {
            std::env::var(name).ok()
        });
        if !spec.path.is_file() {
            bail!(
                "the binary of {} is missing: {} (build the functions with \
                 `cargo build --workspace --bins`, or give --bin-dir)",
                function.logical_id,
                spec.path.display()
            );
        }
        let index = runtimes.len();
        runtimes.push(Arc::new(FunctionRuntime::new(spec, false)));
        for route in &function.routes {
            router
                .add(&route.method, &route.path, index)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("function {}", function.logical_id))?;
        }
        for schedule in &function.schedules {
            match parse_rate(&schedule.expression) {
                Ok(period) => schedules.push((
                    index,
                    format!("{}-{}", function.logical_id, schedule.name),
                    schedule.expression.clone(),
                    period,
                )),
                Err(err) if schedule.expression.starts_with("cron(") => {
                    eprintln!(
                        "walletctl serve: {} is not scheduled: {err}",
                        function.logical_id
                    );
                }
                Err(err) => {
                    return Err(err).with_context(|| {
                        format!("the schedule {} of {}", schedule.name, function.logical_id)
                    })
                }
            }
        }
    }
    Ok((router, runtimes, schedules))
}

async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let started = Instant::now();
    app.requests.fetch_add(1, Ordering::SeqCst);
    let method = req.method().clone();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let request_id = gateway_request_id();
    let response = respond(&app, req, peer, &request_id).await;
    eprintln!(
        "{method} {target} {} {} ms",
        response.status.as_u16(),
        started.elapsed().as_millis()
    );
    let mut out = Response::new(Full::new(response.body));
    *out.status_mut() = response.status;
    let headers = out.headers_mut();
    for (name, value) in response.headers {
        headers.append(name, value);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("apigw-requestid", value);
    }
    Ok(out)
}

async fn respond(
    app: &App,
    req: Request<Incoming>,
    peer: SocketAddr,
    request_id: &str,
) -> ProxyResponse {
    let (parts, body) = req.into_parts();
    if parts.method == Method::GET && parts.uri.path() == DOCS_PATH {
        return docs(app).await;
    }
    if parts.method == Method::GET && parts.uri.path() == DOCS_PAGE_PATH {
        return docs_page(app).await;
    }
    let Some(route) = app.router.find(parts.method.as_str(), parts.uri.path()) else {
        return ProxyResponse::gateway(StatusCode::NOT_FOUND, apigw::NOT_FOUND_BODY);
    };
    let Some(runtime) = app.runtimes.get(*route.target) else {
        return ProxyResponse::gateway(StatusCode::NOT_FOUND, apigw::NOT_FOUND_BODY);
    };
    let body = match Limited::new(body, apigw::MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return ProxyResponse::gateway(StatusCode::PAYLOAD_TOO_LARGE, apigw::TOO_LARGE_BODY)
        }
    };
    let meta = RequestMeta {
        request_id: request_id.to_owned(),
        time: chrono::Utc::now(),
        source: peer,
        local_port: app.local_port,
        account_id: LOCAL_ACCOUNT_ID.to_owned(),
        api_id: API_ID.to_owned(),
        trace_id: lambda_local::trace_id()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    let name = runtime.spec().binary.clone();
    let event = match apigw::request_event(&parts, &body, &route, &meta) {
        Ok(event) => event,
        Err(err) => {
            eprintln!("[{name}] the request cannot be made an event: {err}");
            return internal_error();
        }
    };
    // In a task of its own: a client that goes away does not cut an invocation
    // short (as with API Gateway), and the function process stays consistent.
    let task = {
        let runtime = runtime.clone();
        tokio::spawn(async move { runtime.invoke(Bytes::from(event.to_string())).await })
    };
    let invocation = match task.await.map_err(anyhow::Error::from).and_then(|r| r) {
        Ok(invocation) => invocation,
        Err(err) => {
            eprintln!("[{name}] could not be invoked: {err:#}");
            return internal_error();
        }
    };
    if let Some(init) = invocation.init_duration {
        let memory = invocation
            .max_memory_mb
            .map(|mb| format!(", max memory {mb} MB"))
            .unwrap_or_default();
        eprintln!(
            "[{name}] cold start: init {:.1} ms, first invocation {:.1} ms{memory}",
            init.as_secs_f64() * 1000.0,
            invocation.duration.as_secs_f64() * 1000.0
        );
    }
    match invocation.outcome {
        Outcome::Response(payload) => match apigw::response_from_payload(&payload) {
            Ok(response) => response,
            Err(err) => {
                eprintln!("[{name}] malformed Lambda proxy response: {err}");
                internal_error()
            }
        },
        Outcome::Error(error) => {
            eprintln!(
                "[{name}] RequestId {}: function error {}: {}",
                invocation.request_id, error.error_type, error.message
            );
            internal_error()
        }
    }
}

fn internal_error() -> ProxyResponse {
    ProxyResponse::gateway(
        StatusCode::INTERNAL_SERVER_ERROR,
        apigw::INTERNAL_ERROR_BODY,
    )
}

/// A 200 of the local API's own.
fn ok(content_type: &'static str, body: Bytes) -> ProxyResponse {
    ProxyResponse {
        status: StatusCode::OK,
        headers: vec![(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        )],
        body,
    }
}

async fn docs(app: &App) -> ProxyResponse {
    match tokio::fs::read(&app.docs).await {
        Ok(bytes) => ok("application/yaml", Bytes::from(bytes)),
        Err(_) => ProxyResponse::gateway(StatusCode::NOT_FOUND, apigw::NOT_FOUND_BODY),
    }
}

async fn docs_page(app: &App) -> ProxyResponse {
    let Ok(text) = tokio::fs::read_to_string(&app.docs).await else {
        return ProxyResponse::gateway(StatusCode::NOT_FOUND, apigw::NOT_FOUND_BODY);
    };
    match super::docs::render(&text) {
        Ok(html) => ok("text/html; charset=utf-8", Bytes::from(html)),
        Err(err) => {
            eprintln!(
                "walletctl serve: {} cannot be rendered: {err}",
                app.docs.display()
            );
            internal_error()
        }
    }
}

/// API Gateway's request ids look like `JKJaXmPLvHcESHA=`.
fn gateway_request_id() -> String {
    let bytes: [u8; 10] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Invokes a scheduled function every `period`, from one period after start
/// (as EventBridge does), with an EventBridge `Scheduled Event`.
async fn run_schedule(
    runtime: Arc<FunctionRuntime>,
    rule: String,
    expression: String,
    period: Duration,
    region: String,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let name = runtime.spec().binary.clone();
    loop {
        ticker.tick().await;
        let time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let event = scheduled_event(
            &rule,
            &region,
            LOCAL_ACCOUNT_ID,
            &lambda_local::request_id(),
            &time,
        );
        let started = Instant::now();
        let result = runtime.invoke(Bytes::from(event.to_string())).await;
        let ms = started.elapsed().as_millis();
        match result {
            Ok(invocation) => match invocation.outcome {
                Outcome::Response(body) => eprintln!(
                    "schedule {expression} -> {name}: {} ({ms} ms)",
                    String::from_utf8_lossy(&body)
                ),
                Outcome::Error(error) => eprintln!(
                    "schedule {expression} -> {name}: error {}: {} ({ms} ms)",
                    error.error_type, error.message
                ),
            },
            Err(err) => eprintln!("schedule {expression} -> {name}: {err:#}"),
        }
    }
}
