//! The creator wallet's library, in three layers above the rules of the
//! `domain` crate (each layer imports only from the ones below it):
//!
//! - [`store`]: DynamoDB: keys, item codecs, reads, transactions, the retry
//!   helper, id allocation, the table, [`store::StoreError`];
//! - [`services`]: what the endpoints, events and operator commands do
//!   (ledger, payouts, holds, users, links, wallet, dashboard, auth,
//!   idempotency), and the request outcome [`AppError`];
//! - [`http`]: the HTTP edge: status codes and messages of [`AppError`], the
//!   envelope, request parsing;
//! - [`lambda`]: the one wrapper every function runs in ([`http_function!`],
//!   [`event_function!`]).
//!
//! docs/architecture.md tells where each rule lives.

pub mod http;
pub mod lambda;
pub mod services;
pub mod store;

pub use http::envelope::ApiResponse;
pub use services::error::AppError;
pub use store::Ctx;

/// JSON logs to stdout (CloudWatch), level from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .try_init();
}
