//! System-wide ids: positive integers that JavaScript clients read exactly.

/// The largest id a JavaScript client reads exactly (2^53 - 1).
pub const MAX_ID: i64 = (1 << 53) - 1;

/// Parses an id as clients send it (a token's id, a payout id in a path):
/// 1 to 16 decimal digits, within `1..=MAX_ID`. `None` otherwise.
pub fn parse_id(value: &str) -> Option<i64> {
    if value.is_empty() || value.len() > 16 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|id| (1..=MAX_ID).contains(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_digits_within_the_javascript_range() {
        assert_eq!(parse_id("1"), Some(1));
        assert_eq!(parse_id("007"), Some(7), "leading zeros");
        assert_eq!(parse_id("99999999999999999"), None);
        assert_eq!(parse_id("0009007199254740991"), None, "over 16 digits");
        assert_eq!(parse_id("9007199254740991"), Some(MAX_ID));
        assert_eq!(parse_id("9007199254740992"), None);
        for bad in ["", "0", "-1", "+1", "1.0", " 1", "a", "１"] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }
}
