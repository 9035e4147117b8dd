//! The dashboard answers in the model (docs/api.md#summary, 4.5 and docs/decisions.md):
//! summary, aggregate and linked accounts, and the catalog's part of the
//! run's digest.

use super::catalog::{Balance, Catalog, ModelProduct, Profile, Thumb};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

pub const TOP: usize = 5;

impl Catalog {
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
        let currencies: BTreeSet<i64> = ids
            .iter()
            .filter_map(|id| self.profiles.get(id))
            .map(|p| p.currency_id)
            .collect();
        let unified = currencies.len() <= 1;
        let mut sum = Balance::default();
        let mut accounts = Vec::new();
        let mut by_currency = Map::new();
        let (mut items, mut clicks, mut unlocks, mut revenue) = (0i64, 0i64, 0i64, 0i64);
        for id in ids {
            let b = balance(*id);
            sum.available += b.available;
            sum.hold += b.hold;
            sum.pending += b.pending;
            sum.referral += b.referral;
            let p = self.profiles.get(id);
            accounts.push(with_profile(
                [("user_id", json!(id))],
                p,
                [("wallet_balance", b.json())],
            ));
            let c = self.counters(*id);
            items += c.0;
            clicks += c.1;
            unlocks += c.2;
            revenue += c.3;
            let code = p.map_or("?", |p| p.currency_code).to_owned();
            let so_far = by_currency.get(&code).and_then(Value::as_i64).unwrap_or(0);
            by_currency.insert(code, json!(so_far + c.3));
        }
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
            "top_performing": self.top_performing(ids),
        })
    }

    /// The `TOP` eligible products of `ids`: by conversion rate, then
    /// unlocks, then id.
    fn top_performing(&self, ids: &[i64]) -> Vec<Value> {
        let mut candidates: Vec<(i64, &ModelProduct)> = Vec::new();
        for id in ids {
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
        candidates
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
                    "currency_code": self.profiles.get(&p.owner).map(|p| p.currency_code),
                    "thumbnail": p.thumbnail.as_ref().map(Thumb::json),
                })
            })
            .collect()
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
        if let Some(m) = self.master_of.get(&user_id) {
            return json!({
                "role": "child",
                "master": with_profile([("user_id", json!(m))], self.profiles.get(m), []),
                "linked_accounts": [],
            });
        }
        let links = self.children.get(&user_id).cloned().unwrap_or_default();
        let linked: Vec<Value> = links
            .iter()
            .filter(|l| !self.deleted.contains(&l.child))
            .map(|l| {
                with_profile(
                    [("id", json!(l.link_id)), ("child_user_id", json!(l.child))],
                    self.profiles.get(&l.child),
                    [("linked_at", json!(datetime(l.linked_at)))],
                )
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

/// An account in the answers: the `head` fields, its profile (email, display
/// name, currency id and code; null where unknown), then the `tail` fields.
fn with_profile<const H: usize, const T: usize>(
    head: [(&str, Value); H],
    p: Option<&Profile>,
    tail: [(&str, Value); T],
) -> Value {
    let mut fields = Map::new();
    for (k, v) in head {
        fields.insert(k.to_owned(), v);
    }
    fields.insert("email".into(), json!(p.map(|p| &p.email)));
    fields.insert("display_name".into(), json!(p.map(|p| &p.display_name)));
    fields.insert("currency_id".into(), json!(p.map(|p| p.currency_id)));
    fields.insert("currency_code".into(), json!(p.map(|p| p.currency_code)));
    for (k, v) in tail {
        fields.insert(k.to_owned(), v);
    }
    Value::Object(fields)
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
    use crate::model::catalog::ModelLink;

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
