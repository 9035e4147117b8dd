//! The independent model of products, analytics events, account links and the
//! dashboard answers, written from docs/api.md (summary, aggregate) and
//! docs/ledger.md (events, walletctl) (and, where they are silent, docs/decisions.md: product ids are system-wide, so an event naming
//! another user's product is refused; a `link_clicks` or `product_earning` for a
//! product never described creates it; a `refund` for one never described
//! changes no product). No code shared with `shared::services`, `shared::services::dashboard`
//! or `shared::services::links`.
//!
//! The catalog's state and its events are here; the links are in
//! [`super::links`], the dashboard answers in [`super::dashboard`].

use super::{Expect, MoneyEvent, Wallet};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumb {
    pub url: String,
    pub width: i64,
    pub height: i64,
}

impl Thumb {
    /// The thumbnail as events and answers carry it.
    pub fn json(&self) -> Value {
        json!({"url": self.url, "width": self.width, "height": self.height})
    }
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

    /// What an applied event does to the product (docs/ledger.md#internal-events).
    fn apply(&mut self, part: &ProductPart) {
        match part {
            ProductPart::Upsert {
                title,
                media_complete,
                deleted,
                thumbnail,
            } => {
                if let Some(t) = title {
                    self.title = t.clone();
                }
                if let Some(m) = media_complete {
                    self.media_complete = *m;
                }
                if let Some(d) = deleted {
                    self.deleted = *d;
                }
                if let Some(t) = thumbnail {
                    self.thumbnail = t.clone();
                }
            }
            ProductPart::Clicks(n) => self.link_clicks += n,
            ProductPart::Unlock(a) => {
                self.unlocks += 1;
                self.total_earnings += a;
            }
            ProductPart::Refund(a) => self.total_earnings = (self.total_earnings - a).max(0),
        }
    }

    /// Can be a top performer (docs/api.md#summary).
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

    pub fn json(&self) -> Value {
        json!({
            "available": self.available, "hold": self.hold, "pending": self.pending,
            "total": self.available + self.hold + self.pending,
            "referral_revenue": self.referral,
        })
    }
}

/// A master -> child link, as the model keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLink {
    pub child: i64,
    pub link_id: i64,
    pub linked_at: i64,
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
            self.products
                .entry(*product_id)
                .or_insert_with(|| ModelProduct::new(ev.user_id))
                .apply(part);
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
}
