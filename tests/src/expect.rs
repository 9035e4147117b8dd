//! Expected JSON, written out by the tests: pages, wallet balances, summary
//! accounts and products, linked accounts. Nothing here reads the store.

use crate::fixtures::Creator;
use crate::http::ok;
use chrono::DateTime;
use domain::currency::Currency;
use serde_json::{json, Value};

pub fn currency_code(c: Currency) -> &'static str {
    match c {
        Currency::Usd => "USD",
        Currency::Eur => "EUR",
        Currency::Gbp => "GBP",
    }
}

pub fn currency_id(c: Currency) -> i64 {
    match c {
        Currency::Usd => 1,
        Currency::Eur => 2,
        Currency::Gbp => 3,
    }
}

/// A page of a paginated list.
pub fn paginated(
    data: Vec<Value>,
    current_page: i64,
    per_page: i64,
    total: i64,
    last_page: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> Value {
    json!({
        "data": data,
        "current_page": current_page,
        "per_page": per_page,
        "total": total,
        "last_page": last_page,
        "from": from,
        "to": to,
    })
}

/// A page without items.
pub fn empty_page(current_page: i64, per_page: i64, total: i64, last_page: i64) -> Value {
    paginated(vec![], current_page, per_page, total, last_page, None, None)
}

/// A `wallet_balance` object; `total` is available + hold + pending.
pub fn balance(available: i64, hold: i64, pending: i64, referral_revenue: i64) -> Value {
    json!({"available": available, "hold": hold, "pending": pending,
           "total": available + hold + pending, "referral_revenue": referral_revenue})
}

/// One entry of a summary's `accounts`.
pub fn account_entry(c: &Creator, wallet_balance: Value) -> Value {
    json!({"user_id": c.id, "email": c.email, "display_name": c.name,
           "currency_id": currency_id(c.currency), "currency_code": currency_code(c.currency),
           "wallet_balance": wallet_balance})
}

/// One product of `top_performing`.
pub struct Top<'a> {
    pub id: i64,
    pub owner: &'a Creator,
    pub title: Value,
    pub clicks: i64,
    pub unlocks: i64,
    pub rate: f64,
    pub earnings: i64,
    pub thumbnail: Value,
}

impl Top<'_> {
    pub fn json(&self) -> Value {
        json!({"id": self.id, "user_id": self.owner.id, "title": self.title,
               "link_clicks": self.clicks, "unlocks": self.unlocks,
               "conversion_rate": self.rate, "total_earnings": self.earnings,
               "currency_code": currency_code(self.owner.currency),
               "thumbnail": self.thumbnail})
    }
}

/// A product of `top_performing` without thumbnail, titled `title`, whose
/// (clicks, unlocks, rate, earnings) are given.
pub fn top(id: i64, owner: &Creator, title: &str, numbers: (i64, i64, f64, i64)) -> Value {
    let (clicks, unlocks, rate, earnings) = numbers;
    Top {
        id,
        owner,
        title: json!(title),
        clicks,
        unlocks,
        rate,
        earnings,
        thumbnail: Value::Null,
    }
    .json()
}

pub fn thumb(url: &str, width: i64, height: i64) -> Value {
    json!({"url": url, "width": width, "height": height})
}

/// The expected `data` of a summary or an aggregate. `currency_unified` is
/// whether there is a `wallet_balance`; `revenue_by_currency` defaults to the
/// whole revenue in the first account's currency.
#[derive(Debug, Clone)]
pub struct Summary {
    pub accounts: Vec<Value>,
    pub wallet_balance: Value,
    pub content: i64,
    pub clicks: i64,
    pub unlocks: i64,
    pub revenue: i64,
    pub rate: f64,
    pub revenue_by_currency: Option<Value>,
    pub top: Vec<Value>,
}

impl Summary {
    /// One account with this balance and nothing else (totals 0, no top).
    pub fn of(c: &Creator, wallet_balance: Value) -> Self {
        Self::group(
            vec![account_entry(c, wallet_balance.clone())],
            wallet_balance,
        )
    }

    /// Several accounts (a master and its children) and their combined
    /// balance (`null` when their currencies differ); totals 0, no top.
    pub fn group(accounts: Vec<Value>, wallet_balance: Value) -> Self {
        Self {
            accounts,
            wallet_balance,
            ..Self::of_nobody()
        }
    }

    fn of_nobody() -> Self {
        Self {
            accounts: Vec::new(),
            wallet_balance: Value::Null,
            content: 0,
            clicks: 0,
            unlocks: 0,
            revenue: 0,
            rate: 0.0,
            revenue_by_currency: None,
            top: Vec::new(),
        }
    }

    /// `revenue_by_currency`, when not all in the first account's currency.
    pub fn by_currency(mut self, revenue_by_currency: Value) -> Self {
        self.revenue_by_currency = Some(revenue_by_currency);
        self
    }

    /// The totals: (content items, link clicks, unlocks, product revenue,
    /// overall conversion rate).
    pub fn totals(mut self, totals: (i64, i64, i64, i64, f64)) -> Self {
        (
            self.content,
            self.clicks,
            self.unlocks,
            self.revenue,
            self.rate,
        ) = totals;
        self
    }

    /// `top_performing`.
    pub fn top(mut self, top: Vec<Value>) -> Self {
        self.top = top;
        self
    }

    /// The envelope of the summary.
    pub fn ok(&self) -> Value {
        let by_currency = self.revenue_by_currency.clone().unwrap_or_else(|| {
            let code = self
                .accounts
                .first()
                .map_or(Value::Null, |a| a["currency_code"].clone());
            let mut map = serde_json::Map::new();
            map.insert(code.as_str().unwrap_or("").to_owned(), json!(self.revenue));
            Value::Object(map)
        });
        ok(json!({
            "currency_unified": !self.wallet_balance.is_null(),
            "accounts": self.accounts,
            "wallet_balance": self.wallet_balance,
            "total_content_items": self.content, "total_link_clicks": self.clicks,
            "total_unlocks": self.unlocks, "total_product_revenue": self.revenue,
            "overall_conversion_rate": self.rate,
            "revenue_by_currency": by_currency,
            "top_performing": self.top,
        }))
    }
}

/// `linked_at` as the API shows it.
pub fn shown_time(epoch: i64) -> String {
    DateTime::from_timestamp(epoch, 0)
        .expect("time")
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}
