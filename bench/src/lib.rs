//! The benchmark harness: measurement helpers (unit-tested here), a minimal Lambda
//! Runtime API server that times a bootstrap's first `GET .../invocation/next`, and a
//! counting proxy in front of DynamoDB Local that records every request of an
//! invocation (to count requests and sequential round trips, and to replay them as the
//! DynamoDB floor).

pub mod proxy;
pub mod runtime;

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
}
