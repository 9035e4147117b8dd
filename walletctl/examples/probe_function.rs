//! A Lambda function for the tests of the local runtime (`walletctl/tests/e2e.rs`):
//! built on the real `lambda_runtime` client, it exercises the paths of the
//! Runtime API that the wallet functions never take (they never fail).
//!
//! The action comes from the event's `action`, or from the JSON body of an API
//! Gateway event:
//! - `echo` (default): answers a proxy response whose body is the event, the
//!   invocation context and the Lambda environment the process was given;
//! - `fail`: the handler returns an error (`POST .../invocation/{id}/error`);
//! - `exit`: the process exits mid-invocation.
//!
//! With `PROBE_INIT_ERROR` set it reports an init error
//! (`POST /2018-06-01/runtime/init/error`) as a custom runtime does, and exits.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use std::io::{Read, Write};

#[tokio::main]
async fn main() -> Result<(), Error> {
    if std::env::var_os("PROBE_INIT_ERROR").is_some() {
        post_init_error()?;
        std::process::exit(1);
    }
    lambda_runtime::run(service_fn(handle)).await
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = (event.payload, event.context);
    let body: Option<Value> = payload
        .get("body")
        .and_then(Value::as_str)
        .and_then(|b| serde_json::from_str(b).ok());
    let action = body
        .as_ref()
        .unwrap_or(&payload)
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("echo")
        .to_owned();
    match action.as_str() {
        "fail" => Err("the probe failed on purpose".into()),
        "exit" => std::process::exit(3),
        _ => {
            let env: serde_json::Map<String, Value> = [
                "AWS_LAMBDA_RUNTIME_API",
                "AWS_LAMBDA_FUNCTION_NAME",
                "AWS_LAMBDA_FUNCTION_VERSION",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                "AWS_REGION",
                "_HANDLER",
                "LAMBDA_TASK_ROOT",
                "TABLE_NAME",
                "HOLD_SECONDS",
                "AWS_ENDPOINT_URL_DYNAMODB",
                "HOME",
                "_X_AMZN_TRACE_ID",
            ]
            .iter()
            .map(|name| {
                let value = std::env::var(name).map_or(Value::Null, Value::String);
                ((*name).to_owned(), value)
            })
            .collect();
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let seen = json!({
                "event": payload,
                "context": {
                    "request_id": context.request_id,
                    "deadline": context.deadline,
                    "invoked_function_arn": context.invoked_function_arn,
                    "xray_trace_id": context.xray_trace_id,
                },
                "env": env,
                "cwd": cwd,
                "pid": std::process::id(),
            });
            Ok(json!({
                "statusCode": 200,
                "headers": {"content-type": "application/json", "x-probe-pid": std::process::id().to_string()},
                "multiValueHeaders": {"x-probe-multi": ["one", "two"]},
                "cookies": ["probe=1; Path=/"],
                "body": seen.to_string(),
                "isBase64Encoded": false,
            }))
        }
    }
}

/// What a custom runtime does when its initialisation fails.
fn post_init_error() -> Result<(), Error> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
    let body =
        json!({"errorType": "Probe.InitFailed", "errorMessage": "the probe refused to start"})
            .to_string();
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: Probe.InitFailed\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(&api)?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if !response.starts_with("HTTP/1.1 202") {
        return Err(format!("init/error answered {response:?}").into());
    }
    Ok(())
}
