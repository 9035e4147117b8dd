//! `walletctl` as an operator runs it: the real binary against DynamoDB Local.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static TABLES: AtomicUsize = AtomicUsize::new(0);

struct Cli {
    table: String,
}

impl Cli {
    /// A CLI on a fresh table of its own (created through the CLI).
    fn new() -> Self {
        let table = format!(
            "cli{}-{}",
            std::process::id(),
            TABLES.fetch_add(1, Ordering::SeqCst)
        );
        let cli = Cli { table };
        let out = cli.ok(&["table", "create"]);
        assert_eq!(out, json!({"table": cli.table, "created": true}));
        cli
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_walletctl"))
            .args(args)
            .env("TABLE_NAME", &self.table)
            .env("AWS_ENDPOINT_URL_DYNAMODB", tests::endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn walletctl");
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(stdin.unwrap_or("").as_bytes())
                .expect("write stdin");
        }
        child.wait_with_output().expect("walletctl output")
    }

    /// Runs a command that must succeed; its stdout as JSON.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args, None);
        assert!(
            out.status.success(),
            "walletctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("stdout is JSON")
    }

    /// Runs a command that must fail; its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        assert!(!out.status.success(), "walletctl {args:?} should fail");
        assert!(
            out.stdout.is_empty(),
            "a failed command prints nothing on stdout"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn user(&self, email: &str, currency: &str) -> (i64, String) {
        let out = self.ok(&[
            "user",
            "create",
            "--email",
            email,
            "--display-name",
            "Ann Lee",
            "--currency",
            currency,
        ]);
        let id = out["user_id"].as_i64().expect("user_id");
        let token = out["token"].as_str().expect("token").to_owned();
        assert!(token.starts_with(&format!("{}|", out_token_id(&token))));
        (id, token)
    }
}

fn out_token_id(token: &str) -> &str {
    token.split('|').next().unwrap_or("")
}

#[test]
fn table_create_is_idempotent() {
    let cli = Cli::new();
    assert_eq!(
        cli.ok(&["table", "create"]),
        json!({"table": cli.table, "created": false})
    );
}

#[test]
fn user_create_validates_and_refuses_duplicates() {
    let cli = Cli::new();
    let (id, token) = cli.user("ann@example.com", "USD");
    assert!(id > 0);
    assert_eq!(token.split('|').nth(1).map(str::len), Some(40));
    assert!(cli
        .fails(&[
            "user",
            "create",
            "--email",
            "ANN@example.com",
            "--display-name",
            "X",
            "--currency",
            "USD"
        ])
        .contains("already in use"));
    assert!(cli
        .fails(&[
            "user",
            "create",
            "--email",
            "b@example.com",
            "--display-name",
            "X",
            "--currency",
            "JPY"
        ])
        .contains("--currency must be USD, EUR or GBP"));
    assert!(cli
        .fails(&[
            "user",
            "create",
            "--email",
            "not-an-email",
            "--display-name",
            "X",
            "--currency",
            "USD"
        ])
        .contains("not a valid e-mail"));
    assert!(cli
        .fails(&[
            "user",
            "create",
            "--email",
            "c@example.com",
            "--display-name",
            "X",
            "--currency",
            "EUR",
            "--payout-details",
            r#"{"account_number":"1","routing_number":"2"}"#
        ])
        .contains("iban"));
    let eur = cli.ok(&[
        "user",
        "create",
        "--email",
        "d@example.com",
        "--display-name",
        "Dee",
        "--currency",
        "eur",
        "--payout-details",
        r#"{"iban":"DE89370400440532013000","bic_swift":"COBADEFFXXX"}"#,
    ]);
    assert!(eur["user_id"].as_i64().unwrap() > id);
}

#[test]
fn payout_details_tokens_and_delete() {
    let cli = Cli::new();
    let (id, _) = cli.user("gb@example.com", "GBP");
    let uid = id.to_string();
    cli.ok(&[
        "user",
        "payout-details",
        "--user",
        &uid,
        "--json",
        r#"{"account_number":"12345678","sort_code":"20-00-00"}"#,
    ]);
    assert!(cli
        .fails(&[
            "user",
            "payout-details",
            "--user",
            &uid,
            "--json",
            r#"{"iban":"x","bic_swift":"y"}"#
        ])
        .contains("sort_code"));
    assert!(cli
        .fails(&["user", "payout-details", "--user", &uid, "--json", "{nope"])
        .contains("not valid JSON"));
    let key = cli.ok(&[
        "token",
        "create",
        "--user",
        &uid,
        "--ability",
        "transactions.read",
    ]);
    let token_id = key["token_id"].as_i64().unwrap();
    assert!(key["token"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{token_id}|")));
    assert!(cli
        .fails(&["token", "create", "--user", &uid, "--ability", "admin"])
        .contains("--ability"));
    assert_eq!(
        cli.ok(&["token", "revoke", "--token-id", &token_id.to_string()]),
        json!({"token_id": token_id, "revoked": true})
    );
    assert!(cli
        .fails(&["token", "revoke", "--token-id", "999999"])
        .contains("does not exist"));
    assert!(cli
        .fails(&["token", "create", "--user", "999999"])
        .contains("does not exist"));
    cli.ok(&["user", "delete", "--user", &uid]);
    assert!(cli
        .fails(&["user", "delete", "--user", &uid])
        .contains("does not exist"));
    assert!(cli
        .fails(&["token", "create", "--user", &uid])
        .contains("does not exist"));
    // The e-mail address is free again.
    cli.user("gb@example.com", "GBP");
}

#[test]
fn events_from_stdin_and_file_with_per_event_results() {
    let cli = Cli::new();
    let (id, _) = cli.user("ev@example.com", "USD");
    let lines = format!(
        "{}\n\n{}\n",
        json!({"kind":"product_earning","event_id":"e1","user_id":id,"amount":550,"hold_seconds":0}),
        json!({"kind":"fee","event_id":"e2","user_id":id,"amount":50})
    );
    let out = cli.run(&["event", "-"], Some(&lines));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        results,
        json!([
            {"event_id": "e1", "status": "applied", "error": null},
            {"event_id": "e2", "status": "applied", "error": null}
        ])
    );

    let dir = std::env::temp_dir().join(format!("walletctl-{}-{}", std::process::id(), cli.table));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.json");
    std::fs::write(
        &file,
        json!([
            {"kind":"product_earning","event_id":"e1","user_id":id,"amount":550,"hold_seconds":0},
            {"kind":"fee","event_id":"e3","user_id":id,"amount":0},
            {"kind":"hold","event_id":"e4","user_id":id,"amount":100}
        ])
        .to_string(),
    )
    .unwrap();
    let out = cli.run(&["event", file.to_str().unwrap()], None);
    assert!(
        !out.status.success(),
        "a rejected event makes the exit code non-zero"
    );
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        results[0],
        json!({"event_id": "e1", "status": "duplicate", "error": null})
    );
    assert_eq!(results[1]["status"], "rejected");
    assert_eq!(
        results[1]["error"],
        "amount must be an integer from 1 to 1000000000000"
    );
    assert_eq!(
        results[2],
        json!({"event_id": "e4", "status": "applied", "error": null})
    );
    assert!(cli
        .fails(&["event", "/nonexistent/file.json"])
        .contains("reading /nonexistent/file.json"));
    assert!(cli.fails(&["event", "-"]).contains("no events"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A library context on the CLI's table, for what the CLI does not do (cashouts).
fn ctx_for(cli: &Cli) -> shared::Ctx {
    let counter = tests::RequestCounter::default();
    shared::Ctx::new(
        tests::client(&counter),
        shared::config::Config::for_table(cli.table.clone()),
    )
}

#[tokio::test]
async fn payouts_are_listed_approved_and_declined() {
    let cli = Cli::new();
    let out = cli.ok(&[
        "user",
        "create",
        "--email",
        "pay@example.com",
        "--display-name",
        "Pay",
        "--currency",
        "USD",
        "--payout-details",
        r#"{"account_number":"1","routing_number":"2"}"#,
    ]);
    let id = out["user_id"].as_i64().unwrap();
    let ctx = ctx_for(&cli);
    let mut payout_ids = Vec::new();
    for (n, amount) in [(1, 700), (2, 300)] {
        let event = json!({"kind":"product_earning","event_id":format!("p{n}"),"user_id":id,"amount":amount,"hold_seconds":0});
        let out = cli.run(&["event", "-"], Some(&event.to_string()));
        assert!(out.status.success());
        let response = shared::payouts::cashout(&ctx, id, None).await.unwrap();
        assert_eq!(response.status, 200);
        let listed = cli.ok(&["payout", "list", "--user", &id.to_string()]);
        payout_ids.push(listed[n - 1]["id"].as_i64().unwrap());
        assert_eq!(listed[n - 1]["amount"], amount);
        assert_eq!(listed[n - 1]["status"], "requested");
    }
    let (first, second) = (payout_ids[0].to_string(), payout_ids[1].to_string());
    let approved = cli.ok(&["payout", "approve", "--id", &first]);
    assert_eq!(
        (approved["status"].clone(), approved["changed"].clone()),
        (json!("paid"), json!(true))
    );
    let again = cli.ok(&["payout", "approve", "--id", &first]);
    assert_eq!(
        (again["status"].clone(), again["changed"].clone()),
        (json!("paid"), json!(false))
    );
    assert!(cli
        .fails(&["payout", "decline", "--id", &first, "--reason", "late"])
        .contains("already paid"));
    assert!(cli
        .fails(&["payout", "decline", "--id", &second, "--reason", " "])
        .contains("reason"));
    let declined = cli.ok(&[
        "payout",
        "decline",
        "--id",
        &second,
        "--reason",
        "IBAN closed",
    ]);
    assert_eq!(declined["decline_reason"], "IBAN closed");
    assert!(cli
        .fails(&["payout", "approve", "--id", &second])
        .contains("already declined"));
    assert!(cli
        .fails(&["payout", "approve", "--id", "999999"])
        .contains("does not exist"));
    let paid = cli.ok(&["payout", "list", "--status", "paid"]);
    assert_eq!(paid.as_array().unwrap().len(), 1);
    assert_eq!(paid[0]["id"], payout_ids[0]);
    assert!(cli
        .fails(&["payout", "list", "--status", "lost"])
        .contains("--status"));
    let b = shared::ledger::apply::read_account(&ctx, id)
        .await
        .unwrap()
        .unwrap()
        .balance;
    assert_eq!((b.available, b.hold, b.pending), (300, 0, 0));
}

#[test]
fn holds_release_as_of_a_time() {
    let cli = Cli::new();
    let (id, _) = cli.user("hold@example.com", "EUR");
    let events = [
        json!({"kind":"product_earning","event_id":"e1","user_id":id,"amount":100,"hold_seconds":3600,"occurred_at":"2026-01-01T00:00:00Z"}),
        json!({"kind":"product_earning","event_id":"e2","user_id":id,"amount":200,"hold_seconds":7200,"occurred_at":"2026-01-01T00:00:00Z"}),
    ];
    let text: Vec<String> = events.iter().map(Value::to_string).collect();
    assert!(cli.run(&["event"], Some(&text.join("\n"))).status.success());
    assert!(cli
        .fails(&["holds", "release", "--now", "tomorrow"])
        .contains("RFC 3339"));
    assert_eq!(
        cli.ok(&["holds", "release", "--now", "2026-01-01T01:00:00Z"]),
        json!({"released": 1, "already_released": 0})
    );
    assert_eq!(
        cli.ok(&["holds", "release", "--now", "2026-01-01T01:59:59Z"]),
        json!({"released": 0, "already_released": 0})
    );
    assert_eq!(
        cli.ok(&["holds", "release"]),
        json!({"released": 1, "already_released": 0})
    );
}

#[test]
fn link_and_unlink_with_clear_refusals() {
    let cli = Cli::new();
    let (master, _) = cli.user("m@example.com", "USD");
    let (child, _) = cli.user("c@example.com", "EUR");
    let (m, c) = (master.to_string(), child.to_string());
    let linked = cli.ok(&["link", "--master", &m, "--child", &c]);
    assert_eq!(
        (linked["master_id"].as_i64(), linked["child_id"].as_i64()),
        (Some(master), Some(child))
    );
    assert!(cli
        .fails(&["link", "--master", &m, "--child", &c])
        .contains("already linked"));
    assert!(cli
        .fails(&["link", "--master", &c, "--child", &m])
        .contains("cannot be a master"));
    assert!(cli
        .fails(&["link", "--master", &m, "--child", &m])
        .contains("itself"));
    assert!(cli
        .fails(&["link", "--master", &m, "--child", "999999"])
        .contains("does not exist"));
    assert_eq!(
        cli.ok(&["unlink", "--master", &m, "--child", &c]),
        json!({"master_id": master, "child_id": child, "unlinked": true})
    );
    assert!(cli
        .fails(&["unlink", "--master", &m, "--child", &c])
        .contains("is not linked"));
}

#[tokio::test]
async fn seed_demo_creates_once_and_prints_fresh_tokens() {
    let cli = Cli::new();
    let first = cli.ok(&["seed", "demo"]);
    assert_eq!(first["seeded_now"], true);
    let users = first["users"].as_array().unwrap();
    assert_eq!(users.len(), 4);
    let second = cli.ok(&["seed", "demo"]);
    assert_eq!(second["seeded_now"], false);
    for (a, b) in users.iter().zip(second["users"].as_array().unwrap()) {
        assert_eq!(a["user_id"], b["user_id"], "same demo users");
        assert_ne!(a["token"], b["token"], "fresh tokens");
    }
    let ctx = ctx_for(&cli);
    let mut types = std::collections::BTreeSet::new();
    for user in users {
        let id = user["user_id"].as_i64().unwrap();
        tests::assert_invariants(&ctx, id).await;
        for e in tests::entries(&ctx, id).await {
            types.insert(e.entry_type.as_str());
        }
    }
    let every_type: std::collections::BTreeSet<&str> = shared::ledger::EntryType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    assert_eq!(types, every_type, "the demo history has every entry type");
    let ann = users[0]["user_id"].as_i64().unwrap();
    let group = shared::links::linked_accounts(&ctx, ann).await.unwrap();
    assert_eq!((group.role, group.linked_accounts.len()), ("master", 2));
    let summary = shared::dashboard::summary(&ctx, ann).await.unwrap();
    assert!(!summary.top_performing.is_empty());
    let requested =
        shared::payouts::list_payouts(&ctx, None, Some(shared::db::model::PayoutStatus::Requested))
            .await
            .unwrap();
    assert_eq!(requested.len(), 1, "one pending payout");
}
