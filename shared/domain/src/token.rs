//! API tokens in the Laravel Sanctum shape `<token_id>|<secret>`: abilities,
//! what a route needs, and the secret check. Only the SHA-256 of the secret is
//! stored; comparison is constant-time.

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
/// the endpoint's own read of the account checks that (the services check that).
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

/// An API token (Sanctum style): only the SHA-256 of its secret is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub token_id: i64,
    pub user_id: i64,
    pub secret_sha256: String,
    pub ability: Ability,
    pub revoked: bool,
    pub created_at: i64,
}

/// Splits a Sanctum token `<id>|<secret>`. `None` when malformed: the id must be
/// a valid id (see [`crate::ids`]), the secret 1 to 256 bytes.
pub fn parse_token(token: &str) -> Option<(i64, &str)> {
    let (id, secret) = token.trim().split_once('|')?;
    let id = crate::ids::parse_id(id)?;
    if secret.is_empty() || secret.len() > 256 {
        return None;
    }
    Some((id, secret))
}

impl Token {
    /// The presented secret is this token's (constant-time) and it is not revoked.
    pub fn accepts(&self, secret: &str) -> bool {
        let presented = hash_secret(secret);
        let matches: bool = presented
            .as_bytes()
            .ct_eq(self.secret_sha256.as_bytes())
            .into();
        matches && !self.revoked
    }
}

/// A new random secret (as Sanctum: 40 alphanumeric characters).
pub fn new_secret() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), SECRET_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn tokens_are_an_id_and_a_secret() {
        assert_eq!(parse_token("12|abc"), Some((12, "abc")));
        assert_eq!(parse_token("12|a|b"), Some((12, "a|b")));
        for bad in ["12", "|abc", "12|", "0|a", "-1|a", "x|a"] {
            assert_eq!(parse_token(bad), None, "{bad:?}");
        }
        assert_eq!(parse_token(&format!("1|{}", "s".repeat(257))), None);
    }

    #[test]
    fn a_token_accepts_its_secret_only_while_not_revoked() {
        let mut token = Token {
            token_id: 1,
            user_id: 2,
            secret_sha256: hash_secret("right"),
            ability: Ability::All,
            revoked: false,
            created_at: 0,
        };
        assert!(token.accepts("right"));
        assert!(!token.accepts("wrong"));
        token.revoked = true;
        assert!(!token.accepts("right"));
        assert_eq!(new_secret().len(), SECRET_LEN);
    }
}
