//! Times in API answers: RFC 3339 strings.

use crate::domain::Millis;

/// Unix milliseconds as RFC 3339 (`2026-11-24T15:41:13.123Z`).
pub fn rfc3339(millis: Millis) -> String {
    let nanos = i128::from(millis) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}
