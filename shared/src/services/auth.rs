//! Who is calling: the bearer token checked against its stored hash, and the
//! operator's token commands. The token rules are `domain::token`'s.

use crate::services::error::AppError;
use crate::store::codec::{Record, REVOKED_ATTR};
use crate::store::item::b;
use crate::store::keys::Key;
use crate::store::read::{get, read_live_account};
use crate::store::write::{account_alive_check, is_condition_failure, put_new, update_if};
use crate::store::{Ctx, StoreError};
use domain::token::{hash_secret, new_secret, Ability, Needs, Principal, Token};

/// Checks the bearer token: one consistent GetItem.
pub async fn authenticate(
    ctx: &Ctx,
    bearer: Option<(i64, &str)>,
    needs: Needs,
) -> Result<Principal, AppError> {
    let (token_id, secret) = bearer.ok_or(AppError::Unauthenticated)?;
    let token: Token = get(ctx, Key::token(token_id))
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !token.accepts(secret) {
        return Err(AppError::Unauthenticated);
    }
    if needs == Needs::Session && token.ability != Ability::All {
        // A deleted user's tokens are 401 everywhere, API keys too: only a
        // live user's API key learns that it lacks the ability. This extra
        // read happens on refused requests only.
        let alive = read_live_account(ctx, token.user_id).await?.is_some();
        return Err(if alive {
            AppError::Forbidden
        } else {
            AppError::Unauthenticated
        });
    }
    Ok(Principal {
        user_id: token.user_id,
        token_id,
        ability: token.ability,
    })
}

/// Issues a token for an existing, not deleted user. Returns the token id and the
/// plain-text token, which is shown once and never stored.
pub async fn create_token(
    ctx: &Ctx,
    user_id: i64,
    ability: Ability,
) -> Result<(i64, String), TokenError> {
    let token_id = ctx.next_id().await?;
    let secret = new_secret();
    let token = Token {
        token_id,
        user_id,
        secret_sha256: hash_secret(&secret),
        ability,
        revoked: false,
        created_at: chrono::Utc::now().timestamp(),
    };
    let result = ctx
        .db
        .transact_write_items()
        .transact_items(put_new(ctx, token.to_item())?)
        .transact_items(account_alive_check(ctx, user_id)?)
        .send()
        .await;
    match result {
        Ok(_) => Ok((token_id, format!("{token_id}|{secret}"))),
        Err(err) if is_condition_failure(&err, 1) => Err(TokenError::UserNotFound(user_id)),
        Err(err) => Err(TokenError::Store(err.into())),
    }
}

pub async fn revoke_token(ctx: &Ctx, token_id: i64) -> Result<(), TokenError> {
    let revoke = ctx
        .db
        .update_item()
        .table_name(ctx.table())
        .set_key(Some(Key::token(token_id).item()))
        .update_expression("SET #revoked = :yes")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#revoked", REVOKED_ATTR)
        .expression_attribute_values(":yes", b(true));
    match update_if(revoke).await? {
        true => Ok(()),
        false => Err(TokenError::TokenNotFound(token_id)),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("user {0} does not exist or is deleted")]
    UserNotFound(i64),
    #[error("token {0} does not exist")]
    TokenNotFound(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}
