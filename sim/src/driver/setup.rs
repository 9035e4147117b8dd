//! Before the first step: the run's DynamoDB Local (with `--restarts`), the
//! fault-injecting proxy, the table, the creators; at the first step, the
//! profiles, one EUR and one GBP creator more and the link-only accounts.

use super::{Creator, Sim};
use crate::dynamo::LocalDynamo;
use crate::faults::Proxy;
use crate::model::catalog::Profile;
use crate::Args;
use domain::account::Account;
use domain::config::Config;
use domain::currency::Currency;
use domain::token::Ability;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use shared::services::auth::create_token;
use shared::services::users::{create_user, NewUser};
use shared::store::read::read_account;
use shared::Ctx;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Accounts that only take part in links (no money, no products): with them
/// a master can reach its 10 children.
const LINK_ONLY_ACCOUNTS: usize = 6;
/// The run's own DynamoDB Local (with `--restarts`), shared with the task
/// that kills it mid-step.
pub(super) type Local = Arc<tokio::sync::Mutex<LocalDynamo>>;

/// How often a setup write is tried while DynamoDB Local restarts.
const TRIES: usize = 30;
const PAUSE: Duration = Duration::from_millis(500);

/// What the run starts with.
pub(super) struct Start {
    pub sim: Sim,
    /// The run's own DynamoDB Local (`--restarts`).
    pub local: Option<Local>,
    pub table: String,
}

/// The DynamoDB Local, the proxy in front of it, a table of the run's own
/// and the creators (payout details set, a session token each).
pub(super) async fn start(args: Args) -> anyhow::Result<Start> {
    // With --restarts the run owns its DynamoDB Local (data on disk), to kill it.
    let local = match &args.restarts {
        Some(jar_dir) => {
            let data = std::env::temp_dir().join(format!(
                "sim-dynamodb-{}-{}",
                args.seed,
                std::process::id()
            ));
            Some(Arc::new(tokio::sync::Mutex::new(
                LocalDynamo::start(jar_dir, &data).await?,
            )))
        }
        None => None,
    };
    let endpoint = match &local {
        Some(db) => db.lock().await.endpoint(),
        None => std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default(),
    };
    let upstream: SocketAddr = endpoint
        .strip_prefix("http://")
        .filter(|a| a.starts_with("127.0.0.1:"))
        .and_then(|a| a.trim_end_matches('/').parse().ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "AWS_ENDPOINT_URL_DYNAMODB must be DynamoDB Local on http://127.0.0.1:PORT (got {endpoint:?})"
            )
        })?;
    let proxy = Proxy::start(upstream).await?;
    let conf = shared::store::local_config(&format!("http://{}", proxy.addr), "sim").build();
    let db = aws_sdk_dynamodb::Client::from_conf(conf);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000)
        .unwrap_or(0);
    let table = format!("sim-{}-{}-{nanos}", args.seed, std::process::id());
    shared::store::table::create_table(&db, &table).await?;
    let ctx = Arc::new(Ctx::new(db, Config::for_table(table.clone())));
    let mut creators = Vec::new();
    for i in 0..args.creators {
        let details = json!({"account_number": "000123456789", "routing_number": "021000021"});
        let user = NewUser {
            email: &format!("sim{i}@example.com"),
            display_name: &format!("Sim creator {i}"),
            currency: Currency::Usd,
            payout_details: Some(&details),
        };
        let user_id = create_user(&ctx, user)
            .await
            .map_err(|e| anyhow::anyhow!("create user: {e}"))?;
        let (_, token) = create_token(&ctx, user_id, Ability::All)
            .await
            .map_err(|e| anyhow::anyhow!("create token: {e}"))?;
        creators.push(Creator::new(user_id, token));
    }
    let sim = Sim {
        rng: StdRng::seed_from_u64(args.seed),
        args,
        ctx,
        proxy,
        creators,
        ops: BTreeMap::new(),
        violations: Vec::new(),
        notes: BTreeMap::new(),
        step: 0,
        faulty: false,
        counter: 0,
        extra: super::products::Extra::default(),
    };
    Ok(Start { sim, local, table })
}

/// docs/ledger.md#walletctl: USD id 1, EUR id 2, GBP id 3.
fn currency_profile(c: Currency) -> (i64, &'static str) {
    match c {
        Currency::Usd => (1, "USD"),
        Currency::Eur => (2, "EUR"),
        Currency::Gbp => (3, "GBP"),
    }
}

fn profile(email: &str, display_name: &str, currency: Currency) -> Profile {
    let (currency_id, currency_code) = currency_profile(currency);
    Profile {
        email: email.to_owned(),
        display_name: display_name.to_owned(),
        currency_id,
        currency_code,
    }
}

impl Sim {
    /// Once, before the first step: the profiles of the creators, one EUR and
    /// one GBP creator more (money checks included), and the link-only accounts.
    pub(super) async fn catalog_init(&mut self) {
        if self.extra.ready {
            return;
        }
        self.extra.ready = true;
        for ci in 0..self.creators.len() {
            let uid = self.uid(ci);
            // Retried while DynamoDB Local restarts (--restarts, step 0).
            let mut last = String::new();
            for _ in 0..TRIES {
                match read_account(&self.ctx, uid).await {
                    Ok(Some(a)) => {
                        self.remember_profile(&a);
                        last.clear();
                        break;
                    }
                    other => last = format!("{other:?}"),
                }
                tokio::time::sleep(PAUSE).await;
            }
            if !last.is_empty() {
                self.violation(format!("user {uid}: account unreadable: {last}"));
            }
        }
        let extra_creators = [
            (
                Currency::Eur,
                json!({"iban": "DE89370400440532013000", "bic_swift": "COBADEFFXXX"}),
            ),
            (
                Currency::Gbp,
                json!({"account_number": "31926819", "sort_code": "60-16-13"}),
            ),
        ];
        for (currency, details) in extra_creators {
            let code = currency_profile(currency).1.to_lowercase();
            let email = format!("sim-{code}@example.com");
            let name = format!("Sim creator {}", code.to_uppercase());
            if let Some((user_id, token)) = self
                .new_account(&email, &name, currency, Some(&details))
                .await
            {
                self.creators.push(Creator::new(user_id, token));
            }
        }
        for _ in 0..LINK_ONLY_ACCOUNTS {
            self.add_link_only_account().await;
        }
    }

    /// One more link-only account (USD, EUR, GBP in turn).
    pub(super) async fn add_link_only_account(&mut self) {
        let j = self.extra.spares.len();
        let currency = match j % 3 {
            0 => Currency::Usd,
            1 => Currency::Eur,
            _ => Currency::Gbp,
        };
        let email = format!("sim-link{j}@example.com");
        let name = format!("Sim linked {j}");
        if let Some(account) = self.new_account(&email, &name, currency, None).await {
            self.extra.spares.push(account);
        }
    }

    fn remember_profile(&mut self, a: &Account) {
        let p = profile(&a.email, &a.display_name, a.currency);
        self.extra.cat.profiles.insert(a.user_id, p);
    }

    /// Creates a user and a session token (retried while DynamoDB Local restarts).
    async fn new_account(
        &mut self,
        email: &str,
        name: &str,
        currency: Currency,
        details: Option<&Value>,
    ) -> Option<(i64, String)> {
        let mut last = String::new();
        for _ in 0..TRIES {
            let user = NewUser {
                email,
                display_name: name,
                currency,
                payout_details: details,
            };
            match create_user(&self.ctx, user).await {
                Ok(user_id) => {
                    if let Some(token) = self.new_token(user_id, &mut last).await {
                        let p = profile(email, name, currency);
                        self.extra.cat.profiles.insert(user_id, p);
                        return Some((user_id, token));
                    }
                    break;
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(PAUSE).await;
        }
        self.violation(format!("setup: account {email} not created: {last}"));
        None
    }

    /// A session token for `user_id` (retried while DynamoDB Local restarts);
    /// the last error in `last`.
    async fn new_token(&self, user_id: i64, last: &mut String) -> Option<String> {
        for _ in 0..TRIES {
            match create_token(&self.ctx, user_id, Ability::All).await {
                Ok((_, token)) => return Some(token),
                Err(e) => *last = e.to_string(),
            }
            tokio::time::sleep(PAUSE).await;
        }
        None
    }

    /// Every account: the creators, then the link-only accounts.
    pub(super) fn all_accounts(&self) -> Vec<i64> {
        self.creators
            .iter()
            .map(|c| c.user_id)
            .chain(self.extra.spares.iter().map(|s| s.0))
            .collect()
    }

    pub(super) fn token_of(&self, user_id: i64) -> Option<String> {
        self.creators
            .iter()
            .find(|c| c.user_id == user_id)
            .map(|c| c.token.clone())
            .or_else(|| {
                self.extra
                    .spares
                    .iter()
                    .find(|s| s.0 == user_id)
                    .map(|s| s.1.clone())
            })
    }
}
