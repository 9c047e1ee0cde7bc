//! How numbers and dates read on pages and in emails.

use super::Millis;

/// `1536` → `1.5 KB`; decimal units, as file managers show them.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if value < 10.0 { format!("{value:.1} {}", UNITS[unit]) } else { format!("{value:.0} {}", UNITS[unit]) }
}

/// A limit as a person set it: `5 GB` for 5 GiB (limits are configured in binary units, which
/// [`human_size`]'s decimal units would print as `5.4 GB`); anything that is not a whole number
/// of KiB, MiB, GiB or TiB reads as [`human_size`] does.
pub fn human_limit(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    let whole = UNITS.iter().enumerate().rev().find_map(|(i, unit)| {
        let size = 1u64 << (10 * (i as u32 + 1));
        (bytes >= size && bytes.is_multiple_of(size)).then(|| format!("{} {unit}", bytes / size))
    });
    whole.unwrap_or_else(|| human_size(i64::try_from(bytes).unwrap_or(i64::MAX)))
}

/// `24 November 2026` (UTC).
pub fn human_date(millis: Millis) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:long] [year]");
    time::OffsetDateTime::from_unix_timestamp(millis / 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// `24 November 2026, 16:45 UTC`: for moments that matter to the minute (link expiry).
pub fn human_date_time(millis: Millis) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:long] [year], [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(millis / 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// `1999`, `USD` → `19.99 USD` (zero-decimal currencies like JPY print whole).
pub fn human_price(amount_minor: i64, currency: &str) -> String {
    format!("{} {currency}", super::Price::amount_text(amount_minor, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_dates_prices() {
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(52_428_800), "52 MB");
        assert_eq!(human_limit(5 * 1024 * 1024 * 1024), "5 GB");
        assert_eq!(human_limit(1536 * 1024 * 1024), "1536 MB");
        assert_eq!(human_limit(50 << 20), "50 MB");
        assert_eq!(human_limit(1024), "1 KB");
        assert_eq!(human_limit(1000), "1.0 KB");
        assert_eq!(human_limit(999), "999 bytes");
        assert_eq!(human_date(1_795_000_000_000), "18 November 2026");
        assert_eq!(human_date_time(1_795_000_000_000), "18 November 2026, 11:06 UTC");
        assert_eq!(human_price(1999, "USD"), "19.99 USD");
        assert_eq!(human_price(500, "JPY"), "500 JPY");
    }
}
