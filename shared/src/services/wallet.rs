//! The wallet reads (docs/api.md#wallet, #affiliate): balances and a page of a list, in a
//! fixed number of round trips whatever the history length.

use crate::services::error::AppError;
use crate::store::codec::Decode;
use crate::store::item::{s, Item};
use crate::store::keys;
use crate::store::read::{read_live_account, user_range_query};
use crate::store::{Ctx, StoreError};
use domain::account::{cashout_blockers, live, Account, CashoutBlocker};
use domain::ledger::Entry;
use domain::pagination::{PageRequest, Paginated};
use domain::time::format_created_at;
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
        cashout_blockers: cashout_blockers(&account, ctx.config.min_cashout(account.currency))
            .into_iter()
            .map(CashoutBlocker::code)
            .collect(),
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
        let account = live(Some(
            Account::from_item(&account_item).map_err(AppError::internal)?,
        ))
        .ok_or(AppError::Unauthenticated)?;
        (account, items)
    } else {
        let account = read_live_account(ctx, user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
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

async fn query_range(
    ctx: &Ctx,
    user_id: i64,
    low: &str,
    high: &str,
    ascending: bool,
    limit: i64,
) -> Result<Vec<Item>, AppError> {
    let out = user_range_query(ctx, user_id, low, high)
        .scan_index_forward(ascending)
        .limit(i32::try_from(limit).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(StoreError::from)?;
    Ok(out.items.unwrap_or_default())
}
