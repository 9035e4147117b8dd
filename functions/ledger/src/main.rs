//! Lambda entry point: init only. The handler is [`ledger::handle`].

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

// One invocation at a time: a single-threaded runtime spares every request
// the wake-ups across worker threads (measured in docs/benchmarks.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::init_tracing();
    let ctx = shared::Ctx::from_env().await?;
    let ctx = &ctx;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, std::convert::Infallible>(ledger::handle(ctx, event.payload).await)
    }))
    .await
}
