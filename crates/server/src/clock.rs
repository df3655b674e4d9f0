//! Wall-clock time for records. Kept in one place so the rest of the server never reads the clock ad hoc.

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        // A clock before 1970 is a broken machine; records then read 0 rather than the server failing.
        .unwrap_or(0)
}
