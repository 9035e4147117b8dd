//! Every key of the single table, in one place.
//!
//! Layout (partition key `PK`, sort key `SK`):
//!
//! | item | PK | SK |
//! |---|---|---|
//! | affiliate list entry (copy) | `USER#<uid>` | `TXA#<seq, 20 digits>` |
//! | account: profile + balances + list counters | `USER#<uid>` | `TXB` |
//! | public list entry | `USER#<uid>` | `TXB#<u64::MAX - seq, 20 digits>` |
//! | hidden entry (`RELEASE_PENDING`) | `USER#<uid>` | `HID#<entry id, 20 digits>` |
//! | hold lot | `USER#<uid>` | `LOT#<hold event id>` |
//! | payout, the user's list copy | `USER#<uid>` | `PAYOUT#<u64::MAX - seq, 20 digits>` |
//! | payout | `PAYOUT#<payout id>` | `PAYOUT` |
//! | idempotency record | `IDEM#<uid>#<Idempotency-Key>` | `IDEM` |
//! | product (with its counters) | `PRODUCT#<product id>` | `PRODUCT` |
//! | API token | `TOKEN#<token id>` | `TOKEN` |
//! | applied event (dedup) | `EVENT#<event id>` | `EVENT` |
//! | e-mail uniqueness | `EMAIL#<lower-case e-mail>` | `EMAIL` |
//! | id block counter | `IDS` | `IDS` |
//! | demo data marker (`walletctl seed demo`) | `DEMO` | `DEMO` |
//!
//! The account item sits between the two lists on purpose: one Query from `TXB`
//! upwards returns the account and the newest public entries (the public list is
//! stored with inverted sequence numbers), and one Query from `TXB` downwards
//! returns the account and the newest affiliate entries. So page 1 of either list
//! is one round trip. Nothing else in a user partition may start with `TX`.
//!
//! Hold lots that have a release time carry `GSI1PK = DUE#<shard>` and
//! `GSI1SK = <release epoch, 12 digits>#<uid>#<event id>` until released (a sparse
//! index), so matured lots are found with a Query, never a scan. Payouts carry
//! `GSI1PK = PAYOUTS#<status>`, `GSI1SK = <requested epoch, 12 digits>#<payout id>`
//! (the operator's list by status). Products that can be top performers carry
//! `GSI1PK = TOP#<uid>`, `GSI1SK = <rank>` (see [`top_product_gsi_sk`]), so an
//! account's top 5 is one Query of 5 items whatever its number of products.

use super::item::{AttributeValue, Item};
use domain::product::Product;
use std::cmp::Reverse;

/// The primary key of one item: its partition and sort key, always as a pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn account(user_id: i64) -> Self {
        Self::new(user_pk(user_id), ACCOUNT_SK)
    }

    pub fn lot(user_id: i64, hold_event_id: &str) -> Self {
        Self::new(user_pk(user_id), lot_sk(hold_event_id))
    }

    /// The copy of a payout in its user's payout list.
    pub fn payout_list(user_id: i64, seq: i64) -> Self {
        Self::new(user_pk(user_id), payout_list_sk(seq))
    }

    pub fn token(token_id: i64) -> Self {
        Self::new(token_pk(token_id), TOKEN_SK)
    }

    pub fn event(event_id: &str) -> Self {
        Self::new(event_pk(event_id), EVENT_SK)
    }

    pub fn product(product_id: i64) -> Self {
        Self::new(product_pk(product_id), PRODUCT_SK)
    }

    pub fn payout(payout_id: i64) -> Self {
        Self::new(payout_pk(payout_id), PAYOUT_SK)
    }

    pub fn idempotency(user_id: i64, key: &str) -> Self {
        Self::new(idempotency_pk(user_id, key), IDEMPOTENCY_SK)
    }

    pub fn email(email: &str) -> Self {
        Self::new(email_pk(email), EMAIL_SK)
    }

    pub fn id_counter() -> Self {
        Self::new(ID_COUNTER_PK, ID_COUNTER_SK)
    }

    /// An item of a user's partition (an entry of one of its lists).
    pub fn of_user(user_id: i64, sk: impl Into<String>) -> Self {
        Self::new(user_pk(user_id), sk)
    }

    fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// The key attributes, as a request's `Key` (or the start of an item).
    pub fn item(&self) -> Item {
        [
            (PK.to_owned(), AttributeValue::S(self.pk.clone())),
            (SK.to_owned(), AttributeValue::S(self.sk.clone())),
        ]
        .into()
    }
}

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1_PK: &str = "GSI1PK";
pub const GSI1_SK: &str = "GSI1SK";

/// How many partitions of the due-lot index the lots are spread over.
pub const DUE_SHARDS: i64 = 8;

pub const ACCOUNT_SK: &str = "TXB";
/// Lowest sort key of the affiliate list (for a `BETWEEN` with [`ACCOUNT_SK`]).
pub const AFFILIATE_LIST_FLOOR: &str = "TXA#";
/// Highest sort key of the public list (for a `BETWEEN` with [`ACCOUNT_SK`]).
pub const PUBLIC_LIST_CEILING: &str = "TXB#~";

pub fn user_pk(user_id: i64) -> String {
    format!("USER#{user_id}")
}

/// Sort key of the `seq`-th entry (1-based) of a user's affiliate list.
pub fn affiliate_entry_sk(seq: i64) -> String {
    format!("TXA#{:020}", seq)
}

/// Sort key of the `seq`-th entry (1-based) of a user's public list. Inverted, so
/// that ascending sort-key order is newest first.
pub fn public_entry_sk(seq: i64) -> String {
    format!("TXB#{:020}", u64::MAX - seq.unsigned_abs())
}

pub fn hidden_entry_sk(entry_id: i64) -> String {
    format!("HID#{:020}", entry_id)
}

pub fn lot_sk(hold_event_id: &str) -> String {
    format!("LOT#{hold_event_id}")
}

/// Sort key of the `seq`-th payout (1-based) of a user; newest first ascending.
pub fn payout_list_sk(seq: i64) -> String {
    format!("PAYOUT#{:020}", u64::MAX - seq.unsigned_abs())
}
pub const PAYOUT_LIST_FLOOR: &str = "PAYOUT#";
pub const PAYOUT_LIST_CEILING: &str = "PAYOUT#~";

pub fn payout_pk(payout_id: i64) -> String {
    format!("PAYOUT#{payout_id}")
}
pub const PAYOUT_SK: &str = "PAYOUT";

pub fn payouts_by_status_gsi_pk(status: &str) -> String {
    format!("PAYOUTS#{status}")
}

pub fn payouts_by_status_gsi_sk(requested_at_epoch: i64, payout_id: i64) -> String {
    format!("{:012}#{:020}", requested_at_epoch.max(0), payout_id)
}

pub fn idempotency_pk(user_id: i64, key: &str) -> String {
    format!("IDEM#{user_id}#{key}")
}
pub const IDEMPOTENCY_SK: &str = "IDEM";

pub fn product_pk(product_id: i64) -> String {
    format!("PRODUCT#{product_id}")
}
pub const PRODUCT_SK: &str = "PRODUCT";

pub fn top_products_gsi_pk(user_id: i64) -> String {
    format!("TOP#{user_id}")
}

/// The top-products index key of `product`: its ascending order is exactly
/// the ranking of [`Product::rank_key`] (a test holds the two together).
pub fn top_product_gsi_sk(product: &Product) -> String {
    let (Reverse(rate_centi), Reverse(unlocks), product_id) = product.rank_key();
    format!(
        "{:020}#{:020}#{:020}",
        u64::MAX - rate_centi.max(0).unsigned_abs(),
        u64::MAX - unlocks.max(0).unsigned_abs(),
        product_id.max(0)
    )
}

pub fn token_pk(token_id: i64) -> String {
    format!("TOKEN#{token_id}")
}
pub const TOKEN_SK: &str = "TOKEN";

pub fn event_pk(event_id: &str) -> String {
    format!("EVENT#{event_id}")
}
pub const EVENT_SK: &str = "EVENT";

pub fn email_pk(email: &str) -> String {
    format!("EMAIL#{}", email.trim().to_lowercase())
}
pub const EMAIL_SK: &str = "EMAIL";

/// Marks that `walletctl seed demo` created the demo data.
pub const DEMO_MARKER_PK: &str = "DEMO";

pub const ID_COUNTER_PK: &str = "IDS";
pub const ID_COUNTER_SK: &str = "IDS";

pub fn due_lot_gsi_pk(user_id: i64) -> String {
    format!("DUE#{}", user_id.rem_euclid(DUE_SHARDS))
}

pub fn due_lot_gsi_sk(release_at_epoch: i64, user_id: i64, hold_event_id: &str) -> String {
    format!("{:012}#{user_id}#{hold_event_id}", release_at_epoch.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::product::rank;

    #[test]
    fn account_sits_between_the_two_lists() {
        for seq in [1, 2, 9, 10, 11, 99_999, (1 << 53) - 1] {
            assert!(AFFILIATE_LIST_FLOOR < affiliate_entry_sk(seq).as_str());
            assert!(affiliate_entry_sk(seq).as_str() < ACCOUNT_SK);
            assert!(ACCOUNT_SK < public_entry_sk(seq).as_str());
            assert!(public_entry_sk(seq).as_str() < PUBLIC_LIST_CEILING);
        }
    }

    #[test]
    fn other_user_items_are_outside_both_list_ranges() {
        for sk in [
            hidden_entry_sk(1),
            lot_sk("h_1"),
            lot_sk(""),
            payout_list_sk(1),
            payout_list_sk(1 << 40),
        ] {
            let inside = AFFILIATE_LIST_FLOOR <= sk.as_str() && sk.as_str() <= PUBLIC_LIST_CEILING;
            assert!(!inside, "{sk} would be read as a list entry");
        }
    }

    #[test]
    fn affiliate_list_ascends_public_list_descends() {
        assert!(affiliate_entry_sk(9) < affiliate_entry_sk(10));
        assert!(public_entry_sk(10) < public_entry_sk(9));
        assert!(public_entry_sk(1_000_000) < public_entry_sk(2));
    }

    #[test]
    fn keys_are_stable() {
        assert_eq!(user_pk(42), "USER#42");
        assert_eq!(affiliate_entry_sk(3), "TXA#00000000000000000003");
        assert_eq!(public_entry_sk(1), "TXB#18446744073709551614");
        assert_eq!(token_pk(7), "TOKEN#7");
        assert_eq!(event_pk("pay_1"), "EVENT#pay_1");
        assert_eq!(email_pk(" Ann@Example.COM "), "EMAIL#ann@example.com");
        assert_eq!(lot_sk("h_1"), "LOT#h_1");
        assert_eq!(due_lot_gsi_pk(42), "DUE#2");
        assert_eq!(
            due_lot_gsi_sk(1_700_000_000, 42, "h_1"),
            "001700000000#42#h_1"
        );
    }

    #[test]
    fn payout_list_is_newest_first_and_bounded() {
        assert!(payout_list_sk(2) < payout_list_sk(1));
        assert!(PAYOUT_LIST_FLOOR < payout_list_sk(1).as_str());
        assert!(payout_list_sk(1).as_str() < PAYOUT_LIST_CEILING);
        assert_eq!(idempotency_pk(4, "k-1"), "IDEM#4#k-1");
        assert_eq!(
            payouts_by_status_gsi_sk(5, 9),
            "000000000005#00000000000000000009"
        );
    }

    #[test]
    fn top_rank_orders_rate_then_unlocks_then_id() {
        let p = |unlocks, link_clicks, id| Product {
            unlocks,
            link_clicks,
            ..Product::new(id, 1)
        };
        let key = |unlocks, link_clicks, id| top_product_gsi_sk(&p(unlocks, link_clicks, id));
        // 12.50 % beats 3.53 % whatever the unlocks.
        assert!(key(10, 80, 9) < key(999, 28_300, 1));
        assert!(
            key(20, 40, 9) < key(10, 20, 1),
            "same rate: more unlocks first"
        );
        assert!(key(10, 20, 1) < key(10, 20, 2), "then the lower id");
        assert!(key(10_000, 1, 1) < key(99_999_999, 10_000, 1));
    }

    #[test]
    fn the_index_key_orders_as_the_summary_ranks() {
        // The stored top-5 index and the aggregate's global ranking must agree.
        let mut products = Vec::new();
        for unlocks in 0..6 {
            for link_clicks in 1..6 {
                for id in 1..4 {
                    products.push(Product {
                        unlocks,
                        link_clicks,
                        ..Product::new(id * 100 + unlocks * 10 + link_clicks, 1)
                    });
                }
            }
        }
        let mut by_key = products.clone();
        by_key.sort_by_key(top_product_gsi_sk);
        let mut ranked = products;
        rank(&mut ranked);
        assert_eq!(by_key, ranked);
    }

    #[test]
    fn due_keys_sort_by_time() {
        assert!(due_lot_gsi_sk(999, 1, "a") < due_lot_gsi_sk(1000, 1, "a"));
    }
}
