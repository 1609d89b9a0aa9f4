//! Object IDs as dockerd makes them: 64 lowercase hex characters from the OS random source.

/// A new random 64-hex-character ID (32 random bytes).
pub fn random_id() -> String {
    let mut buf = [0u8; 32];
    // getrandom only fails when the kernel has no entropy interface at all; nothing else works then.
    getrandom::fill(&mut buf).expect("the OS random source is unavailable");
    let id = hex::encode(buf);
    // dockerd avoids IDs that parse as a number in scientific notation, so short IDs never look numeric.
    if id[..12].bytes().all(|b| b.is_ascii_digit()) {
        return random_id();
    }
    id
}

/// True when `s` is a full 64-character lowercase hex ID.
pub fn is_full_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The 12-character short form used in CLI output.
pub fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_full_and_distinct() {
        let a = random_id();
        let b = random_id();
        assert!(is_full_id(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn short_id_strips_algorithm() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }

    #[test]
    fn full_id_rejects_uppercase_and_short() {
        assert!(!is_full_id(&"A".repeat(64)));
        assert!(!is_full_id("abc"));
    }
}
