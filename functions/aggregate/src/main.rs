//! Lambda entry point: init only. The handler is [`aggregate::handle`].

use lambda_http::{run, service_fn, Error, Request};

// One invocation at a time: a single-threaded runtime spares every request
// the wake-ups across worker threads (measured in docs/benchmarks.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::init_tracing();
    let ctx = shared::Ctx::from_env().await?;
    let ctx = &ctx;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(aggregate::handle(ctx, req).await)
    }))
    .await
}
