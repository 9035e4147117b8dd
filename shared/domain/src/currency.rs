//! The currencies a wallet can hold, their ids and codes.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Currency {
    Usd,
    Eur,
    Gbp,
}

impl Currency {
    pub const ALL: [Currency; 3] = [Currency::Usd, Currency::Eur, Currency::Gbp];

    pub fn id(self) -> i64 {
        match self {
            Currency::Usd => 1,
            Currency::Eur => 2,
            Currency::Gbp => 3,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
        }
    }

    pub fn from_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Accepts the code in any letter case.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code.trim()))
    }

    /// The payout-detail fields a payout in this currency needs.
    pub fn payout_fields(self) -> &'static [&'static str] {
        match self {
            Currency::Usd => &["account_number", "routing_number"],
            Currency::Eur => &["iban", "bic_swift"],
            Currency::Gbp => &["account_number", "sort_code"],
        }
    }
}

/// Formats minor units as a decimal amount with two places: 1000 -> "10.00".
pub fn format_minor(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_codes_round_trip() {
        for c in Currency::ALL {
            assert_eq!(Currency::from_id(c.id()), Some(c));
            assert_eq!(Currency::from_code(c.code()), Some(c));
        }
        assert_eq!(Currency::from_code("eur"), Some(Currency::Eur));
        assert_eq!(Currency::from_id(4), None);
        assert_eq!(Currency::from_code("JPY"), None);
        assert_eq!(Currency::Usd.id(), 1);
        assert_eq!(Currency::Gbp.id(), 3);
    }

    #[test]
    fn minor_units_format() {
        assert_eq!(format_minor(1000), "10.00");
        assert_eq!(format_minor(5), "0.05");
        assert_eq!(format_minor(123456), "1234.56");
        assert_eq!(format_minor(-250), "-2.50");
        assert_eq!(format_minor(i64::MIN), "-92233720368547758.08");
    }
}
