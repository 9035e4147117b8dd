//! Money events: earnings, fees, refunds, holds and their releases, sent to
//! the `ledger` function alone, in batches, again, out of order and with
//! another payload under the same id; and the `release-holds` runs.

use super::{MoneyEv, Sim, FAR_FUTURE, HELD_SECONDS};
use crate::model::catalog::CatEvent;
use crate::model::MoneyEvent;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};

impl Sim {
    /// An earning (affiliate or not, held or not).
    pub(super) async fn op_earning(&mut self, ci: usize) {
        self.count("earning");
        let affiliate = self.rng.random_bool(0.3);
        let held = self.rng.random_bool(0.4);
        let amount = self.rng.random_range(1..5000);
        let ev = self.earning(ci, affiliate, held, amount);
        self.deliver(ci, vec![ev]).await;
    }

    /// A `fee`, `refund` or `hold` of 1 to `below - 1`.
    pub(super) async fn op_simple(&mut self, ci: usize, kind: &'static str, below: i64) {
        self.count(kind);
        let amount = self.rng.random_range(1..below);
        let ev = self.simple(ci, kind, amount);
        self.deliver(ci, vec![ev]).await;
    }

    /// The release of one of the creator's lots (or of no lot at all).
    pub(super) async fn op_release_hold(&mut self, ci: usize) {
        self.count("release_hold");
        let lots: Vec<String> = self
            .creators
            .get(ci)
            .map(|c| c.w.lots.keys().cloned().collect())
            .unwrap_or_default();
        let lot = lots
            .choose(&mut self.rng)
            .cloned()
            .unwrap_or_else(|| "no-such-lot".to_owned());
        let ev = self.release(ci, &lot);
        self.deliver(ci, vec![ev]).await;
    }

    /// One to three events delivered before, again in one batch.
    pub(super) async fn op_redelivery(&mut self, ci: usize) {
        self.count("redelivery");
        let Some(sent) = self.creators.get(ci).map(|c| &c.sent) else {
            return;
        };
        if sent.is_empty() {
            return;
        }
        let n = self.rng.random_range(1..=3);
        let mut batch = Vec::new();
        for _ in 0..n {
            let i = self.rng.random_range(0..sent.len());
            if let Some(e) = sent.get(i) {
                batch.push(e.clone());
            }
        }
        // Sometimes the same event_id with another amount: refused
        // if the first was applied.
        if self.rng.random_bool(0.25) {
            if let Some(changed) = batch.first().and_then(with_other_amount) {
                batch.push(changed);
            }
        }
        self.deliver(ci, batch).await;
    }

    /// The release of a hold before the hold: in one batch (release, hold,
    /// release) or in three deliveries.
    pub(super) async fn op_reordered(&mut self, ci: usize) {
        self.count("reordered");
        let hold_id = self.next_id("h");
        let amount = self.rng.random_range(1..1500);
        let release = self.release(ci, &hold_id);
        let hold = self.event(
            ci,
            hold_id,
            json!({"kind": "hold", "amount": amount, "title": "Dispute"}),
            MoneyEvent::Hold(amount),
        );
        if self.rng.random_bool(0.5) {
            self.deliver(ci, vec![release.clone(), hold, release]).await;
        } else {
            self.deliver(ci, vec![release.clone()]).await;
            self.deliver(ci, vec![hold]).await;
            self.deliver(ci, vec![release]).await;
        }
    }

    fn event(&mut self, ci: usize, id: String, mut payload: Value, model: MoneyEvent) -> MoneyEv {
        if let Some(obj) = payload.as_object_mut() {
            obj.insert("event_id".into(), json!(id));
            obj.insert("user_id".into(), json!(self.uid(ci)));
        }
        (id, payload, model)
    }

    fn earning(&mut self, ci: usize, affiliate: bool, held: bool, amount: i64) -> MoneyEv {
        let id = self.next_id("e");
        let kind = if affiliate {
            "affiliate_earning"
        } else {
            "product_earning"
        };
        let hold_seconds = if held { HELD_SECONDS } else { 0 };
        self.event(
            ci,
            id,
            json!({"kind": kind, "amount": amount, "title": "Sale", "hold_seconds": hold_seconds}),
            MoneyEvent::Earning {
                affiliate,
                held,
                amount,
            },
        )
    }

    fn simple(&mut self, ci: usize, kind: &str, amount: i64) -> MoneyEv {
        let (prefix, model) = match kind {
            "fee" => ("f", MoneyEvent::Fee(amount)),
            "refund" => ("r", MoneyEvent::Refund(amount)),
            _ => ("h", MoneyEvent::Hold(amount)),
        };
        let id = self.next_id(prefix);
        self.event(
            ci,
            id,
            json!({"kind": kind, "amount": amount, "title": kind}),
            model,
        )
    }

    fn release(&mut self, ci: usize, lot: &str) -> MoneyEv {
        let id = self.next_id("r");
        self.event(
            ci,
            id,
            json!({"kind": "release_hold", "hold_event_id": lot, "title": "Resolved"}),
            MoneyEvent::ReleaseHold(lot.to_owned()),
        )
    }

    /// Delivers a batch of money events to the `ledger` function and checks
    /// each result against the creator's wallet.
    async fn deliver(&mut self, ci: usize, batch: Vec<MoneyEv>) {
        let user_id = self.uid(ci);
        if let Some(c) = self.creators.get_mut(ci) {
            for e in &batch {
                if !c.sent.iter().any(|s| s.0 == e.0) {
                    c.sent.push(e.clone());
                }
            }
        }
        let Some(results) = self.send_to_ledger(&batch).await else {
            return;
        };
        let batch: Vec<_> = batch
            .into_iter()
            .map(|(id, payload, money)| {
                let ev = CatEvent {
                    user_id,
                    money: Some(money),
                    product: None,
                };
                (id, payload, ev)
            })
            .collect();
        self.settle(&batch, &results, "events redelivered after a fault")
            .await;
    }

    /// Two `release-holds` runs at once: together they release every due
    /// lot once.
    pub(super) async fn op_release_runs(&mut self) {
        let ctx = self.ctx.clone();
        let Some((a, b)) = self
            .timed("release-holds", async {
                tokio::join!(
                    release_holds::handle(&ctx, json!({"now": FAR_FUTURE})),
                    release_holds::handle(&ctx, json!({"now": FAR_FUTURE}))
                )
            })
            .await
        else {
            return;
        };
        let mut expected = 0;
        for c in &mut self.creators {
            expected += c.w.release_due();
        }
        let released = |v: &Value| v.get("released").and_then(Value::as_u64);
        match released(&a).zip(released(&b)) {
            Some((x, y)) if x + y == expected => {}
            _ if self.faulty => {
                // A run failed part way: the next run (faults off) finishes.
                self.note("release runs repeated after a fault");
                self.proxy.arm(None);
                let ctx = self.ctx.clone();
                let again = release_holds::handle(&ctx, json!({"now": FAR_FUTURE}));
                if let Some(c) = self.timed("release-holds", again).await {
                    if c.get("error").is_some() {
                        self.violation(format!("release run without faults failed: {c}"));
                    }
                }
            }
            _ => self.violation(format!(
                "two release runs answered {a} and {b}; model released {expected}"
            )),
        }
    }
}

/// The same event id with the amount plus one (`None` for events without an amount).
fn with_other_amount(e: &MoneyEv) -> Option<MoneyEv> {
    let model = match &e.2 {
        MoneyEvent::Earning {
            affiliate,
            held,
            amount,
        } => MoneyEvent::Earning {
            affiliate: *affiliate,
            held: *held,
            amount: amount + 1,
        },
        MoneyEvent::Fee(a) => MoneyEvent::Fee(a + 1),
        MoneyEvent::Refund(a) => MoneyEvent::Refund(a + 1),
        MoneyEvent::Hold(a) => MoneyEvent::Hold(a + 1),
        MoneyEvent::ReleaseHold(_) => return None,
    };
    let mut payload = e.1.clone();
    let amount = payload.get("amount").and_then(Value::as_i64)?;
    payload
        .as_object_mut()?
        .insert("amount".into(), json!(amount + 1));
    Some((e.0.clone(), payload, model))
}
