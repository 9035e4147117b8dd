//! Item formats: every stored record, its attributes and its conversions.

use super::item::{
    b, get_bool, get_i64, get_opt_i64, get_opt_str, get_str, n, opt_s, s, AttributeValue, Item,
    ItemError,
};
use super::keys::{self, Key};
use domain::account::{Account, Link};
use domain::currency::Currency;
use domain::event::EventRecord;
use domain::ledger::{Balance, Deltas, Entry, EntryType};
use domain::lot::Lot;
use domain::payout::{Payout, PayoutStatus};
use domain::product::{Analytics, Product};
use domain::token::{Ability, Token};

/// The item at `key` with `attributes`.
fn keyed(key: Key, attributes: impl IntoIterator<Item = (String, AttributeValue)>) -> Item {
    let mut item = key.item();
    item.extend(attributes);
    item
}

/// Reads a stored record from its item.
pub trait Decode: Sized {
    fn from_item(item: &Item) -> Result<Self, ItemError>;
}

/// A record stored as one item of its own (its keys included).
pub trait Record: Decode {
    fn to_item(&self) -> Item;
}

/// A master -> child link, as stored in the master's `children` list.
pub fn link_attr(link: &Link) -> AttributeValue {
    AttributeValue::M(
        [
            (attr::LINK_ID.to_owned(), n(link.link_id)),
            (attr::CHILD_ID.to_owned(), n(link.child_id)),
            (attr::LINKED_AT.to_owned(), n(link.linked_at)),
        ]
        .into(),
    )
}

pub fn link_from_attr(value: &AttributeValue) -> Result<Link, ItemError> {
    match value {
        AttributeValue::M(map) => Ok(Link {
            link_id: get_i64(map, attr::LINK_ID)?,
            child_id: get_i64(map, attr::CHILD_ID)?,
            linked_at: get_i64(map, attr::LINKED_AT)?,
        }),
        _ => Err(ItemError::Invalid(attr::CHILDREN.to_owned())),
    }
}

pub mod attr {
    pub const USER_ID: &str = "user_id";
    pub const EMAIL: &str = "email";
    pub const DISPLAY_NAME: &str = "display_name";
    pub const CURRENCY_ID: &str = "currency_id";
    pub const PAYOUT_DETAILS: &str = "payout_details";
    pub const DELETED: &str = "deleted";
    pub const CREATED_AT: &str = "created_at";
    pub const AVAILABLE: &str = "available";
    pub const HOLD: &str = "hold";
    pub const PENDING: &str = "pending";
    pub const REFERRAL_REVENUE: &str = "referral_revenue";
    pub const PUBLIC_COUNT: &str = "public_count";
    pub const AFFILIATE_COUNT: &str = "affiliate_count";
    pub const PAYOUT_COUNT: &str = "payout_count";
    pub const CONTENT_ITEMS: &str = "content_items";
    pub const LINK_CLICKS: &str = "link_clicks";
    pub const UNLOCKS: &str = "unlocks";
    pub const PRODUCT_REVENUE: &str = "product_revenue";
    pub const MASTER_ID: &str = "master_id";
    pub const CHILDREN: &str = "children";
    pub const LINK_ID: &str = "link_id";
    pub const CHILD_ID: &str = "child_id";
    pub const LINKED_AT: &str = "linked_at";
    pub const VERSION: &str = "version";
}

impl Record for Account {
    fn to_item(&self) -> Item {
        use attr::*;
        let mut item = keyed(
            Key::account(self.user_id),
            [
                (USER_ID.to_owned(), n(self.user_id)),
                (EMAIL.to_owned(), s(&self.email)),
                (DISPLAY_NAME.to_owned(), s(&self.display_name)),
                (CURRENCY_ID.to_owned(), n(self.currency.id())),
                (
                    PAYOUT_DETAILS.to_owned(),
                    opt_s(self.payout_details.as_deref()),
                ),
                (DELETED.to_owned(), b(self.deleted)),
                (CREATED_AT.to_owned(), n(self.created_at)),
                (PUBLIC_COUNT.to_owned(), n(self.public_count)),
                (AFFILIATE_COUNT.to_owned(), n(self.affiliate_count)),
                (PAYOUT_COUNT.to_owned(), n(self.payout_count)),
                (CONTENT_ITEMS.to_owned(), n(self.analytics.content_items)),
                (LINK_CLICKS.to_owned(), n(self.analytics.link_clicks)),
                (UNLOCKS.to_owned(), n(self.analytics.unlocks)),
                (
                    PRODUCT_REVENUE.to_owned(),
                    n(self.analytics.product_revenue),
                ),
                (
                    CHILDREN.to_owned(),
                    AttributeValue::L(self.children.iter().map(link_attr).collect()),
                ),
                (VERSION.to_owned(), n(self.version)),
            ],
        );
        item.extend(balance_attrs(&self.balance));
        if let Some(master) = self.master_id {
            item.insert(MASTER_ID.to_owned(), n(master));
        }
        item
    }
}

impl Decode for Account {
    fn from_item(item: &Item) -> Result<Self, ItemError> {
        use attr::*;
        let currency_id = get_i64(item, CURRENCY_ID)?;
        Ok(Self {
            user_id: get_i64(item, USER_ID)?,
            email: get_str(item, EMAIL)?.to_owned(),
            display_name: get_str(item, DISPLAY_NAME)?.to_owned(),
            currency: Currency::from_id(currency_id)
                .ok_or_else(|| ItemError::Invalid(CURRENCY_ID.to_owned()))?,
            payout_details: get_opt_str(item, PAYOUT_DETAILS)?.map(str::to_owned),
            deleted: get_bool(item, DELETED)?,
            created_at: get_i64(item, CREATED_AT)?,
            balance: Balance::from_item(item)?,
            public_count: get_i64(item, PUBLIC_COUNT)?,
            affiliate_count: get_i64(item, AFFILIATE_COUNT)?,
            payout_count: get_opt_i64(item, PAYOUT_COUNT)?.unwrap_or(0),
            analytics: Analytics {
                content_items: get_opt_i64(item, CONTENT_ITEMS)?.unwrap_or(0),
                link_clicks: get_opt_i64(item, LINK_CLICKS)?.unwrap_or(0),
                unlocks: get_opt_i64(item, UNLOCKS)?.unwrap_or(0),
                product_revenue: get_opt_i64(item, PRODUCT_REVENUE)?.unwrap_or(0),
            },
            master_id: get_opt_i64(item, MASTER_ID)?,
            children: match item.get(CHILDREN) {
                Some(AttributeValue::L(list)) => {
                    list.iter().map(link_from_attr).collect::<Result<_, _>>()?
                }
                Some(AttributeValue::Null(_)) | None => Vec::new(),
                Some(_) => return Err(ItemError::Invalid(CHILDREN.to_owned())),
            },
            version: get_i64(item, VERSION)?,
        })
    }
}

fn balance_attrs(balance: &Balance) -> Item {
    use attr::*;
    [
        (AVAILABLE.to_owned(), n(balance.available)),
        (HOLD.to_owned(), n(balance.hold)),
        (PENDING.to_owned(), n(balance.pending)),
        (REFERRAL_REVENUE.to_owned(), n(balance.referral_revenue)),
    ]
    .into()
}

impl Decode for Balance {
    fn from_item(item: &Item) -> Result<Self, ItemError> {
        use attr::*;
        Ok(Self {
            available: get_i64(item, AVAILABLE)?,
            hold: get_i64(item, HOLD)?,
            pending: get_i64(item, PENDING)?,
            referral_revenue: get_i64(item, REFERRAL_REVENUE)?,
        })
    }
}

mod entry_attr {
    pub const ID: &str = "id";
    pub const TYPE: &str = "type";
    pub const AMOUNT: &str = "amount";
    pub const TITLE: &str = "title";
    pub const EVENT_ID: &str = "event_id";
    pub const PRODUCT_ID: &str = "product_id";
    pub const PAYOUT_ID: &str = "payout_id";
    pub const D_AVAILABLE: &str = "d_available";
    pub const D_HOLD: &str = "d_hold";
    pub const D_PENDING: &str = "d_pending";
}

/// The item of `entry` stored at `sk` in the user's partition.
pub fn entry_item(entry: &Entry, sk: String) -> Item {
    use entry_attr::*;
    let mut item = keyed(
        Key::of_user(entry.user_id, sk),
        [
            (ID.to_owned(), n(entry.id)),
            (attr::USER_ID.to_owned(), n(entry.user_id)),
            (TYPE.to_owned(), s(entry.entry_type.as_str())),
            (AMOUNT.to_owned(), n(entry.amount)),
            (TITLE.to_owned(), opt_s(entry.title.as_deref())),
            (attr::CREATED_AT.to_owned(), n(entry.created_at)),
            (attr::CURRENCY_ID.to_owned(), n(entry.currency.id())),
            (EVENT_ID.to_owned(), opt_s(entry.event_id.as_deref())),
            (D_AVAILABLE.to_owned(), n(entry.deltas.available)),
            (D_HOLD.to_owned(), n(entry.deltas.hold)),
            (D_PENDING.to_owned(), n(entry.deltas.pending)),
        ],
    );
    if let Some(p) = entry.product_id {
        item.insert(PRODUCT_ID.to_owned(), n(p));
    }
    if let Some(p) = entry.payout_id {
        item.insert(PAYOUT_ID.to_owned(), n(p));
    }
    item
}

impl Decode for Entry {
    fn from_item(item: &Item) -> Result<Self, ItemError> {
        use entry_attr::*;
        let type_name = get_str(item, TYPE)?;
        Ok(Self {
            id: get_i64(item, ID)?,
            user_id: get_i64(item, attr::USER_ID)?,
            entry_type: EntryType::parse(type_name)
                .ok_or_else(|| ItemError::Invalid(TYPE.to_owned()))?,
            amount: get_i64(item, AMOUNT)?,
            title: get_opt_str(item, TITLE)?.map(str::to_owned),
            created_at: get_i64(item, attr::CREATED_AT)?,
            currency: Currency::from_id(get_i64(item, attr::CURRENCY_ID)?)
                .ok_or_else(|| ItemError::Invalid(attr::CURRENCY_ID.to_owned()))?,
            event_id: get_opt_str(item, EVENT_ID)?.map(str::to_owned),
            product_id: get_opt_i64(item, PRODUCT_ID)?,
            payout_id: get_opt_i64(item, PAYOUT_ID)?,
            deltas: Deltas {
                available: get_i64(item, D_AVAILABLE)?,
                hold: get_i64(item, D_HOLD)?,
                pending: get_i64(item, D_PENDING)?,
            },
        })
    }
}

mod token_attr {
    pub const TOKEN_ID: &str = "token_id";
    pub const SECRET_SHA256: &str = "secret_sha256";
    pub const ABILITY: &str = "ability";
    pub const REVOKED: &str = "revoked";
}

impl Record for Token {
    fn to_item(&self) -> Item {
        use token_attr::*;
        keyed(
            Key::token(self.token_id),
            [
                (TOKEN_ID.to_owned(), n(self.token_id)),
                (attr::USER_ID.to_owned(), n(self.user_id)),
                (SECRET_SHA256.to_owned(), s(&self.secret_sha256)),
                (ABILITY.to_owned(), s(self.ability.as_str())),
                (REVOKED.to_owned(), b(self.revoked)),
                (attr::CREATED_AT.to_owned(), n(self.created_at)),
            ],
        )
    }
}

impl Decode for Token {
    fn from_item(item: &Item) -> Result<Self, ItemError> {
        use token_attr::*;
        Ok(Self {
            token_id: get_i64(item, TOKEN_ID)?,
            user_id: get_i64(item, attr::USER_ID)?,
            secret_sha256: get_str(item, SECRET_SHA256)?.to_owned(),
            ability: Ability::parse(get_str(item, ABILITY)?)
                .ok_or_else(|| ItemError::Invalid(ABILITY.to_owned()))?,
            revoked: get_bool(item, REVOKED)?,
            created_at: get_i64(item, attr::CREATED_AT)?,
        })
    }
}

pub const REVOKED_ATTR: &str = token_attr::REVOKED;

pub mod lot_attr {
    pub const HOLD_EVENT_ID: &str = "hold_event_id";
    pub const AMOUNT: &str = "amount";
    pub const RELEASE_AT: &str = "release_at";
    pub const RELEASED: &str = "released";
}

impl Record for Lot {
    fn to_item(&self) -> Item {
        use lot_attr::*;
        let mut item = keyed(
            Key::lot(self.user_id, &self.hold_event_id),
            [
                (attr::USER_ID.to_owned(), n(self.user_id)),
                (HOLD_EVENT_ID.to_owned(), s(&self.hold_event_id)),
                (AMOUNT.to_owned(), n(self.amount)),
                (RELEASED.to_owned(), b(self.released)),
            ],
        );
        if let Some(at) = self.release_at {
            item.insert(RELEASE_AT.to_owned(), n(at));
            if !self.released {
                item.insert(
                    keys::GSI1_PK.to_owned(),
                    s(keys::due_lot_gsi_pk(self.user_id)),
                );
                item.insert(
                    keys::GSI1_SK.to_owned(),
                    s(keys::due_lot_gsi_sk(at, self.user_id, &self.hold_event_id)),
                );
            }
        }
        item
    }
}

impl Decode for Lot {
    fn from_item(item: &Item) -> Result<Self, ItemError> {
        use lot_attr::*;
        Ok(Self {
            user_id: get_i64(item, attr::USER_ID)?,
            hold_event_id: get_str(item, HOLD_EVENT_ID)?.to_owned(),
            amount: get_i64(item, AMOUNT)?,
            release_at: get_opt_i64(item, RELEASE_AT)?,
            released: get_bool(item, RELEASED)?,
        })
    }
}

mod event_attr {
    pub const EVENT_ID: &str = "event_id";
    pub const PAYLOAD_SHA256: &str = "payload_sha256";
    pub const ENTRY_ID: &str = "entry_id";
    pub const APPLIED_AT: &str = "applied_at";
}

impl Record for EventRecord {
    fn to_item(&self) -> Item {
        use event_attr::*;
        let mut item = keyed(
            Key::event(&self.event_id),
            [
                (EVENT_ID.to_owned(), s(&self.event_id)),
                (PAYLOAD_SHA256.to_owned(), s(&self.payload_sha256)),
                (attr::USER_ID.to_owned(), n(self.user_id)),
                (APPLIED_AT.to_owned(), n(self.applied_at)),
            ],
        );
        if let Some(id) = self.entry_id {
            item.insert(ENTRY_ID.to_owned(), n(id));
        }
        item
    }
}

impl Decode for EventRecord {
    fn from_item(item: &Item) -> Result<Self, ItemError> {
        use event_attr::*;
        Ok(Self {
            event_id: get_str(item, EVENT_ID)?.to_owned(),
            payload_sha256: get_str(item, PAYLOAD_SHA256)?.to_owned(),
            user_id: get_i64(item, attr::USER_ID)?,
            entry_id: get_opt_i64(item, ENTRY_ID)?,
            applied_at: get_i64(item, APPLIED_AT)?,
        })
    }
}

pub mod payout_attr {
    pub const PAYOUT_ID: &str = "payout_id";
    pub const SEQ: &str = "seq";
    pub const AMOUNT: &str = "amount";
    pub const STATUS: &str = "status";
    pub const REQUESTED_AT: &str = "requested_at";
    pub const DECIDED_AT: &str = "decided_at";
    pub const DECLINE_REASON: &str = "decline_reason";
}

impl Record for Payout {
    /// The payout item, found by id (`PAYOUT#<id>`), in the status index.
    fn to_item(&self) -> Item {
        let mut item = keyed(Key::payout(self.payout_id), payout_attrs(self));
        item.insert(
            keys::GSI1_PK.to_owned(),
            s(keys::payouts_by_status_gsi_pk(self.status.as_str())),
        );
        item.insert(
            keys::GSI1_SK.to_owned(),
            s(keys::payouts_by_status_gsi_sk(
                self.requested_at,
                self.payout_id,
            )),
        );
        item
    }
}

/// The copy of `payout` in the user's payout list.
pub fn payout_list_item(payout: &Payout) -> Item {
    keyed(
        Key::payout_list(payout.user_id, payout.seq),
        payout_attrs(payout),
    )
}

fn payout_attrs(payout: &Payout) -> Item {
    use payout_attr::*;
    [
        (PAYOUT_ID.to_owned(), n(payout.payout_id)),
        (attr::USER_ID.to_owned(), n(payout.user_id)),
        (SEQ.to_owned(), n(payout.seq)),
        (AMOUNT.to_owned(), n(payout.amount)),
        (attr::CURRENCY_ID.to_owned(), n(payout.currency.id())),
        (STATUS.to_owned(), s(payout.status.as_str())),
        (REQUESTED_AT.to_owned(), n(payout.requested_at)),
        (
            DECIDED_AT.to_owned(),
            payout.decided_at.map_or(AttributeValue::Null(true), n),
        ),
        (
            DECLINE_REASON.to_owned(),
            opt_s(payout.decline_reason.as_deref()),
        ),
        (
            attr::PAYOUT_DETAILS.to_owned(),
            opt_s(payout.payout_details.as_deref()),
        ),
    ]
    .into()
}

impl Decode for Payout {
    fn from_item(item: &Item) -> Result<Self, ItemError> {
        use payout_attr::*;
        Ok(Self {
            payout_id: get_i64(item, PAYOUT_ID)?,
            user_id: get_i64(item, attr::USER_ID)?,
            seq: get_i64(item, SEQ)?,
            amount: get_i64(item, AMOUNT)?,
            currency: Currency::from_id(get_i64(item, attr::CURRENCY_ID)?)
                .ok_or_else(|| ItemError::Invalid(attr::CURRENCY_ID.to_owned()))?,
            status: PayoutStatus::parse(get_str(item, STATUS)?)
                .ok_or_else(|| ItemError::Invalid(STATUS.to_owned()))?,
            requested_at: get_i64(item, REQUESTED_AT)?,
            decided_at: get_opt_i64(item, DECIDED_AT)?,
            decline_reason: get_opt_str(item, DECLINE_REASON)?.map(str::to_owned),
            payout_details: get_opt_str(item, attr::PAYOUT_DETAILS)?.map(str::to_owned),
        })
    }
}

pub mod product_attr {
    pub const PRODUCT_ID: &str = "product_id";
    pub const TITLE: &str = "title";
    pub const MEDIA_COMPLETE: &str = "media_complete";
    pub const DELETED: &str = "deleted";
    pub const THUMBNAIL: &str = "thumbnail";
    pub const LINK_CLICKS: &str = "link_clicks";
    pub const UNLOCKS: &str = "unlocks";
    pub const TOTAL_EARNINGS: &str = "total_earnings";
    pub const VERSION: &str = "version";
}

impl Record for Product {
    fn to_item(&self) -> Item {
        use product_attr::*;
        let thumbnail = self
            .thumbnail
            .as_ref()
            .and_then(|t| serde_json::to_string(t).ok());
        let mut item = keyed(
            Key::product(self.product_id),
            [
                (PRODUCT_ID.to_owned(), n(self.product_id)),
                (attr::USER_ID.to_owned(), n(self.user_id)),
                (TITLE.to_owned(), opt_s(self.title.as_deref())),
                (MEDIA_COMPLETE.to_owned(), b(self.media_complete)),
                (DELETED.to_owned(), b(self.deleted)),
                (THUMBNAIL.to_owned(), opt_s(thumbnail.as_deref())),
                (LINK_CLICKS.to_owned(), n(self.link_clicks)),
                (UNLOCKS.to_owned(), n(self.unlocks)),
                (TOTAL_EARNINGS.to_owned(), n(self.total_earnings)),
                (VERSION.to_owned(), n(self.version)),
            ],
        );
        if self.can_rank() {
            item.insert(
                keys::GSI1_PK.to_owned(),
                s(keys::top_products_gsi_pk(self.user_id)),
            );
            item.insert(keys::GSI1_SK.to_owned(), s(keys::top_product_gsi_sk(self)));
        }
        item
    }
}

impl Decode for Product {
    fn from_item(item: &Item) -> Result<Self, ItemError> {
        use product_attr::*;
        let thumbnail = get_opt_str(item, THUMBNAIL)?
            .map(|text| {
                serde_json::from_str(text).map_err(|_| ItemError::Invalid(THUMBNAIL.to_owned()))
            })
            .transpose()?;
        Ok(Self {
            product_id: get_i64(item, PRODUCT_ID)?,
            user_id: get_i64(item, attr::USER_ID)?,
            title: get_opt_str(item, TITLE)?.map(str::to_owned),
            media_complete: get_bool(item, MEDIA_COMPLETE)?,
            deleted: get_bool(item, DELETED)?,
            thumbnail,
            link_clicks: get_i64(item, LINK_CLICKS)?,
            unlocks: get_i64(item, UNLOCKS)?,
            total_earnings: get_i64(item, TOTAL_EARNINGS)?,
            version: get_i64(item, VERSION)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            user_id: 42,
            email: "a@b.c".into(),
            display_name: "Ann".into(),
            currency: Currency::Eur,
            payout_details: Some(r#"{"iban":"X","bic_swift":"Y"}"#.into()),
            deleted: false,
            created_at: 1_700_000_000,
            balance: Balance {
                available: -5,
                hold: 2,
                pending: 3,
                referral_revenue: 9,
            },
            public_count: 7,
            affiliate_count: 1,
            payout_count: 2,
            analytics: Analytics {
                content_items: 1,
                link_clicks: 2,
                unlocks: 3,
                product_revenue: 4,
            },
            master_id: Some(9),
            children: vec![Link {
                link_id: 5,
                child_id: 6,
                linked_at: 7,
            }],
            version: 11,
        }
    }

    #[test]
    fn account_round_trips() {
        let a = account();
        let item = a.to_item();
        assert_eq!(Account::from_item(&item), Ok(a));
        assert_eq!(get_str(&item, keys::SK), Ok(keys::ACCOUNT_SK));
    }

    #[test]
    fn entry_round_trips() {
        let e = Entry {
            id: 5,
            user_id: 42,
            entry_type: EntryType::ReleasePending,
            amount: 100,
            title: None,
            created_at: 1,
            currency: Currency::Usd,
            event_id: None,
            product_id: Some(7),
            payout_id: Some(9),
            deltas: Deltas {
                available: 100,
                hold: 0,
                pending: -100,
            },
        };
        assert_eq!(
            Entry::from_item(&entry_item(&e, keys::hidden_entry_sk(5))),
            Ok(e)
        );
    }

    #[test]
    fn lot_is_in_the_due_index_only_while_unreleased_with_a_time() {
        let mut lot = Lot {
            user_id: 3,
            hold_event_id: "h".into(),
            amount: 10,
            release_at: Some(100),
            released: false,
        };
        assert!(lot.to_item().contains_key(keys::GSI1_PK));
        assert_eq!(Lot::from_item(&lot.to_item()), Ok(lot.clone()));
        lot.released = true;
        assert!(!lot.to_item().contains_key(keys::GSI1_PK));
        lot.release_at = None;
        lot.released = false;
        assert!(!lot.to_item().contains_key(keys::GSI1_SK));
    }

    #[test]
    fn payout_round_trips_in_both_places() {
        let p = Payout {
            payout_id: 9,
            user_id: 4,
            seq: 2,
            amount: 1500,
            currency: Currency::Gbp,
            status: PayoutStatus::Declined,
            requested_at: 10,
            decided_at: Some(20),
            decline_reason: Some("bad iban".into()),
            payout_details: None,
        };
        assert_eq!(Payout::from_item(&p.to_item()), Ok(p.clone()));
        assert_eq!(Payout::from_item(&payout_list_item(&p)), Ok(p.clone()));
        assert_eq!(get_str(&p.to_item(), keys::GSI1_PK), Ok("PAYOUTS#declined"));
        assert!(!payout_list_item(&p).contains_key(keys::GSI1_PK));
    }

    #[test]
    fn product_round_trips_and_ranks_only_when_eligible() {
        let mut p = Product::new(7, 42);
        p.title = Some("Sunset set".into());
        p.thumbnail = Some(domain::event::Thumbnail {
            url: "https://x/7.jpg".into(),
            width: 640,
            height: 480,
        });
        p.unlocks = 10;
        p.link_clicks = 80;
        p.version = 3;
        assert_eq!(Product::from_item(&p.to_item()), Ok(p.clone()));
        assert!(!p.to_item().contains_key(keys::GSI1_PK), "media incomplete");
        p.media_complete = true;
        assert_eq!(get_str(&p.to_item(), keys::GSI1_PK), Ok("TOP#42"));
        p.deleted = true;
        assert!(!p.to_item().contains_key(keys::GSI1_PK), "deleted");
        p.deleted = false;
        p.link_clicks = 0;
        assert!(!p.to_item().contains_key(keys::GSI1_PK), "never clicked");
    }

    #[test]
    fn balance_total_is_checked() {
        assert_eq!(account().balance.total(), Some(0));
        let huge = Balance {
            available: i64::MAX,
            hold: 1,
            ..Balance::default()
        };
        assert_eq!(huge.total(), None);
    }
}
