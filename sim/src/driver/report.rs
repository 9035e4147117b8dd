//! The end of a run: what ran, the faults and restarts, the notes, the model
//! digest (identical for identical runs without faults) and the violations.

use super::Sim;
use crate::dynamo::LocalDynamo;
use std::collections::BTreeMap;
use std::time::Duration;

/// FNV-1a, 64 bits: the digest of the model's state.
struct Digest(u64);

impl Digest {
    fn new() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, text: &str) {
        for b in text.bytes() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl Sim {
    pub(super) fn report(&self, elapsed: Duration, table: &str) {
        println!("seed: {}", self.args.seed);
        println!("steps: {}", self.args.steps);
        println!("creators: {}", self.args.creators);
        println!("table: {table}");
        let ops: Vec<String> = self.ops.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("operations: {}", ops.join(" "));
        let injected = self.proxy.injected();
        let total: u64 = injected.values().sum();
        let faults: Vec<String> = injected
            .iter()
            .map(|(k, v)| format!("{}={v}", k.name()))
            .collect();
        println!(
            "faults injected: {total}{}{}",
            if faults.is_empty() { "" } else { " " },
            faults.join(" ")
        );
        for (k, v) in &self.notes {
            println!("  {k}: {v}");
        }
        let mut digest = Digest::new();
        for c in &self.creators {
            let w = &c.w;
            digest.add(&format!(
                "{} {} {} {} {} {} {:?}",
                w.available,
                w.hold,
                w.pending,
                w.referral,
                w.public_entries,
                w.affiliate_entries,
                w.payouts
                    .iter()
                    .map(|p| (p.amount, p.state))
                    .collect::<Vec<_>>()
            ));
        }
        let (catalog, line) = self.catalog_report();
        println!("{line}");
        digest.add(&catalog);
        println!("model digest: {:016x}", digest.0);
        println!("violations: {}", self.violations.len());
        println!("duration: {:.1}s", elapsed.as_secs_f64());
        let failed = usize::from(!self.violations.is_empty());
        println!("simulate: {} passed, {failed} failed", 1 - failed);
    }

    /// The restarts of the run's own DynamoDB Local and their downtime.
    pub(super) fn report_restarts(&self, db: &LocalDynamo, restarts: &BTreeMap<&str, u64>) {
        let mut downtime = db.downtime.clone();
        downtime.sort();
        let median = downtime
            .get(downtime.len() / 2)
            .copied()
            .unwrap_or_default();
        println!(
            "restarts of DynamoDB Local (SIGKILL, data on disk): {} ({}), downtime median {:.1} s, {} requests met it down",
            db.restarts,
            restarts
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            median.as_secs_f64(),
            self.proxy.upstream_failures()
        );
    }

    /// The catalog part of the digest and a line for the report.
    fn catalog_report(&self) -> (String, String) {
        let cat = &self.extra.cat;
        let digest = cat.digest_text(|id| self.account_index(id), &self.extra.raced);
        let eligible = cat.products.values().filter(|p| p.eligible()).count();
        let links: usize = cat.children.values().map(Vec::len).sum();
        let line = format!(
            "catalog: {} products ({eligible} can rank), {} product events applied, {links} links, {} creators ({} non-USD), {} link-only accounts",
            cat.products.len(),
            cat.applied.len(),
            self.creators.len(),
            self.creators
                .iter()
                .filter(|c| cat.profiles.get(&c.user_id).is_some_and(|p| p.currency_id != 1))
                .count(),
            self.extra.spares.len()
        );
        (digest, line)
    }

    /// A stable index of an account for the digest.
    fn account_index(&self, user_id: i64) -> usize {
        self.ci_of(user_id)
            .or_else(|| {
                self.extra
                    .spares
                    .iter()
                    .position(|s| s.0 == user_id)
                    .map(|j| 100 + j)
            })
            .unwrap_or(usize::MAX)
    }
}
