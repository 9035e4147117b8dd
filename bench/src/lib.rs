//! The benchmark harness: measurement helpers (unit-tested here), a counting proxy
//! in front of DynamoDB Local that records every request of an invocation (to count
//! requests and sequential round trips, and to replay them as the DynamoDB floor),
//! the SDK floor, and CPU cgroups. The function processes run behind the Lambda
//! Runtime API of the `lambda-local` crate.

pub mod proxy;
pub mod sdk_floor;
pub mod throttle;

use std::path::Path;
use std::time::Duration;

/// The `q`-quantile (0..=1) of `samples` by the nearest-rank method, in the unit of
/// the samples. `None` for no samples.
pub fn percentile(samples: &[f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    let index = rank.saturating_sub(1).min(sorted.len() - 1);
    sorted.get(index).copied()
}

/// p50, p90 and p99 of `samples`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub n: usize,
}

pub fn summarize(samples: &[f64]) -> Option<Summary> {
    Some(Summary {
        p50: percentile(samples, 0.50)?,
        p90: percentile(samples, 0.90)?,
        p99: percentile(samples, 0.99)?,
        n: samples.len(),
    })
}

/// `value / base`, `None` when the base is not positive.
pub fn ratio(value: f64, base: f64) -> Option<f64> {
    (base > 0.0 && value.is_finite()).then(|| value / base)
}

/// Milliseconds of a duration, as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The peak resident set size (`VmHWM`) in KiB from the text of `/proc/PID/status`.
pub fn parse_vm_hwm_kib(status: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix("VmHWM:")?;
        let mut parts = rest.split_whitespace();
        let value: u64 = parts.next()?.parse().ok()?;
        match parts.next() {
            Some("kB") | None => Some(value),
            Some("mB") | Some("MB") => Some(value * 1024),
            _ => None,
        }
    })
}

/// The peak RSS of a running process, KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_hwm_kib(&status)
}

/// The size of a file in bytes (`None` when it does not exist).
pub fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// The number of sequential round trips of a set of requests, each given as its
/// (start, end) time: the longest chain of requests each of which starts after the
/// previous one ended. Requests in flight together count once.
pub fn sequential_round_trips(intervals: &[(f64, f64)]) -> usize {
    levels(intervals).into_iter().max().map_or(0, |l| l + 1)
}

/// The level of each request (0-based) in the chain order of
/// [`sequential_round_trips`]: requests of one level may be replayed concurrently.
pub fn levels(intervals: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by(|&a, &b| {
        let (sa, sb) = (intervals.get(a), intervals.get(b));
        sa.map(|x| x.0)
            .unwrap_or(0.0)
            .total_cmp(&sb.map(|x| x.0).unwrap_or(0.0))
    });
    let mut level = vec![0usize; intervals.len()];
    for (pos, &i) in order.iter().enumerate() {
        let Some(&(start, _)) = intervals.get(i) else {
            continue;
        };
        let mut best = 0;
        for &j in order.iter().take(pos) {
            if let (Some(&(_, end_j)), Some(&lj)) = (intervals.get(j), level.get(j)) {
                if end_j <= start {
                    best = best.max(lj + 1);
                }
            }
        }
        if let Some(slot) = level.get_mut(i) {
            *slot = best;
        }
    }
    level
}

/// The error type of a DynamoDB error answer (`{"__type": "com.amazonaws...#Name", ...}`):
/// the part after `#`, e.g. `TransactionCanceledException`. `None` for anything else.
pub fn error_type(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let full = value.get("__type")?.as_str()?;
    Some(full.rsplit('#').next().unwrap_or(full).to_owned())
}

/// CPU time (user + system, clock ticks) of a process from the text of `/proc/PID/stat`.
/// The command name may contain spaces and parentheses: fields are counted after the
/// last `)`.
pub fn parse_pid_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second of `/proc` times (`CLK_TCK`, 100 on Linux).
pub const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds a process has used so far (all its threads).
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_pid_stat_ticks(&stat).map(|t| t as f64 / TICKS_PER_SECOND)
}

/// (busy, total) clock ticks of all CPUs from the text of `/proc/stat` (the `cpu` line;
/// idle and iowait are not busy).
pub fn parse_machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3)? + values.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// CPU seconds the calling thread has used so far (`/proc/thread-self/stat`).
pub fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    parse_pid_stat_ticks(&stat).map(|t| t as f64 / TICKS_PER_SECOND)
}

/// Busy CPU seconds of the whole machine so far (all cores).
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine_ticks(&stat).map(|(busy, _)| busy as f64 / TICKS_PER_SECOND)
}

/// The socket inodes listening on TCP `port` in the text of `/proc/net/tcp` or
/// `/proc/net/tcp6` (state `0A`).
pub fn listening_inodes(net_tcp: &str, port: u16) -> Vec<u64> {
    net_tcp
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f.get(1)?.rsplit(':').next()?;
            let listening = *f.get(3)? == "0A";
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| f.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

/// The process listening on 127.0.0.1/any `port` (e.g. DynamoDB Local's JVM), found
/// through `/proc/net/tcp{,6}` and the socket links in `/proc/*/fd`.
pub fn pid_listening_on(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            inodes.extend(listening_inodes(&text, port));
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(link) = std::fs::read_link(fd.path()) {
                if wanted.iter().any(|w| link.as_os_str() == w.as_str()) {
                    return Some(pid);
                }
            }
        }
    }
    None
}

/// An SQS event (as Lambda hands it to the function) whose records carry `bodies`,
/// one record each; message ids `{prefix}-0`, `{prefix}-1`, ...
pub fn sqs_batch(prefix: &str, bodies: &[serde_json::Value]) -> serde_json::Value {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            serde_json::json!({
                "messageId": format!("{prefix}-{i}"),
                "receiptHandle": format!("rh-{prefix}-{i}"),
                "body": body.to_string(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1776680100000",
                               "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1776680100001"},
                "messageAttributes": {},
                "md5OfBody": "00000000000000000000000000000000",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:wallet-ledger-events",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// The message ids an SQS partial batch response names as failed
/// (`{"batchItemFailures": [{"itemIdentifier": ...}]}`); `None` when the answer is not
/// such a response.
pub fn batch_failures(answer: &[u8]) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_slice(answer).ok()?;
    let failures = value.get("batchItemFailures")?.as_array()?;
    Some(
        failures
            .iter()
            .filter_map(|f| f.get("itemIdentifier")?.as_str().map(str::to_owned))
            .collect(),
    )
}

/// The port of an `http://HOST:PORT[/...]` endpoint.
pub fn endpoint_port(endpoint: &str) -> Option<u16> {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = rest.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

/// The median over rounds of `a[i] / b[i]` (pairs with a non-positive `b` are
/// skipped): a ratio of two series measured side by side, round by round.
pub fn median_ratio(a: &[f64], b: &[f64]) -> Option<f64> {
    let ratios: Vec<f64> = a.iter().zip(b).filter_map(|(&x, &y)| ratio(x, y)).collect();
    median(&ratios)
}

/// The median of `samples` (the p50 by nearest rank), `None` for none.
pub fn median(samples: &[f64]) -> Option<f64> {
    percentile(samples, 0.5)
}

/// Formats an optional number with `digits` decimals, `-` when absent.
pub fn fmt_opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 0.5), Some(50.0));
        assert_eq!(percentile(&samples, 0.9), Some(90.0));
        assert_eq!(percentile(&samples, 0.99), Some(99.0));
        assert_eq!(percentile(&samples, 1.0), Some(100.0));
        assert_eq!(percentile(&samples, 0.0), Some(1.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn summarize_reports_three_quantiles() {
        let s = summarize(&[5.0, 1.0, 4.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.p50, s.p90, s.p99, s.n), (3.0, 5.0, 5.0, 5));
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn ratio_guards_zero_base() {
        assert_eq!(ratio(3.0, 2.0), Some(1.5));
        assert_eq!(ratio(3.0, 0.0), None);
        assert_eq!(ratio(f64::NAN, 1.0), None);
    }

    #[test]
    fn vm_hwm_is_parsed_from_proc_status() {
        let status =
            "Name:\twallet\nVmPeak:\t  100000 kB\nVmHWM:\t    9876 kB\nVmRSS:\t    9000 kB\n";
        assert_eq!(parse_vm_hwm_kib(status), Some(9876));
        assert_eq!(parse_vm_hwm_kib("Name:\tx\n"), None);
        assert_eq!(parse_vm_hwm_kib("VmHWM:\tabc kB\n"), None);
        // Our own process has one.
        assert!(peak_rss_kib(std::process::id()).is_some_and(|k| k > 0));
    }

    #[test]
    fn file_size_of_a_zip_and_of_nothing() {
        let dir = std::env::temp_dir().join(format!("bench-size-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let zip = dir.join("bootstrap.zip");
        std::fs::write(&zip, vec![0u8; 1234]).unwrap();
        assert_eq!(file_size(&zip), Some(1234));
        assert_eq!(file_size(&dir.join("missing.zip")), None);
        assert_eq!(file_size(&dir), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn round_trips_count_overlapping_requests_once() {
        assert_eq!(sequential_round_trips(&[]), 0);
        assert_eq!(sequential_round_trips(&[(0.0, 1.0)]), 1);
        // Two sequential requests.
        assert_eq!(sequential_round_trips(&[(0.0, 1.0), (1.5, 2.0)]), 2);
        // A parallel fan-out of three, then one more.
        let fan = [(0.0, 1.0), (0.1, 1.2), (0.2, 0.9), (1.3, 2.0)];
        assert_eq!(sequential_round_trips(&fan), 2);
        assert_eq!(levels(&fan), vec![0, 0, 0, 1]);
        // Unsorted input.
        assert_eq!(
            sequential_round_trips(&[(3.0, 4.0), (0.0, 1.0), (2.0, 2.5)]),
            3
        );
    }

    #[test]
    fn fmt_opt_prints_dash_for_none() {
        assert_eq!(fmt_opt(Some(1.234), 2), "1.23");
        assert_eq!(fmt_opt(None, 2), "-");
    }
    #[test]
    fn error_type_is_the_name_after_the_hash() {
        let body = br#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"x"}"#;
        assert_eq!(
            error_type(body).as_deref(),
            Some("TransactionCanceledException")
        );
        assert_eq!(
            error_type(br#"{"__type":"Plain"}"#).as_deref(),
            Some("Plain")
        );
        assert_eq!(error_type(br#"{"Item":{}}"#), None);
        assert_eq!(error_type(b"not json"), None);
    }

    #[test]
    fn pid_stat_ticks_are_utime_plus_stime() {
        let stat =
            "1234 (java (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 70 0 0 20 0 40 0 1000 0 0";
        assert_eq!(parse_pid_stat_ticks(stat), Some(320));
        assert_eq!(parse_pid_stat_ticks("garbage"), None);
        assert!(process_cpu_seconds(std::process::id()).is_some());
        // This thread's CPU grows when it works.
        let before = thread_cpu_seconds().unwrap();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(thread_cpu_seconds().unwrap() > before);
    }

    #[test]
    fn machine_ticks_count_idle_and_iowait_as_not_busy() {
        let stat = "cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n";
        assert_eq!(parse_machine_ticks(stat), Some((160, 980)));
        assert_eq!(parse_machine_ticks("intr 1\n"), None);
        assert!(machine_busy_seconds().is_some());
    }

    #[test]
    fn listening_inodes_match_port_and_state() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:223D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:223D 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1\n   2: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(listening_inodes(text, 8765), vec![4242]);
        assert_eq!(listening_inodes(text, 80), vec![4444]);
        assert!(listening_inodes(text, 81).is_empty());
        // Our own listener is found.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(pid_listening_on(port), Some(std::process::id()));
        drop(listener);
        assert_eq!(pid_listening_on(port), None);
    }

    #[test]
    fn sqs_batch_has_the_shape_the_ledger_reads() {
        let events = [
            serde_json::json!({"kind": "fee", "event_id": "e1"}),
            serde_json::json!({"kind": "fee", "event_id": "e2"}),
        ];
        let batch = sqs_batch("b7", &events);
        let records = batch["Records"].as_array().unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1]["messageId"], "b7-1");
        assert_eq!(records[0]["eventSource"], "aws:sqs");
        let body: serde_json::Value =
            serde_json::from_str(records[1]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body, events[1]);
    }

    #[test]
    fn batch_failures_lists_failed_message_ids() {
        assert_eq!(batch_failures(br#"{"batchItemFailures":[]}"#), Some(vec![]));
        assert_eq!(
            batch_failures(br#"{"batchItemFailures":[{"itemIdentifier":"m-3"}]}"#),
            Some(vec!["m-3".to_owned()])
        );
        assert_eq!(batch_failures(br#"[{"status":"applied"}]"#), None);
    }

    #[test]
    fn endpoint_port_is_read_from_the_url() {
        assert_eq!(endpoint_port("http://127.0.0.1:8765"), Some(8765));
        assert_eq!(endpoint_port("http://localhost:8000/"), Some(8000));
        assert_eq!(endpoint_port("http://127.0.0.1"), None);
    }

    #[test]
    fn median_ratio_pairs_rounds() {
        assert_eq!(median_ratio(&[2.0, 3.0, 10.0], &[1.0, 2.0, 2.0]), Some(2.0));
        assert_eq!(median_ratio(&[2.0, 3.0], &[0.0, 3.0]), Some(1.0));
        assert_eq!(median_ratio(&[], &[]), None);
    }

    #[test]
    fn median_of_rounds() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
    }
}
