//! What the endpoints, the ledger's events and the operator's commands do,
//! on top of the storage layer. Each returns [`error::AppError`] (a refusal
//! by a rule, or a failure); the HTTP edge maps it.

pub mod auth;
pub mod dashboard;
pub mod error;
pub mod holds;
pub mod idempotency;
pub mod ledger;
pub mod links;
pub mod payouts;
pub mod users;
pub mod wallet;
