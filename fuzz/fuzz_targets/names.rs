//! The name, email and URL parsers: never panic, and what they accept parses again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::domain::{ContentType, DisplayName, Email, ExternalUrl, Instructions, ProductName, Slug};

macro_rules! idempotent {
    ($ty:ty, $text:expr) => {
        if let Ok(parsed) = <$ty>::parse("f", $text) {
            let again = <$ty>::parse("f", parsed.as_str()).expect(concat!(stringify!($ty), " accepts its own output"));
            assert_eq!(again.as_str(), parsed.as_str(), "{} is stable", stringify!($ty));
        }
    };
}

fuzz_target!(|text: &str| {
    idempotent!(Email, text);
    idempotent!(ProductName, text);
    idempotent!(DisplayName, text);
    idempotent!(Instructions, text);
    idempotent!(Slug, text);
    idempotent!(ContentType, text);
    if let Ok(url) = ExternalUrl::parse("f", text) {
        assert!(url.as_str().starts_with("http://") || url.as_str().starts_with("https://"), "{}", url.as_str());
        idempotent!(ExternalUrl, url.as_str());
    }
});
