//! Users: creation, payout details, deletion (operator actions of `walletctl`).

use crate::currency::Currency;
use crate::db::item::{b, n, s};
use crate::db::keys;
use crate::db::model::{attr, Account, Balance, Link};
use crate::db::{cancellation_codes, is_condition_failure, Ctx};
use crate::error::AppError;
use crate::ledger::apply::{backoff, put_new, read_account, MAX_ATTEMPTS};
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem, Update};
use serde_json::{Map, Value};

pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;
pub const MAX_PAYOUT_FIELD_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("the e-mail address {0} is already in use")]
    EmailTaken(String),
    #[error("user {0} does not exist or is deleted")]
    NotFound(i64),
    #[error(transparent)]
    App(#[from] AppError),
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub currency: Currency,
    pub payout_details: Option<&'a Value>,
}

fn invalid(message: impl Into<String>) -> UserError {
    UserError::Invalid(message.into())
}

pub fn validate_email(email: &str) -> Result<String, UserError> {
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

pub fn validate_display_name(name: &str) -> Result<String, UserError> {
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
/// strings (SPEC section 7); other fields are refused. Returns the stored text.
pub fn validate_payout_details(currency: Currency, details: &Value) -> Result<String, UserError> {
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

/// Creates a user with an empty wallet. E-mail addresses are unique
/// (case-insensitive) among users that are not deleted.
pub async fn create_user(ctx: &Ctx, new: NewUser<'_>) -> Result<i64, UserError> {
    let email = validate_email(new.email)?;
    let display_name = validate_display_name(new.display_name)?;
    let payout_details = new
        .payout_details
        .map(|d| validate_payout_details(new.currency, d))
        .transpose()?;
    let user_id = ctx.next_id().await?;
    let account = Account {
        user_id,
        email: email.clone(),
        display_name,
        currency: new.currency,
        payout_details,
        deleted: false,
        created_at: crate::time::now_epoch(),
        balance: Balance::default(),
        public_count: 0,
        affiliate_count: 0,
        payout_count: 0,
        analytics: crate::analytics::Analytics::default(),
        master_id: None,
        children: Vec::new(),
        version: 0,
    };
    let email_item = [
        (keys::PK.to_owned(), s(keys::email_pk(&email))),
        (keys::SK.to_owned(), s(keys::EMAIL_SK)),
        (attr::USER_ID.to_owned(), n(user_id)),
    ]
    .into();
    let result = ctx
        .db
        .transact_write_items()
        .transact_items(put_new(ctx, account.to_item())?)
        .transact_items(put_new(ctx, email_item)?)
        .send()
        .await;
    match result {
        Ok(_) => Ok(user_id),
        Err(err) if is_condition_failure(&err, 1) => Err(UserError::EmailTaken(email)),
        Err(err) => Err(AppError::from(err).into()),
    }
}

/// A transaction item that holds only while the user exists and is not deleted.
pub fn account_alive_check(
    ctx: &Ctx,
    user_id: i64,
) -> Result<TransactWriteItem, aws_sdk_dynamodb::error::BuildError> {
    let check = ConditionCheck::builder()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::user_pk(user_id)))
        .key(keys::SK, s(keys::ACCOUNT_SK))
        .condition_expression("attribute_exists(PK) AND #de = :false")
        .expression_attribute_names("#de", attr::DELETED)
        .expression_attribute_values(":false", b(false))
        .build()?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// Sets (replaces) the payout details of a user, validated for its currency.
pub async fn set_payout_details(ctx: &Ctx, user_id: i64, details: &Value) -> Result<(), UserError> {
    let account = read_account(ctx, user_id)
        .await?
        .filter(|a| !a.deleted)
        .ok_or(UserError::NotFound(user_id))?;
    let text = validate_payout_details(account.currency, details)?;
    let result = ctx
        .db
        .update_item()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::user_pk(user_id)))
        .key(keys::SK, s(keys::ACCOUNT_SK))
        // Bumping the version makes a racing cashout read again, so a payout
        // never carries details that were replaced before it committed.
        .update_expression("SET #pd = :pd, #ve = #ve + :one")
        .condition_expression("attribute_exists(PK) AND #de = :false AND #cu = :cu")
        .expression_attribute_names("#pd", attr::PAYOUT_DETAILS)
        .expression_attribute_names("#de", attr::DELETED)
        .expression_attribute_names("#cu", attr::CURRENCY_ID)
        .expression_attribute_names("#ve", attr::VERSION)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":pd", s(text))
        .expression_attribute_values(":false", b(false))
        .expression_attribute_values(":cu", n(account.currency.id()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Err(UserError::NotFound(user_id))
        }
        Err(err) => Err(AppError::from(err).into()),
    }
}

/// Marks a user deleted: its tokens stop working at once (every endpoint reads
/// the account and refuses a deleted one), its e-mail address is freed, its
/// ledger is kept. A master's links go with it: its children become
/// standalone accounts in the same transaction (a deleted child stays in its
/// master's list and is left out of what the master sees, SPEC 4.5).
pub async fn delete_user(ctx: &Ctx, user_id: i64) -> Result<(), UserError> {
    for attempt in 0..MAX_ATTEMPTS {
        let account = read_account(ctx, user_id)
            .await?
            .filter(|a| !a.deleted)
            .ok_or(UserError::NotFound(user_id))?;
        let mut transaction = ctx
            .db
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(mark_deleted(ctx, &account)?)
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .delete(free_email(ctx, &account)?)
                    .build(),
            );
        for link in &account.children {
            let unlink_child = Update::builder()
                .table_name(ctx.table())
                .key(keys::PK, s(keys::user_pk(link.child_id)))
                .key(keys::SK, s(keys::ACCOUNT_SK))
                .update_expression("REMOVE #ma")
                .condition_expression("#ma = :master")
                .expression_attribute_names("#ma", attr::MASTER_ID)
                .expression_attribute_values(":master", n(user_id))
                .build()
                .map_err(AppError::from)?;
            transaction = transaction
                .transact_items(TransactWriteItem::builder().update(unlink_child).build());
        }
        match transaction.send().await {
            Ok(_) => return Ok(()),
            // Deleted, linked or unlinked meanwhile: read again and see.
            Err(err) if cancellation_codes(&err).is_some() => backoff(attempt).await,
            Err(err) => return Err(AppError::from(err).into()),
        }
    }
    Err(AppError::internal("deleting gave up: the account is too busy").into())
}

/// The account update of a deletion, conditioned on the links it read.
fn mark_deleted(ctx: &Ctx, account: &Account) -> Result<Update, UserError> {
    let children_unchanged = if account.children.is_empty() {
        "(attribute_not_exists(#ch) OR size(#ch) = :zero)"
    } else {
        "#ch = :children"
    };
    let mut update = Update::builder()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::user_pk(account.user_id)))
        .key(keys::SK, s(keys::ACCOUNT_SK))
        .update_expression("SET #de = :true, #ve = #ve + :one REMOVE #ch")
        .condition_expression(format!(
            "attribute_exists(PK) AND #de = :false AND {children_unchanged}"
        ))
        .expression_attribute_names("#de", attr::DELETED)
        .expression_attribute_names("#ve", attr::VERSION)
        .expression_attribute_names("#ch", attr::CHILDREN)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":true", b(true))
        .expression_attribute_values(":false", b(false));
    update = if account.children.is_empty() {
        update.expression_attribute_values(":zero", n(0))
    } else {
        update.expression_attribute_values(
            ":children",
            AttributeValue::L(account.children.iter().map(Link::to_attr).collect()),
        )
    };
    Ok(update.build().map_err(AppError::from)?)
}

fn free_email(ctx: &Ctx, account: &Account) -> Result<Delete, UserError> {
    Ok(Delete::builder()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::email_pk(&account.email)))
        .key(keys::SK, s(keys::EMAIL_SK))
        .build()
        .map_err(AppError::from)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
