//! The checks after a step (faults off): docs/ledger.md on a creator's stored
//! items, the stored state against the model, the stored products, analytics
//! counters and links.

use super::Sim;
use crate::model::catalog::{ModelProduct, Thumb};
use crate::model::Wallet;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::account::Account;
use domain::ledger::Entry;
use domain::ledger::{Direction, EntryType};
use domain::lot::Lot;
use domain::product::Product;
use shared::store::codec::Decode;
use shared::store::item::Item;
use shared::store::keys;
use shared::store::read::{read_account, read_product};
use std::collections::{BTreeMap, BTreeSet};

/// What a creator's stored entries and lots add up to.
#[derive(Default)]
struct Tally {
    /// (available, hold, pending, referral revenue)
    buckets: (i64, i64, i64, i64),
    /// Entries in the public and the affiliate lists.
    public: i64,
    affiliate: i64,
    event_ids: BTreeSet<String>,
    /// Lots by hold event id: (amount, released).
    lots: BTreeMap<String, (i64, bool)>,
    problems: Vec<String>,
}

/// Walks a partition: every entry well formed (docs/ledger.md#invariants: positive amount,
/// its type's deltas, ids and events once, one entry of a kind per payout).
fn tally(items: &[Item]) -> Tally {
    let mut t = Tally::default();
    let mut entry_ids = BTreeSet::new();
    let mut payout_entries: BTreeMap<(i64, &'static str), u32> = BTreeMap::new();
    for item in items {
        let key = match item.get(keys::SK) {
            Some(AttributeValue::S(s)) => s.as_str(),
            _ => "",
        };
        if key.starts_with("LOT#") {
            match Lot::from_item(item) {
                Ok(l) => {
                    t.lots
                        .insert(l.hold_event_id.clone(), (l.amount, l.released));
                }
                Err(err) => t.problems.push(format!("unreadable lot {key}: {err}")),
            }
            continue;
        }
        if !(key.starts_with("TXB#") || key.starts_with("HID#")) {
            continue;
        }
        let e = match Entry::from_item(item) {
            Ok(e) => e,
            Err(err) => {
                t.problems.push(format!("unreadable entry {key}: {err}"));
                continue;
            }
        };
        if e.amount <= 0 {
            t.problems
                .push(format!("entry {} moves {}", e.id, e.amount));
        }
        if !entry_ids.insert(e.id) {
            t.problems.push(format!("entry id {} twice", e.id));
        }
        if let Some(ev) = &e.event_id {
            if !t.event_ids.insert(ev.clone()) {
                t.problems.push(format!("event {ev} applied twice"));
            }
        }
        if let Some(p) = e.payout_id {
            *payout_entries
                .entry((p, e.entry_type.as_str()))
                .or_default() += 1;
        }
        let held = e.deltas.hold > 0 && e.entry_type.direction() == Direction::Credit;
        if e.deltas != e.entry_type.deltas(e.amount, held) {
            t.problems
                .push(format!("entry {} breaks its type rule", e.id));
        }
        t.buckets.0 += e.deltas.available;
        t.buckets.1 += e.deltas.hold;
        t.buckets.2 += e.deltas.pending;
        if e.entry_type == EntryType::AffiliateEarning {
            t.buckets.3 += e.amount;
            t.affiliate += 1;
        }
        if key.starts_with("TXB#") {
            t.public += 1;
        }
    }
    for ((p, kind), n) in &payout_entries {
        if *n > 1 {
            t.problems
                .push(format!("payout {p} has {n} {kind} entries"));
        }
    }
    t
}

/// The stored account against the sums of its entries and against the model.
fn compare(account: &Account, t: &Tally, w: &Wallet) -> Vec<String> {
    let mut problems = Vec::new();
    let b = account.balance;
    let stored = (b.available, b.hold, b.pending, b.referral_revenue);
    if stored != t.buckets {
        problems.push(format!(
            "buckets {stored:?} != sums of entries {:?}",
            t.buckets
        ));
    }
    let model = (w.available, w.hold, w.pending, w.referral);
    if stored != model {
        problems.push(format!("buckets {stored:?} != model {model:?}"));
    }
    if b.hold < 0 || b.pending < 0 {
        problems.push(format!("negative hold or pending {stored:?}"));
    }
    if b.pending != w.requested_sum() {
        problems.push(format!(
            "pending {} != requested payouts {}",
            b.pending,
            w.requested_sum()
        ));
    }
    let counted = (t.public, t.affiliate);
    if (account.public_count, account.affiliate_count) != counted
        || counted != (w.public_entries, w.affiliate_entries)
    {
        problems.push(format!(
            "counts stored {:?}, entries {counted:?}, model {:?}",
            (account.public_count, account.affiliate_count),
            (w.public_entries, w.affiliate_entries)
        ));
    }
    let applied: BTreeSet<String> = w.applied.keys().cloned().collect();
    if t.event_ids != applied {
        let extra: Vec<_> = t.event_ids.difference(&applied).collect();
        let missing: Vec<_> = applied.difference(&t.event_ids).collect();
        problems.push(format!(
            "applied events differ: stored only {extra:?}, model only {missing:?}"
        ));
    }
    let model_lots: BTreeMap<String, (i64, bool)> = w
        .lots
        .iter()
        .map(|(k, l)| (k.clone(), (l.amount, l.released)))
        .collect();
    if t.lots != model_lots {
        problems.push(format!("lots {:?} != model {model_lots:?}", t.lots));
    }
    let unreleased: i64 = t.lots.values().filter(|l| !l.1).map(|l| l.0).sum();
    if unreleased != b.hold {
        problems.push(format!("hold {} != unreleased lots {unreleased}", b.hold));
    }
    problems
}

/// A stored product as the model describes one.
fn as_model(p: Product) -> ModelProduct {
    ModelProduct {
        owner: p.user_id,
        title: p.title,
        media_complete: p.media_complete,
        deleted: p.deleted,
        thumbnail: p.thumbnail.map(|t| Thumb {
            url: t.url,
            width: t.width,
            height: t.height,
        }),
        link_clicks: p.link_clicks,
        unlocks: p.unlocks,
        total_earnings: p.total_earnings,
    }
}

impl Sim {
    /// Every item of a creator's partition, read straight from the table (faults off).
    async fn partition(&self, user_id: i64) -> Result<Vec<Item>, shared::store::StoreError> {
        shared::store::read::query_all(|start| {
            self.ctx
                .db
                .query()
                .table_name(self.ctx.table())
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(keys::user_pk(user_id)))
                .set_exclusive_start_key(start)
                .consistent_read(true)
        })
        .await
    }

    /// docs/ledger.md on the stored items, and the stored state against the model.
    pub(super) async fn check_creator(&mut self, ci: usize) {
        let (user_id, w) = (self.uid(ci), self.wallet(ci));
        for v in w.self_check() {
            self.violation(format!("user {user_id}: {v}"));
        }
        let account = match read_account(&self.ctx, user_id).await {
            Ok(Some(a)) => a,
            other => {
                self.violation(format!("user {user_id}: account unreadable: {other:?}"));
                return;
            }
        };
        let items = match self.partition(user_id).await {
            Ok(i) => i,
            Err(e) => {
                self.violation(format!("user {user_id}: partition unreadable: {e:#}"));
                return;
            }
        };
        let t = tally(&items);
        for p in t.problems.iter().cloned().chain(compare(&account, &t, &w)) {
            self.violation(format!("user {user_id}: {p}"));
        }
        self.check_catalog(&account).await;
    }

    /// The stored analytics counters, links and products of creator `ci`, and
    /// every product named since the last check, against the model (faults off).
    async fn check_catalog(&mut self, account: &Account) {
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
            let got = match read_product(&self.ctx, pid).await {
                Ok(p) => p.map(as_model),
                Err(e) => {
                    self.violation(format!("product {pid} unreadable: {e}"));
                    continue;
                }
            };
            let want = self.extra.cat.products.get(&pid);
            if got.as_ref() != want {
                self.violation(format!("product {pid}: stored {got:?}, model {want:?}"));
            }
        }
    }

    /// The stored accounts of `ids` (a violation for each unreadable one).
    pub(super) async fn stored_accounts(&mut self, ids: &BTreeSet<i64>) -> BTreeMap<i64, Account> {
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
    pub(super) async fn check_links(&mut self, ids: &BTreeSet<i64>) {
        for a in self.stored_accounts(ids).await.values() {
            self.compare_links(a);
        }
    }

    /// One account's stored master and children against the model's.
    pub(super) fn compare_links(&mut self, a: &Account) {
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
}
