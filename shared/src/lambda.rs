//! How every function runs: init once at cold start (logs, config, the one
//! DynamoDB client), then every invocation through its handler, a plain async
//! fn that tests call directly. This wrapper is the one home of what every
//! invocation shares (the per-request log line and metrics belong here).

use crate::store::Ctx;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::convert::Infallible;
use std::future::Future;

pub use lambda_runtime::Error;

/// A handler: `async fn handle(ctx: &Ctx, input: In) -> Out`, where `In, Out`
/// are `Request, Response<Body>` for an HTTP function and `Value, Value` for an
/// internal one.
pub trait Handler<'a, In, Out>: Sync {
    type Answer: Future<Output = Out> + Send + 'a;
    fn call(&self, ctx: &'a Ctx, input: In) -> Self::Answer;
}

impl<'a, In, Out, F, A> Handler<'a, In, Out> for F
where
    F: Fn(&'a Ctx, In) -> A + Sync,
    A: Future<Output = Out> + Send + 'a,
{
    type Answer = A;
    fn call(&self, ctx: &'a Ctx, input: In) -> A {
        self(ctx, input)
    }
}

/// What every function does once, before its first invocation: logs, then the
/// configuration and the one DynamoDB client.
async fn cold_start() -> Result<Ctx, Error> {
    crate::init_tracing();
    Ok(Ctx::from_env().await?)
}

/// Serves an HTTP function (API Gateway HTTP API, payload v2) with `handler`.
pub async fn run_http<H>(handler: H) -> Result<(), Error>
where
    H: for<'a> Handler<'a, Request, Response<Body>>,
{
    let ctx = cold_start().await?;
    let (ctx, handler) = (&ctx, &handler);
    lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(handler.call(ctx, req).await)
    }))
    .await
}

/// Serves an internal function (JSON in, JSON out) with `handler`.
pub async fn run_events<H>(handler: H) -> Result<(), Error>
where
    H: for<'a> Handler<'a, Value, Value>,
{
    let ctx = cold_start().await?;
    let (ctx, handler) = (&ctx, &handler);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            Ok::<_, Infallible>(handler.call(ctx, event.payload).await)
        },
    ))
    .await
}

/// The `main` of an HTTP function: `shared::http_function!(wallet::handle);`.
/// One invocation at a time: a single-threaded runtime spares every request
/// the wake-ups across worker threads (measured in docs/benchmarks.md).
#[macro_export]
macro_rules! http_function {
    ($handler:path) => {
        #[::tokio::main(flavor = "current_thread")]
        async fn main() -> Result<(), $crate::lambda::Error> {
            $crate::lambda::run_http($handler).await
        }
    };
}

/// The `main` of an internal function: `shared::event_function!(ledger::handle);`.
#[macro_export]
macro_rules! event_function {
    ($handler:path) => {
        #[::tokio::main(flavor = "current_thread")]
        async fn main() -> Result<(), $crate::lambda::Error> {
            $crate::lambda::run_events($handler).await
        }
    };
}
