//! The integration tests of the functions, one binary against DynamoDB Local
//! (`make test` starts it), one module per area. Their harness is the `tests`
//! library (`tests/src/`): import what a module uses from it by name.

mod access_control;
mod cashout;
mod dashboard;
mod ids;
mod ledger;
mod links;
mod payouts;
mod smoke;
mod wallet_api;
