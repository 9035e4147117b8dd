//! EventBridge schedule expressions (`rate(...)`) and the scheduled event a
//! function receives.

use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::time::Duration;

/// Parses `rate(value unit)` as EventBridge does: a positive integer and
/// `minute`/`hour`/`day` (singular for 1, plural otherwise).
/// `cron(...)` expressions are not supported locally.
pub fn parse_rate(expression: &str) -> Result<Duration> {
    let expression = expression.trim();
    if expression.starts_with("cron(") {
        bail!("{expression}: cron expressions are not supported by the local scheduler");
    }
    let Some(inner) = expression
        .strip_prefix("rate(")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        bail!("{expression:?} is not a rate(...) expression");
    };
    let mut parts = inner.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        bail!("{expression:?}: expected rate(<value> <unit>)");
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        bail!("{expression:?}: the value must be a positive integer");
    }
    let Ok(n) = value.parse::<u64>() else {
        bail!("{expression:?}: the value is too large");
    };
    if n == 0 {
        bail!("{expression:?}: the value must be a positive integer");
    }
    let (singular, plural, seconds) = match unit {
        "minute" | "minutes" => ("minute", "minutes", 60),
        "hour" | "hours" => ("hour", "hours", 3600),
        "day" | "days" => ("day", "days", 86_400),
        _ => bail!("{expression:?}: the unit must be minute(s), hour(s) or day(s)"),
    };
    let expected = if n == 1 { singular } else { plural };
    if unit != expected {
        bail!("{expression:?}: write rate({n} {expected})");
    }
    let Some(total) = n.checked_mul(seconds) else {
        bail!("{expression:?}: the value is too large");
    };
    Ok(Duration::from_secs(total))
}

/// The event EventBridge sends to a scheduled function.
pub fn scheduled_event(rule: &str, region: &str, account: &str, id: &str, time: &str) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time,
        "region": region,
        "resources": [format!("arn:aws:events:{region}:{account}:rule/{rule}")],
        "detail": {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_like_eventbridge() {
        assert_eq!(
            parse_rate("rate(1 minute)").ok(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_rate("rate(5 minutes)").ok(),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_rate(" rate(1 hour) ").ok(),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            parse_rate("rate(2 hours)").ok(),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(
            parse_rate("rate(1 day)").ok(),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(
            parse_rate("rate(3 days)").ok(),
            Some(Duration::from_secs(259_200))
        );
    }

    #[test]
    fn bad_rates_are_refused() {
        for bad in [
            "rate(0 minutes)",
            "rate(1 minutes)",
            "rate(5 minute)",
            "rate(-1 minutes)",
            "rate(1.5 hours)",
            "rate(1 second)",
            "rate(minute)",
            "rate(1 minute",
            "rate()",
            "every minute",
            "rate(99999999999999999999 days)",
            "rate(999999999999999999 days)",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        let cron = parse_rate("cron(0 12 * * ? *)").expect_err("cron");
        assert!(cron.to_string().contains("not supported"));
    }

    #[test]
    fn the_scheduled_event_has_the_eventbridge_shape() {
        let e = scheduled_event(
            "rule1",
            "us-east-1",
            "123456789012",
            "id-1",
            "2026-04-20T10:15:00Z",
        );
        assert_eq!(e["detail-type"], "Scheduled Event");
        assert_eq!(e["source"], "aws.events");
        assert_eq!(
            e["resources"][0],
            "arn:aws:events:us-east-1:123456789012:rule/rule1"
        );
        assert_eq!(e["time"], "2026-04-20T10:15:00Z");
    }
}
