//! `page` and `limit` (docs/api.md#pagination) and the page arithmetic of
//! lists with contiguous sequence numbers.

use serde::Serialize;

pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 100;

/// A bad `page` or `limit` (page first when both are bad).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("bad page parameter")]
    BadPage,
    #[error("bad limit parameter")]
    BadLimit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub limit: i64,
}

/// Parses a decimal digit string (leading zeros allowed). `Ok(None)` when absent
/// or empty; `Err` for anything else that is not digits or exceeds `i64::MAX`.
fn digits(value: Option<&str>) -> Result<Option<i64>, ()> {
    match value {
        None | Some("") => Ok(None),
        Some(v) if v.bytes().all(|c| c.is_ascii_digit()) => {
            let significant = v.trim_start_matches('0');
            if significant.is_empty() {
                return Ok(Some(0));
            }
            significant.parse::<i64>().map(Some).map_err(|_| ())
        }
        Some(_) => Err(()),
    }
}

/// Validates `page` then `limit` (page first when both are bad).
pub fn parse_page_request(
    page: Option<&str>,
    limit: Option<&str>,
) -> Result<PageRequest, PageError> {
    let page = match digits(page) {
        Ok(None) => 1,
        Ok(Some(p)) if p >= 1 => p,
        _ => return Err(PageError::BadPage),
    };
    let limit = match digits(limit) {
        Ok(None) => DEFAULT_LIMIT,
        Ok(Some(l)) if (1..=MAX_LIMIT).contains(&l) => l,
        _ => return Err(PageError::BadLimit),
    };
    Ok(PageRequest { page, limit })
}

/// Where a page falls in a list of `total` entries numbered 1..=total, newest
/// (highest) first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageWindow {
    /// Highest and lowest sequence number on the page, or `None` past the end.
    pub seqs: Option<(i64, i64)>,
    /// 1-based position of the first item (`from`).
    pub from: Option<i64>,
}

impl PageRequest {
    pub fn window(&self, total: i64) -> PageWindow {
        let skipped = (self.page - 1).checked_mul(self.limit);
        match skipped {
            Some(skipped) if skipped < total => {
                let high = total - skipped;
                let low = (high - self.limit + 1).max(1);
                PageWindow {
                    seqs: Some((high, low)),
                    from: Some(skipped + 1),
                }
            }
            _ => PageWindow {
                seqs: None,
                from: None,
            },
        }
    }
}

/// The paginated collection (a subset of Laravel's length-aware paginator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paginated<T> {
    pub data: Vec<T>,
    pub current_page: i64,
    pub per_page: i64,
    pub total: i64,
    pub last_page: i64,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl<T> Paginated<T> {
    pub fn new(request: PageRequest, total: i64, data: Vec<T>) -> Self {
        let window = request.window(total);
        let count = i64::try_from(data.len()).unwrap_or(i64::MAX);
        let (from, to) = match window.from {
            Some(from) if count > 0 => (Some(from), Some(from + count - 1)),
            _ => (None, None),
        };
        Self {
            data,
            current_page: request.page,
            per_page: request.limit,
            total,
            last_page: ((total + request.limit - 1) / request.limit).max(1),
            from,
            to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: Option<&str>, l: Option<&str>) -> Result<PageRequest, PageError> {
        parse_page_request(p, l)
    }

    #[test]
    fn defaults_and_valid_values() {
        assert_eq!(parse(None, None), Ok(PageRequest { page: 1, limit: 10 }));
        assert_eq!(
            parse(Some(""), Some("")),
            Ok(PageRequest { page: 1, limit: 10 })
        );
        assert_eq!(
            parse(Some("007"), Some("0100")),
            Ok(PageRequest {
                page: 7,
                limit: 100
            })
        );
        assert_eq!(
            parse(Some("9223372036854775807"), Some("1")),
            Ok(PageRequest {
                page: i64::MAX,
                limit: 1
            })
        );
        assert_eq!(
            parse(Some("0009223372036854775807"), None).map(|r| r.page),
            Ok(i64::MAX)
        );
    }

    #[test]
    fn bad_values_are_refused_page_first() {
        // The exact messages of both are checked where they are mapped (http::error).
        let page = PageError::BadPage;
        let limit = PageError::BadLimit;
        for bad in [
            "0",
            "-1",
            "+1",
            "1.0",
            "1e3",
            "abc",
            " 1",
            "9223372036854775808",
            "١",
        ] {
            assert_eq!(parse(Some(bad), None), Err(page), "{bad}");
        }
        for bad in ["0", "101", "-5", "ten", "99999999999999999999"] {
            assert_eq!(parse(None, Some(bad)), Err(limit), "{bad}");
        }
        assert_eq!(parse(Some("x"), Some("x")), Err(page));
    }

    #[test]
    fn windows() {
        let r = |page, limit| PageRequest { page, limit };
        assert_eq!(r(1, 10).window(57).seqs, Some((57, 48)));
        assert_eq!(r(6, 10).window(57).seqs, Some((7, 1)));
        assert_eq!(r(6, 10).window(57).from, Some(51));
        assert_eq!(r(7, 10).window(57).seqs, None);
        assert_eq!(r(1, 10).window(0).seqs, None);
        assert_eq!(r(i64::MAX, 100).window(57).seqs, None);
    }

    #[test]
    fn paginator_fields() {
        let p = Paginated::new(PageRequest { page: 6, limit: 10 }, 57, vec![0; 7]);
        assert_eq!((p.last_page, p.from, p.to), (6, Some(51), Some(57)));
        let past = Paginated::<u8>::new(PageRequest { page: 9, limit: 10 }, 57, vec![]);
        assert_eq!((past.last_page, past.from, past.to), (6, None, None));
        let empty = Paginated::<u8>::new(PageRequest { page: 1, limit: 10 }, 0, vec![]);
        assert_eq!(
            (empty.last_page, empty.from, empty.to, empty.total),
            (1, None, None, 0)
        );
    }
}
