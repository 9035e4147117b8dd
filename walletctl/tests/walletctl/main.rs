//! The tests of `walletctl`, one binary: the operator CLI ([`cli`]) and the
//! local Lambda runtime end to end ([`e2e`]), both through the real binary
//! ([`env`]) against DynamoDB Local, the local API through HTTP ([`local_api`]).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cli;
mod e2e;
mod env;
mod local_api;
