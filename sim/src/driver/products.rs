//! Products and analytics events in the simulation: the operations, and the
//! simulator's state for products and links (`Extra`). The model is
//! `crate::model::catalog`; the stored products are checked in `checks.rs`.

use super::ledger::status;
use super::{Ev, Sim, HELD_SECONDS};
use crate::model::catalog::{CatEvent, Catalog, ProductPart, Thumb};
use crate::model::MoneyEvent;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Product ids are the producer's (system-wide); the simulator's start here.
const FIRST_PRODUCT: i64 = 500;
const NOTE: &str = "product events redelivered after a fault";

/// The simulator's state for products and links.
#[derive(Default)]
pub(super) struct Extra {
    pub cat: Catalog,
    /// The profiles and extra accounts are made (`Sim::catalog_init`).
    pub ready: bool,
    /// Link-only accounts: user id, session token.
    pub spares: Vec<(i64, String)>,
    next_product: i64,
    /// Every event with a product delivered so far (for redeliveries).
    sent: Vec<Ev>,
    /// Products named since the last check.
    pub touched: BTreeSet<i64>,
    /// Products two creators raced for: which one owns it depends on timing,
    /// so no later operation picks them and the digest leaves them out.
    pub raced: BTreeSet<i64>,
}

/// Makes an event of creator `ci` for product `pid`.
type MakeEvent = fn(&mut Sim, usize, i64) -> Ev;

impl Sim {
    /// Product operation `roll` (100 to 118 of `one_step`) on creator `ci`;
    /// the creator it touched (`None`: several).
    pub(super) async fn op_product(&mut self, ci: usize, roll: u32) -> Option<usize> {
        let (op, make): (&'static str, MakeEvent) = match roll {
            100..=103 => ("product_upsert", Sim::upsert_event),
            104..=106 => ("link_clicks", Sim::clicks_event),
            107..=109 => ("product_earning", Sim::product_earning_event),
            110..=111 => ("product_refund", Sim::product_refund_event),
            112..=113 => {
                self.count("product_batch");
                self.op_product_batch(ci).await;
                return Some(ci);
            }
            114..=116 => {
                self.count("product_redelivery");
                return self.op_product_redelivery(ci).await;
            }
            _ => {
                self.count("product_race");
                self.op_product_race(ci).await;
                return None;
            }
        };
        self.count(op);
        let pid = self.pick_product(ci);
        let e = make(self, ci, pid);
        self.cat_deliver(vec![e]).await;
        Some(ci)
    }

    /// A product described, clicked and sold in one batch, in any order,
    /// sometimes with an event twice.
    async fn op_product_batch(&mut self, ci: usize) {
        let pid = self.pick_product(ci);
        let mut batch = vec![
            self.upsert_event(ci, pid),
            self.clicks_event(ci, pid),
            self.product_earning_event(ci, pid),
        ];
        if self.rng.random_bool(0.3) {
            batch.push(self.product_refund_event(ci, pid));
        }
        for i in (1..batch.len()).rev() {
            let j = self.rng.random_range(0..=i);
            batch.swap(i, j);
        }
        if self.rng.random_bool(0.3) {
            let i = self.rng.random_range(0..batch.len());
            if let Some(again) = batch.get(i).cloned() {
                batch.push(again);
            }
        }
        self.cat_deliver(batch).await;
    }

    /// One to three product events delivered before, again in one batch.
    async fn op_product_redelivery(&mut self, ci: usize) -> Option<usize> {
        if self.extra.sent.is_empty() {
            return Some(ci);
        }
        let n = self.rng.random_range(1..=3);
        let mut batch = Vec::new();
        for _ in 0..n {
            let i = self.rng.random_range(0..self.extra.sent.len());
            if let Some(e) = self.extra.sent.get(i) {
                batch.push(e.clone());
            }
        }
        // Sometimes the same event_id with another payload: refused
        // once the first was applied.
        if self.rng.random_bool(0.3) {
            if let Some(changed) = batch.first().map(other_payload) {
                batch.push(changed);
            }
        }
        self.cat_deliver(batch).await;
        None
    }

    /// Two deliveries at once: two creators' first events for one new product
    /// (one owns it, the other is refused), one creator's clicks and sale of
    /// one product (both apply), or one event twice (applied once).
    async fn op_product_race(&mut self, ci: usize) {
        let (a, b) = self.race_events(ci);
        for e in [&a, &b] {
            self.remember_sent(e);
        }
        let ctx = self.ctx.clone();
        let Some((ra, rb)) = self
            .timed("ledger", async {
                tokio::join!(
                    ledger::handle(&ctx, a.1.clone()),
                    ledger::handle(&ctx, b.1.clone())
                )
            })
            .await
        else {
            return;
        };
        // The model applies what was applied first, then the duplicates, then
        // the refusals; what failed for a moment is settled afterwards.
        let rank = |r: &Value| match status(r) {
            "applied" => 0,
            "duplicate" => 1,
            _ => 2,
        };
        let mut order = vec![
            (a, ra.get(0).cloned().unwrap_or(Value::Null)),
            (b, rb.get(0).cloned().unwrap_or(Value::Null)),
        ];
        order.sort_by_key(|(_, r)| rank(r));
        let (batch, results): (Vec<Ev>, Vec<Value>) = order.into_iter().unzip();
        self.settle(&batch, &results, NOTE).await;
    }

    /// The two events of a race (`op_product_race`).
    fn race_events(&mut self, ci: usize) -> (Ev, Ev) {
        match self.rng.random_range(0..3) {
            0 => {
                // Another creator (there are at least three after the setup).
                let n = self.creators.len();
                let other = if n > 1 {
                    (ci + 1 + self.rng.random_range(0..n - 1)) % n
                } else {
                    ci
                };
                let pid = self.fresh_product();
                self.extra.raced.insert(pid);
                (self.clicks_event(ci, pid), self.clicks_event(other, pid))
            }
            1 => {
                let pid = self.pick_product(ci);
                (
                    self.clicks_event(ci, pid),
                    self.product_earning_event(ci, pid),
                )
            }
            _ => {
                let pid = self.pick_product(ci);
                let e = if self.rng.random_bool(0.5) {
                    self.clicks_event(ci, pid)
                } else {
                    self.product_earning_event(ci, pid)
                };
                (e.clone(), e)
            }
        }
    }

    fn remember_sent(&mut self, e: &Ev) {
        if let Some(p) = &e.2.product {
            self.extra.touched.insert(p.0);
        }
        if !self.extra.sent.iter().any(|s| s.0 == e.0) {
            self.extra.sent.push(e.clone());
        }
    }

    /// Delivers a batch of events to the `ledger` function and checks each result.
    async fn cat_deliver(&mut self, batch: Vec<Ev>) {
        for e in &batch {
            self.remember_sent(e);
        }
        let Some(results) = self.send_to_ledger(&batch).await else {
            return;
        };
        self.settle(&batch, &results, NOTE).await;
    }

    fn fresh_product(&mut self) -> i64 {
        self.extra.next_product += 1;
        FIRST_PRODUCT + self.extra.next_product
    }

    /// Mostly (70 %) one of the creator's products, sometimes a new id,
    /// sometimes any id used so far (perhaps another creator's).
    fn pick_product(&mut self, ci: usize) -> i64 {
        let uid = self.uid(ci);
        let own: Vec<i64> = self
            .extra
            .cat
            .products
            .iter()
            .filter(|(id, p)| p.owner == uid && !self.extra.raced.contains(id))
            .map(|(id, _)| *id)
            .collect();
        let roll = self.rng.random_range(0..100);
        if roll < 70 {
            if let Some(id) = own.choose(&mut self.rng) {
                return *id;
            }
        }
        if roll < 86 || self.extra.next_product == 0 {
            return self.fresh_product();
        }
        let any = FIRST_PRODUCT + self.rng.random_range(1..=self.extra.next_product);
        if self.extra.raced.contains(&any) {
            return self.fresh_product();
        }
        any
    }

    fn cat_event(
        &mut self,
        ci: usize,
        prefix: &str,
        mut payload: Value,
        money: Option<MoneyEvent>,
        product: (i64, ProductPart),
    ) -> Ev {
        let id = self.next_id(prefix);
        let user_id = self.uid(ci);
        if let Some(obj) = payload.as_object_mut() {
            obj.insert("event_id".into(), json!(id));
            obj.insert("user_id".into(), json!(user_id));
            obj.insert("product_id".into(), json!(product.0));
        }
        let ev = CatEvent {
            user_id,
            money,
            product: Some(product),
        };
        (id, payload, ev)
    }

    fn upsert_event(&mut self, ci: usize, pid: i64) -> Ev {
        let mut fields = BTreeMap::new();
        let title = self.rng.random_bool(0.7).then(|| {
            let t = self
                .rng
                .random_bool(0.85)
                .then(|| format!("Product {pid} take {}", self.counter));
            fields.insert("title", json!(t));
            t
        });
        let media = self.rng.random_bool(0.9).then(|| {
            let m = self.rng.random_bool(0.85);
            fields.insert("media_complete", json!(m));
            m
        });
        let deleted = self.rng.random_bool(0.4).then(|| {
            let d = self.rng.random_bool(0.25);
            fields.insert("deleted", json!(d));
            d
        });
        let thumbnail = self.rng.random_bool(0.6).then(|| {
            let t = self.rng.random_bool(0.8).then(|| {
                let (w, h) = (
                    self.rng.random_range(1..=4000),
                    self.rng.random_range(1..=4000),
                );
                Thumb {
                    url: format!("https://cdn.example/{pid}/{w}x{h}.jpg"),
                    width: w,
                    height: h,
                }
            });
            fields.insert("thumbnail", json!(t.as_ref().map(Thumb::json)));
            t
        });
        let mut payload = json!({"kind": "product_upsert"});
        if let Some(obj) = payload.as_object_mut() {
            for (k, v) in fields {
                obj.insert(k.into(), v);
            }
        }
        let part = ProductPart::Upsert {
            title,
            media_complete: media,
            deleted,
            thumbnail,
        };
        self.cat_event(ci, "pu", payload, None, (pid, part))
    }

    fn clicks_event(&mut self, ci: usize, pid: i64) -> Ev {
        let count = self.rng.random_range(1..=30);
        self.cat_event(
            ci,
            "lc",
            json!({"kind": "link_clicks", "count": count}),
            None,
            (pid, ProductPart::Clicks(count)),
        )
    }

    fn product_earning_event(&mut self, ci: usize, pid: i64) -> Ev {
        let amount = self.rng.random_range(1..5000);
        let held = self.rng.random_bool(0.3);
        let hold_seconds = if held { HELD_SECONDS } else { 0 };
        self.cat_event(
            ci,
            "pe",
            json!({"kind": "product_earning", "amount": amount, "title": "Unlock", "hold_seconds": hold_seconds}),
            Some(MoneyEvent::Earning {
                affiliate: false,
                held,
                amount,
            }),
            (pid, ProductPart::Unlock(amount)),
        )
    }

    fn product_refund_event(&mut self, ci: usize, pid: i64) -> Ev {
        let amount = self.rng.random_range(1..3000);
        self.cat_event(
            ci,
            "pr",
            json!({"kind": "refund", "amount": amount, "title": "Refund"}),
            Some(MoneyEvent::Refund(amount)),
            (pid, ProductPart::Refund(amount)),
        )
    }
}

/// The same event id with another payload (`count`/`amount` + 1, or the
/// `deleted` flag turned).
fn other_payload(e: &Ev) -> Ev {
    let (id, payload, ev) = e;
    let mut payload = payload.clone();
    let mut ev = ev.clone();
    let mut set = |key: &str, value: Value| {
        if let Some(obj) = payload.as_object_mut() {
            obj.insert(key.into(), value);
        }
    };
    if let Some((_, part)) = ev.product.as_mut() {
        match part {
            ProductPart::Clicks(n) => {
                *n += 1;
                set("count", json!(*n));
            }
            ProductPart::Unlock(a) | ProductPart::Refund(a) => {
                *a += 1;
                set("amount", json!(*a));
                ev.money = match ev.money {
                    Some(MoneyEvent::Earning {
                        affiliate, held, ..
                    }) => Some(MoneyEvent::Earning {
                        affiliate,
                        held,
                        amount: *a,
                    }),
                    Some(MoneyEvent::Refund(_)) => Some(MoneyEvent::Refund(*a)),
                    other => other,
                };
            }
            ProductPart::Upsert { deleted, .. } => {
                let d = !deleted.unwrap_or(false);
                *deleted = Some(d);
                set("deleted", json!(d));
            }
        }
    }
    (id.clone(), payload, ev)
}
