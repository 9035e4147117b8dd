//! The harness of the integration tests (`tests/tests/api/`) and of walletctl's
//! tests. Every test gets a table of its own in the DynamoDB Local that
//! `make test` starts (`AWS_ENDPOINT_URL_DYNAMODB`), and a client that counts
//! the requests it sends.
//!
//! - [`dynamo`]: the endpoint, [`dynamo::TestCtx`] (a fresh table, request
//!   counts and round trips), raw reads and writes of items;
//! - [`fixtures`]: the one [`fixtures::creator`] fixture and API keys;
//! - [`events`]: one constructor per internal event kind, and applying them;
//! - [`http`]: requests from the sample events, one method per public route,
//!   the response taken apart, the one [`http::assert_refused`] assertion;
//! - [`expect`]: expected JSON (pages, balances, summaries);
//! - [`invariants`]: the reads and the whole-wallet checks of docs/ledger.md#invariants;
//! - [`operator`]: `payout-admin` and `release-holds`.

pub mod dynamo;
pub mod events;
pub mod expect;
pub mod fixtures;
pub mod http;
pub mod invariants;
pub mod operator;
