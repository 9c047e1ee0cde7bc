//! Prices: an amount in minor units (cents) and an ISO 4217 currency.

use super::Invalid;

/// A three-letter ISO 4217 currency code, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    /// Accepts `usd` or `USD`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Currency, Invalid> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(Invalid::new(field, "must be a three-letter currency code like USD"));
        }
        Ok(Currency(code))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits after the decimal point: 0 for currencies without minor units (JPY, KRW, …).
    pub fn minor_digits(&self) -> u32 {
        minor_digits(&self.0)
    }
}

/// Currencies whose amounts have no minor units.
const ZERO_DECIMAL: [&str; 8] = ["JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"];

/// Digits after the decimal point for the currency `code`.
pub fn minor_digits(code: &str) -> u32 {
    if ZERO_DECIMAL.contains(&code) { 0 } else { 2 }
}

/// The largest amount accepted anywhere, in minor units: twelve digits, the widest a payment
/// provider takes (Stripe allows up to 12 digits for some currencies, 8 for most). Bounding
/// every amount keeps sums of millions of orders far inside an `i64`.
pub const MAX_AMOUNT_MINOR: i64 = 999_999_999_999;

/// An amount in minor units as `field` of a request: from 0 to [`MAX_AMOUNT_MINOR`].
pub fn check_amount(field: &'static str, amount_minor: i64) -> Result<i64, Invalid> {
    if amount_minor < 0 {
        return Err(Invalid::new(field, "must not be negative"));
    }
    if amount_minor > MAX_AMOUNT_MINOR {
        return Err(Invalid::new(field, format!("must be at most {MAX_AMOUNT_MINOR} (minor units)")));
    }
    Ok(amount_minor)
}

/// An amount as typed, split into its whole digits (grouping removed) and its fraction:
/// `19.99` and `19,99` alike; with both marks, the last is the decimal one (`1,234.56`,
/// `1.234,56`); one mark used more than once groups thousands (`1,000,000`). `None` when the
/// groups are not of three digits (`1,2,3`).
fn split_amount(text: &str) -> Option<(String, &str)> {
    let last = text.rfind(['.', ','])?;
    let mark = text[last..].chars().next()?;
    let other = if mark == '.' { ',' } else { '.' };
    let (whole, fraction, grouping) = if text.contains(other) {
        (&text[..last], &text[last + 1..], other)
    } else if text.matches(mark).count() > 1 {
        (text, "", mark)
    } else {
        return Some((text[..last].to_owned(), &text[last + 1..]));
    };
    let groups: Vec<&str> = whole.split(grouping).collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    // With both marks, the decimal one appears once, after the groups.
    let stray_mark = grouping != mark && whole.contains(mark);
    if !first_ok || groups[1..].iter().any(|g| g.len() != 3) || stray_mark {
        return None;
    }
    Some((groups.concat(), fraction))
}

/// What a product costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    /// Amount in minor units (1999 = 19.99).
    pub amount_minor: i64,
    /// Currency.
    pub currency: Currency,
}

impl Price {
    /// A price must not be negative nor above [`MAX_AMOUNT_MINOR`].
    pub fn new(amount_minor: i64, currency: Currency) -> Result<Price, Invalid> {
        let amount_minor = check_amount("price_minor", amount_minor)?;
        Ok(Price { amount_minor, currency })
    }

    /// Reads an amount as people type it (`19.99`, `19,99`, `20`) in `currency`.
    pub fn parse(field: &'static str, raw: &str, currency: Currency) -> Result<Price, Invalid> {
        let text = raw.trim();
        let digits = currency.minor_digits();
        let bad = || {
            let example = if digits == 0 { "500" } else { "19.99" };
            Invalid::new(field, format!("must be an amount like {example} (0 for free)"))
        };
        if text.is_empty() {
            return Err(Invalid::new(field, "is required (0 for free)"));
        }
        if text.starts_with('-') {
            return Err(Invalid::new(field, "must not be negative"));
        }
        let (whole, fraction) = match text.contains(['.', ',']) {
            true => split_amount(text).ok_or_else(bad)?,
            false => (text.to_owned(), ""),
        };
        let whole = whole.as_str();
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || whole.len() > 12 || !all_digits(whole) || !all_digits(fraction) {
            return Err(bad());
        }
        if fraction.len() > digits as usize {
            return Err(Invalid::new(field, format!("{} allows {digits} decimal places", currency.as_str())));
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let fraction: i64 = format!("{fraction:0<width$}", width = digits as usize).parse().unwrap_or(0);
        let amount = whole * 10_i64.pow(digits) + fraction;
        if amount > MAX_AMOUNT_MINOR {
            let most = Price::amount_text(MAX_AMOUNT_MINOR, currency.as_str());
            return Err(Invalid::new(field, format!("must be at most {most}")));
        }
        Price::new(amount, currency)
    }

    /// The amount as [`Price::parse`] reads it back: `1999` USD → `19.99`.
    pub fn amount_text(amount_minor: i64, currency: &str) -> String {
        match minor_digits(currency) {
            0 => amount_minor.to_string(),
            _ => format!("{}.{:02}", amount_minor / 100, amount_minor % 100),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_and_prices() {
        assert_eq!(Currency::parse("currency", "eur").unwrap().as_str(), "EUR");
        assert!(Currency::parse("currency", "euro").is_err());
        assert!(Price::new(-1, Currency::parse("c", "USD").unwrap()).is_err());
        let usd = Currency::parse("c", "USD").unwrap();
        assert!(Price::new(MAX_AMOUNT_MINOR, usd.clone()).is_ok());
        assert_eq!(Price::new(MAX_AMOUNT_MINOR + 1, usd.clone()).unwrap_err().field, "price_minor");
        assert_eq!(Price::new(i64::MAX, usd).unwrap_err().message, "must be at most 999999999999 (minor units)");
        assert_eq!(check_amount("amount_minor", i64::MIN).unwrap_err().field, "amount_minor");
    }

    #[test]
    fn amounts_as_typed() {
        let usd = || Currency::parse("c", "USD").unwrap();
        let jpy = || Currency::parse("c", "JPY").unwrap();
        let typed_amounts = [
            ("19.99", 1999),
            ("19,99", 1999),
            ("19,9", 1990),
            (" 20 ", 2000),
            ("0", 0),
            ("0.05", 5),
            ("1,234.56", 123_456),
            ("1.234,56", 123_456),
            ("1,000,000", 100_000_000),
            ("12.345.678,90", 1_234_567_890),
        ];
        for (typed, minor) in typed_amounts {
            assert_eq!(Price::parse("price", typed, usd()).unwrap().amount_minor, minor, "{typed}");
        }
        assert_eq!(Price::parse("price", "500", jpy()).unwrap().amount_minor, 500);
        for bad in ["", "-1", "1.999", "abc", "1.2.3", ".5", "1e3", "9999999999999", "1,2.50", "1.234.5,6", "1,,000"] {
            assert_eq!(Price::parse("price", bad, usd()).unwrap_err().field, "price", "{bad}");
        }
        assert!(Price::parse("price", "5.5", jpy()).is_err());
        assert_eq!(Price::parse("price", "9999999999.99", usd()).unwrap().amount_minor, MAX_AMOUNT_MINOR);
        let over = Price::parse("price", "10000000000", usd()).unwrap_err();
        assert_eq!((over.field, over.message.as_str()), ("price", "must be at most 9999999999.99"));
        assert_eq!(Price::parse("price", "999999999999", jpy()).unwrap().amount_minor, MAX_AMOUNT_MINOR);
        assert_eq!(Price::amount_text(1999, "USD"), "19.99");
        assert_eq!(Price::amount_text(500, "JPY"), "500");
    }
}
