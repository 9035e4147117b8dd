//! The ledger throughput table.

use std::fmt::Write;

use bench::fmt_opt;

use crate::throughput::{LoadRow, BATCH};

pub fn table(md: &mut String, load: &[LoadRow]) {
    if load.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n## Ledger throughput\n");
    let _ = writeln!(md, "Fresh `product_earning` events (no hold) in SQS batches of {} records, fed to K warm `ledger` processes at once (Lambda concurrency K; each process takes the next batch when it has answered the last). Each case: {} round(s) of {} events straight to DynamoDB Local (events/s is the median over the rounds; CPU is CPU seconds / wall seconds during the rounds, medians), then one more round behind the recording proxy (no delay) to count requests, transaction attempts and cancellations. Records a batch answers as failed are delivered again, as SQS would. After the case every wallet's available balance and entry count are checked against the sum and number of the events sent (warm-up events included).\n", BATCH, load.first().map_or(0, |r| r.rounds), load.first().map_or(0, |r| r.events));
    let _ = writeln!(md, "| wallets | K processes | events/s (median) | min-max | ms per event per process | events/s behind proxy | DynamoDB requests per event | TransactWriteItems per event | TransactionCanceledException | other error answers | records redelivered | DynamoDB Local CPU cores | DynamoDB Local CPU ms per event | ledger processes CPU cores | bench CPU cores | machine busy cores | balances = sums sent |");
    let _ = writeln!(
        md,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for row in load {
        let rate = bench::median(&row.rates);
        let lo = row.rates.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = row.rates.iter().copied().fold(0.0, f64::max);
        // Events of the proxied round (the warm-up events are not counted in the rate,
        // but their requests are in the proxy's log).
        let sent = (row.events + row.processes) as f64;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {lo:.0}-{hi:.0} | {} | {:.0} | {:.2} | {:.3} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.wallets,
            row.processes,
            fmt_opt(rate, 0),
            fmt_opt(rate.map(|r| 1000.0 * row.processes as f64 / r), 2),
            row.proxied_rate,
            row.requests as f64 / sent,
            row.transact_writes as f64 / sent,
            row.cancelled,
            if row.other_errors.is_empty() { "0".to_owned() } else { row.other_errors.join(", ") },
            row.redelivered,
            fmt_opt(bench::median(&row.ddb_cores), 2),
            fmt_opt(bench::median(&row.ddb_ms_per_event()), 2),
            fmt_opt(bench::median(&row.ledger_cores), 2),
            fmt_opt(bench::median(&row.bench_cores), 2),
            fmt_opt(bench::median(&row.machine_cores), 2),
            match &row.verified { Ok(()) => "yes".to_owned(), Err(e) => format!("**no**: {e}") },
        );
    }
}
