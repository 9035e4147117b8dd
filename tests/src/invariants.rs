//! What must always hold (docs/ledger.md#invariants), checked from the stored items, and the
//! reads these checks (and the tests) use: accounts, balances, entries, payouts.

use crate::dynamo::{item_key, partition, sk_starts_with};
use domain::account::Account;
use domain::ledger::Entry;
use domain::ledger::{Direction, EntryType};
use domain::lot::Lot;
use domain::payout::{Payout, PayoutStatus};
use shared::services::payouts::{list_payouts, read_payout};
use shared::store::codec::Decode;
use shared::store::item::Item;
use shared::store::keys;
use shared::store::read::read_account;
use shared::Ctx;

pub async fn account(ctx: &Ctx, user_id: i64) -> Account {
    read_account(ctx, user_id)
        .await
        .expect("read account")
        .expect("account exists")
}

/// (available, hold, pending) of a user.
pub async fn buckets(ctx: &Ctx, user_id: i64) -> (i64, i64, i64) {
    let b = account(ctx, user_id).await.balance;
    (b.available, b.hold, b.pending)
}

/// The ledger entries of a user (public and hidden; affiliate copies excluded).
pub async fn entries(ctx: &Ctx, user_id: i64) -> Vec<Entry> {
    partition(ctx, user_id)
        .await
        .iter()
        .filter(|i| sk_starts_with(i, "TXB#") || sk_starts_with(i, "HID#"))
        .map(|i| Entry::from_item(i).expect("entry item"))
        .collect()
}

/// The list whose sort keys `sk` gives has an item at every position 1..=`count`.
fn assert_contiguous(items: &[Item], count: i64, sk: fn(i64) -> String, list: &str) {
    for seq in 1..=count {
        let want = sk(seq);
        assert!(
            items.iter().any(|i| item_key(i).1 == want),
            "{list} list has a gap at {seq}"
        );
    }
}

/// Checks the invariants of docs/ledger.md for one user, from the stored items:
/// each bucket equals the sum of its entries' deltas (recomputed from the
/// type rules), no bucket that must not be negative is, `hold` equals the
/// unreleased lots, the lists are contiguous and their counters exact,
/// referral revenue is the sum of affiliate earnings.
pub async fn assert_invariants(ctx: &Ctx, user_id: i64) {
    let account = account(ctx, user_id).await;
    let items = partition(ctx, user_id).await;
    let (mut available, mut hold, mut pending, mut referral) = (0i64, 0i64, 0i64, 0i64);
    let mut public = 0;
    let mut affiliate_public = 0;
    let mut ids = std::collections::HashSet::new();
    for item in items
        .iter()
        .filter(|i| sk_starts_with(i, "TXB#") || sk_starts_with(i, "HID#"))
    {
        let e = Entry::from_item(item).expect("entry");
        assert!(e.amount > 0, "entry {} has a non-positive amount", e.id);
        assert!(ids.insert(e.id), "entry id {} appears twice", e.id);
        let held = e.deltas.hold > 0 && e.entry_type.direction() == Direction::Credit;
        assert_eq!(
            e.deltas,
            e.entry_type.deltas(e.amount, held),
            "entry {} has deltas that break the type rule",
            e.id
        );
        available += e.deltas.available;
        hold += e.deltas.hold;
        pending += e.deltas.pending;
        if e.entry_type == EntryType::AffiliateEarning {
            referral += e.amount;
            affiliate_public += 1;
        }
        if sk_starts_with(item, "TXB#") {
            public += 1;
            assert!(e.entry_type.is_public());
        } else {
            assert!(!e.entry_type.is_public());
        }
    }
    let b = account.balance;
    assert_eq!(b.available, available, "available != sum of deltas");
    assert_eq!(b.hold, hold, "hold != sum of deltas");
    assert_eq!(b.pending, pending, "pending != sum of deltas");
    assert_eq!(
        b.referral_revenue, referral,
        "referral_revenue != affiliate earnings"
    );
    assert!(
        b.hold >= 0 && b.pending >= 0,
        "negative hold or pending: {b:?}"
    );
    assert_eq!(
        account.public_count, public,
        "public_count != public entries"
    );
    assert_contiguous(&items, public, keys::public_entry_sk, "public");
    let affiliate_copies = items.iter().filter(|i| sk_starts_with(i, "TXA#")).count() as i64;
    assert_eq!(
        account.affiliate_count, affiliate_copies,
        "affiliate_count != copies"
    );
    assert_eq!(
        affiliate_public, affiliate_copies,
        "affiliate copies != affiliate entries"
    );
    assert_contiguous(
        &items,
        affiliate_copies,
        keys::affiliate_entry_sk,
        "affiliate",
    );
    let unreleased: i64 = items
        .iter()
        .filter(|i| sk_starts_with(i, "LOT#"))
        .map(|i| Lot::from_item(i).expect("lot"))
        .filter(|l| !l.released)
        .map(|l| l.amount)
        .sum();
    assert_eq!(b.hold, unreleased, "hold != unreleased lots");
}

/// A user's payouts from their list copies, oldest first.
pub async fn payouts_of(ctx: &Ctx, user_id: i64) -> Vec<Payout> {
    list_payouts(ctx, Some(user_id), None)
        .await
        .expect("list payouts")
}

/// docs/ledger.md#invariants: `pending` equals the sum of payouts in status `requested`. Also:
/// the canonical payout items, their list copies and the operator's status
/// index agree; the list is contiguous; every payout has exactly the ledger
/// entries its status implies (one `pending`, plus one `withdrawal` when paid
/// or one `RELEASE_PENDING` when declined), for its exact amount.
pub async fn assert_pending_is_requested_payouts(ctx: &Ctx, user_id: i64) {
    let acc = account(ctx, user_id).await;
    let listed = payouts_of(ctx, user_id).await;
    let requested: i64 = listed
        .iter()
        .filter(|p| p.status == PayoutStatus::Requested)
        .map(|p| p.amount)
        .sum();
    assert_eq!(
        acc.balance.pending, requested,
        "pending != sum of requested payouts {listed:?}"
    );
    assert_eq!(acc.payout_count, listed.len() as i64, "payout_count");
    let mut seqs: Vec<i64> = listed.iter().map(|p| p.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=listed.len() as i64).collect::<Vec<_>>(), "seqs");
    for p in &listed {
        assert!(p.amount > 0, "a payout of a non-positive amount: {p:?}");
        assert_eq!(p.user_id, user_id);
        assert_eq!(p.currency, acc.currency);
        let canonical = read_payout(ctx, p.payout_id)
            .await
            .expect("read payout")
            .expect("canonical payout item");
        assert_eq!(&canonical, p, "payout item and list copy differ");
    }
    let indexed: Vec<Payout> = list_payouts(ctx, None, None)
        .await
        .expect("list all payouts")
        .into_iter()
        .filter(|p| p.user_id == user_id)
        .collect();
    assert_eq!(indexed, listed, "status index != the user's list");
    let all = entries(ctx, user_id).await;
    for p in &listed {
        let of = |t: EntryType| -> Vec<i64> {
            all.iter()
                .filter(|e| e.entry_type == t && e.payout_id == Some(p.payout_id))
                .map(|e| e.amount)
                .collect()
        };
        assert_eq!(
            of(EntryType::Pending),
            vec![p.amount],
            "pending entry of {p:?}"
        );
        let (withdrawals, releases) = match p.status {
            PayoutStatus::Requested => (vec![], vec![]),
            PayoutStatus::Paid => (vec![p.amount], vec![]),
            PayoutStatus::Declined => (vec![], vec![p.amount]),
        };
        assert_eq!(of(EntryType::Withdrawal), withdrawals, "{p:?}");
        assert_eq!(of(EntryType::ReleasePending), releases, "{p:?}");
    }
    let orphans = all
        .iter()
        .filter(|e| {
            matches!(
                e.entry_type,
                EntryType::Pending | EntryType::Withdrawal | EntryType::ReleasePending
            ) && !listed.iter().any(|p| Some(p.payout_id) == e.payout_id)
        })
        .count();
    assert_eq!(orphans, 0, "payout entries without a payout");
}

/// Every invariant of docs/ledger.md#invariants for one user, payouts included.
pub async fn check(ctx: &Ctx, user_id: i64) {
    assert_invariants(ctx, user_id).await;
    assert_pending_is_requested_payouts(ctx, user_id).await;
}
