//! Configuration, read from the environment once at cold start.

use crate::currency::Currency;

/// Everything a function needs to know about its deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table_name: String,
    /// Default hold for earnings whose event names no `hold_seconds`.
    pub hold_seconds: i64,
    /// Minimum cashout per currency, in minor units.
    pub min_cashout_usd: i64,
    pub min_cashout_eur: i64,
    pub min_cashout_gbp: i64,
}

pub const DEFAULT_TABLE_NAME: &str = "creator-wallet";
pub const DEFAULT_HOLD_SECONDS: i64 = 3600;
pub const DEFAULT_MIN_CASHOUT: i64 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration variable {name} must be {expected}, got {value:?}")]
pub struct ConfigError {
    pub name: &'static str,
    pub expected: &'static str,
    pub value: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let number = |name: &'static str, default: i64, min: i64| -> Result<i64, ConfigError> {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(raw) => match raw.trim().parse::<i64>() {
                    Ok(v) if v >= min => Ok(v),
                    _ => Err(ConfigError {
                        name,
                        expected: if min == 0 {
                            "a non-negative integer"
                        } else {
                            "a positive integer"
                        },
                        value: raw,
                    }),
                },
            }
        };
        Ok(Self {
            table_name: lookup("TABLE_NAME")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_TABLE_NAME.to_owned()),
            hold_seconds: number("HOLD_SECONDS", DEFAULT_HOLD_SECONDS, 0)?,
            min_cashout_usd: number("MIN_CASHOUT_USD", DEFAULT_MIN_CASHOUT, 1)?,
            min_cashout_eur: number("MIN_CASHOUT_EUR", DEFAULT_MIN_CASHOUT, 1)?,
            min_cashout_gbp: number("MIN_CASHOUT_GBP", DEFAULT_MIN_CASHOUT, 1)?,
        })
    }

    pub fn min_cashout(&self, currency: Currency) -> i64 {
        match currency {
            Currency::Usd => self.min_cashout_usd,
            Currency::Eur => self.min_cashout_eur,
            Currency::Gbp => self.min_cashout_gbp,
        }
    }

    /// A configuration for tests and tools: defaults with the given table.
    pub fn for_table(table_name: impl Into<String>) -> Self {
        Self {
            table_name: table_name.into(),
            hold_seconds: DEFAULT_HOLD_SECONDS,
            min_cashout_usd: DEFAULT_MIN_CASHOUT,
            min_cashout_eur: DEFAULT_MIN_CASHOUT,
            min_cashout_gbp: DEFAULT_MIN_CASHOUT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        let c = from(&[("HOLD_SECONDS", "")]).unwrap();
        assert_eq!(c, Config::for_table(DEFAULT_TABLE_NAME));
        assert_eq!(c.hold_seconds, 3600);
        assert_eq!(c.min_cashout(Currency::Gbp), 1);
    }

    #[test]
    fn values_are_read() {
        let c = from(&[
            ("TABLE_NAME", "t1"),
            ("HOLD_SECONDS", "0"),
            ("MIN_CASHOUT_USD", "1000"),
            ("MIN_CASHOUT_EUR", "900"),
            ("MIN_CASHOUT_GBP", "800"),
        ])
        .unwrap();
        assert_eq!(c.table_name, "t1");
        assert_eq!(c.hold_seconds, 0);
        assert_eq!(c.min_cashout(Currency::Usd), 1000);
        assert_eq!(c.min_cashout(Currency::Eur), 900);
        assert_eq!(c.min_cashout(Currency::Gbp), 800);
    }

    #[test]
    fn bad_values_are_refused() {
        assert_eq!(
            from(&[("HOLD_SECONDS", "-1")]).unwrap_err().name,
            "HOLD_SECONDS"
        );
        assert_eq!(
            from(&[("MIN_CASHOUT_EUR", "0")]).unwrap_err().name,
            "MIN_CASHOUT_EUR"
        );
        assert!(from(&[("MIN_CASHOUT_USD", "1.5")]).is_err());
    }
}
