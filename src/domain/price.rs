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
    /// A price must not be negative.
    pub fn new(amount_minor: i64, currency: Currency) -> Result<Price, Invalid> {
        if amount_minor < 0 {
            return Err(Invalid::new("price_minor", "must not be negative"));
        }
        Ok(Price { amount_minor, currency })
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
    }
}
