//! Floor F0: a hello-world `lambda_runtime` function (no AWS SDK). The cold start
//! and size of every function are compared with this.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(serde_json::json!({ "hello": "world", "echo": event.payload }))
    }))
    .await
}
