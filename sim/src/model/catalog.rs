//! The independent model of products, analytics events, account links and the
//! dashboard answers, written from SPEC 4.4, 4.5, 6 and 7 (and, where the SPEC
//! is silent, docs/decisions.md: product ids are system-wide, so an event naming
//! another user's product is refused; a `link_clicks` or `product_earning` for a
//! product never described creates it; a `refund` for one never described
//! changes no product). No code shared with `shared::ledger`, `shared::dashboard`
//! or `shared::links`.

use super::{Expect, MoneyEvent, Wallet};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

pub const MAX_CHILDREN: usize = 10;
pub const TOP: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumb {
    pub url: String,
    pub width: i64,
    pub height: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelProduct {
    pub owner: i64,
    pub title: Option<String>,
    pub media_complete: bool,
    pub deleted: bool,
    pub thumbnail: Option<Thumb>,
    pub link_clicks: i64,
    pub unlocks: i64,
    pub total_earnings: i64,
}

impl ModelProduct {
    fn new(owner: i64) -> Self {
        Self {
            owner,
            title: None,
            media_complete: false,
            deleted: false,
            thumbnail: None,
            link_clicks: 0,
            unlocks: 0,
            total_earnings: 0,
        }
    }

    /// Can be a top performer (SPEC 4.4).
    pub fn eligible(&self) -> bool {
        !self.deleted && self.media_complete && self.link_clicks >= 1
    }
}

/// What an event does to a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductPart {
    /// `product_upsert`: `None` = the field is absent (kept).
    Upsert {
        title: Option<Option<String>>,
        media_complete: Option<bool>,
        deleted: Option<bool>,
        thumbnail: Option<Option<Thumb>>,
    },
    Clicks(i64),
    /// A `product_earning` with this product: one unlock and the amount.
    Unlock(i64),
    /// A `refund` with this product: the amount off `total_earnings`, not below 0.
    Refund(i64),
}

/// An event as the catalog sees it: its money part (for the wallet) and its
/// product part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatEvent {
    pub user_id: i64,
    pub money: Option<MoneyEvent>,
    pub product: Option<(i64, ProductPart)>,
}

/// Why a link or unlink is refused (SPEC 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    SelfLink,
    ChildAlreadyLinked,
    MasterIsChild,
    ChildIsMaster,
    TooManyChildren,
    NotLinked,
    /// The master or the child is deleted.
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLink {
    pub child: i64,
    pub link_id: i64,
    pub linked_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub email: String,
    pub display_name: String,
    pub currency_id: i64,
    pub currency_code: &'static str,
}

/// A wallet's buckets as the dashboard shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balance {
    pub available: i64,
    pub hold: i64,
    pub pending: i64,
    pub referral: i64,
}

impl Balance {
    pub fn of(w: &Wallet) -> Self {
        Self {
            available: w.available,
            hold: w.hold,
            pending: w.pending,
            referral: w.referral,
        }
    }

    fn json(&self) -> Value {
        json!({
            "available": self.available, "hold": self.hold, "pending": self.pending,
            "total": self.available + self.hold + self.pending,
            "referral_revenue": self.referral,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub profiles: BTreeMap<i64, Profile>,
    pub products: BTreeMap<i64, ModelProduct>,
    /// Applied events that name a product.
    pub applied: BTreeMap<String, CatEvent>,
    /// master -> its children in link order.
    pub children: BTreeMap<i64, Vec<ModelLink>>,
    pub master_of: BTreeMap<i64, i64>,
    /// Deleted accounts (docs/decisions.md: a deleted child stays in its
    /// master's list and is left out; a deleted master's links go with it).
    pub deleted: BTreeSet<i64>,
}

impl Catalog {
    /// One delivery of `event_id`; `w` is the wallet of `ev.user_id`.
    pub fn deliver(&mut self, w: &mut Wallet, event_id: &str, ev: &CatEvent) -> Expect {
        if let Some(previous) = self.applied.get(event_id) {
            return if previous == ev {
                Expect::Duplicate
            } else {
                Expect::Rejected
            };
        }
        let Some((product_id, part)) = &ev.product else {
            return match &ev.money {
                Some(m) => w.deliver(event_id, m),
                None => Expect::Rejected,
            };
        };
        if w.applied.contains_key(event_id) {
            // First applied without a product: another payload.
            return Expect::Rejected;
        }
        if self
            .products
            .get(product_id)
            .is_some_and(|p| p.owner != ev.user_id)
        {
            return Expect::Rejected;
        }
        if let Some(m) = &ev.money {
            let e = w.deliver(event_id, m);
            if e != Expect::Applied {
                return e;
            }
        }
        let exists = self.products.contains_key(product_id);
        if exists || !matches!(part, ProductPart::Refund(_)) {
            let p = self
                .products
                .entry(*product_id)
                .or_insert_with(|| ModelProduct::new(ev.user_id));
            match part {
                ProductPart::Upsert {
                    title,
                    media_complete,
                    deleted,
                    thumbnail,
                } => {
                    if let Some(t) = title {
                        p.title = t.clone();
                    }
                    if let Some(m) = media_complete {
                        p.media_complete = *m;
                    }
                    if let Some(d) = deleted {
                        p.deleted = *d;
                    }
                    if let Some(t) = thumbnail {
                        p.thumbnail = t.clone();
                    }
                }
                ProductPart::Clicks(n) => p.link_clicks += n,
                ProductPart::Unlock(a) => {
                    p.unlocks += 1;
                    p.total_earnings += a;
                }
                ProductPart::Refund(a) => p.total_earnings = (p.total_earnings - a).max(0),
            }
        }
        self.applied.insert(event_id.to_owned(), ev.clone());
        Expect::Applied
    }

    /// The dashboard counters of one account: (content items, clicks, unlocks, revenue).
    pub fn counters(&self, user_id: i64) -> (i64, i64, i64, i64) {
        let mut c = (0, 0, 0, 0);
        for p in self
            .products
            .values()
            .filter(|p| p.owner == user_id && !p.deleted)
        {
            c.0 += i64::from(p.media_complete);
            c.1 += p.link_clicks;
            c.2 += p.unlocks;
            c.3 += p.total_earnings;
        }
        c
    }

    // ---- links -------------------------------------------------------------

    pub fn is_master(&self, id: i64) -> bool {
        self.children.get(&id).is_some_and(|c| !c.is_empty())
    }

    pub fn role(&self, id: i64) -> &'static str {
        if self.master_of.contains_key(&id) {
            "child"
        } else if self.is_master(id) {
            "master"
        } else {
            "standalone"
        }
    }

    /// Every reason SPEC 7 gives to refuse linking `child` to `master` (empty: allowed).
    pub fn link_refusals(&self, master: i64, child: i64) -> BTreeSet<Refusal> {
        let mut r = BTreeSet::new();
        if master == child {
            r.insert(Refusal::SelfLink);
            return r;
        }
        // Only live accounts are linked: nothing else is looked at.
        if self.deleted.contains(&master) || self.deleted.contains(&child) {
            r.insert(Refusal::NotFound);
            return r;
        }
        if self.master_of.contains_key(&child) {
            r.insert(Refusal::ChildAlreadyLinked);
        }
        if self.master_of.contains_key(&master) {
            r.insert(Refusal::MasterIsChild);
        }
        if self.is_master(child) {
            r.insert(Refusal::ChildIsMaster);
        }
        if self.children.get(&master).map_or(0, Vec::len) >= MAX_CHILDREN {
            r.insert(Refusal::TooManyChildren);
        }
        r
    }

    pub fn linked(&self, master: i64, child: i64) -> bool {
        self.master_of.get(&child) == Some(&master)
    }

    pub fn apply_link(&mut self, master: i64, link: ModelLink) {
        self.master_of.insert(link.child, master);
        self.children.entry(master).or_default().push(link);
    }

    /// Deletes an account: a master's children become standalone; a child
    /// keeps its place in its master's list.
    pub fn apply_delete(&mut self, id: i64) {
        self.deleted.insert(id);
        for link in self.children.remove(&id).unwrap_or_default() {
            self.master_of.remove(&link.child);
        }
    }

    pub fn apply_unlink(&mut self, master: i64, child: i64) {
        self.master_of.remove(&child);
        if let Some(c) = self.children.get_mut(&master) {
            c.retain(|l| l.child != child);
            if c.is_empty() {
                self.children.remove(&master);
            }
        }
    }

    // ---- answers -----------------------------------------------------------

    /// The accounts of an aggregate by `bearer`: itself, then (for a master)
    /// its children in link order.
    pub fn group(&self, bearer: i64) -> Vec<i64> {
        let mut ids = vec![bearer];
        if !self.master_of.contains_key(&bearer) {
            if let Some(c) = self.children.get(&bearer) {
                ids.extend(
                    c.iter()
                        .map(|l| l.child)
                        .filter(|id| !self.deleted.contains(id)),
                );
            }
        }
        ids
    }

    /// The `data` of a summary over `ids` (the bearer first).
    pub fn summary(&self, ids: &[i64], balance: impl Fn(i64) -> Balance) -> Value {
        let profile = |id: i64| self.profiles.get(&id);
        let currencies: BTreeSet<i64> = ids
            .iter()
            .filter_map(|id| profile(*id))
            .map(|p| p.currency_id)
            .collect();
        let unified = currencies.len() <= 1;
        let mut sum = Balance::default();
        let mut accounts = Vec::new();
        let mut by_currency = Map::new();
        let (mut items, mut clicks, mut unlocks, mut revenue) = (0i64, 0i64, 0i64, 0i64);
        let mut candidates: Vec<(i64, &ModelProduct)> = Vec::new();
        for id in ids {
            let b = balance(*id);
            sum.available += b.available;
            sum.hold += b.hold;
            sum.pending += b.pending;
            sum.referral += b.referral;
            let p = profile(*id);
            accounts.push(json!({
                "user_id": id,
                "email": p.map(|p| p.email.clone()),
                "display_name": p.map(|p| p.display_name.clone()),
                "currency_id": p.map(|p| p.currency_id),
                "currency_code": p.map(|p| p.currency_code),
                "wallet_balance": b.json(),
            }));
            let c = self.counters(*id);
            items += c.0;
            clicks += c.1;
            unlocks += c.2;
            revenue += c.3;
            let code = p.map_or("?", |p| p.currency_code).to_owned();
            let so_far = by_currency.get(&code).and_then(Value::as_i64).unwrap_or(0);
            by_currency.insert(code, json!(so_far + c.3));
            candidates.extend(
                self.products
                    .iter()
                    .filter(|(_, p)| p.owner == *id && p.eligible())
                    .map(|(pid, p)| (*pid, p)),
            );
        }
        candidates.sort_by(|(ia, a), (ib, b)| {
            rate_centi(b.unlocks, b.link_clicks)
                .cmp(&rate_centi(a.unlocks, a.link_clicks))
                .then(b.unlocks.cmp(&a.unlocks))
                .then(ia.cmp(ib))
        });
        let top: Vec<Value> = candidates
            .iter()
            .take(TOP)
            .map(|(pid, p)| {
                json!({
                    "id": pid,
                    "user_id": p.owner,
                    "title": p.title,
                    "link_clicks": p.link_clicks,
                    "unlocks": p.unlocks,
                    "conversion_rate": rate(p.unlocks, p.link_clicks),
                    "total_earnings": p.total_earnings,
                    "currency_code": profile(p.owner).map(|p| p.currency_code),
                    "thumbnail": p.thumbnail.as_ref().map(|t| json!({"url": t.url, "width": t.width, "height": t.height})),
                })
            })
            .collect();
        json!({
            "currency_unified": unified,
            "accounts": accounts,
            "wallet_balance": if unified { sum.json() } else { Value::Null },
            "total_content_items": items,
            "total_link_clicks": clicks,
            "total_unlocks": unlocks,
            "total_product_revenue": revenue,
            "overall_conversion_rate": rate(unlocks, clicks),
            "revenue_by_currency": by_currency,
            "top_performing": top,
        })
    }

    /// `POST /api/dashboard/summary/aggregate` with a valid body: `Err` is the
    /// refusal (status, message).
    pub fn aggregate(
        &self,
        bearer: i64,
        sends_tokens: bool,
        balance: impl Fn(i64) -> Balance,
    ) -> Result<Value, (u16, &'static str)> {
        if sends_tokens && self.master_of.contains_key(&bearer) {
            return Err((403, "Child accounts cannot aggregate other accounts."));
        }
        Ok(self.summary(&self.group(bearer), balance))
    }

    /// The `data` of `GET /api/user/linked-accounts` (docs/decisions.md).
    pub fn linked_accounts(&self, user_id: i64) -> Value {
        let profile = |id: i64| self.profiles.get(&id);
        if let Some(m) = self.master_of.get(&user_id) {
            let p = profile(*m);
            return json!({
                "role": "child",
                "master": {
                    "user_id": m,
                    "email": p.map(|p| p.email.clone()),
                    "display_name": p.map(|p| p.display_name.clone()),
                    "currency_id": p.map(|p| p.currency_id),
                    "currency_code": p.map(|p| p.currency_code),
                },
                "linked_accounts": [],
            });
        }
        let links = self.children.get(&user_id).cloned().unwrap_or_default();
        let linked: Vec<Value> = links
            .iter()
            .filter(|l| !self.deleted.contains(&l.child))
            .map(|l| {
                let p = profile(l.child);
                json!({
                    "id": l.link_id,
                    "child_user_id": l.child,
                    "email": p.map(|p| p.email.clone()),
                    "display_name": p.map(|p| p.display_name.clone()),
                    "currency_id": p.map(|p| p.currency_id),
                    "currency_code": p.map(|p| p.currency_code),
                    "linked_at": datetime(l.linked_at),
                })
            })
            .collect();
        json!({
            "role": if links.is_empty() { "standalone" } else { "master" },
            "master": null,
            "linked_accounts": linked,
        })
    }

    /// The catalog state for the run's digest, with user ids replaced by
    /// `index` (stable between runs), without the products in `skip`.
    pub fn digest_text(&self, index: impl Fn(i64) -> usize, skip: &BTreeSet<i64>) -> String {
        let products: Vec<String> = self
            .products
            .iter()
            .filter(|(id, _)| !skip.contains(id))
            .map(|(id, p)| {
                format!(
                    "{id}:{}:{:?}:{}:{}:{:?}:{}:{}:{}",
                    index(p.owner),
                    p.title,
                    p.media_complete,
                    p.deleted,
                    p.thumbnail.as_ref().map(|t| (t.width, t.height)),
                    p.link_clicks,
                    p.unlocks,
                    p.total_earnings
                )
            })
            .collect();
        let mut links: Vec<(usize, Vec<usize>)> = self
            .children
            .iter()
            .map(|(m, c)| (index(*m), c.iter().map(|l| index(l.child)).collect()))
            .collect();
        links.sort();
        let mut deleted: Vec<usize> = self.deleted.iter().map(|id| index(*id)).collect();
        deleted.sort();
        format!(
            "products {} links {links:?} deleted {deleted:?} applied {}",
            products.join(","),
            self.applied.len()
        )
    }
}

/// unlocks / clicks x 100 in hundredths of a percent, rounded half up; 0 without clicks.
pub fn rate_centi(unlocks: i64, clicks: i64) -> i64 {
    if clicks <= 0 {
        return 0;
    }
    let scaled = i128::from(unlocks) * 10_000;
    let (q, r) = (scaled / i128::from(clicks), scaled % i128::from(clicks));
    let centi = if 2 * r >= i128::from(clicks) {
        q + 1
    } else {
        q
    };
    i64::try_from(centi).unwrap_or(i64::MAX)
}

/// The rate as a JSON number with 2 decimals.
pub fn rate(unlocks: i64, clicks: i64) -> f64 {
    rate_centi(unlocks, clicks) as f64 / 100.0
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of epoch seconds.
pub fn datetime(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(
        user_id: i64,
        money: Option<MoneyEvent>,
        product: Option<(i64, ProductPart)>,
    ) -> CatEvent {
        CatEvent {
            user_id,
            money,
            product,
        }
    }

    #[test]
    fn rates_and_dates() {
        assert_eq!(rate_centi(120, 3400), 353);
        assert_eq!(rate_centi(1, 160), 63);
        assert_eq!(rate_centi(1, 3), 3333);
        assert_eq!(rate_centi(2, 3), 6667);
        assert_eq!(rate_centi(5, 0), 0);
        assert_eq!(rate_centi(3, 1), 30_000);
        assert_eq!(rate(10, 80), 12.5);
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(1_776_680_100), "2026-04-20 10:15:00");
        assert_eq!(datetime(951_825_600), "2000-02-29 12:00:00");
    }

    #[test]
    fn products_follow_spec_6() {
        let (mut c, mut a, mut b) = (Catalog::default(), Wallet::default(), Wallet::default());
        let clicks = ev(1, None, Some((7, ProductPart::Clicks(4))));
        assert_eq!(c.deliver(&mut a, "c1", &clicks), Expect::Applied);
        assert_eq!(c.deliver(&mut a, "c1", &clicks), Expect::Duplicate);
        let more = ev(1, None, Some((7, ProductPart::Clicks(5))));
        assert_eq!(c.deliver(&mut a, "c1", &more), Expect::Rejected);
        // Another user's product: refused, money included.
        let earn = |user, amount| {
            ev(
                user,
                Some(MoneyEvent::Earning {
                    affiliate: false,
                    held: false,
                    amount,
                }),
                Some((7, ProductPart::Unlock(amount))),
            )
        };
        assert_eq!(c.deliver(&mut b, "e1", &earn(2, 100)), Expect::Rejected);
        assert_eq!(b.available, 0);
        assert_eq!(c.deliver(&mut a, "e2", &earn(1, 100)), Expect::Applied);
        assert_eq!(a.available, 100);
        assert_eq!(c.counters(1), (0, 4, 1, 100));
        // Refund below 0 stops at 0; refund of an unknown product creates nothing.
        let refund = |pid, amount| {
            ev(
                1,
                Some(MoneyEvent::Refund(amount)),
                Some((pid, ProductPart::Refund(amount))),
            )
        };
        assert_eq!(c.deliver(&mut a, "r1", &refund(7, 150)), Expect::Applied);
        assert_eq!(c.products[&7].total_earnings, 0);
        assert_eq!(c.deliver(&mut a, "r2", &refund(8, 10)), Expect::Applied);
        assert!(!c.products.contains_key(&8));
        assert_eq!(a.available, -60);
        let up = ev(
            1,
            None,
            Some((
                7,
                ProductPart::Upsert {
                    title: Some(Some("T".into())),
                    media_complete: Some(true),
                    deleted: None,
                    thumbnail: None,
                },
            )),
        );
        assert_eq!(c.deliver(&mut a, "u1", &up), Expect::Applied);
        let s = c.summary(&[1], |_| Balance::default());
        assert_eq!(s["total_content_items"], json!(1));
        assert_eq!(s["overall_conversion_rate"], json!(25.0));
        assert_eq!(s["top_performing"][0]["id"], json!(7));
    }

    #[test]
    fn links_follow_spec_7() {
        let mut c = Catalog::default();
        let l = |child| ModelLink {
            child,
            link_id: child * 100,
            linked_at: 0,
        };
        assert!(c.link_refusals(1, 1).contains(&Refusal::SelfLink));
        assert!(c.link_refusals(1, 2).is_empty());
        c.apply_link(1, l(2));
        assert!(c.link_refusals(3, 2).contains(&Refusal::ChildAlreadyLinked));
        assert!(c.link_refusals(2, 3).contains(&Refusal::MasterIsChild));
        assert!(c.link_refusals(3, 1).contains(&Refusal::ChildIsMaster));
        for child in 3..12 {
            assert!(c.link_refusals(1, child).is_empty());
            c.apply_link(1, l(child));
        }
        assert_eq!(
            c.link_refusals(1, 12),
            [Refusal::TooManyChildren].into_iter().collect()
        );
        assert_eq!(c.group(1).len(), 11);
        assert_eq!(c.group(2), vec![2]);
        assert_eq!(c.role(2), "child");
        c.apply_unlink(1, 2);
        assert_eq!(c.role(2), "standalone");
        assert!(c.aggregate(3, true, |_| Balance::default()).is_err());
        assert!(c.aggregate(1, true, |_| Balance::default()).is_ok());
    }

    #[test]
    fn a_mixed_group_is_not_unified_and_ranks_globally() {
        let mut c = Catalog::default();
        for (id, cid, code) in [(1, 1, "USD"), (2, 2, "EUR"), (3, 2, "EUR")] {
            c.profiles.insert(
                id,
                Profile {
                    email: format!("u{id}@x.y"),
                    display_name: format!("U{id}"),
                    currency_id: cid,
                    currency_code: code,
                },
            );
        }
        let link = |child| ModelLink {
            child,
            link_id: 10 + child,
            linked_at: 0,
        };
        c.apply_link(1, link(3));
        c.apply_link(1, link(2));
        let product = |owner, clicks, unlocks, earnings| ModelProduct {
            owner,
            title: None,
            media_complete: true,
            deleted: false,
            thumbnail: None,
            link_clicks: clicks,
            unlocks,
            total_earnings: earnings,
        };
        // Rates: 10 %, 10 % with more unlocks, 50 %, 5 %, 10 %, 20 %, then a
        // deleted one and one without media (never ranked).
        c.products.insert(1, product(1, 10, 1, 100));
        c.products.insert(2, product(2, 20, 2, 200));
        c.products.insert(3, product(3, 2, 1, 300));
        c.products.insert(4, product(1, 20, 1, 400));
        c.products.insert(5, product(3, 10, 1, 500));
        c.products.insert(6, product(2, 5, 1, 600));
        let mut gone = product(1, 1, 1, 7000);
        gone.deleted = true;
        c.products.insert(7, gone);
        let mut no_media = product(3, 1, 1, 800);
        no_media.media_complete = false;
        c.products.insert(8, no_media);
        let s = c.aggregate(1, true, |id| Balance {
            available: id,
            ..Balance::default()
        });
        let s = s.unwrap_or_default();
        assert_eq!(s["currency_unified"], json!(false));
        assert_eq!(s["wallet_balance"], Value::Null);
        let order: Vec<i64> = s["accounts"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["user_id"].as_i64()).collect())
            .unwrap_or_default();
        assert_eq!(order, vec![1, 3, 2]);
        let top: Vec<i64> = s["top_performing"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect())
            .unwrap_or_default();
        assert_eq!(top, vec![3, 6, 2, 1, 5]);
        assert_eq!(s["top_performing"][0]["currency_code"], json!("EUR"));
        assert_eq!(s["revenue_by_currency"], json!({"USD": 500, "EUR": 2400}));
        assert_eq!(s["total_product_revenue"], json!(2900));
        assert_eq!(s["total_content_items"], json!(6));
        assert_eq!(s["total_link_clicks"], json!(68));
        assert_eq!(s["total_unlocks"], json!(8));
        assert_eq!(s["overall_conversion_rate"], json!(11.76));
        // A summary is the bearer alone; a child's own aggregate too.
        let alone = c.summary(&[2], |_| Balance::default());
        assert_eq!(alone["currency_unified"], json!(true));
        assert_eq!(alone["revenue_by_currency"], json!({"EUR": 800}));
        assert_eq!(c.aggregate(2, false, |_| Balance::default()), Ok(alone));
        assert_eq!(
            c.linked_accounts(1)["linked_accounts"][0]["child_user_id"],
            json!(3)
        );
        assert_eq!(c.linked_accounts(2)["master"]["user_id"], json!(1));
    }
}
