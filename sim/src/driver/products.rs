//! Products, analytics events and account links in the simulation: the
//! operations, their resolution after faults, the dashboard and
//! linked-accounts reads compared in full with the model
//! (`crate::model::catalog`), and the stored products and links checked.

use super::{Answer, Creator, Sim};
use crate::model::catalog::{
    Balance, CatEvent, Catalog, ModelLink, ProductPart, Profile, Refusal, Thumb,
};
use crate::model::{Expect, MoneyEvent, Wallet};
use lambda_http::Body;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};
use shared::auth::{create_token, Ability};
use shared::currency::Currency;
use shared::db::model::{Account, Link};
use shared::ledger::apply::{read_account, read_product};
use shared::links::LinkError;
use shared::users::{create_user, NewUser};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Accounts that only take part in links (no money, no products): with them
/// a master can reach its 10 children.
const LINK_ONLY_ACCOUNTS: usize = 6;
/// Product ids are the producer's (system-wide); the simulator's start here.
const FIRST_PRODUCT: i64 = 500;

/// The simulator's state for products and links.
#[derive(Default)]
pub(super) struct Extra {
    pub cat: Catalog,
    ready: bool,
    /// Link-only accounts: user id, session token.
    spares: Vec<(i64, String)>,
    next_product: i64,
    /// Every event with a product delivered so far (for redeliveries).
    sent: Vec<(String, Value, CatEvent)>,
    /// Products named since the last check.
    touched: BTreeSet<i64>,
    /// Products two creators raced for: which one owns it depends on timing,
    /// so no later operation picks them and the digest leaves them out.
    raced: BTreeSet<i64>,
}

type Ev = (String, Value, CatEvent);

/// What a link or unlink call did, as far as the stored links tell.
#[derive(Debug, Clone, Copy)]
enum Happened {
    No,
    Linked(ModelLink),
    Unlinked,
}

#[derive(Debug)]
enum LinkOutcome {
    Done,
    Refused(Refusal),
    Unknown(String),
}

fn classify<T>(r: Result<T, LinkError>) -> (LinkOutcome, Option<T>) {
    match r {
        Ok(v) => (LinkOutcome::Done, Some(v)),
        Err(e) => (
            match e {
                LinkError::SelfLink => LinkOutcome::Refused(Refusal::SelfLink),
                LinkError::ChildAlreadyLinked { .. } => {
                    LinkOutcome::Refused(Refusal::ChildAlreadyLinked)
                }
                LinkError::TooManyChildren(_) => LinkOutcome::Refused(Refusal::TooManyChildren),
                LinkError::MasterIsChild(_) => LinkOutcome::Refused(Refusal::MasterIsChild),
                LinkError::ChildIsMaster(_) => LinkOutcome::Refused(Refusal::ChildIsMaster),
                LinkError::NotLinked { .. } => LinkOutcome::Refused(Refusal::NotLinked),
                LinkError::NotFound(_) => LinkOutcome::Refused(Refusal::NotFound),
                LinkError::App(e) => LinkOutcome::Unknown(e.to_string()),
            },
            None,
        ),
    }
}

fn currency_profile(c: Currency) -> (i64, &'static str) {
    // SPEC 7: USD id 1, EUR id 2, GBP id 3.
    match c {
        Currency::Usd => (1, "USD"),
        Currency::Eur => (2, "EUR"),
        Currency::Gbp => (3, "GBP"),
    }
}

impl Sim {
    fn uid(&self, ci: usize) -> i64 {
        self.creators[ci].user_id
    }

    fn ci_of(&self, user_id: i64) -> Option<usize> {
        self.creators.iter().position(|c| c.user_id == user_id)
    }

    /// Every account: the creators, then the link-only accounts.
    fn all_accounts(&self) -> Vec<i64> {
        self.creators
            .iter()
            .map(|c| c.user_id)
            .chain(self.extra.spares.iter().map(|s| s.0))
            .collect()
    }

    fn token_of(&self, user_id: i64) -> Option<String> {
        self.creators
            .iter()
            .find(|c| c.user_id == user_id)
            .map(|c| c.token.clone())
            .or_else(|| {
                self.extra
                    .spares
                    .iter()
                    .find(|s| s.0 == user_id)
                    .map(|s| s.1.clone())
            })
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

    fn balances(&self) -> BTreeMap<i64, Balance> {
        self.creators
            .iter()
            .map(|c| (c.user_id, Balance::of(&c.w)))
            .collect()
    }

    /// Once, before the first step: the profiles of the creators, one EUR and
    /// one GBP creator more (money checks included), and the link-only accounts.
    pub(super) async fn catalog_init(&mut self) {
        if self.extra.ready {
            return;
        }
        self.extra.ready = true;
        for ci in 0..self.creators.len() {
            let uid = self.uid(ci);
            // Retried while DynamoDB Local restarts (--restarts, step 0).
            let mut last = String::new();
            for _ in 0..30 {
                match read_account(&self.ctx, uid).await {
                    Ok(Some(a)) => {
                        self.remember_profile(&a);
                        last.clear();
                        break;
                    }
                    other => last = format!("{other:?}"),
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            if !last.is_empty() {
                self.violation(format!("user {uid}: account unreadable: {last}"));
            }
        }
        let extra_creators = [
            (
                Currency::Eur,
                json!({"iban": "DE89370400440532013000", "bic_swift": "COBADEFFXXX"}),
            ),
            (
                Currency::Gbp,
                json!({"account_number": "31926819", "sort_code": "60-16-13"}),
            ),
        ];
        for (currency, details) in extra_creators {
            let code = currency_profile(currency).1.to_lowercase();
            let email = format!("sim-{code}@example.com");
            let name = format!("Sim creator {}", code.to_uppercase());
            if let Some((user_id, token)) = self
                .new_account(&email, &name, currency, Some(&details))
                .await
            {
                self.creators.push(Creator {
                    user_id,
                    token,
                    w: Wallet::default(),
                    sent: Vec::new(),
                    keyed: Vec::new(),
                });
            }
        }
        for j in 0..LINK_ONLY_ACCOUNTS {
            let currency = [Currency::Usd, Currency::Eur, Currency::Gbp][j % 3];
            let email = format!("sim-link{j}@example.com");
            let name = format!("Sim linked {j}");
            if let Some(account) = self.new_account(&email, &name, currency, None).await {
                self.extra.spares.push(account);
            }
        }
    }

    fn remember_profile(&mut self, a: &Account) {
        let (currency_id, currency_code) = currency_profile(a.currency);
        self.extra.cat.profiles.insert(
            a.user_id,
            Profile {
                email: a.email.clone(),
                display_name: a.display_name.clone(),
                currency_id,
                currency_code,
            },
        );
    }

    /// Creates a user and a session token (retried while DynamoDB Local restarts).
    async fn new_account(
        &mut self,
        email: &str,
        name: &str,
        currency: Currency,
        details: Option<&Value>,
    ) -> Option<(i64, String)> {
        let mut last = String::new();
        for _ in 0..30 {
            let user = NewUser {
                email,
                display_name: name,
                currency,
                payout_details: details,
            };
            match create_user(&self.ctx, user).await {
                Ok(user_id) => {
                    for _ in 0..30 {
                        match create_token(&self.ctx, user_id, Ability::All).await {
                            Ok((_, token)) => {
                                let (currency_id, currency_code) = currency_profile(currency);
                                self.extra.cat.profiles.insert(
                                    user_id,
                                    Profile {
                                        email: email.to_owned(),
                                        display_name: name.to_owned(),
                                        currency_id,
                                        currency_code,
                                    },
                                );
                                return Some((user_id, token));
                            }
                            Err(e) => last = e.to_string(),
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    break;
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        self.violation(format!("setup: account {email} not created: {last}"));
        None
    }

    // ---- product events ------------------------------------------------------

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
        (
            id,
            payload,
            CatEvent {
                user_id,
                money,
                product: Some(product),
            },
        )
    }

    fn upsert_event(&mut self, ci: usize, pid: i64) -> Ev {
        let mut payload = json!({"kind": "product_upsert"});
        let (mut title, mut media, mut deleted, mut thumbnail) = (None, None, None, None);
        let obj = payload.as_object_mut();
        let mut fields = BTreeMap::new();
        if self.rng.random_bool(0.7) {
            let t = if self.rng.random_bool(0.85) {
                Some(format!("Product {pid} take {}", self.counter))
            } else {
                None
            };
            fields.insert("title", json!(t));
            title = Some(t);
        }
        if self.rng.random_bool(0.9) {
            let m = self.rng.random_bool(0.85);
            fields.insert("media_complete", json!(m));
            media = Some(m);
        }
        if self.rng.random_bool(0.4) {
            let d = self.rng.random_bool(0.25);
            fields.insert("deleted", json!(d));
            deleted = Some(d);
        }
        if self.rng.random_bool(0.6) {
            let t = if self.rng.random_bool(0.8) {
                let (w, h) = (
                    self.rng.random_range(1..=4000),
                    self.rng.random_range(1..=4000),
                );
                Some(Thumb {
                    url: format!("https://cdn.example/{pid}/{w}x{h}.jpg"),
                    width: w,
                    height: h,
                })
            } else {
                None
            };
            fields.insert(
                "thumbnail",
                json!(t
                    .as_ref()
                    .map(|t| json!({"url": t.url, "width": t.width, "height": t.height}))),
            );
            thumbnail = Some(t);
        }
        if let Some(obj) = obj {
            for (k, v) in fields {
                obj.insert(k.into(), v);
            }
        }
        self.cat_event(
            ci,
            "pu",
            payload,
            None,
            (
                pid,
                ProductPart::Upsert {
                    title,
                    media_complete: media,
                    deleted,
                    thumbnail,
                },
            ),
        )
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
        let hold_seconds = if held { super::HELD_SECONDS } else { 0 };
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

    /// One product operation on creator `ci`; the creator(s) it touched.
    pub(super) async fn op_product(&mut self, ci: usize, op: &'static str) -> Option<usize> {
        self.count(op);
        match op {
            "product_upsert" => {
                let pid = self.pick_product(ci);
                let e = self.upsert_event(ci, pid);
                self.cat_deliver(vec![e]).await;
            }
            "link_clicks" => {
                let pid = self.pick_product(ci);
                let e = self.clicks_event(ci, pid);
                self.cat_deliver(vec![e]).await;
            }
            "product_earning" => {
                let pid = self.pick_product(ci);
                let e = self.product_earning_event(ci, pid);
                self.cat_deliver(vec![e]).await;
            }
            "product_refund" => {
                let pid = self.pick_product(ci);
                let e = self.product_refund_event(ci, pid);
                self.cat_deliver(vec![e]).await;
            }
            "product_batch" => {
                // A product described, clicked and sold in one batch, in any
                // order, sometimes with an event twice.
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
                    let again = batch[self.rng.random_range(0..batch.len())].clone();
                    batch.push(again);
                }
                self.cat_deliver(batch).await;
            }
            "product_redelivery" => {
                if self.extra.sent.is_empty() {
                    return Some(ci);
                }
                let n = self.rng.random_range(1..=3);
                let mut batch = Vec::new();
                for _ in 0..n {
                    let i = self.rng.random_range(0..self.extra.sent.len());
                    batch.push(self.extra.sent[i].clone());
                }
                // Sometimes the same event_id with another payload: refused
                // once the first was applied.
                if self.rng.random_bool(0.3) {
                    if let Some(changed) = batch.first().map(other_payload) {
                        batch.push(changed);
                    }
                }
                self.cat_deliver(batch).await;
                return None;
            }
            _ => return self.op_product_race(ci).await,
        }
        Some(ci)
    }

    /// Two deliveries at once: two creators' first events for one new product
    /// (one owns it, the other is refused), one creator's clicks and sale of
    /// one product (both apply), or one event twice (applied once).
    async fn op_product_race(&mut self, ci: usize) -> Option<usize> {
        let mode = self.rng.random_range(0..3);
        let (a, b) = match mode {
            0 => {
                let other = (ci + 1 + self.rng.random_range(0..self.creators.len() - 1))
                    % self.creators.len();
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
        };
        for e in [&a, &b] {
            self.remember_sent(e);
        }
        let ctx = self.ctx.clone();
        let (ra, rb) = self
            .timed("ledger", async {
                tokio::join!(
                    ledger::handle(&ctx, a.1.clone()),
                    ledger::handle(&ctx, b.1.clone())
                )
            })
            .await?;
        let results = [ra.get(0).cloned(), rb.get(0).cloned()];
        // The model applies what was applied first, then the duplicates, then
        // the refusals; what failed for a moment is settled afterwards.
        let status = |r: &Option<Value>| {
            r.as_ref()
                .and_then(|r| r.get("status"))
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        let mut order: Vec<(usize, &Ev)> = vec![(0, &a), (1, &b)];
        let rank = |s: &str| match s {
            "applied" => 0,
            "duplicate" => 1,
            _ => 2,
        };
        order.sort_by_key(|(i, _)| rank(&status(&results[*i])));
        let batch: Vec<Ev> = order.iter().map(|(_, e)| (*e).clone()).collect();
        let ordered: Vec<Value> = order
            .iter()
            .map(|(i, _)| results[*i].clone().unwrap_or(Value::Null))
            .collect();
        self.settle(&batch, &ordered).await;
        None
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
        self.settle(&batch, &results).await;
    }

    /// The model's answer to one delivery.
    fn model_deliver(&mut self, e: &Ev) -> Option<Expect> {
        let ci = self.ci_of(e.2.user_id)?;
        let Sim {
            creators, extra, ..
        } = self;
        Some(extra.cat.deliver(&mut creators[ci].w, &e.0, &e.2))
    }

    /// Checks the results of a batch against the model, in order. A batch in
    /// which some events failed for a moment is walked like `resolve_batch`
    /// does: whether a failed event was applied is read from its event record,
    /// and the ones not applied are delivered again with faults off.
    async fn settle(&mut self, batch: &[Ev], results: &[Value]) {
        let temporary = |r: &Value| {
            r.get("error")
                .and_then(Value::as_str)
                .is_some_and(|m| m.starts_with("temporary failure"))
        };
        let any_temporary = results.iter().any(temporary);
        if any_temporary {
            if !self.faulty {
                self.violation(format!("temporary failure without faults: {results:?}"));
            }
            self.note("product events redelivered after a fault");
            self.proxy.arm(None);
        }
        let was = self.faulty;
        if any_temporary {
            self.faulty = false;
        }
        let mut again = Vec::new();
        for (i, (e, r)) in batch.iter().zip(results).enumerate() {
            let got = r.get("status").and_then(Value::as_str).unwrap_or("?");
            if temporary(r) {
                if batch.iter().skip(i + 1).any(|later| later.0 == e.0) {
                    continue;
                }
                let recorded = self.event_recorded(&e.0).await;
                let known = self.extra.cat.applied.contains_key(&e.0)
                    || self
                        .ci_of(e.2.user_id)
                        .is_some_and(|ci| self.creators[ci].w.applied.contains_key(&e.0));
                if recorded && !known {
                    let expect = self.model_deliver(e);
                    if expect != Some(Expect::Applied) {
                        self.violation(format!(
                            "event {} ({:?}) was recorded but the model says {expect:?}",
                            e.0, e.2
                        ));
                    }
                } else if !recorded {
                    again.push(e.clone());
                }
                continue;
            }
            let expect = self.model_deliver(e);
            let ok = match expect {
                Some(Expect::Applied) => {
                    got == "applied" || ((was || any_temporary) && got == "duplicate")
                }
                Some(Expect::Duplicate) => got == "duplicate",
                Some(Expect::Rejected) => got == "rejected",
                None => false,
            };
            if ok && expect == Some(Expect::Applied) && got == "duplicate" {
                self.note("first delivery answered duplicate (SDK retry of a committed write)");
            }
            if !ok {
                self.violation(format!(
                    "event {} ({:?}): model {expect:?}, ledger {r}",
                    e.0, e.2
                ));
            }
        }
        for e in again {
            let Some(got) = self.redeliver(&e.1).await else {
                break;
            };
            let expect = self.model_deliver(&e);
            let ok = match expect {
                Some(Expect::Applied) => got == "applied",
                Some(Expect::Duplicate) => got == "duplicate",
                Some(Expect::Rejected) => got == "rejected",
                None => false,
            };
            if !ok {
                self.violation(format!(
                    "redelivery of {} ({:?}): model {expect:?}, ledger answered {got}",
                    e.0, e.2
                ));
            }
        }
        self.faulty = was;
    }

    // ---- links ---------------------------------------------------------------

    /// Link operations: one link, filling a master up to its 11th child, or
    /// two links at once (one child for two masters, a chain, one master).
    pub(super) async fn op_link(&mut self, ci: usize) {
        self.count("link");
        let all = self.all_accounts();
        let me = self.uid(ci);
        let roll = self.rng.random_range(0..100);
        if roll < 50 {
            let master = if self.rng.random_bool(0.7) {
                me
            } else {
                *all.choose(&mut self.rng).unwrap_or(&me)
            };
            let child = if self.rng.random_bool(0.05) {
                master
            } else {
                *all.choose(&mut self.rng).unwrap_or(&me)
            };
            self.link_calls(vec![(master, child)]).await;
        } else if roll < 65 {
            // Fill a master: every standalone account, until the 11th is refused.
            let masters: Vec<i64> = all
                .iter()
                .copied()
                .filter(|id| self.extra.cat.role(*id) != "child")
                .collect();
            let Some(&master) = masters.choose(&mut self.rng) else {
                return;
            };
            for _ in 0..12 {
                let full = self
                    .extra
                    .cat
                    .children
                    .get(&master)
                    .is_some_and(|c| c.len() >= crate::model::catalog::MAX_CHILDREN);
                let candidates: Vec<i64> = all
                    .iter()
                    .copied()
                    .filter(|id| *id != master && self.extra.cat.role(*id) == "standalone")
                    .collect();
                let Some(&child) = candidates.choose(&mut self.rng) else {
                    break;
                };
                self.link_calls(vec![(master, child)]).await;
                if full {
                    break;
                }
            }
        } else {
            let mut pick = || *all.choose(&mut self.rng).unwrap_or(&me);
            let (a, b, c) = (pick(), pick(), pick());
            let links: Vec<(i64, i64)> = self
                .extra
                .cat
                .children
                .iter()
                .flat_map(|(m, c)| c.iter().map(|l| (*m, l.child)))
                .collect();
            let calls = match self.rng.random_range(0..5) {
                0 => vec![(false, a, c), (false, b, c)],
                1 => vec![(false, a, b), (false, b, c)],
                2 => vec![(false, a, b), (false, a, c)],
                // Two unlinks of one master, or a link and an unlink of one
                // master, at once: both change its list of children.
                mode => match links.choose(&mut self.rng) {
                    Some(&(m, child)) => {
                        let other = if mode == 3 {
                            self.extra
                                .cat
                                .children
                                .get(&m)
                                .and_then(|c| c.iter().map(|l| l.child).find(|x| *x != child))
                                .map(|x| (true, m, x))
                        } else {
                            None
                        };
                        let target = [c, a, b].into_iter().find(|x| *x != child);
                        match other.or(target.map(|t| (false, m, t))) {
                            Some(call) => vec![(true, m, child), call],
                            None => vec![(true, m, child)],
                        }
                    }
                    None => vec![(false, a, b), (false, a, c)],
                },
            };
            let before = self.extra.cat.clone();
            self.race_calls(calls.clone()).await;
            // Which call of a race wins depends on timing: the links it made
            // are taken back (checked like any unlink), so that the state
            // after the step, and the run, stay a function of the seed.
            for (unlink, m, c) in calls {
                if !unlink && self.extra.cat.linked(m, c) && !before.linked(m, c) {
                    self.unlink_call(m, c).await;
                }
            }
        }
    }

    /// Runs the links at once, then settles them against the model: some order
    /// of the calls must explain every answer and the stored state.
    async fn link_calls(&mut self, pairs: Vec<(i64, i64)>) {
        let calls = pairs.into_iter().map(|(m, c)| (false, m, c)).collect();
        self.race_calls(calls).await;
    }

    /// Links and unlinks (`true`) at once, settled against the model: some
    /// order of the calls must explain every answer and the stored links.
    async fn race_calls(&mut self, calls: Vec<(bool, i64, i64)>) {
        let ctx = self.ctx.clone();
        let futs = calls.iter().map(|(unlink, m, c)| {
            let ctx = ctx.clone();
            let (unlink, m, c) = (*unlink, *m, *c);
            async move {
                if unlink {
                    shared::links::unlink(&ctx, m, c).await.map(|()| None)
                } else {
                    shared::links::link(&ctx, m, c).await.map(Some)
                }
            }
        });
        let Some(results) = self.timed("link", futures::future::join_all(futs)).await else {
            return;
        };
        let outcomes: Vec<(LinkOutcome, Option<Link>)> = results
            .into_iter()
            .map(|r| {
                let (o, l) = classify(r);
                (o, l.flatten())
            })
            .collect();
        self.proxy.arm(None);
        let was = std::mem::replace(&mut self.faulty, false);
        let mut involved: BTreeSet<i64> = BTreeSet::new();
        for (_, m, c) in &calls {
            involved.insert(*m);
            involved.insert(*c);
        }
        let stored = self.stored_accounts(&involved).await;
        let stored_link = |m: i64, c: i64| -> Option<ModelLink> {
            let child_ok = stored.get(&c).is_some_and(|a| a.master_id == Some(m));
            let l = stored
                .get(&m)?
                .children
                .iter()
                .find(|l| l.child_id == c)
                .copied()?;
            child_ok.then_some(ModelLink {
                child: c,
                link_id: l.link_id,
                linked_at: l.linked_at,
            })
        };
        // happened[i]: the call made its link (with the link's data) or removed
        // it. A change the stored links show is credited to one call only.
        let mut claimed: BTreeSet<(bool, i64, i64)> = calls
            .iter()
            .zip(&outcomes)
            .filter(|(_, (o, _))| matches!(o, LinkOutcome::Done))
            .map(|(call, _)| *call)
            .collect();
        let mut happened = Vec::new();
        for ((unlink, m, c), (o, l)) in calls.iter().zip(&outcomes) {
            let what = if *unlink { "unlink" } else { "link" };
            let h = match o {
                LinkOutcome::Done if *unlink => Happened::Unlinked,
                LinkOutcome::Done => l.map_or(Happened::No, |l| {
                    Happened::Linked(ModelLink {
                        child: l.child_id,
                        link_id: l.link_id,
                        linked_at: l.linked_at,
                    })
                }),
                LinkOutcome::Unknown(e) => {
                    if !was {
                        self.violation(format!("{what} {m} -> {c} failed without faults: {e}"));
                    } else {
                        self.note(&format!("{what}s resolved after a fault"));
                    }
                    let before = self.extra.cat.linked(*m, *c);
                    let h = match (unlink, before, stored_link(*m, *c)) {
                        (false, false, Some(l)) => Happened::Linked(l),
                        (true, true, None) => Happened::Unlinked,
                        _ => Happened::No,
                    };
                    if matches!(h, Happened::No) || !claimed.insert((*unlink, *m, *c)) {
                        Happened::No
                    } else {
                        h
                    }
                }
                LinkOutcome::Refused(_) => Happened::No,
            };
            happened.push(h);
        }
        let orders: Vec<Vec<usize>> = if calls.len() == 2 {
            vec![vec![0, 1], vec![1, 0]]
        } else {
            vec![(0..calls.len()).collect()]
        };
        let (mut settled, mut fallback) = (None, None);
        let mut why = Vec::new();
        for order in orders {
            let mut cat = self.extra.cat.clone();
            let mut ok = true;
            for i in order {
                let (unlink, m, c) = calls[i];
                let refusals = if unlink {
                    if cat.linked(m, c) {
                        BTreeSet::new()
                    } else {
                        [Refusal::NotLinked].into()
                    }
                } else {
                    cat.link_refusals(m, c)
                };
                let what = if unlink { "unlink" } else { "link" };
                match (&happened[i], &outcomes[i].0) {
                    (Happened::No, LinkOutcome::Refused(r)) if !refusals.contains(r) => {
                        ok = false;
                        why.push(format!(
                            "{what} {m} -> {c} refused {r:?}, model refusals {refusals:?}"
                        ));
                    }
                    (Happened::No, _) => {}
                    (_, _) if !refusals.is_empty() => {
                        ok = false;
                        why.push(format!(
                            "{what} {m} -> {c} was made, model refuses {refusals:?}"
                        ));
                    }
                    (Happened::Linked(link), _) => cat.apply_link(m, *link),
                    (Happened::Unlinked, _) => cat.apply_unlink(m, c),
                }
            }
            // Both orders may explain the answers (two links to one master):
            // the stored order of the children says which one it was.
            let same_as_stored = stored.iter().all(|(id, a)| {
                let children: Vec<i64> = a.children.iter().map(|l| l.child_id).collect();
                let model: Vec<i64> = cat
                    .children
                    .get(id)
                    .map(|c| c.iter().map(|l| l.child).collect())
                    .unwrap_or_default();
                a.master_id == cat.master_of.get(id).copied() && children == model
            });
            if ok && (same_as_stored || fallback.is_none()) {
                fallback = Some(cat.clone());
            }
            if ok && same_as_stored {
                settled = Some(cat);
                break;
            }
        }
        match settled.or(fallback) {
            Some(cat) => self.extra.cat = cat,
            None => self.violation(format!(
                "links/unlinks {calls:?} answered {outcomes:?}: no order explains it ({})",
                why.join("; ")
            )),
        }
        for ((unlink, _, _), (outcome, _)) in calls.iter().zip(&outcomes) {
            let what = if *unlink { "unlinks" } else { "links" };
            match outcome {
                LinkOutcome::Done => self.note(&format!("{what} made")),
                LinkOutcome::Refused(r) => self.note(&format!("{what} refused: {r:?}")),
                LinkOutcome::Unknown(_) => {}
            }
        }
        self.check_links(&involved).await;
        self.faulty = was;
    }

    pub(super) async fn op_unlink(&mut self, ci: usize) {
        self.count("unlink");
        let links: Vec<(i64, i64)> = self
            .extra
            .cat
            .children
            .iter()
            .flat_map(|(m, c)| c.iter().map(|l| (*m, l.child)))
            .collect();
        let (master, child) = match links.choose(&mut self.rng) {
            Some(l) if self.rng.random_bool(0.85) => *l,
            _ => {
                let all = self.all_accounts();
                let me = self.uid(ci);
                (me, *all.choose(&mut self.rng).unwrap_or(&me))
            }
        };
        self.unlink_call(master, child).await;
    }

    /// One unlink, checked against the model and the stored links.
    async fn unlink_call(&mut self, master: i64, child: i64) {
        let ctx = self.ctx.clone();
        let Some(r) = self
            .timed("unlink", shared::links::unlink(&ctx, master, child))
            .await
        else {
            return;
        };
        let (outcome, _) = classify(r);
        self.proxy.arm(None);
        let was = std::mem::replace(&mut self.faulty, false);
        let involved: BTreeSet<i64> = [master, child].into();
        let allowed = self.extra.cat.linked(master, child);
        let happened = match &outcome {
            LinkOutcome::Done => true,
            LinkOutcome::Refused(r) => {
                if allowed || *r != Refusal::NotLinked {
                    self.violation(format!(
                        "unlink {master} -> {child} refused {r:?}, model allows {allowed}"
                    ));
                }
                false
            }
            LinkOutcome::Unknown(e) => {
                if !was {
                    self.violation(format!(
                        "unlink {master} -> {child} failed without faults: {e}"
                    ));
                } else {
                    self.note("unlinks resolved after a fault");
                }
                let stored = self.stored_accounts(&involved).await;
                allowed
                    && !stored
                        .get(&master)
                        .is_some_and(|a| a.children.iter().any(|l| l.child_id == child))
            }
        };
        if happened {
            self.note("unlinks made");
            if allowed {
                self.extra.cat.apply_unlink(master, child);
            } else {
                self.violation(format!(
                    "unlink {master} -> {child} succeeded, the model has no such link"
                ));
            }
        }
        self.check_links(&involved).await;
        self.faulty = was;
    }

    /// Deletes a link-only account (a master, a child or a standalone one,
    /// sometimes one already deleted), checks the links of everyone it was
    /// linked to, and puts a fresh link-only account in its place.
    pub(super) async fn op_delete_account(&mut self) {
        self.count("delete_account");
        let live: Vec<i64> = self
            .extra
            .spares
            .iter()
            .map(|s| s.0)
            .filter(|id| !self.extra.cat.deleted.contains(id))
            .collect();
        let masters: Vec<i64> = live
            .iter()
            .copied()
            .filter(|id| self.extra.cat.is_master(*id))
            .collect();
        let target = match self.rng.random_range(0..10) {
            0..=3 => masters.choose(&mut self.rng).copied(),
            4..=8 => live.choose(&mut self.rng).copied(),
            _ => self
                .extra
                .cat
                .deleted
                .iter()
                .copied()
                .collect::<Vec<_>>()
                .choose(&mut self.rng)
                .copied(),
        };
        let Some(id) = target.or_else(|| live.first().copied()) else {
            return;
        };
        let ctx = self.ctx.clone();
        let Some(r) = self
            .timed("delete user", shared::users::delete_user(&ctx, id))
            .await
        else {
            return;
        };
        self.proxy.arm(None);
        let was = std::mem::replace(&mut self.faulty, false);
        let mut involved: BTreeSet<i64> = [id].into();
        involved.extend(
            self.extra
                .cat
                .children
                .get(&id)
                .into_iter()
                .flatten()
                .map(|l| l.child),
        );
        if let Some(m) = self.extra.cat.master_of.get(&id) {
            involved.insert(*m);
        }
        let already = self.extra.cat.deleted.contains(&id);
        let deleted = match r {
            Ok(()) => {
                if already {
                    self.violation(format!("user {id}: deleted twice"));
                }
                true
            }
            Err(shared::users::UserError::NotFound(_)) if already => false,
            Err(e) => {
                if !was {
                    self.violation(format!("user {id}: delete failed without faults: {e}"));
                }
                self.note("deletions resolved after a fault");
                // What happened is in the stored account.
                self.stored_accounts(&[id].into())
                    .await
                    .get(&id)
                    .is_some_and(|a| a.deleted)
            }
        };
        if deleted && !already {
            if self.extra.cat.is_master(id) {
                self.note("deleted a master: its children became standalone");
            } else if self.extra.cat.master_of.contains_key(&id) {
                self.note("deleted a child: left out of its master's views");
            }
            self.extra.cat.apply_delete(id);
            let j = self.extra.spares.len();
            let currency = [Currency::Usd, Currency::Eur, Currency::Gbp][j % 3];
            let email = format!("sim-link{j}@example.com");
            let name = format!("Sim linked {j}");
            if let Some(account) = self.new_account(&email, &name, currency, None).await {
                self.extra.spares.push(account);
            }
        }
        let stored = self.stored_accounts(&involved).await;
        for a in stored.values() {
            if a.deleted != self.extra.cat.deleted.contains(&a.user_id) {
                self.violation(format!(
                    "user {}: stored deleted={}, the model disagrees",
                    a.user_id, a.deleted
                ));
            }
            self.compare_links(a);
        }
        self.faulty = was;
    }

    async fn stored_accounts(&mut self, ids: &BTreeSet<i64>) -> BTreeMap<i64, Account> {
        let mut out = BTreeMap::new();
        for id in ids {
            match read_account(&self.ctx, *id).await {
                Ok(Some(a)) => {
                    out.insert(*id, a);
                }
                other => self.violation(format!("user {id}: account unreadable: {other:?}")),
            }
        }
        out
    }

    /// The stored links of these accounts equal the model's (faults off).
    async fn check_links(&mut self, ids: &BTreeSet<i64>) {
        let stored = self.stored_accounts(ids).await;
        for (id, a) in stored {
            self.compare_links(&a);
            let _ = id;
        }
    }

    fn compare_links(&mut self, a: &Account) {
        let id = a.user_id;
        let model_master = self.extra.cat.master_of.get(&id).copied();
        let model_children: Vec<(i64, i64, i64)> = self
            .extra
            .cat
            .children
            .get(&id)
            .map(|c| {
                c.iter()
                    .map(|l| (l.child, l.link_id, l.linked_at))
                    .collect()
            })
            .unwrap_or_default();
        let stored_children: Vec<(i64, i64, i64)> = a
            .children
            .iter()
            .map(|l| (l.child_id, l.link_id, l.linked_at))
            .collect();
        if a.master_id != model_master || stored_children != model_children {
            self.violation(format!(
                "user {id}: links stored master {:?} children {stored_children:?}, model {model_master:?} {model_children:?}",
                a.master_id
            ));
        }
    }

    // ---- checks --------------------------------------------------------------

    /// The stored analytics counters, links and products of creator `ci`, and
    /// every product named since the last check, against the model (faults off).
    pub(super) async fn check_catalog(&mut self, account: &Account) {
        let uid = account.user_id;
        let want = self.extra.cat.counters(uid);
        let a = account.analytics;
        let got = (a.content_items, a.link_clicks, a.unlocks, a.product_revenue);
        if got != want {
            self.violation(format!(
                "user {uid}: analytics (items, clicks, unlocks, revenue) stored {got:?}, model {want:?}"
            ));
        }
        self.compare_links(account);
        let mut ids: BTreeSet<i64> = std::mem::take(&mut self.extra.touched);
        ids.extend(
            self.extra
                .cat
                .products
                .iter()
                .filter(|(_, p)| p.owner == uid)
                .map(|(id, _)| *id),
        );
        for pid in ids {
            let stored = match read_product(&self.ctx, pid).await {
                Ok(p) => p,
                Err(e) => {
                    self.violation(format!("product {pid} unreadable: {e}"));
                    continue;
                }
            };
            let got = stored.map(|p| {
                json!([
                    p.user_id,
                    p.title,
                    p.media_complete,
                    p.deleted,
                    p.thumbnail.map(|t| json!([t.url, t.width, t.height])),
                    p.link_clicks,
                    p.unlocks,
                    p.total_earnings
                ])
            });
            let want = self.extra.cat.products.get(&pid).map(|p| {
                json!([
                    p.owner,
                    p.title,
                    p.media_complete,
                    p.deleted,
                    p.thumbnail
                        .as_ref()
                        .map(|t| json!([t.url, t.width, t.height])),
                    p.link_clicks,
                    p.unlocks,
                    p.total_earnings
                ])
            });
            if got != want {
                self.violation(format!("product {pid}: stored {got:?}, model {want:?}"));
            }
        }
    }

    // ---- reads ---------------------------------------------------------------

    fn request_as(
        &self,
        user_id: i64,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Option<lambda_http::Request> {
        let token = self.token_of(user_id)?;
        lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("https://api.local{path}"))
            .header("authorization", format!("Bearer {token}"))
            .body(body.map_or(Body::Empty, |b| Body::Text(b.to_owned())))
            .ok()
    }

    /// A refusal or an answer compared with the model's.
    fn compare_answer(&mut self, what: &str, a: &Answer, want: Result<Value, (u16, &str)>) {
        if a.status >= 500 && self.faulty {
            return;
        }
        match want {
            Ok(data) => {
                if a.status != 200 || a.json["data"] != data {
                    self.violation(format!(
                        "{what}: answered {} {}, model {data}",
                        a.status, a.body
                    ));
                }
            }
            Err((status, message)) => {
                if a.status != status || a.json["errors_message"] != json!(message) {
                    self.violation(format!(
                        "{what}: answered {} {}, model {status} {message:?}",
                        a.status, a.body
                    ));
                }
            }
        }
    }

    /// `which`: 4 summary, 5 aggregate with `{}`, 6 aggregate with another
    /// body (maybe by a link-only account), 7 linked accounts.
    pub(super) async fn read_dashboard(&mut self, ci: usize, which: u32) {
        let ctx = self.ctx.clone();
        let mut bearer = self.uid(ci);
        if which >= 6 && self.rng.random_bool(0.3) {
            if let Some(s) = self.extra.spares.choose(&mut self.rng) {
                bearer = s.0;
            }
        }
        let balances = self.balances();
        let balance = |id: i64| balances.get(&id).copied().unwrap_or_default();
        // A deleted account's token opens nothing.
        let gone = self.extra.cat.deleted.contains(&bearer);
        if gone {
            self.note("reads with a deleted account's token");
        }
        let unauthenticated = (401, "Unauthenticated.");
        match which {
            4 => {
                let Some(r) = self.request_as(bearer, "GET", "/api/dashboard/summary", None) else {
                    return;
                };
                let want = Ok(self.extra.cat.summary(&[bearer], balance));
                let want = if gone { Err(unauthenticated) } else { want };
                if let Some(a) = self.http("summary", summary::handle(&ctx, r)).await {
                    self.compare_answer("summary", &a, want);
                }
            }
            5 | 6 => {
                let (body, want) = if which == 5 {
                    (
                        "{}".to_owned(),
                        self.extra.cat.aggregate(bearer, false, balance),
                    )
                } else {
                    let others: Vec<String> = self
                        .all_accounts()
                        .iter()
                        .filter(|id| **id != bearer)
                        .filter_map(|id| self.token_of(*id))
                        .collect();
                    let some: Vec<&String> = others.choose_multiple(&mut self.rng, 3).collect();
                    let bad_json = (400, "The request body must be valid JSON.");
                    let not_object = (422, "The request body must be a JSON object.");
                    let bad_tokens = (422, "The additional tokens must be an array of strings.");
                    let cat = &self.extra.cat;
                    match self.rng.random_range(0..9) {
                        0 => (String::new(), cat.aggregate(bearer, false, balance)),
                        1 => (
                            r#"{"additional_tokens":null}"#.into(),
                            cat.aggregate(bearer, false, balance),
                        ),
                        2 => (
                            r#"{"additional_tokens":[]}"#.into(),
                            cat.aggregate(bearer, true, balance),
                        ),
                        3 | 4 => (
                            json!({"additional_tokens": some}).to_string(),
                            cat.aggregate(bearer, true, balance),
                        ),
                        5 => ("{".into(), Err(bad_json)),
                        6 => ("[1,2]".into(), Err(not_object)),
                        7 => (r#"{"additional_tokens":"1|x"}"#.into(), Err(bad_tokens)),
                        _ => (r#"{"additional_tokens":[1]}"#.into(), Err(bad_tokens)),
                    }
                };
                // The body is checked before the account (docs/decisions.md).
                let want = match want {
                    bad @ Err((400 | 422, _)) => bad,
                    _ if gone => Err(unauthenticated),
                    other => other,
                };
                let path = "/api/dashboard/summary/aggregate";
                let Some(r) = self.request_as(bearer, "POST", path, Some(&body)) else {
                    return;
                };
                if let Some(a) = self.http("aggregate", aggregate::handle(&ctx, r)).await {
                    self.compare_answer(&format!("aggregate by {bearer} with {body}"), &a, want);
                }
            }
            _ => {
                let path = "/api/user/linked-accounts";
                let Some(r) = self.request_as(bearer, "GET", path, None) else {
                    return;
                };
                let want = Ok(self.extra.cat.linked_accounts(bearer));
                let want = if gone { Err(unauthenticated) } else { want };
                if let Some(a) = self
                    .http("linked-accounts", linked_accounts::handle(&ctx, r))
                    .await
                {
                    self.compare_answer(&format!("linked accounts of {bearer}"), &a, want);
                }
            }
        }
    }

    /// The catalog part of the digest and a line for the report.
    pub(super) fn catalog_report(&self) -> (String, String) {
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
}

/// The same event id with another payload (`count`/`amount` + 1, or the
/// `deleted` flag turned).
fn other_payload(e: &Ev) -> Ev {
    let (id, payload, ev) = e;
    let mut payload = payload.clone();
    let mut ev = ev.clone();
    if let Some((_, part)) = ev.product.as_mut() {
        match part {
            ProductPart::Clicks(n) => {
                *n += 1;
                payload["count"] = json!(*n);
            }
            ProductPart::Unlock(a) | ProductPart::Refund(a) => {
                *a += 1;
                payload["amount"] = json!(*a);
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
                payload["deleted"] = json!(d);
            }
        }
    }
    (id.clone(), payload, ev)
}
