//! The local API that `walletctl serve` runs: the running server ([`Serve`]),
//! HTTP requests to it on 127.0.0.1, and every answer of a route of
//! openapi.yaml checked against it ([`assert_conforms`]).

use crate::env::{root, Env};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

impl Env {
    /// `walletctl serve` with these arguments (on a free port unless given).
    pub fn serve(&self, extra: &[&str]) -> Serve {
        let mut args = vec!["serve"];
        args.extend_from_slice(extra);
        if !extra.contains(&"--port") {
            args.extend_from_slice(&["--port", "0"]);
        }
        Serve::start(self.command(&args))
    }
}

/// A running `walletctl serve`; killed (with its functions) on drop.
pub struct Serve {
    child: Child,
    pub url: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start walletctl serve");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let pipe = child.stderr.take().expect("stderr");
        let lines = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let mut serve = Self {
            child,
            url: String::new(),
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let url = serve.log().iter().find_map(|l| {
                l.strip_prefix("walletctl serve: ")
                    .and_then(|rest| rest.split(" on ").nth(1))
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned)
            });
            let ready = serve.log().iter().any(|l| l.contains("ready"));
            if let (Some(url), true) = (url, ready) {
                serve.url = url;
                break;
            }
            if let Ok(Some(status)) = serve.child.try_wait() {
                panic!("walletctl serve exited ({status}): {:#?}", serve.log());
            }
            assert!(
                Instant::now() < deadline,
                "walletctl serve not ready: {:#?}",
                serve.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(serve.url.starts_with("http://127.0.0.1:"), "{}", serve.url);
        serve
    }

    pub fn log(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// The pids of the function processes it started (from its log).
    pub fn function_pids(&self) -> Vec<u32> {
        self.log()
            .iter()
            .filter_map(|l| {
                l.split(" started process ")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|pid| pid.parse().ok())
            })
            .collect()
    }

    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on the pid of our own child process.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal})");
    }

    /// Stops it like Ctrl-C does; its exit status and stdout.
    pub fn interrupt(mut self) -> (ExitStatus, String) {
        self.signal(libc::SIGINT);
        let status = wait_timeout(&mut self.child, Duration::from_secs(15))
            .expect("walletctl serve stops on SIGINT");
        let mut stdout = String::new();
        if let Some(mut pipe) = self.child.stdout.take() {
            pipe.read_to_string(&mut stdout).expect("stdout");
        }
        (status, stdout)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Gone, or a zombie waiting for a reaper that is not us.
pub fn process_is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

pub fn assert_dead_soon(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for pid in pids {
        while !process_is_dead(*pid) {
            assert!(
                Instant::now() < deadline,
                "function process {pid} still runs"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One HTTP request to the local API (127.0.0.1 only). Every answer of a route
/// of openapi.yaml is checked against it ([`assert_conforms`]).
pub async fn request(method: &str, url: &str, token: Option<&str>, body: &str) -> Reply {
    let reply = tokio::time::timeout(
        Duration::from_secs(30),
        try_request(method, url, token, body),
    )
    .await
    .expect("the local API answers within 30 s")
    .expect("HTTP request");
    assert_conforms(method, url, &reply);
    reply
}

/// openapi.yaml as JSON, read once.
pub fn openapi() -> &'static Value {
    static SPEC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("openapi.yaml")).expect("openapi.yaml");
        serde_norway::from_str(&text).expect("openapi.yaml is YAML")
    })
}

pub static CONFORMANCE_CHECKS: AtomicUsize = AtomicUsize::new(0);

/// Checks a reply of a route of openapi.yaml against it: the status is documented,
/// the content type is the documented one, every required header is there and
/// matches its schema, and the body validates against the response's schema
/// (JSON Schema 2020-12, `#/components/...` references resolved in the document).
/// Other paths (the documentation, unknown routes) are not checked here.
pub fn assert_conforms(method: &str, url: &str, reply: &Reply) {
    let spec = openapi();
    let path = url
        .strip_prefix("http://")
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/");
    let path = path.split('?').next().unwrap_or(path);
    let template = match path.strip_prefix("/api/wallet/payouts/") {
        Some(id) if !id.is_empty() && !id.contains('/') => "/api/wallet/payouts/{id}",
        _ => path,
    };
    let Some(operation) = spec["paths"]
        .get(template)
        .and_then(|item| item.get(method.to_ascii_lowercase()))
    else {
        return;
    };
    let what = format!("{method} {path} -> {}", reply.status);
    let response = operation["responses"]
        .get(reply.status.to_string())
        .unwrap_or_else(|| panic!("{what}: the status is not in openapi.yaml"));
    let response = resolve_ref(spec, response);
    for (name, header) in response["headers"].as_object().into_iter().flatten() {
        let header = resolve_ref(spec, header);
        match reply.header(name) {
            Some(value) => validate(
                spec,
                &header["schema"],
                &json!(value),
                &format!("{what}: header {name}"),
            ),
            None => assert!(
                header["required"] != json!(true),
                "{what}: the header {name} is missing"
            ),
        }
    }
    let content = response["content"].as_object().expect("content");
    let (media, body) = content.iter().next().expect("one media type");
    assert_eq!(reply.header("content-type"), Some(media.as_str()), "{what}");
    let instance: Value =
        serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{what}: not JSON ({e})"));
    validate(spec, &body["schema"], &instance, &what);
    CONFORMANCE_CHECKS.fetch_add(1, Ordering::SeqCst);
}

pub fn resolve_ref<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("openapi.yaml: no {r}")),
        None => value,
    }
}

pub fn validate(spec: &Value, schema: &Value, instance: &Value, what: &str) {
    let mut schema = schema.clone();
    if let Some(object) = schema.as_object_mut() {
        object.insert("components".to_owned(), spec["components"].clone());
    }
    let validator = jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the response does not conform to openapi.yaml: {errors:#?}\n{instance}"
    );
}
pub async fn try_request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: &str,
) -> Result<Reply, String> {
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut builder = http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let req = builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| e.to_string())?;
    let response = client.request(req).await.map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?;
    Ok(Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.to_bytes().to_vec(),
    })
}

pub async fn get(serve: &Serve, path: &str, token: Option<&str>) -> Reply {
    request("GET", &format!("{}{path}", serve.url), token, "").await
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn envelope_error(reply: &Reply) -> String {
    let body = reply.json();
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");
    body["errors_message"].as_str().expect("message").to_owned()
}
