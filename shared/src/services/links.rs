//! Account groups: a master and at most 10 linked children (docs/api.md#aggregate, docs/ledger.md#walletctl).
//! No chains: a master cannot become a child, a child cannot get children,
//! a child has one master, nobody links itself. The links live in the account
//! items (`children` on the master, `master_id` on the child), changed together
//! in one transaction whose conditions enforce every rule.

use crate::services::error::AppError;
use crate::store::codec::{attr, link_attr};
use crate::store::item::{b, n};
use crate::store::keys::Key;
use crate::store::read::{read_account, read_accounts, read_live_account};
use crate::store::retry::{retry_on_conflict, Attempt};
use crate::store::write::{cancellation_codes, LIVE_ACCOUNT};
use crate::store::{Ctx, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use domain::account::{live, Account, Link};
use domain::time::{format_created_at, now_epoch};
use serde::Serialize;

pub const MAX_CHILDREN: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("an account cannot be linked to itself")]
    SelfLink,
    #[error("user {0} does not exist or is deleted")]
    NotFound(i64),
    #[error("user {child} is already linked to master {master}")]
    ChildAlreadyLinked { child: i64, master: i64 },
    #[error("master {0} already has {MAX_CHILDREN} linked accounts")]
    TooManyChildren(i64),
    #[error("user {0} is a child account and cannot be a master")]
    MasterIsChild(i64),
    #[error("user {0} is a master account and cannot be a child")]
    ChildIsMaster(i64),
    #[error("user {child} is not linked to master {master}")]
    NotLinked { master: i64, child: i64 },
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<StoreError> for LinkError {
    fn from(err: StoreError) -> Self {
        LinkError::App(err.into())
    }
}

async fn live_account(ctx: &Ctx, user_id: i64) -> Result<Account, LinkError> {
    read_live_account(ctx, user_id)
        .await?
        .ok_or(LinkError::NotFound(user_id))
}

/// Links `child_id` to `master_id`.
pub async fn link(ctx: &Ctx, master_id: i64, child_id: i64) -> Result<Link, LinkError> {
    if master_id == child_id {
        return Err(LinkError::SelfLink);
    }
    let link_id = ctx.next_id().await?;
    retry_on_conflict(
        || format!("the accounts of users {master_id} and {child_id}"),
        |_| async move {
            let (master, child) =
                tokio::join!(live_account(ctx, master_id), live_account(ctx, child_id));
            let (master, child) = (master?, child?);
            if let Some(existing) = child.master_id {
                return Err(LinkError::ChildAlreadyLinked {
                    child: child_id,
                    master: existing,
                });
            }
            if master.master_id.is_some() {
                return Err(LinkError::MasterIsChild(master_id));
            }
            if !child.children.is_empty() {
                return Err(LinkError::ChildIsMaster(child_id));
            }
            if master.children.len() >= MAX_CHILDREN {
                return Err(LinkError::TooManyChildren(master_id));
            }
            let new_link = Link {
                link_id,
                child_id,
                linked_at: now_epoch(),
            };
            let master_update = Update::builder()
                .table_name(ctx.table())
                .set_key(Some(Key::account(master_id).item()))
                .update_expression("SET #ch = list_append(if_not_exists(#ch, :empty), :new)")
                .condition_expression(format!(
                    "{LIVE_ACCOUNT} AND attribute_not_exists(#ma) \
                     AND (attribute_not_exists(#ch) OR size(#ch) < :max)"
                ))
                .expression_attribute_names("#ch", attr::CHILDREN)
                .expression_attribute_names("#de", attr::DELETED)
                .expression_attribute_names("#ma", attr::MASTER_ID)
                .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
                .expression_attribute_values(":new", AttributeValue::L(vec![link_attr(&new_link)]))
                .expression_attribute_values(":false", b(false))
                .expression_attribute_values(":max", n(MAX_CHILDREN as i64))
                .build()
                .map_err(StoreError::from)?;
            let child_update = Update::builder()
                .table_name(ctx.table())
                .set_key(Some(Key::account(child_id).item()))
                .update_expression("SET #ma = :master")
                .condition_expression(format!(
                    "{LIVE_ACCOUNT} AND attribute_not_exists(#ma) \
                     AND (attribute_not_exists(#ch) OR size(#ch) = :zero)"
                ))
                .expression_attribute_names("#ch", attr::CHILDREN)
                .expression_attribute_names("#de", attr::DELETED)
                .expression_attribute_names("#ma", attr::MASTER_ID)
                .expression_attribute_values(":master", n(master_id))
                .expression_attribute_values(":false", b(false))
                .expression_attribute_values(":zero", n(0))
                .build()
                .map_err(StoreError::from)?;
            // If something changed since the read, read again: the checks above
            // then say what it was.
            Ok(match update_both(ctx, master_update, child_update).await? {
                true => Attempt::Done(new_link),
                false => Attempt::Retry,
            })
        },
    )
    .await
}

/// Removes the link between `master_id` and `child_id`.
pub async fn unlink(ctx: &Ctx, master_id: i64, child_id: i64) -> Result<(), LinkError> {
    retry_on_conflict(
        || format!("the accounts of users {master_id} and {child_id}"),
        |_| async move {
            let master = read_account(ctx, master_id)
                .await?
                .ok_or(LinkError::NotFound(master_id))?;
            let Some(index) = master.children.iter().position(|l| l.child_id == child_id) else {
                return Err(LinkError::NotLinked {
                    master: master_id,
                    child: child_id,
                });
            };
            let master_update = Update::builder()
                .table_name(ctx.table())
                .set_key(Some(Key::account(master_id).item()))
                .update_expression(format!("REMOVE #ch[{index}]"))
                .condition_expression(format!("#ch[{index}].#ci = :child"))
                .expression_attribute_names("#ch", attr::CHILDREN)
                .expression_attribute_names("#ci", attr::CHILD_ID)
                .expression_attribute_values(":child", n(child_id))
                .build()
                .map_err(StoreError::from)?;
            let child_update = unlink_child(ctx, master_id, child_id)?;
            Ok(match update_both(ctx, master_update, child_update).await? {
                true => Attempt::Done(()),
                false => Attempt::Retry,
            })
        },
    )
    .await
}

/// The child's side of an unlink: it forgets its master, if still that one.
pub(crate) fn unlink_child(ctx: &Ctx, master_id: i64, child_id: i64) -> Result<Update, StoreError> {
    Ok(Update::builder()
        .table_name(ctx.table())
        .set_key(Some(Key::account(child_id).item()))
        .update_expression("REMOVE #ma")
        .condition_expression("#ma = :master")
        .expression_attribute_names("#ma", attr::MASTER_ID)
        .expression_attribute_values(":master", n(master_id))
        .build()?)
}

/// Applies both updates in one transaction. `Ok(false)` when a condition
/// failed or another transaction interfered: nothing changed, read again.
async fn update_both(ctx: &Ctx, master: Update, child: Update) -> Result<bool, StoreError> {
    let result = ctx
        .db
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(master).build())
        .transact_items(TransactWriteItem::builder().update(child).build())
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err) if cancellation_codes(&err).is_some() => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// A linked child, as its master sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedAccount {
    pub id: i64,
    pub child_user_id: i64,
    pub email: String,
    pub display_name: String,
    pub currency_id: i64,
    pub currency_code: &'static str,
    pub linked_at: String,
}

/// The master, as a child sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MasterAccount {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub currency_id: i64,
    pub currency_code: &'static str,
}

/// `GET /api/user/linked-accounts` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedAccountsView {
    pub role: &'static str,
    pub master: Option<MasterAccount>,
    pub linked_accounts: Vec<LinkedAccount>,
}

/// The user's place in its account group. Deleted children are left out.
pub async fn linked_accounts(ctx: &Ctx, user_id: i64) -> Result<LinkedAccountsView, AppError> {
    let account = read_live_account(ctx, user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if let Some(master_id) = account.master_id {
        let master = read_account(ctx, master_id).await?;
        return Ok(LinkedAccountsView {
            role: "child",
            master: master.map(|m| MasterAccount {
                user_id: m.user_id,
                email: m.email,
                display_name: m.display_name,
                currency_id: m.currency.id(),
                currency_code: m.currency.code(),
            }),
            linked_accounts: Vec::new(),
        });
    }
    if account.children.is_empty() {
        return Ok(LinkedAccountsView {
            role: "standalone",
            master: None,
            linked_accounts: Vec::new(),
        });
    }
    let ids: Vec<i64> = account.children.iter().map(|l| l.child_id).collect();
    let children = read_accounts(ctx, &ids).await?;
    let linked_accounts = account
        .children
        .iter()
        .zip(children)
        .filter_map(|(link, child)| {
            let child = live(child)?;
            Some(LinkedAccount {
                id: link.link_id,
                child_user_id: link.child_id,
                email: child.email,
                display_name: child.display_name,
                currency_id: child.currency.id(),
                currency_code: child.currency.code(),
                linked_at: format_created_at(link.linked_at),
            })
        })
        .collect();
    Ok(LinkedAccountsView {
        role: "master",
        master: None,
        linked_accounts,
    })
}
