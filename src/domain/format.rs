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

/// An amount as people write it in its currency: `1999` USD → `$19.99`, `4900` EUR →
/// `49,00 €`, `500` JPY → `¥500`. The symbol and separators are the currency's own (from
/// rusty-money's ISO table); a currency written with a decimal comma puts its symbol after the
/// amount, as the people who write it so do; a `$` of another country says which (`CA$12.00`).
/// A code the table does not know prints as `19.99 XYZ`.
pub fn human_price(amount_minor: i64, currency: &str) -> String {
    use rusty_money::{Formatter, LocalFormat, Money, Params, Position, iso};
    let amount_text = || format!("{} {currency}", super::Price::amount_text(amount_minor, currency));
    let Some(found) = iso::find(currency) else { return amount_text() };
    let digits = super::price::minor_digits(currency);
    // Satchel's own minor units decide where the point goes, so stored amounts read as stored.
    let Ok(amount) = rust_decimal::Decimal::try_new(amount_minor, digits) else { return amount_text() };
    let local = LocalFormat::from_locale(found.locale);
    let symbol: &'static str = match found.symbol {
        "$" if found.iso_alpha_code != "USD" => dollar_of(found.iso_alpha_code),
        symbol => symbol,
    };
    let decimal_comma = local.exponent_separator == ',';
    let positions = if decimal_comma || !found.symbol_first {
        vec![Position::Sign, Position::Amount, Position::Space, Position::Symbol]
    } else {
        vec![Position::Sign, Position::Symbol, Position::Amount]
    };
    let params = Params {
        digit_separator: local.digit_separator,
        exponent_separator: local.exponent_separator,
        // Grouped all the way up, however large a sum gets.
        separator_pattern: vec![3; 7],
        positions,
        rounding: None,
        symbol: Some(symbol),
        code: Some(found.iso_alpha_code),
    };
    Formatter::money(&Money::from_decimal(amount, found), params)
}

/// A cell of a CSV export that a spreadsheet will not run: text starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets (a
/// customer could name themselves `=HYPERLINK(…)`), so it gets a leading `'`, as OWASP advises.
pub fn csv_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// `2026-11-24T15:41:13Z` (UTC): a time a spreadsheet reads.
pub fn csv_time(millis: Millis) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// `CA$`, `AU$`, `HK$`…: a dollar that is not the US one, named by its country.
fn dollar_of(code: &'static str) -> &'static str {
    match code {
        "AUD" => "AU$",
        "CAD" => "CA$",
        "HKD" => "HK$",
        "MXN" => "MX$",
        "NZD" => "NZ$",
        "SGD" => "SG$",
        "TWD" => "NT$",
        _ => code,
    }
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
        assert_eq!(human_price(1999, "USD"), "$19.99");
        assert_eq!(human_price(4900, "EUR"), "49,00 €");
        assert_eq!(human_price(123_456_789, "EUR"), "1.234.567,89 €");
        assert_eq!(human_price(123_456, "USD"), "$1,234.56");
        assert_eq!(human_price(1250, "GBP"), "£12.50");
        assert_eq!(human_price(500, "JPY"), "¥500");
        assert_eq!(human_price(1200, "CAD"), "CA$12.00");
        assert_eq!(human_price(5, "USD"), "$0.05");
        assert_eq!(human_price(i64::MAX, "USD"), "$92,233,720,368,547,758.07");
        assert_eq!(human_price(1999, "XYZ"), "19.99 XYZ");
        assert_eq!(csv_time(1_795_000_000_000), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        for (raw, safe) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Ada = Lovelace", "Ada = Lovelace"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(raw), safe, "{raw:?}");
        }
    }
}
