//! `walletctl` as an operator runs it: the real binary against DynamoDB Local.

use crate::env::{user_create, Env};
use serde_json::{json, Value};
use tests::invariants::{assert_invariants, entries};

#[test]
fn table_create_is_idempotent() {
    let cli = Env::new();
    assert_eq!(
        cli.ok(&["table", "create"]),
        json!({"table": cli.table, "created": false})
    );
}

#[test]
fn user_create_validates_and_refuses_duplicates() {
    let cli = Env::new();
    let (id, token) = cli.user("ann@example.com", "USD", None);
    assert!(id > 0);
    assert_eq!(token.split('|').nth(1).map(str::len), Some(40));
    // Each refusal: (e-mail, currency, payout details, part of the message).
    let refusals = [
        ("ANN@example.com", "USD", None, "already in use"),
        (
            "b@example.com",
            "JPY",
            None,
            "--currency must be USD, EUR or GBP",
        ),
        ("not-an-email", "USD", None, "not a valid e-mail"),
        (
            "c@example.com",
            "EUR",
            Some(r#"{"account_number":"1","routing_number":"2"}"#),
            "iban",
        ),
    ];
    for (email, currency, details, message) in refusals {
        cli.refuses(&user_create(email, "X", currency, details), message);
    }
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
    let cli = Env::new();
    let (id, _) = cli.user("gb@example.com", "GBP", None);
    let uid = id.to_string();
    cli.ok(&[
        "user",
        "payout-details",
        "--user",
        &uid,
        "--json",
        r#"{"account_number":"12345678","sort_code":"20-00-00"}"#,
    ]);
    // Details of another currency, and text that is not JSON.
    for (json, part) in [
        (r#"{"iban":"x","bic_swift":"y"}"#, "sort_code"),
        ("{nope", "not valid JSON"),
    ] {
        cli.refuses(
            &["user", "payout-details", "--user", &uid, "--json", json],
            part,
        );
    }
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
    cli.refuses(
        &["token", "create", "--user", &uid, "--ability", "admin"],
        "--ability",
    );
    assert_eq!(
        cli.ok(&["token", "revoke", "--token-id", &token_id.to_string()]),
        json!({"token_id": token_id, "revoked": true})
    );
    cli.refuses(
        &["token", "revoke", "--token-id", "999999"],
        "does not exist",
    );
    cli.refuses(&["token", "create", "--user", "999999"], "does not exist");
    cli.ok(&["user", "delete", "--user", &uid]);
    cli.refuses(&["user", "delete", "--user", &uid], "does not exist");
    cli.refuses(&["token", "create", "--user", &uid], "does not exist");
    // The e-mail address is free again.
    cli.user("gb@example.com", "GBP", None);
}

#[test]
fn events_from_stdin_and_file_with_per_event_results() {
    let cli = Env::new();
    let (id, _) = cli.user("ev@example.com", "USD", None);
    let lines = format!(
        "{}\n\n{}\n",
        json!({"kind":"product_earning","event_id":"e1","user_id":id,"amount":550,"hold_seconds":0}),
        json!({"kind":"fee","event_id":"e2","user_id":id,"amount":50})
    );
    let out = cli.run_with_stdin(&["event", "-"], &lines);
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
    let out = cli.run(&["event", file.to_str().unwrap()]);
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
    cli.refuses(
        &["event", "/nonexistent/file.json"],
        "reading /nonexistent/file.json",
    );
    cli.refuses(&["event", "-"], "no events");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn payouts_are_listed_approved_and_declined() {
    let cli = Env::new();
    let (id, _) = cli.user(
        "pay@example.com",
        "USD",
        Some(r#"{"account_number":"1","routing_number":"2"}"#),
    );
    let ctx = cli.ctx();
    let mut payout_ids = Vec::new();
    for (n, amount) in [(1, 700), (2, 300)] {
        let event = json!({"kind":"product_earning","event_id":format!("p{n}"),"user_id":id,"amount":amount,"hold_seconds":0});
        let out = cli.run_with_stdin(&["event", "-"], &event.to_string());
        assert!(out.status.success());
        let success = |payout_id| shared::ApiResponse::cashout_created(payout_id).stored();
        let response = shared::services::payouts::cashout(&ctx, id, None, success)
            .await
            .unwrap();
        assert!(matches!(
            response,
            shared::services::payouts::Cashout::Created { .. }
        ));
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
    // Declining a paid payout, or without a reason.
    for (id, reason, part) in [(&first, "late", "already paid"), (&second, " ", "reason")] {
        cli.refuses(&["payout", "decline", "--id", id, "--reason", reason], part);
    }
    let declined = cli.ok(&[
        "payout",
        "decline",
        "--id",
        &second,
        "--reason",
        "IBAN closed",
    ]);
    assert_eq!(declined["decline_reason"], "IBAN closed");
    cli.refuses(&["payout", "approve", "--id", &second], "already declined");
    cli.refuses(&["payout", "approve", "--id", "999999"], "does not exist");
    let paid = cli.ok(&["payout", "list", "--status", "paid"]);
    assert_eq!(paid.as_array().unwrap().len(), 1);
    assert_eq!(paid[0]["id"], payout_ids[0]);
    cli.refuses(&["payout", "list", "--status", "lost"], "--status");
    let b = shared::store::read::read_account(&ctx, id)
        .await
        .unwrap()
        .unwrap()
        .balance;
    assert_eq!((b.available, b.hold, b.pending), (300, 0, 0));
}

#[test]
fn holds_release_as_of_a_time() {
    let cli = Env::new();
    let (id, _) = cli.user("hold@example.com", "EUR", None);
    let events = [
        json!({"kind":"product_earning","event_id":"e1","user_id":id,"amount":100,"hold_seconds":3600,"occurred_at":"2026-01-01T00:00:00Z"}),
        json!({"kind":"product_earning","event_id":"e2","user_id":id,"amount":200,"hold_seconds":7200,"occurred_at":"2026-01-01T00:00:00Z"}),
    ];
    let text: Vec<String> = events.iter().map(Value::to_string).collect();
    assert!(cli
        .run_with_stdin(&["event"], &text.join("\n"))
        .status
        .success());
    cli.refuses(&["holds", "release", "--now", "tomorrow"], "RFC 3339");
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
    let cli = Env::new();
    let (master, _) = cli.user("m@example.com", "USD", None);
    let (child, _) = cli.user("c@example.com", "EUR", None);
    let (m, c) = (master.to_string(), child.to_string());
    let linked = cli.ok(&["link", "--master", &m, "--child", &c]);
    assert_eq!(
        (linked["master_id"].as_i64(), linked["child_id"].as_i64()),
        (Some(master), Some(child))
    );
    cli.refuses(&["link", "--master", &m, "--child", &c], "already linked");
    cli.refuses(
        &["link", "--master", &c, "--child", &m],
        "cannot be a master",
    );
    cli.refuses(&["link", "--master", &m, "--child", &m], "itself");
    cli.refuses(
        &["link", "--master", &m, "--child", "999999"],
        "does not exist",
    );
    assert_eq!(
        cli.ok(&["unlink", "--master", &m, "--child", &c]),
        json!({"master_id": master, "child_id": child, "unlinked": true})
    );
    cli.refuses(&["unlink", "--master", &m, "--child", &c], "is not linked");
}

#[tokio::test]
async fn seed_demo_creates_once_and_prints_fresh_tokens() {
    let cli = Env::new();
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
    let ctx = cli.ctx();
    let mut types = std::collections::BTreeSet::new();
    for user in users {
        let id = user["user_id"].as_i64().unwrap();
        assert_invariants(&ctx, id).await;
        for e in entries(&ctx, id).await {
            types.insert(e.entry_type.as_str());
        }
    }
    let every_type: std::collections::BTreeSet<&str> = domain::ledger::EntryType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    assert_eq!(types, every_type, "the demo history has every entry type");
    let ann = users[0]["user_id"].as_i64().unwrap();
    let group = shared::services::links::linked_accounts(&ctx, ann)
        .await
        .unwrap();
    assert_eq!((group.role, group.linked_accounts.len()), ("master", 2));
    let summary = shared::services::dashboard::summary(&ctx, ann)
        .await
        .unwrap();
    assert!(!summary.top_performing.is_empty());
    let requested = shared::services::payouts::list_payouts(
        &ctx,
        None,
        Some(domain::payout::PayoutStatus::Requested),
    )
    .await
    .unwrap();
    assert_eq!(requested.len(), 1, "one pending payout");
}
