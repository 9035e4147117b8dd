//! Creators and their tokens: one [`creator`] fixture for every test.

use crate::dynamo::{test_ctx, TestCtx};
use domain::currency::Currency;
use domain::token::Ability;
use serde_json::{json, Value};
use shared::services::auth::create_token;
use shared::services::users::{create_user, NewUser};
use shared::Ctx;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A creator and a session token of theirs (`*` abilities).
#[derive(Debug, Clone)]
pub struct Creator {
    pub id: i64,
    pub token: String,
    pub email: String,
    pub name: String,
    pub currency: Currency,
}

/// Who to create: e-mail, display name, currency and payout details.
#[derive(Debug, Clone)]
pub struct Profile {
    pub email: String,
    pub name: String,
    pub currency: Currency,
    pub payout_details: Option<Value>,
}

static EMAILS: AtomicUsize = AtomicUsize::new(0);

impl Profile {
    /// A creator with a fresh e-mail (`creator<n>@example.com`) and no
    /// payout details.
    pub fn new(currency: Currency) -> Self {
        let n = EMAILS.fetch_add(1, Ordering::SeqCst);
        Self::named(
            &format!("creator{n}@example.com"),
            &format!("Creator {n}"),
            currency,
        )
    }

    /// A creator with this e-mail and display name (what an expected JSON shows).
    pub fn named(email: &str, name: &str, currency: Currency) -> Self {
        Self {
            email: email.to_owned(),
            name: name.to_owned(),
            currency,
            payout_details: None,
        }
    }

    /// A USD creator who can cash out: fresh e-mail, [`usd_details`].
    pub fn payable() -> Self {
        Self::new(Currency::Usd).details(usd_details())
    }

    pub fn details(mut self, payout_details: Value) -> Self {
        self.payout_details = Some(payout_details);
        self
    }
}

/// Creates the user of `profile` and a session token.
pub async fn creator(ctx: &Ctx, profile: Profile) -> Creator {
    let id = create_user(
        ctx,
        NewUser {
            email: &profile.email,
            display_name: &profile.name,
            currency: profile.currency,
            payout_details: profile.payout_details.as_ref(),
        },
    )
    .await
    .expect("create user");
    let (_, token) = create_token(ctx, id, Ability::All)
        .await
        .expect("create token");
    Creator {
        id,
        token,
        email: profile.email,
        name: profile.name,
        currency: profile.currency,
    }
}

/// A fresh table and a USD creator who can cash out ([`Profile::payable`]),
/// with `earned` available at once (an earning `s`, none if 0).
pub async fn payable_creator(earned: i64) -> (TestCtx, Creator) {
    let t = test_ctx().await;
    let u = creator(&t, Profile::payable()).await;
    if earned > 0 {
        t.earn(u.id, "s", earned).await;
    }
    (t, u)
}

/// `count` USD creators `<prefix><i>@example.com`, named `<prefix> <i>`.
pub async fn creators(ctx: &Ctx, prefix: &str, count: usize) -> Vec<Creator> {
    let mut out = Vec::new();
    for i in 1..=count {
        let email = format!("{prefix}{i}@example.com");
        let name = format!("{prefix} {i}");
        out.push(creator(ctx, Profile::named(&email, &name, Currency::Usd)).await);
    }
    out
}

/// An API key (`transactions.read`) of the user.
pub async fn api_key(ctx: &Ctx, user_id: i64) -> String {
    create_token(ctx, user_id, Ability::TransactionsRead)
        .await
        .expect("create api key")
        .1
}

/// Valid USD payout details.
pub fn usd_details() -> Value {
    json!({"account_number": "000123456789", "routing_number": "021000021"})
}

/// Valid EUR payout details.
pub fn eur_details() -> Value {
    json!({"iban": "DE89370400440532013000", "bic_swift": "COBADEFFXXX"})
}

/// Valid GBP payout details.
pub fn gbp_details() -> Value {
    json!({"account_number": "31926819", "sort_code": "60-16-13"})
}
