//! Accounts: the profile, the buckets, the links of a master, liveness, what a
//! cashout needs, and the validation of what an operator may set.

use crate::currency::Currency;
use crate::ledger::Balance;
use crate::product::Analytics;
use serde_json::{Map, Value};

pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;
pub const MAX_PAYOUT_FIELD_CHARS: usize = 64;

/// A user: profile, wallet buckets and the counters of its two entry lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub currency: Currency,
    /// Validated payout details as a JSON object text, if any.
    pub payout_details: Option<String>,
    pub deleted: bool,
    pub created_at: i64,
    pub balance: Balance,
    /// Entries in the public list (all but `RELEASE_PENDING`).
    pub public_count: i64,
    /// Entries in the affiliate list.
    pub affiliate_count: i64,
    /// Payouts ever requested (the user's payout list).
    pub payout_count: i64,
    /// Dashboard counters over the account's products (kept by the ledger).
    pub analytics: Analytics,
    /// Set on a child account: its master.
    pub master_id: Option<i64>,
    /// Set on a master account: its children, in the order they were linked.
    pub children: Vec<Link>,
    /// Bumped by every write, the condition of optimistic concurrency.
    pub version: i64,
}

/// A master -> child link, as stored in the master's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub link_id: i64,
    pub child_id: i64,
    pub linked_at: i64,
}

impl Account {
    /// A live account: it exists and is not deleted. Every endpoint and every
    /// event refuses an account that is not live; money already in it still
    /// settles (payout decisions, hold releases).
    pub fn is_live(&self) -> bool {
        !self.deleted
    }

    pub fn has_payout_details(&self) -> bool {
        self.payout_details.is_some()
    }
}

/// The account, if it is live (see [`Account::is_live`]).
pub fn live(account: Option<Account>) -> Option<Account> {
    account.filter(Account::is_live)
}

/// Why a cashout would fail now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CashoutBlocker {
    NoAvailableFunds,
    PayoutDetailsMissing,
    BelowMinimum { minimum: i64, currency: Currency },
}

impl CashoutBlocker {
    /// The code shown in the wallet's `cashout_blockers`.
    pub fn code(self) -> &'static str {
        match self {
            CashoutBlocker::NoAvailableFunds => "no_available_funds",
            CashoutBlocker::PayoutDetailsMissing => "payout_details_missing",
            CashoutBlocker::BelowMinimum { .. } => "below_minimum",
        }
    }
}

/// Every reason a cashout would fail now, in the order the cashout checks
/// them (the cashout refuses with the first). A wallet with nothing available
/// is not also reported as below the minimum.
pub fn cashout_blockers(account: &Account, minimum: i64) -> Vec<CashoutBlocker> {
    let available = account.balance.available;
    let mut blockers = Vec::new();
    if available <= 0 {
        blockers.push(CashoutBlocker::NoAvailableFunds);
    }
    if !account.has_payout_details() {
        blockers.push(CashoutBlocker::PayoutDetailsMissing);
    }
    if available > 0 && available < minimum {
        blockers.push(CashoutBlocker::BelowMinimum {
            minimum,
            currency: account.currency,
        });
    }
    blockers
}

/// A profile field an operator gave is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidUser(pub String);

fn invalid(message: impl Into<String>) -> InvalidUser {
    InvalidUser(message.into())
}

pub fn validate_email(email: &str) -> Result<String, InvalidUser> {
    let email = email.trim();
    let ok = email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if ok {
        Ok(email.to_owned())
    } else {
        Err(invalid(format!("{email:?} is not a valid e-mail address")))
    }
}

pub fn validate_display_name(name: &str) -> Result<String, InvalidUser> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_DISPLAY_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        Err(invalid(format!(
            "the display name must be 1 to {MAX_DISPLAY_NAME_CHARS} characters"
        )))
    } else {
        Ok(name.to_owned())
    }
}

/// Payout details must be an object with the currency's fields as non-empty
/// strings (docs/ledger.md#walletctl); other fields are refused. Returns the stored text.
pub fn validate_payout_details(currency: Currency, details: &Value) -> Result<String, InvalidUser> {
    let fields = currency.payout_fields();
    let obj = details.as_object().ok_or_else(|| {
        invalid(format!(
            "payout details must be a JSON object with {}",
            fields.join(" and ")
        ))
    })?;
    if let Some(extra) = obj.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(invalid(format!(
            "payout details for {} take only {}; {extra:?} is not one of them",
            currency.code(),
            fields.join(" and ")
        )));
    }
    let mut clean = Map::new();
    for field in fields {
        match obj.get(*field).and_then(Value::as_str).map(str::trim) {
            Some(v) if !v.is_empty() && v.chars().count() <= MAX_PAYOUT_FIELD_CHARS => {
                clean.insert((*field).to_owned(), Value::String(v.to_owned()));
            }
            _ => {
                return Err(invalid(format!(
                    "payout details for {} need {field} as a non-empty string of at most {MAX_PAYOUT_FIELD_CHARS} characters",
                    currency.code()
                )))
            }
        }
    }
    Ok(Value::Object(clean).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            analytics: Analytics::default(),
            master_id: None,
            children: Vec::new(),
            version: 0,
        }
    }

    #[test]
    fn blockers_in_spec_order() {
        let cashout_blockers = |account: &Account, minimum| -> Vec<&str> {
            cashout_blockers(account, minimum)
                .into_iter()
                .map(CashoutBlocker::code)
                .collect()
        };
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

    #[test]
    fn payout_details_per_currency() {
        let usd = json!({"account_number": " 123 ", "routing_number": "021"});
        assert_eq!(
            validate_payout_details(Currency::Usd, &usd).unwrap(),
            r#"{"account_number":"123","routing_number":"021"}"#
        );
        assert!(validate_payout_details(Currency::Eur, &usd).is_err());
        assert!(
            validate_payout_details(Currency::Eur, &json!({"iban": "DE1", "bic_swift": "B"}))
                .is_ok()
        );
        assert!(validate_payout_details(
            Currency::Gbp,
            &json!({"account_number": "1", "sort_code": "20-00-00"})
        )
        .is_ok());
        assert!(validate_payout_details(Currency::Gbp, &json!({"account_number": "1"})).is_err());
        assert!(validate_payout_details(
            Currency::Gbp,
            &json!({"account_number": "1", "sort_code": ""})
        )
        .is_err());
        assert!(validate_payout_details(
            Currency::Gbp,
            &json!({"account_number": 1, "sort_code": "x"})
        )
        .is_err());
        assert!(validate_payout_details(Currency::Usd, &json!("123")).is_err());
    }

    #[test]
    fn emails_and_names() {
        assert_eq!(validate_email(" a@b.c ").unwrap(), "a@b.c");
        for bad in ["", "ab", "@b", "a@", "a b@c", "a@b@c"] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_display_name("  ").is_err());
        assert!(validate_display_name(&"x".repeat(101)).is_err());
        assert_eq!(validate_display_name(" Ann Lee ").unwrap(), "Ann Lee");
    }
}
