//! The name, email and URL parsers (`domain::names`, the external delivery link): never a
//! panic, and what a parser accepts and stores is accepted again, unchanged (an API client
//! that sends back what it read must not be refused).
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::domain::{ContentType, DisplayName, Email, ExternalUrl, Instructions, ProductName, Slug};

macro_rules! stable {
    ($ty:ty, $text:expr) => {
        if let Ok(parsed) = <$ty>::parse("f", $text) {
            let again = <$ty>::parse("f", parsed.as_str())
                .unwrap_or_else(|e| panic!("{} refuses its own output {:?}: {e}", stringify!($ty), parsed.as_str()));
            assert_eq!(again.as_str(), parsed.as_str(), "{} is stable", stringify!($ty));
        }
    };
}

fuzz_target!(|text: &str| {
    stable!(Email, text);
    stable!(ProductName, text);
    stable!(DisplayName, text);
    stable!(Instructions, text);
    stable!(Slug, text);
    stable!(ContentType, text);
    stable!(ExternalUrl, text);
    if let Ok(url) = ExternalUrl::parse("f", text) {
        let url = url.as_str();
        assert!(url.starts_with("http://") || url.starts_with("https://"), "{url}");
        assert!(url.len() <= 2048, "stored URL of {} bytes", url.len());
    }
    if let Some(slug) = Slug::from_name(text) {
        assert_eq!(Slug::parse("f", slug.as_str()).map(|s| s.as_str().to_owned()), Ok(slug.as_str().to_owned()));
    }
});
