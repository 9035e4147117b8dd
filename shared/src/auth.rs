//! Bearer tokens in the Laravel Sanctum shape `<token_id>|<secret>`.
//! Only the SHA-256 of the secret is stored; comparison is constant-time.

use crate::db::ids::MAX_ID;
use crate::db::item::{b, s};
use crate::db::keys;
use crate::db::model::{Token, REVOKED_ATTR};
use crate::db::Ctx;
use crate::error::AppError;
use lambda_http::http::HeaderMap;
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ability {
    /// `*`: a creator session, every route.
    All,
    /// `transactions.read`: an API key, only the wallet and affiliate reads.
    TransactionsRead,
}

impl Ability {
    pub fn as_str(self) -> &'static str {
        match self {
            Ability::All => "*",
            Ability::TransactionsRead => "transactions.read",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "*" => Some(Ability::All),
            "transactions.read" => Some(Ability::TransactionsRead),
            _ => None,
        }
    }
}

/// What a route needs of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The wallet and affiliate reads: any token.
    TransactionsRead,
    /// Everything else: a creator session.
    Session,
}

/// The authenticated caller. The account it names may still turn out deleted:
/// the endpoint's own read of the account checks that (see [`crate::wallet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub token_id: i64,
    pub ability: Ability,
}

/// Length of the random secret (as Sanctum).
pub const SECRET_LEN: usize = 40;

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits `Authorization: Bearer <id>|<secret>`. `None` when malformed.
pub fn parse_bearer(headers: &HeaderMap) -> Option<(i64, &str)> {
    let mut values = headers.get_all("authorization").iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let (id, secret) = token.trim().split_once('|')?;
    if id.is_empty() || id.len() > 16 || !id.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let id: i64 = id.parse().ok()?;
    if !(1..=MAX_ID).contains(&id) || secret.is_empty() || secret.len() > 256 {
        return None;
    }
    Some((id, secret))
}

/// Checks the bearer token: one consistent GetItem.
pub async fn authenticate(
    ctx: &Ctx,
    headers: &HeaderMap,
    needs: Needs,
) -> Result<Principal, AppError> {
    let (token_id, secret) = parse_bearer(headers).ok_or(AppError::Unauthenticated)?;
    let out = ctx
        .db
        .get_item()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::token_pk(token_id)))
        .key(keys::SK, s(keys::TOKEN_SK))
        .consistent_read(true)
        .send()
        .await?;
    let item = out.item.ok_or(AppError::Unauthenticated)?;
    let token = Token::from_item(&item).map_err(AppError::internal)?;
    let presented = hash_secret(secret);
    let matches: bool = presented
        .as_bytes()
        .ct_eq(token.secret_sha256.as_bytes())
        .into();
    if !matches || token.revoked {
        return Err(AppError::Unauthenticated);
    }
    if needs == Needs::Session && token.ability != Ability::All {
        // A deleted user's tokens are 401 everywhere, API keys too: only a
        // live user's API key learns that it lacks the ability. This extra
        // read happens on refused requests only.
        let alive = crate::ledger::apply::read_account(ctx, token.user_id)
            .await?
            .is_some_and(|a| !a.deleted);
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
    let secret = Alphanumeric.sample_string(&mut rand::rng(), SECRET_LEN);
    let token = Token {
        token_id,
        user_id,
        secret_sha256: hash_secret(&secret),
        ability,
        revoked: false,
        created_at: chrono::Utc::now().timestamp(),
    };
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(ctx.table())
        .set_item(Some(token.to_item()))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(AppError::from)?;
    let user_alive = crate::users::account_alive_check(ctx, user_id).map_err(AppError::from)?;
    let result = ctx
        .db
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(put)
                .build(),
        )
        .transact_items(user_alive)
        .send()
        .await;
    match result {
        Ok(_) => Ok((token_id, format!("{token_id}|{secret}"))),
        Err(err) if crate::db::is_condition_failure(&err, 1) => {
            Err(TokenError::UserNotFound(user_id))
        }
        Err(err) => Err(TokenError::App(err.into())),
    }
}

pub async fn revoke_token(ctx: &Ctx, token_id: i64) -> Result<(), TokenError> {
    let result = ctx
        .db
        .update_item()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::token_pk(token_id)))
        .key(keys::SK, s(keys::TOKEN_SK))
        .update_expression("SET #revoked = :yes")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#revoked", REVOKED_ATTR)
        .expression_attribute_values(":yes", b(true))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Err(TokenError::TokenNotFound(token_id))
        }
        Err(err) => Err(TokenError::App(err.into())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("user {0} does not exist or is deleted")]
    UserNotFound(i64),
    #[error("token {0} does not exist")]
    TokenNotFound(i64),
    #[error(transparent)]
    App(#[from] AppError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("authorization", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn parses_sanctum_bearer_tokens() {
        assert_eq!(
            parse_bearer(&headers(&["Bearer 12|abc"])),
            Some((12, "abc"))
        );
        assert_eq!(
            parse_bearer(&headers(&["bearer 12|abc"])),
            Some((12, "abc"))
        );
        assert_eq!(
            parse_bearer(&headers(&["BEARER  12|a|b "])),
            Some((12, "a|b"))
        );
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic 12|abc",
            "Bearer 12",
            "Bearer |abc",
            "Bearer 12|",
            "Bearer -1|abc",
            "Bearer +1|abc",
            "Bearer 0|abc",
            "Bearer 9007199254740992|abc",
            "Bearer 99999999999999999999|abc",
            "Bearer x|abc",
            "Token 1|a",
        ] {
            assert_eq!(parse_bearer(&headers(&[bad])), None, "{bad:?}");
        }
        assert_eq!(parse_bearer(&HeaderMap::new()), None);
        assert_eq!(parse_bearer(&headers(&["Bearer 1|a", "Bearer 1|a"])), None);
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn abilities_round_trip() {
        for a in [Ability::All, Ability::TransactionsRead] {
            assert_eq!(Ability::parse(a.as_str()), Some(a));
        }
        assert_eq!(Ability::parse("admin"), None);
    }
}
