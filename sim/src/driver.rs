//! The simulation loop: seeded operations through the real handlers, the model
//! kept alongside, and the checks after every step.
//!
//! `Sim` is one state; its methods are spread by concern:
//! - `setup`: the table, the creators, the proxy, the link-only accounts;
//! - `steps`: the loop over the steps, restarts, the seeded choice of an operation;
//! - `money`: money events (earnings, fees, refunds, holds, releases);
//! - `ledger`: deliveries to the `ledger` function and their settlement;
//! - `cashout`: cashouts, their replays, payout decisions;
//! - `products`: product events and their races;
//! - `links`: links and unlinks; `deletion`: deleted accounts;
//! - `http`: requests and answers of the HTTP handlers; `reads`: the reads;
//! - `checks`: the stored state against docs/ledger.md#invariants and the model; `report`: the end.

use crate::faults::Proxy;
use crate::model::catalog::CatEvent;
use crate::model::{MoneyEvent, Wallet};
use crate::Args;
use rand::rngs::StdRng;
use serde_json::Value;
use shared::Ctx;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

mod cashout;
mod checks;
mod deletion;
mod http;
mod ledger;
mod links;
mod money;
mod products;
mod reads;
mod report;
mod setup;
mod steps;

pub use steps::run;

/// Longer than any handler may take, even with injected latency and retries.
const HANG: Duration = Duration::from_secs(60);
const FAR_FUTURE: &str = "2100-01-01T00:00:00Z";
const HELD_SECONDS: i64 = 86_400;

/// A money event: its id, its payload, the model's view.
type MoneyEv = (String, Value, MoneyEvent);
/// An event as the catalog sees it (money and product parts).
type Ev = (String, Value, CatEvent);

struct Creator {
    user_id: i64,
    token: String,
    w: Wallet,
    /// Every event delivered for this creator: id, payload, model view.
    sent: Vec<MoneyEv>,
    /// Successful keyed cashouts: key, body, Location, to replay.
    keyed: Vec<(String, String, Option<String>)>,
}

impl Creator {
    fn new(user_id: i64, token: String) -> Self {
        Self {
            user_id,
            token,
            w: Wallet::default(),
            sent: Vec::new(),
            keyed: Vec::new(),
        }
    }
}

struct Sim {
    args: Args,
    ctx: Arc<Ctx>,
    proxy: Proxy,
    rng: StdRng,
    creators: Vec<Creator>,
    ops: BTreeMap<&'static str, u64>,
    violations: Vec<String>,
    notes: BTreeMap<String, u64>,
    step: u64,
    /// Faults armed for the current step.
    faulty: bool,
    counter: u64,
    /// Products, analytics events and links (`products.rs`).
    extra: products::Extra,
}

impl Sim {
    fn violation(&mut self, what: String) {
        let line = format!(
            "step {} (seed {}{}): {what}",
            self.step,
            self.args.seed,
            if self.faulty { ", faults on" } else { "" }
        );
        println!("VIOLATION {line}");
        self.violations.push(line);
    }

    fn note(&mut self, what: &str) {
        if self.args.verbose {
            println!("step {} note: {what}", self.step);
        }
        *self.notes.entry(what.to_owned()).or_default() += 1;
    }

    fn count(&mut self, op: &'static str) {
        *self.ops.entry(op).or_default() += 1;
        if self.args.verbose {
            println!("step {} {op}", self.step);
        }
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    async fn timed<T>(&mut self, what: &str, fut: impl Future<Output = T>) -> Option<T> {
        match tokio::time::timeout(HANG, fut).await {
            Ok(v) => Some(v),
            Err(_) => {
                self.violation(format!("{what} hung for more than {HANG:?}"));
                None
            }
        }
    }

    /// Faults off for what follows (a resolution, a check); whether they were on.
    fn faults_off(&mut self) -> bool {
        self.proxy.arm(None);
        std::mem::replace(&mut self.faulty, false)
    }

    /// The user id of creator `ci` (`ci` is always one of `creators`).
    fn uid(&self, ci: usize) -> i64 {
        self.creators.get(ci).map_or(0, |c| c.user_id)
    }

    /// The model wallet of creator `ci`, copied.
    fn wallet(&self, ci: usize) -> Wallet {
        self.creators
            .get(ci)
            .map(|c| c.w.clone())
            .unwrap_or_default()
    }

    fn ci_of(&self, user_id: i64) -> Option<usize> {
        self.creators.iter().position(|c| c.user_id == user_id)
    }
}
