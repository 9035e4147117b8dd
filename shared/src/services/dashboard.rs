//! Dashboard KPIs (docs/api.md#summary, #aggregate): read from the stored per-account counters
//! and each account's top-5 index, never by scanning products.

use crate::services::error::AppError;
use crate::store::read::{read_accounts, read_live_account, top_products};
use crate::store::Ctx;
use domain::account::{live, Account};
use domain::product::{
    conversion_rate_centi, rank, rate_number, Analytics, Product, TOP_PERFORMING,
};
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WalletBalance {
    pub available: i64,
    pub hold: i64,
    pub pending: i64,
    pub total: i64,
    pub referral_revenue: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountSummary {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub currency_id: i64,
    pub currency_code: &'static str,
    pub wallet_balance: WalletBalance,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopProduct {
    pub id: i64,
    pub user_id: i64,
    pub title: Option<String>,
    pub link_clicks: i64,
    pub unlocks: i64,
    pub conversion_rate: f64,
    pub total_earnings: i64,
    pub currency_code: &'static str,
    pub thumbnail: Option<domain::event::Thumbnail>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub currency_unified: bool,
    pub accounts: Vec<AccountSummary>,
    pub wallet_balance: Option<WalletBalance>,
    pub total_content_items: i64,
    pub total_link_clicks: i64,
    pub total_unlocks: i64,
    pub total_product_revenue: i64,
    pub overall_conversion_rate: f64,
    pub revenue_by_currency: Map<String, Value>,
    pub top_performing: Vec<TopProduct>,
}

/// `GET /api/dashboard/summary`: the bearer alone. Two parallel reads.
pub async fn summary(ctx: &Ctx, user_id: i64) -> Result<Summary, AppError> {
    let (account, top) = tokio::join!(read_live_account(ctx, user_id), top_products(ctx, user_id));
    let account = account?.ok_or(AppError::Unauthenticated)?;
    build(vec![account], top?)
}

/// The aggregate body, checked (docs/api.md#aggregate): `Some` when `additional_tokens` is
/// present and not null.
pub fn parse_aggregate_body(body: &[u8]) -> Result<Option<Vec<String>>, AppError> {
    let text = std::str::from_utf8(body).map_err(|_| AppError::InvalidJson)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(text).map_err(|_| AppError::InvalidJson)?;
    let obj = value.as_object().ok_or(AppError::NotAnObject)?;
    match obj.get("additional_tokens") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_owned)
                    .ok_or(AppError::BadAdditionalTokens)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(AppError::BadAdditionalTokens),
    }
}

/// `POST /api/dashboard/summary/aggregate`. A master gets itself and its linked
/// children (not deleted), a standalone account or a child itself only;
/// `additional_tokens` never adds anyone, and a child that sends it is refused.
/// Three sequential round trips whatever the number of children: the bearer's
/// account, then one TransactGetItems (a consistent snapshot of every balance)
/// alongside every account's top-5 Query.
pub async fn aggregate(
    ctx: &Ctx,
    user_id: i64,
    additional_tokens: Option<&[String]>,
) -> Result<Summary, AppError> {
    let bearer = read_live_account(ctx, user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if bearer.master_id.is_some() && additional_tokens.is_some() {
        return Err(AppError::ChildCannotAggregate);
    }
    if bearer.children.is_empty() {
        let top = top_products(ctx, user_id).await?;
        return build(vec![bearer], top);
    }
    let ids: Vec<i64> = std::iter::once(user_id)
        .chain(bearer.children.iter().map(|l| l.child_id))
        .collect();
    let (accounts, tops) = tokio::join!(
        read_accounts(ctx, &ids),
        futures::future::join_all(ids.iter().map(|id| top_products(ctx, *id)))
    );
    let accounts = accounts?;
    let mut included = Vec::new();
    let mut top = Vec::new();
    for (account, products) in accounts.into_iter().zip(tops) {
        let products = products?;
        if let Some(a) = live(account) {
            top.extend(products);
            included.push(a);
        }
    }
    if included.first().map(|a| a.user_id) != Some(user_id) {
        return Err(AppError::Unauthenticated);
    }
    build(included, top)
}

/// Builds the summary of `accounts` (the bearer first) with their candidate top products.
pub fn build(accounts: Vec<Account>, mut top: Vec<Product>) -> Result<Summary, AppError> {
    let overflow = || AppError::internal("dashboard totals overflow");
    let currency_unified = accounts
        .first()
        .is_none_or(|first| accounts.iter().all(|a| a.currency == first.currency));
    let mut totals = Analytics::default();
    let mut balance_sum = Some(WalletBalance {
        available: 0,
        hold: 0,
        pending: 0,
        total: 0,
        referral_revenue: 0,
    });
    let mut revenue_by_currency = Map::new();
    let mut summaries = Vec::with_capacity(accounts.len());
    for account in &accounts {
        let b = account.balance;
        let balance = WalletBalance {
            available: b.available,
            hold: b.hold,
            pending: b.pending,
            total: b.total().ok_or_else(overflow)?,
            referral_revenue: b.referral_revenue,
        };
        balance_sum = balance_sum.and_then(|sum| {
            Some(WalletBalance {
                available: sum.available.checked_add(balance.available)?,
                hold: sum.hold.checked_add(balance.hold)?,
                pending: sum.pending.checked_add(balance.pending)?,
                total: sum.total.checked_add(balance.total)?,
                referral_revenue: sum.referral_revenue.checked_add(balance.referral_revenue)?,
            })
        });
        totals = totals
            .checked_add(&account.analytics)
            .ok_or_else(overflow)?;
        let code = account.currency.code().to_owned();
        let so_far = revenue_by_currency
            .get(&code)
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let revenue = so_far
            .checked_add(account.analytics.product_revenue)
            .ok_or_else(overflow)?;
        revenue_by_currency.insert(code, Value::from(revenue));
        summaries.push(AccountSummary {
            user_id: account.user_id,
            email: account.email.clone(),
            display_name: account.display_name.clone(),
            currency_id: account.currency.id(),
            currency_code: account.currency.code(),
            wallet_balance: balance,
        });
    }
    let wallet_balance = if currency_unified {
        Some(balance_sum.ok_or_else(overflow)?)
    } else {
        None
    };
    rank(&mut top);
    let currency_of = |user_id: i64| {
        accounts
            .iter()
            .find(|a| a.user_id == user_id)
            .map_or("USD", |a| a.currency.code())
    };
    let top_performing = top
        .into_iter()
        .take(TOP_PERFORMING)
        .map(|p| TopProduct {
            id: p.product_id,
            user_id: p.user_id,
            conversion_rate: rate_number(p.conversion_rate_centi()),
            currency_code: currency_of(p.user_id),
            title: p.title,
            link_clicks: p.link_clicks,
            unlocks: p.unlocks,
            total_earnings: p.total_earnings,
            thumbnail: p.thumbnail,
        })
        .collect();
    Ok(Summary {
        currency_unified,
        accounts: summaries,
        wallet_balance,
        total_content_items: totals.content_items,
        total_link_clicks: totals.link_clicks,
        total_unlocks: totals.unlocks,
        total_product_revenue: totals.product_revenue,
        overall_conversion_rate: rate_number(conversion_rate_centi(
            totals.unlocks,
            totals.link_clicks,
        )),
        revenue_by_currency,
        top_performing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Result<Option<Vec<String>>, String> {
        parse_aggregate_body(text.as_bytes())
            .map_err(|e| format!("{} {}", e.status(), e.public_message()))
    }

    #[test]
    fn aggregate_body_rules() {
        assert_eq!(body(""), Ok(None));
        assert_eq!(body("  "), Ok(None));
        assert_eq!(body("{}"), Ok(None));
        assert_eq!(body(r#"{"additional_tokens":null}"#), Ok(None));
        assert_eq!(body(r#"{"additional_tokens":[]}"#), Ok(Some(vec![])));
        assert_eq!(
            body(r#"{"additional_tokens":["1|a"]}"#),
            Ok(Some(vec!["1|a".into()]))
        );
        assert_eq!(
            body("{"),
            Err("400 The request body must be valid JSON.".into())
        );
        assert_eq!(
            body("[]"),
            Err("422 The request body must be a JSON object.".into())
        );
        assert_eq!(
            body("\"x\""),
            Err("422 The request body must be a JSON object.".into())
        );
        for bad in [
            r#"{"additional_tokens":"1|a"}"#,
            r#"{"additional_tokens":[1]}"#,
            r#"{"additional_tokens":{}}"#,
        ] {
            assert_eq!(
                body(bad),
                Err("422 The additional tokens must be an array of strings.".into())
            );
        }
        assert_eq!(
            parse_aggregate_body(&[0xff, 0xfe]).map_err(|e| e.status()),
            Err(400)
        );
    }

    #[test]
    fn ranking_ties() {
        let product = |id, clicks, unlocks| {
            let mut p = Product::new(id, 1);
            p.media_complete = true;
            p.link_clicks = clicks;
            p.unlocks = unlocks;
            p
        };
        let mut ps = vec![
            product(5, 10, 1),  // 10 %
            product(4, 20, 2),  // 10 %, more unlocks
            product(3, 10, 1),  // 10 %, lower id than 5
            product(9, 8, 1),   // 12.5 %
            product(1, 100, 1), // 1 %
        ];
        rank(&mut ps);
        let ids: Vec<i64> = ps.iter().map(|p| p.product_id).collect();
        assert_eq!(ids, vec![9, 4, 3, 5, 1]);
    }
}
