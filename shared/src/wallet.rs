//! The wallet reads (SPEC 4.1 and 4.2): balances and a page of a list, in a
//! fixed number of round trips whatever the history length.

use crate::db::item::{s, Item};
use crate::db::keys;
use crate::db::model::{Account, Entry};
use crate::db::Ctx;
use crate::error::AppError;
use crate::ledger::apply::read_account;
use crate::pagination::{PageRequest, Paginated};
use crate::time::format_created_at;
use serde::Serialize;

/// One transaction item of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransactionItem {
    pub id: i64,
    pub amount: i64,
    #[serde(rename = "type")]
    pub entry_type: &'static str,
    pub created_at: String,
    pub title: Option<String>,
    pub direction: &'static str,
    pub currency_code: &'static str,
}

impl From<&Entry> for TransactionItem {
    fn from(e: &Entry) -> Self {
        Self {
            id: e.id,
            amount: e.amount,
            entry_type: e.entry_type.as_str(),
            created_at: format_created_at(e.created_at),
            title: e.title.clone(),
            direction: e.entry_type.direction().as_str(),
            currency_code: e.currency.code(),
        }
    }
}

/// `GET /api/wallet` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalletView {
    pub available: i64,
    pub hold: i64,
    pub pending: i64,
    pub total: i64,
    pub referral_revenue: i64,
    pub cashout_available: bool,
    pub currency_id: i64,
    pub currency_code: &'static str,
    pub cashout_blockers: Vec<&'static str>,
    pub transactions: Paginated<TransactionItem>,
}

/// `GET /api/wallet/affiliate` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AffiliateView {
    pub referral_revenue: i64,
    pub currency_code: &'static str,
    pub transactions: Paginated<TransactionItem>,
}

/// Why a cashout would fail now, in the order the cashout checks them. A
/// wallet with nothing available is not also reported as below the minimum.
pub fn cashout_blockers(account: &Account, minimum: i64) -> Vec<&'static str> {
    let available = account.balance.available;
    let mut blockers = Vec::new();
    if available <= 0 {
        blockers.push("no_available_funds");
    }
    if !account.has_payout_details() {
        blockers.push("payout_details_missing");
    }
    if available > 0 && available < minimum {
        blockers.push("below_minimum");
    }
    blockers
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// Every public entry.
    Public,
    /// `affiliate_earning` entries only.
    Affiliate,
}

impl List {
    fn count(self, account: &Account) -> i64 {
        match self {
            List::Public => account.public_count,
            List::Affiliate => account.affiliate_count,
        }
    }

    fn entry_sk(self, seq: i64) -> String {
        match self {
            List::Public => keys::public_entry_sk(seq),
            List::Affiliate => keys::affiliate_entry_sk(seq),
        }
    }
}

pub async fn read_wallet(
    ctx: &Ctx,
    user_id: i64,
    page: PageRequest,
) -> Result<WalletView, AppError> {
    let (account, transactions) = read_list_page(ctx, user_id, List::Public, page).await?;
    let b = account.balance;
    Ok(WalletView {
        available: b.available,
        hold: b.hold,
        pending: b.pending,
        total: b
            .total()
            .ok_or_else(|| AppError::internal("wallet total overflows"))?,
        referral_revenue: b.referral_revenue,
        cashout_available: b.available > 0,
        currency_id: account.currency.id(),
        currency_code: account.currency.code(),
        cashout_blockers: cashout_blockers(&account, ctx.config.min_cashout(account.currency)),
        transactions,
    })
}

pub async fn read_affiliate(
    ctx: &Ctx,
    user_id: i64,
    page: PageRequest,
) -> Result<AffiliateView, AppError> {
    let (account, transactions) = read_list_page(ctx, user_id, List::Affiliate, page).await?;
    Ok(AffiliateView {
        referral_revenue: account.balance.referral_revenue,
        currency_code: account.currency.code(),
        transactions,
    })
}

/// The account and one page of one of its lists. Page 1 is one Query (the
/// account sits next to the newest entries); any later page is one GetItem for
/// the total and one range Query. A missing or deleted account is
/// `Unauthenticated` (its tokens no longer count).
pub async fn read_list_page(
    ctx: &Ctx,
    user_id: i64,
    list: List,
    page: PageRequest,
) -> Result<(Account, Paginated<TransactionItem>), AppError> {
    let (account, entries) = if page.page == 1 {
        let (low, high, ascending) = match list {
            List::Public => (keys::ACCOUNT_SK, keys::PUBLIC_LIST_CEILING, true),
            List::Affiliate => (keys::AFFILIATE_LIST_FLOOR, keys::ACCOUNT_SK, false),
        };
        let mut items = query_range(ctx, user_id, low, high, ascending, page.limit + 1).await?;
        let account_item =
            if items.first().and_then(|i| i.get(keys::SK)) == Some(&s(keys::ACCOUNT_SK)) {
                items.remove(0)
            } else {
                return Err(AppError::Unauthenticated);
            };
        let account = live_account(Account::from_item(&account_item).map_err(AppError::internal)?)?;
        (account, items)
    } else {
        let account = read_account(ctx, user_id)
            .await?
            .ok_or(AppError::Unauthenticated)
            .and_then(live_account)?;
        let entries = match page.window(list.count(&account)).seqs {
            None => Vec::new(),
            Some((high_seq, low_seq)) => {
                let (a, b) = (list.entry_sk(high_seq), list.entry_sk(low_seq));
                let (low, high) = if a <= b { (a, b) } else { (b, a) };
                let ascending = list == List::Public;
                query_range(ctx, user_id, &low, &high, ascending, page.limit).await?
            }
        };
        (account, entries)
    };
    let data = entries
        .iter()
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(|item| Entry::from_item(item).map(|e| TransactionItem::from(&e)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(AppError::internal)?;
    let total = list.count(&account);
    Ok((account, Paginated::new(page, total, data)))
}

fn live_account(account: Account) -> Result<Account, AppError> {
    if account.deleted {
        Err(AppError::Unauthenticated)
    } else {
        Ok(account)
    }
}

async fn query_range(
    ctx: &Ctx,
    user_id: i64,
    low: &str,
    high: &str,
    ascending: bool,
    limit: i64,
) -> Result<Vec<Item>, AppError> {
    let out = crate::db::user_range_query(ctx, user_id, low, high)
        .scan_index_forward(ascending)
        .limit(i32::try_from(limit).unwrap_or(i32::MAX))
        .send()
        .await?;
    Ok(out.items.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::currency::Currency;
    use crate::db::model::Balance;

    fn account(available: i64, details: bool) -> Account {
        Account {
            user_id: 1,
            email: "a@b.c".into(),
            display_name: "A".into(),
            currency: Currency::Usd,
            payout_details: details.then(|| "{}".to_owned()),
            deleted: false,
            created_at: 0,
            balance: Balance {
                available,
                ..Balance::default()
            },
            public_count: 0,
            affiliate_count: 0,
            payout_count: 0,
            analytics: crate::analytics::Analytics::default(),
            master_id: None,
            children: Vec::new(),
            version: 0,
        }
    }

    #[test]
    fn blockers_in_spec_order() {
        assert_eq!(
            cashout_blockers(&account(500, true), 100),
            Vec::<&str>::new()
        );
        assert_eq!(
            cashout_blockers(&account(0, false), 100),
            vec!["no_available_funds", "payout_details_missing"]
        );
        assert_eq!(
            cashout_blockers(&account(-5, true), 1),
            vec!["no_available_funds"]
        );
        assert_eq!(
            cashout_blockers(&account(50, false), 100),
            vec!["payout_details_missing", "below_minimum"]
        );
        assert_eq!(
            cashout_blockers(&account(100, true), 100),
            Vec::<&str>::new()
        );
    }
}
