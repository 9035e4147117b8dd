//! The tables of cold starts, warm latency and scaling.

use std::fmt::Write;
use std::path::Path;

use bench::{fmt_opt, ratio, Summary};

use super::Tally;
use crate::cold::ColdRun;
use crate::process::ROUNDS;
use crate::scaling::ScaleRow;
use crate::warm::{describe, round_trips, Measured};

fn p50(v: &[f64]) -> Option<f64> {
    bench::percentile(v, 0.5)
}

fn p90(v: &[f64]) -> Option<f64> {
    bench::percentile(v, 0.9)
}

/// Cold starts against the floors F0 and F1; bootstrap and zip sizes.
pub fn cold(md: &mut String, tally: &mut Tally, bin_dir: &Path, colds: &[ColdRun], n_cold: usize) {
    let floor_init = |name: &str| {
        colds
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| p50(&c.cold.init))
    };
    let (f0, f1) = (floor_init("floor_f0"), floor_init("floor_f1"));
    let _ = writeln!(md, "## Cold start (spawn to first `GET /runtime/invocation/next`), {n_cold} fresh processes each\n");
    let _ = writeln!(md, "| binary | init p50 ms | init p90 ms | x F0 | x F1 | first invocation p50 ms | p90 ms | bootstrap bytes | zip bytes | peak RSS KiB (after 1st invocation) | target p50 <= 1.25x F1 | zip <= 5 MB |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for ColdRun { name, bin, cold: c } in colds {
        let ip50 = p50(&c.init);
        let zip = bench::file_size(&bin_dir.join(name).join("bootstrap.zip"));
        let cold_ok = if name.starts_with("floor") {
            "floor".to_owned()
        } else {
            let r = ip50.zip(f1).and_then(|(a, b)| ratio(a, b));
            let ok = r.is_some_and(|r| r <= 1.25);
            tally.check(ok, format!("{name} cold start")).to_owned()
        };
        let zip_ok = match zip {
            Some(z) => tally
                .check(z <= 5 * 1024 * 1024, format!("{name} zip"))
                .to_owned(),
            None => "no zip".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {cold_ok} | {zip_ok} |",
            fmt_opt(ip50, 2),
            fmt_opt(p90(&c.init), 2),
            fmt_opt(ip50.zip(f0).and_then(|(a, b)| ratio(a, b)), 2),
            fmt_opt(ip50.zip(f1).and_then(|(a, b)| ratio(a, b)), 2),
            fmt_opt(p50(&c.first), 2),
            fmt_opt(p90(&c.first), 2),
            bench::file_size(bin).map_or("-".into(), |s| s.to_string()),
            zip.map_or("-".into(), |s| s.to_string()),
            c.rss_kib.map_or("-".into(), |s| s.to_string()),
        );
    }
}

/// Warm latency against the floors, requests and round trips, RSS; returns the
/// number of endpoints that did not answer as they should.
pub fn warm(md: &mut String, tally: &mut Tally, measured: &[Measured], n_warm: usize) -> usize {
    let _ = writeln!(md, "\n## Warm latency ({n_warm} sequential invocations) vs the DynamoDB floors; requests and round trips\n");
    let _ = writeln!(md, "Two floors, both made of exactly the requests the function made for the same invocation (captured by the recording proxy), one round trip after the other and the requests of one round trip concurrently, straight to DynamoDB Local: **SDK floor** = each request made with `aws-sdk-dynamodb` (default client of the environment, the captured body put in place by an interceptor before signing: signed, sent, deserialized by the SDK); **raw floor** = the captured HTTP requests replayed by a keep-alive HTTP client (no SDK, no signing). Both floors run on a thread of their own with a single-threaded tokio runtime, as the functions do. The warm runs and both floors are interleaved in {ROUNDS} rounds; a ratio is the median over the rounds of (warm p50 / floor p50). The target is against the SDK floor.\n");
    let _ = writeln!(md, "| endpoint | status (1st / repeat) | warm p50 ms | p90 | p99 | SDK floor p50 ms | p90 | p99 | raw floor p50 ms | p99 | x SDK floor | x raw floor | target <= 1.2x SDK floor | CPU ms per invocation: function / SDK floor / raw floor | DynamoDB requests (1st) | round trips (1st) | requests / round trips (repeat) | round-trip target | peak RSS KiB after warm run | RSS <= 32 MB |");
    let _ = writeln!(
        md,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let mut broken = 0;
    for m in measured {
        // The repeat of a cashout is refused (nothing left to cash out): a 4xx there
        // is the expected answer, a 5xx is not. The ledger answers a plain result,
        // not an HTTP response.
        let answered =
            (200..300).contains(&m.status_first) && (200..500).contains(&m.status_steady);
        if !answered && m.function != "ledger" {
            broken += 1;
        }
        let _ = writeln!(md, "{}", warm_row(m, tally));
    }
    broken
}

/// The most round trips an endpoint may take, when it has a target.
fn round_trip_limit(m: &Measured) -> Option<usize> {
    match m.function {
        "wallet" | "affiliate" if m.label.contains("page 1") => Some(2),
        "wallet" | "affiliate" => Some(3),
        "cashout" | "summary" => Some(3),
        "aggregate" => Some(4),
        _ => None,
    }
}

fn warm_row(m: &Measured, tally: &mut Tally) -> String {
    let (w, f, fs) = (m.warm, m.floor, m.floor_sdk);
    let lat_ok = tally.check(
        m.ratio_sdk.is_some_and(|r| r <= 1.2),
        format!("{} warm ratio", m.label),
    );
    let rt_first = round_trips(&m.first);
    let rt_steady = round_trips(&m.steady);
    let rt_ok = match round_trip_limit(m) {
        Some(l) => format!(
            "<= {l}: {}",
            tally.check(
                rt_first <= l && rt_steady <= l,
                format!("{} round trips", m.label)
            )
        ),
        None => "-".into(),
    };
    let rss_ok = match m.rss_kib {
        Some(k) => tally
            .check(k <= 32 * 1024, format!("{} RSS", m.function))
            .to_owned(),
        None => "-".into(),
    };
    let status = |s: i64| {
        if m.function == "ledger" {
            "result".to_owned()
        } else {
            s.to_string()
        }
    };
    let (status_first, status_steady) = (status(m.status_first), status(m.status_steady));
    format!(
        "| {} | {status_first} / {status_steady} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {lat_ok} | {} / {} / {} | {} ({}) | {rt_first} | {} / {rt_steady} ({}) | {rt_ok} | {} | {rss_ok} |",
        m.label,
        fmt_opt(w.map(|s| s.p50), 2),
        fmt_opt(w.map(|s| s.p90), 2),
        fmt_opt(w.map(|s| s.p99), 2),
        fmt_opt(fs.map(|s| s.p50), 2),
        fmt_opt(fs.map(|s| s.p90), 2),
        fmt_opt(fs.map(|s| s.p99), 2),
        fmt_opt(f.map(|s| s.p50), 2),
        fmt_opt(f.map(|s| s.p99), 2),
        fmt_opt(m.ratio_sdk, 2),
        fmt_opt(m.ratio_raw, 2),
        fmt_opt(m.cpu[0], 2),
        fmt_opt(m.cpu[1], 2),
        fmt_opt(m.cpu[2], 2),
        m.first.len(),
        describe(&m.first),
        m.steady.len(),
        describe(&m.steady),
        m.rss_kib.map_or("-".into(), |k| k.to_string()),
    )
}

/// The Runtime API exchange alone (the floors, warm).
pub fn exchange(md: &mut String, exchange: &[(&str, Option<Summary>)], n_warm: usize) {
    for (name, s) in exchange {
        let _ = writeln!(
            md,
            "{}Warm `{name}` (a hello-world function: the Runtime API exchange alone, no DynamoDB), {n_warm} invocations alternating with the other floor: p50 {} ms, p90 {} ms, p99 {} ms.",
            if *name == "floor_f0" { "\n" } else { "" },
            fmt_opt(s.map(|s| s.p50), 3),
            fmt_opt(s.map(|s| s.p90), 3),
            fmt_opt(s.map(|s| s.p99), 3),
        );
    }
}

/// Both scaling series, each with its "flat" target.
pub fn scaling(md: &mut String, tally: &mut Tally, scaling: &[ScaleRow], history: &[ScaleRow]) {
    let _ = writeln!(md, "\n## Scaling\n");
    let _ = writeln!(md, "Every case beside its floors: the requests of that case (captured by a second process behind the recording proxy) made with the SDK and replayed raw. The cases of a series are interleaved: {ROUNDS} rounds, each running every case (function, raw floor, SDK floor); \"x first case\" is the median over the rounds of (this case's p50 / the first case's p50 in the same round). If the floor grows as much as the function does, the growth is DynamoDB Local's, not the function's.\n");
    let (worst, worst_floor) = scale_table(md, "case", scaling, |_| 0);
    if !scaling.is_empty() {
        let ok = tally.check(worst <= 1.3, "aggregate latency flat".into());
        let _ = writeln!(
            md,
            "\nAggregate latency flat within 1.3x from 0 to 10 children: {ok} (worst {worst:.2}x; its SDK floor grows {worst_floor:.2}x).\n"
        );
    }
    // Page 1 rows are compared with the first page-1 row, last-page rows with the first last-page row.
    let (worst_h, worst_hf) = scale_table(
        md,
        "wallet case (x first case: x history 10, same page kind)",
        history,
        |i| i % 2,
    );
    if !history.is_empty() {
        let ok = tally.check(worst_h <= 1.3, "wallet latency flat over history".into());
        let _ = writeln!(md, "\nWallet latency flat within 1.3x over history size: {ok} (worst {worst_h:.2}x; its SDK floor {worst_hf:.2}x). The histories are bulk-written (BatchWriteItem of model entries, `public_count` set directly; balances untouched).");
    }
}

/// Writes a scaling table; `base_of(i)` is the index of the row row `i` is
/// compared with. Returns the largest "x first case" of the function and of its
/// SDK floor.
fn scale_table(
    md: &mut String,
    what: &str,
    rows: &[ScaleRow],
    base_of: impl Fn(usize) -> usize,
) -> (f64, f64) {
    let (mut worst, mut worst_floor) = (0.0_f64, 0.0_f64);
    let _ = writeln!(md, "| {what} | p50 ms | p90 ms | p99 ms | x first case | SDK floor p50 ms | SDK floor x first case | raw floor p50 ms | raw floor x first case | x SDK floor | requests / round trips |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, row) in rows.iter().enumerate() {
        let Some(base) = rows.get(base_of(i)) else {
            continue;
        };
        let r = bench::median_ratio(&row.round_warm, &base.round_warm);
        let r_sdk = bench::median_ratio(&row.round_sdk, &base.round_sdk);
        let r_raw = bench::median_ratio(&row.round_raw, &base.round_raw);
        worst = worst.max(r.unwrap_or(0.0));
        worst_floor = worst_floor.max(r_sdk.unwrap_or(0.0));
        let p50 = |s: Option<Summary>| s.map(|s| s.p50);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
            row.label,
            fmt_opt(p50(row.warm), 2),
            fmt_opt(row.warm.map(|s| s.p90), 2),
            fmt_opt(row.warm.map(|s| s.p99), 2),
            fmt_opt(r, 2),
            fmt_opt(p50(row.sdk), 2),
            fmt_opt(r_sdk, 2),
            fmt_opt(p50(row.raw), 2),
            fmt_opt(r_raw, 2),
            fmt_opt(row.ratio_sdk, 2),
            row.requests,
            row.round_trips,
        );
    }
    (worst, worst_floor)
}
