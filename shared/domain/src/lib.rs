//! The rules of the creator wallet, with no AWS SDK and no HTTP (cargo keeps
//! it so: this crate does not depend on them). Each rule has one home:
//!
//! - [`ledger`]: entry types, what each does to the buckets, the invariants
//!   a new balance must keep ([`ledger::next_balance`]);
//! - [`account`]: accounts, liveness, cashout blockers, profile validation;
//! - [`event`]: internal events and their validation, the dedup record;
//! - [`product`]: products, dashboard counters, conversion rates, ranking;
//! - [`token`]: Sanctum tokens, abilities, the secret check;
//! - [`payout`], [`lot`]: payouts and hold lots;
//! - [`ids`], [`currency`], [`pagination`], [`time`], [`config`].

pub mod account;
pub mod config;
pub mod currency;
pub mod event;
pub mod ids;
pub mod ledger;
pub mod lot;
pub mod pagination;
pub mod payout;
pub mod product;
pub mod time;
pub mod token;
