//! `walletctl`: the operator CLI (docs/ledger.md#walletctl). Every command prints JSON on
//! stdout; an error prints a message on stderr and exits non-zero.
//! Configuration comes from the same environment as the Lambdas.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use domain::currency::Currency;
use domain::event::split_events;
use domain::payout::{Payout, PayoutStatus};
use domain::token::Ability;
use serde_json::{json, Value};
use shared::services::auth::{create_token, revoke_token};
use shared::services::holds::release_due_lots;
use shared::services::ledger::{apply_event_value, EventStatus};
use shared::services::payouts::{decide, list_payouts, Decision, DecisionOutcome};
use shared::services::users::{create_user, delete_user, set_payout_details, NewUser};
use shared::Ctx;
use std::io::Read;
use std::process::ExitCode;

mod local;
mod scripting;
mod seed;

#[derive(Parser)]
#[command(
    name = "walletctl",
    version,
    about = "Operator CLI for the creator wallet"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The DynamoDB table.
    Table {
        #[command(subcommand)]
        command: TableCommand,
    },
    /// Creators.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Apply events (one object, an array, or JSON lines) from FILE or stdin (`-`).
    Event {
        /// A file of events; `-` or nothing reads stdin.
        file: Option<String>,
    },
    /// Hold lots.
    Holds {
        #[command(subcommand)]
        command: HoldsCommand,
    },
    /// Payouts: list, approve, decline.
    Payout {
        #[command(subcommand)]
        command: PayoutCommand,
    },
    /// Link a child account to a master (at most 10 children, no chains).
    Link {
        #[arg(long)]
        master: i64,
        #[arg(long)]
        child: i64,
    },
    /// Remove a master -> child link.
    Unlink {
        #[arg(long)]
        master: i64,
        #[arg(long)]
        child: i64,
    },
    /// Demo data.
    Seed {
        #[command(subcommand)]
        command: SeedCommand,
    },
    /// The local API: the HttpApi routes of template.yaml on 127.0.0.1, served by
    /// the real function binaries through a local Lambda Runtime API.
    Serve(local::serve::ServeArgs),
    /// Run one function binary on one event (like `sam local invoke -e FILE`).
    Invoke(local::invoke::InvokeArgs),
    /// Read the SAM template (for scripts: what to build and deploy).
    Template {
        #[command(subcommand)]
        command: scripting::TemplateCommand,
    },
    /// Print values of a JSON document (for scripts without a JSON tool).
    Json(scripting::JsonArgs),
}

#[derive(Subcommand)]
enum SeedCommand {
    /// Demo creators, products, history and links (once); prints fresh tokens.
    Demo,
}

#[derive(Subcommand)]
enum HoldsCommand {
    /// Release every hold lot whose time has come (what the scheduled function does).
    Release {
        /// Release as of this time (RFC 3339) instead of now.
        #[arg(long)]
        now: Option<String>,
    },
}

#[derive(Subcommand)]
enum PayoutCommand {
    /// List payouts, oldest first.
    List {
        #[arg(long)]
        user: Option<i64>,
        /// requested, paid or declined.
        #[arg(long)]
        status: Option<String>,
    },
    /// Approve a requested payout (the money leaves: a `withdrawal` entry).
    Approve {
        #[arg(long)]
        id: i64,
    },
    /// Decline a requested payout: its amount goes back to available.
    Decline {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum TableCommand {
    /// Create the table and its index (idempotent).
    Create,
    /// Delete the table ($TABLE_NAME) and everything in it, e.g. a scratch
    /// table of a test run. --confirm must repeat its name.
    Delete {
        #[arg(long, value_name = "TABLE_NAME")]
        confirm: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a creator with an empty wallet and a session token.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        display_name: String,
        /// USD, EUR or GBP.
        #[arg(long)]
        currency: String,
        /// A JSON object with the currency's payout fields.
        #[arg(long)]
        payout_details: Option<String>,
    },
    /// Set (replace) a creator's payout details.
    PayoutDetails {
        #[arg(long)]
        user: i64,
        #[arg(long)]
        json: String,
    },
    /// Delete a creator: its tokens stop working, its ledger is kept.
    Delete {
        #[arg(long)]
        user: i64,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token: a creator session (`*`) or an API key (`transactions.read`).
    Create {
        #[arg(long)]
        user: i64,
        #[arg(long, default_value = "*")]
        ability: String,
    },
    /// Revoke a token.
    Revoke {
        #[arg(long)]
        token_id: i64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => local::serve::run(args).await,
        Command::Invoke(args) => local::invoke::run(args).await,
        Command::Template { command } => {
            scripting::template(command).map(|out| (out, ExitCode::SUCCESS))
        }
        Command::Json(args) => scripting::json(args).map(|out| (out, ExitCode::SUCCESS)),
        command => run(command).await,
    };
    match result {
        Ok((output, code)) => {
            println!("{output}");
            code
        }
        Err(err) => {
            eprintln!("walletctl: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(String, ExitCode)> {
    let ctx = Ctx::from_env()
        .await
        .map_err(|e| anyhow!(shared::services::error::cause_chain(&e)))?;
    let ok = |value: Value| Ok((pretty(&value), ExitCode::SUCCESS));
    match command {
        Command::Table {
            command: TableCommand::Create,
        } => {
            let created = shared::store::table::create_table(&ctx.db, ctx.table())
                .await
                .map_err(|e| anyhow!(shared::services::error::cause_chain(&e)))?;
            ok(json!({"table": ctx.table(), "created": created}))
        }
        Command::Table {
            command: TableCommand::Delete { confirm },
        } => {
            if confirm != ctx.table() {
                bail!(
                    "--confirm {confirm:?} is not the table {:?} (TABLE_NAME): nothing deleted",
                    ctx.table()
                );
            }
            let deleted = match ctx.db.delete_table().table_name(ctx.table()).send().await {
                Ok(_) => true,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    false
                }
                Err(e) => return Err(anyhow!(shared::services::error::cause_chain(&e))),
            };
            ok(json!({"table": ctx.table(), "deleted": deleted}))
        }
        Command::User { command } => match command {
            UserCommand::Create {
                email,
                display_name,
                currency,
                payout_details,
            } => {
                let currency = parse_currency(&currency)?;
                let details = payout_details.as_deref().map(parse_json).transpose()?;
                let user_id = create_user(
                    &ctx,
                    NewUser {
                        email: &email,
                        display_name: &display_name,
                        currency,
                        payout_details: details.as_ref(),
                    },
                )
                .await?;
                let (_, token) = create_token(&ctx, user_id, Ability::All).await?;
                ok(json!({"user_id": user_id, "token": token}))
            }
            UserCommand::PayoutDetails { user, json } => {
                let details = parse_json(&json)?;
                set_payout_details(&ctx, user, &details).await?;
                ok(json!({"user_id": user, "payout_details": "updated"}))
            }
            UserCommand::Delete { user } => {
                delete_user(&ctx, user).await?;
                ok(json!({"user_id": user, "deleted": true}))
            }
        },
        Command::Token { command } => match command {
            TokenCommand::Create { user, ability } => {
                let ability = Ability::parse(&ability)
                    .ok_or_else(|| anyhow!("--ability must be `*` or `transactions.read`"))?;
                let (token_id, token) = create_token(&ctx, user, ability).await?;
                ok(json!({"token_id": token_id, "token": token}))
            }
            TokenCommand::Revoke { token_id } => {
                revoke_token(&ctx, token_id).await?;
                ok(json!({"token_id": token_id, "revoked": true}))
            }
        },
        Command::Event { file } => {
            let input = read_input(file.as_deref())?;
            let events = split_events(&input).map_err(|e| anyhow!(e.0))?;
            if events.is_empty() {
                bail!("no events in the input");
            }
            let mut results = Vec::with_capacity(events.len());
            for event in &events {
                results.push(apply_event_value(&ctx, event).await);
            }
            let any_rejected = results
                .iter()
                .any(|r| matches!(r.status, EventStatus::Rejected | EventStatus::Failed));
            let code = if any_rejected {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
            Ok((pretty(&serde_json::to_value(&results)?), code))
        }
        Command::Holds {
            command: HoldsCommand::Release { now },
        } => {
            let now = match now {
                Some(text) => domain::time::parse_rfc3339(&text).ok_or_else(|| {
                    anyhow!("--now must be an RFC 3339 time, e.g. 2026-04-20T10:15:00Z")
                })?,
                None => domain::time::now_epoch(),
            };
            let summary = release_due_lots(&ctx, now).await.map_err(app)?;
            ok(json!({"released": summary.released, "already_released": summary.already_released}))
        }
        Command::Payout { command } => match command {
            PayoutCommand::List { user, status } => {
                let status = status
                    .map(|s| {
                        PayoutStatus::parse(&s)
                            .ok_or_else(|| anyhow!("--status must be requested, paid or declined"))
                    })
                    .transpose()?;
                let payouts = list_payouts(&ctx, user, status).await.map_err(app)?;
                ok(Value::Array(payouts.iter().map(payout_json).collect()))
            }
            PayoutCommand::Approve { id } => decision(&ctx, id, Decision::Approve).await,
            PayoutCommand::Decline { id, reason } => {
                decision(&ctx, id, Decision::Decline { reason }).await
            }
        },
        // Dispatched in `main`: they need no DynamoDB client.
        Command::Link { master, child } => {
            let link = shared::services::links::link(&ctx, master, child).await?;
            ok(json!({
                "link_id": link.link_id,
                "master_id": master,
                "child_id": child,
                "linked_at": domain::time::format_created_at(link.linked_at),
            }))
        }
        Command::Unlink { master, child } => {
            shared::services::links::unlink(&ctx, master, child).await?;
            ok(json!({"master_id": master, "child_id": child, "unlinked": true}))
        }
        Command::Seed {
            command: SeedCommand::Demo,
        } => ok(seed::seed_demo(&ctx).await?),
        Command::Serve(_) | Command::Invoke(_) | Command::Template { .. } | Command::Json(_) => {
            bail!("serve, invoke, template and json run from main")
        }
    }
}

/// Prints the payout after a decision; the same decision again is a no-op (exit 0).
async fn decision(ctx: &Ctx, id: i64, decision: Decision) -> Result<(String, ExitCode)> {
    let (payout, changed) = match decide(ctx, id, decision).await? {
        DecisionOutcome::Decided(p) => (p, true),
        DecisionOutcome::AlreadyDecided(p) => (p, false),
    };
    let mut out = payout_json(&payout);
    if let Value::Object(map) = &mut out {
        map.insert("changed".into(), Value::Bool(changed));
    }
    Ok((pretty(&out), ExitCode::SUCCESS))
}

fn payout_json(p: &Payout) -> Value {
    json!({
        "id": p.payout_id,
        "user_id": p.user_id,
        "amount": p.amount,
        "currency_code": p.currency.code(),
        "status": p.status.as_str(),
        "requested_at": domain::time::format_created_at(p.requested_at),
        "decided_at": p.decided_at.map(domain::time::format_created_at),
        "decline_reason": p.decline_reason,
    })
}

fn app(err: shared::AppError) -> anyhow::Error {
    anyhow!(shared::services::error::cause_chain(&err))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn parse_currency(code: &str) -> Result<Currency> {
    Currency::from_code(code)
        .ok_or_else(|| anyhow!("--currency must be USD, EUR or GBP, not {code:?}"))
}

fn parse_json(text: &str) -> Result<Value> {
    serde_json::from_str(text).context("not valid JSON")
}

fn read_input(file: Option<&str>) -> Result<String> {
    match file {
        None | Some("-") => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading events from stdin")?;
            Ok(input)
        }
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}")),
    }
}
