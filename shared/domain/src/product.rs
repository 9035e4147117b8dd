//! Product analytics kept by the ledger (docs/api.md#summary): what a product
//! adds to its account's counters, and conversion rates.

/// A product of a creator, with its counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub product_id: i64,
    pub user_id: i64,
    pub title: Option<String>,
    pub media_complete: bool,
    pub deleted: bool,
    pub thumbnail: Option<crate::event::Thumbnail>,
    pub link_clicks: i64,
    pub unlocks: i64,
    pub total_earnings: i64,
    /// Bumped by every write (optimistic concurrency); 0 = not stored yet.
    pub version: i64,
}

impl Product {
    /// A product the events have not described yet.
    pub fn new(product_id: i64, user_id: i64) -> Self {
        Self {
            product_id,
            user_id,
            title: None,
            media_complete: false,
            deleted: false,
            thumbnail: None,
            link_clicks: 0,
            unlocks: 0,
            total_earnings: 0,
            version: 0,
        }
    }

    /// Can rank in top_performing: not deleted, complete media, clicked.
    pub fn can_rank(&self) -> bool {
        !self.deleted && self.media_complete && self.link_clicks >= 1
    }

    pub fn conversion_rate_centi(&self) -> i64 {
        conversion_rate_centi(self.unlocks, self.link_clicks)
    }

    /// Its place in `top_performing`: ascending order of this key is the
    /// ranking (conversion rate desc, then unlocks desc, then id asc). The
    /// stored top-products index key encodes exactly this order.
    pub fn rank_key(&self) -> (std::cmp::Reverse<i64>, std::cmp::Reverse<i64>, i64) {
        (
            std::cmp::Reverse(self.conversion_rate_centi()),
            std::cmp::Reverse(self.unlocks),
            self.product_id,
        )
    }
}

/// How many products `top_performing` shows.
pub const TOP_PERFORMING: usize = 5;

/// The ranking of `top_performing` (see [`Product::rank_key`]).
pub fn rank(products: &mut [Product]) {
    products.sort_by_key(Product::rank_key);
}

/// The dashboard counters of an account (or what one product adds to them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Analytics {
    /// Products with complete media.
    pub content_items: i64,
    pub link_clicks: i64,
    pub unlocks: i64,
    pub product_revenue: i64,
}

impl Analytics {
    /// What a product contributes: nothing when deleted.
    pub fn of_product(product: &Product) -> Self {
        if product.deleted {
            return Self::default();
        }
        Self {
            content_items: i64::from(product.media_complete),
            link_clicks: product.link_clicks,
            unlocks: product.unlocks,
            product_revenue: product.total_earnings,
        }
    }

    /// `self - before`, or `None` on overflow.
    pub fn change_from(&self, before: &Self) -> Option<Self> {
        Some(Self {
            content_items: self.content_items.checked_sub(before.content_items)?,
            link_clicks: self.link_clicks.checked_sub(before.link_clicks)?,
            unlocks: self.unlocks.checked_sub(before.unlocks)?,
            product_revenue: self.product_revenue.checked_sub(before.product_revenue)?,
        })
    }

    pub fn checked_add(&self, other: &Self) -> Option<Self> {
        Some(Self {
            content_items: self.content_items.checked_add(other.content_items)?,
            link_clicks: self.link_clicks.checked_add(other.link_clicks)?,
            unlocks: self.unlocks.checked_add(other.unlocks)?,
            product_revenue: self.product_revenue.checked_add(other.product_revenue)?,
        })
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// unlocks / clicks x 100, rounded half-up to 2 decimals, in hundredths of a
/// percent (3.53 % -> 353); 0 without clicks.
pub fn conversion_rate_centi(unlocks: i64, link_clicks: i64) -> i64 {
    if link_clicks <= 0 || unlocks <= 0 {
        return 0;
    }
    let (u, c) = (i128::from(unlocks), i128::from(link_clicks));
    let centi = (u * 10_000 * 2 + c) / (2 * c);
    i64::try_from(centi).unwrap_or(i64::MAX)
}

/// The rate as the JSON number clients see (353 -> 3.53).
pub fn rate_number(centi: i64) -> f64 {
    // Exact for every rate a product can reach (centi < 2^53).
    (centi as f64) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_half_up_to_two_decimals() {
        assert_eq!(conversion_rate_centi(120, 3400), 353); // 3.5294...
        assert_eq!(conversion_rate_centi(10, 80), 1250);
        assert_eq!(conversion_rate_centi(1, 8), 1250);
        assert_eq!(conversion_rate_centi(1, 3), 3333); // 33.333...
        assert_eq!(conversion_rate_centi(2, 3), 6667); // 66.666...
        assert_eq!(conversion_rate_centi(1, 16), 625); // 6.25 exactly
        assert_eq!(conversion_rate_centi(1, 160), 63); // 0.625 -> 0.63 (half up)
        assert_eq!(conversion_rate_centi(5, 0), 0);
        assert_eq!(conversion_rate_centi(0, 10), 0);
        assert_eq!(conversion_rate_centi(30, 10), 30_000); // unlocks may exceed clicks
        assert_eq!(conversion_rate_centi(i64::MAX, 1), i64::MAX);
        assert_eq!(rate_number(353), 3.53);
        assert_eq!(rate_number(1250), 12.5);
    }

    #[test]
    fn deleted_products_contribute_nothing() {
        let mut p = Product::new(7, 1);
        p.media_complete = true;
        p.link_clicks = 10;
        p.unlocks = 2;
        p.total_earnings = 500;
        assert_eq!(
            Analytics::of_product(&p),
            Analytics {
                content_items: 1,
                link_clicks: 10,
                unlocks: 2,
                product_revenue: 500
            }
        );
        let before = Analytics::of_product(&p);
        p.deleted = true;
        let change = Analytics::of_product(&p).change_from(&before).unwrap();
        assert_eq!(
            change,
            Analytics {
                content_items: -1,
                link_clicks: -10,
                unlocks: -2,
                product_revenue: -500
            }
        );
    }
}
