//! The creator wallet library: everything the Lambda functions and `walletctl`
//! share. Handlers stay thin; the rules of SPEC.md live here:
//!
//! - [`error`]: every public error, its status and exact message;
//! - [`envelope`]: the response envelope;
//! - [`auth`]: bearer tokens and abilities;
//! - [`db`]: the table, its keys ([`db::keys`]) and item formats ([`db::model`]);
//! - [`ledger`]: the bucket rules of each entry type and how a movement is written;
//! - [`wallet`]: the wallet and affiliate reads; [`pagination`]: page arithmetic.

pub mod analytics;
pub mod auth;
pub mod config;
pub mod currency;
pub mod dashboard;
pub mod db;
pub mod envelope;
pub mod error;
pub mod holds;
pub mod http;
pub mod idempotency;
pub mod ledger;
pub mod links;
pub mod pagination;
pub mod payouts;
pub mod time;
pub mod users;
pub mod wallet;

pub use db::Ctx;
pub use envelope::ApiResponse;
pub use error::AppError;

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
