//! The ids Lambda makes up: request ids, X-Ray trace headers, log streams.

use std::time::{SystemTime, UNIX_EPOCH};

/// A random version 4 UUID (Lambda's request id format).
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An X-Ray trace header, as Lambda passes it.
pub fn trace_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        random_hex(24),
        random_hex(16)
    )
}

/// `len` random lower-case hex digits.
pub(crate) fn random_hex(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        out.push_str(&format!("{:032x}", rand::random::<u128>()));
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_v4() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{id}");
        assert!(
            matches!(parts[3].chars().next(), Some('8' | '9' | 'a' | 'b')),
            "{id}"
        );
        assert_ne!(request_id(), request_id());
    }

    #[test]
    fn trace_ids_have_the_xray_shape() {
        let t = trace_id();
        assert!(t.starts_with("Root=1-"), "{t}");
        assert!(t.ends_with(";Sampled=0"), "{t}");
        assert_eq!(random_hex(40).len(), 40);
    }
}
