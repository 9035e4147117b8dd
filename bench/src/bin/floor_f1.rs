//! Floor F1: F0 plus `aws_config::load_from_env()` and a DynamoDB client built in
//! `main` (no request is made). The init cost every function pays at least.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let client = &client;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let _ = client;
        Ok::<Value, Error>(serde_json::json!({ "hello": "world", "echo": event.payload }))
    }))
    .await
}
