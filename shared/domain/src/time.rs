//! Times are UTC epoch seconds inside, `YYYY-MM-DD HH:MM:SS` in responses.

use chrono::{DateTime, Utc};

pub fn now_epoch() -> i64 {
    Utc::now().timestamp()
}

/// `"YYYY-MM-DD HH:MM:SS"` in UTC (the source's format).
pub fn format_created_at(epoch_seconds: i64) -> String {
    match DateTime::<Utc>::from_timestamp(epoch_seconds, 0) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => "1970-01-01 00:00:00".to_owned(),
    }
}

/// Parses an RFC 3339 time (any offset) into UTC epoch seconds.
pub fn parse_rfc3339(value: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(value.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(format_created_at(0), "1970-01-01 00:00:00");
        assert_eq!(format_created_at(1_776_680_100), "2026-04-20 10:15:00");
    }

    #[test]
    fn parses_offsets_into_utc() {
        assert_eq!(parse_rfc3339("2026-04-20T10:15:00Z"), Some(1_776_680_100));
        assert_eq!(
            parse_rfc3339("2026-04-20T12:15:00+02:00"),
            Some(1_776_680_100)
        );
        assert_eq!(parse_rfc3339("2026-04-20 10:15:00"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
