//! Reading and writing attribute values without panics.

pub use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ItemError {
    #[error("attribute {0} is missing")]
    Missing(String),
    #[error("attribute {0} has the wrong type or value")]
    Invalid(String),
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn b(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

/// `S` or `NULL`.
pub fn opt_s(value: Option<&str>) -> AttributeValue {
    match value {
        Some(v) => s(v),
        None => AttributeValue::Null(true),
    }
}

pub fn get_str<'a>(item: &'a Item, name: &str) -> Result<&'a str, ItemError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(ItemError::Invalid(name.to_owned())),
        None => Err(ItemError::Missing(name.to_owned())),
    }
}

/// A string attribute that may be absent or `NULL`.
pub fn get_opt_str<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, ItemError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        Some(AttributeValue::Null(_)) | None => Ok(None),
        Some(_) => Err(ItemError::Invalid(name.to_owned())),
    }
}

pub fn get_i64(item: &Item, name: &str) -> Result<i64, ItemError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse::<i64>()
            .map_err(|_| ItemError::Invalid(name.to_owned())),
        Some(_) => Err(ItemError::Invalid(name.to_owned())),
        None => Err(ItemError::Missing(name.to_owned())),
    }
}

pub fn get_opt_i64(item: &Item, name: &str) -> Result<Option<i64>, ItemError> {
    match item.get(name) {
        Some(AttributeValue::Null(_)) | None => Ok(None),
        Some(_) => get_i64(item, name).map(Some),
    }
}

/// A boolean attribute; absent means false.
pub fn get_bool(item: &Item, name: &str) -> Result<bool, ItemError> {
    match item.get(name) {
        Some(AttributeValue::Bool(v)) => Ok(*v),
        Some(AttributeValue::Null(_)) | None => Ok(false),
        Some(_) => Err(ItemError::Invalid(name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes() {
        let item: Item = [
            ("a".to_owned(), s("x")),
            ("b".to_owned(), n(-5)),
            ("c".to_owned(), b(true)),
            ("d".to_owned(), opt_s(None)),
        ]
        .into();
        assert_eq!(get_str(&item, "a"), Ok("x"));
        assert_eq!(get_i64(&item, "b"), Ok(-5));
        assert_eq!(get_bool(&item, "c"), Ok(true));
        assert_eq!(get_opt_str(&item, "d"), Ok(None));
        assert_eq!(get_opt_i64(&item, "zz"), Ok(None));
        assert_eq!(get_bool(&item, "zz"), Ok(false));
    }

    #[test]
    fn wrong_types_are_errors_not_panics() {
        let item: Item = [
            ("a".to_owned(), s("x")),
            ("n".to_owned(), AttributeValue::N("1.5".into())),
        ]
        .into();
        assert_eq!(get_i64(&item, "a"), Err(ItemError::Invalid("a".into())));
        assert_eq!(get_i64(&item, "n"), Err(ItemError::Invalid("n".into())));
        assert_eq!(get_str(&item, "n"), Err(ItemError::Invalid("n".into())));
        assert_eq!(get_str(&item, "q"), Err(ItemError::Missing("q".into())));
        assert_eq!(get_bool(&item, "a"), Err(ItemError::Invalid("a".into())));
    }
}
