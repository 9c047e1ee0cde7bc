//! A product's own fields as the API and the dashboard's form check them alike.

use std::collections::BTreeMap;

use super::Invalid;
use crate::payments::Provider;

/// The longest product description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;

/// Checks a product description: at most [`MAX_DESCRIPTION_CHARS`], kept trimmed.
pub fn product_description(raw: &str) -> Result<String, Invalid> {
    if raw.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Invalid::new("description", "is longer than 20000 characters"));
    }
    Ok(raw.trim().to_owned())
}

/// Checks the merchant's product ids at payment providers: (provider name, id) pairs, each
/// provider one Satchel speaks and each id 1 to 255 characters once trimmed.
pub fn external_ids(raw: BTreeMap<String, String>) -> Result<Vec<(String, String)>, Invalid> {
    raw.into_iter()
        .map(|(provider, id)| {
            let provider = Provider::parse(&provider).ok_or_else(|| {
                Invalid::new("external_ids", format!("unknown provider {provider}; use standard or stripe"))
            })?;
            let id = id.trim();
            if id.is_empty() || id.len() > 255 {
                return Err(Invalid::new("external_ids", "an external id must be 1 to 255 characters"));
            }
            Ok((provider.as_str().to_owned(), id.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_refused_with_the_same_words_everywhere() {
        assert_eq!(product_description("  a  ").unwrap(), "a");
        assert!(product_description(&"x".repeat(20_001)).is_err());
        let ids = BTreeMap::from([("stripe".to_owned(), " prod_1 ".to_owned())]);
        assert_eq!(external_ids(ids).unwrap(), [("stripe".to_owned(), "prod_1".to_owned())]);
        let unknown = BTreeMap::from([("paypal".to_owned(), "x".to_owned())]);
        assert_eq!(external_ids(unknown).unwrap_err().message, "unknown provider paypal; use standard or stripe");
    }
}
