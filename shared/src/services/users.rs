//! Users: creation, payout details, deletion (operator actions of `walletctl`).

use crate::services::error::AppError;
use crate::services::links::unlink_child;
use crate::store::codec::{attr, link_attr, Record};
use crate::store::item::{b, n, s};
use crate::store::keys::Key;
use crate::store::read::read_live_account;
use crate::store::retry::{retry_on_conflict, Attempt};
use crate::store::write::{
    cancellation_codes, is_condition_failure, put_new, update_if, LIVE_ACCOUNT,
};
use crate::store::{Ctx, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use domain::account::{
    validate_display_name, validate_email, validate_payout_details, Account, InvalidUser,
};
use domain::currency::Currency;
use domain::ledger::Balance;
use serde_json::Value;

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

impl From<InvalidUser> for UserError {
    fn from(err: InvalidUser) -> Self {
        UserError::Invalid(err.0)
    }
}

impl From<StoreError> for UserError {
    fn from(err: StoreError) -> Self {
        UserError::App(err.into())
    }
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub currency: Currency,
    pub payout_details: Option<&'a Value>,
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
        created_at: domain::time::now_epoch(),
        balance: Balance::default(),
        public_count: 0,
        affiliate_count: 0,
        payout_count: 0,
        analytics: domain::product::Analytics::default(),
        master_id: None,
        children: Vec::new(),
        version: 0,
    };
    let mut email_item = Key::email(&email).item();
    email_item.insert(attr::USER_ID.to_owned(), n(user_id));
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
        Err(err) => Err(StoreError::from(err).into()),
    }
}

/// Sets (replaces) the payout details of a user, validated for its currency.
pub async fn set_payout_details(ctx: &Ctx, user_id: i64, details: &Value) -> Result<(), UserError> {
    let account = read_live_account(ctx, user_id)
        .await?
        .ok_or(UserError::NotFound(user_id))?;
    let text = validate_payout_details(account.currency, details)?;
    let update = ctx
        .db
        .update_item()
        .table_name(ctx.table())
        .set_key(Some(Key::account(user_id).item()))
        // Bumping the version makes a racing cashout read again, so a payout
        // never carries details that were replaced before it committed.
        .update_expression("SET #pd = :pd, #ve = #ve + :one")
        .condition_expression(format!("{LIVE_ACCOUNT} AND #cu = :cu"))
        .expression_attribute_names("#pd", attr::PAYOUT_DETAILS)
        .expression_attribute_names("#de", attr::DELETED)
        .expression_attribute_names("#cu", attr::CURRENCY_ID)
        .expression_attribute_names("#ve", attr::VERSION)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":pd", s(text))
        .expression_attribute_values(":false", b(false))
        .expression_attribute_values(":cu", n(account.currency.id()));
    match update_if(update).await? {
        true => Ok(()),
        false => Err(UserError::NotFound(user_id)),
    }
}

/// Marks a user deleted: its tokens stop working at once (every endpoint reads
/// the account and refuses a deleted one), its e-mail address is freed, its
/// ledger is kept. A master's links go with it: its children become
/// standalone accounts in the same transaction (a deleted child stays in its
/// master's list and is left out of what the master sees, docs/api.md#aggregate).
pub async fn delete_user(ctx: &Ctx, user_id: i64) -> Result<(), UserError> {
    retry_on_conflict(
        || format!("the account of user {user_id}"),
        |_| async move {
            let account = read_live_account(ctx, user_id)
                .await?
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
                let child = unlink_child(ctx, user_id, link.child_id)?;
                transaction =
                    transaction.transact_items(TransactWriteItem::builder().update(child).build());
            }
            match transaction.send().await {
                Ok(_) => Ok(Attempt::Done(())),
                // Deleted, linked or unlinked meanwhile: read again and see.
                Err(err) if cancellation_codes(&err).is_some() => Ok(Attempt::Retry),
                Err(err) => Err(StoreError::from(err).into()),
            }
        },
    )
    .await
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
        .set_key(Some(Key::account(account.user_id).item()))
        .update_expression("SET #de = :true, #ve = #ve + :one REMOVE #ch")
        .condition_expression(format!("{LIVE_ACCOUNT} AND {children_unchanged}"))
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
            AttributeValue::L(account.children.iter().map(link_attr).collect()),
        )
    };
    Ok(update.build().map_err(StoreError::from)?)
}

fn free_email(ctx: &Ctx, account: &Account) -> Result<Delete, UserError> {
    Ok(Delete::builder()
        .table_name(ctx.table())
        .set_key(Some(Key::email(&account.email).item()))
        .build()
        .map_err(StoreError::from)?)
}
