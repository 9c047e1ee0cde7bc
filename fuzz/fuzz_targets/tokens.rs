//! Signed portal links and download tokens: arbitrary signatures and expiries never panic and
//! are never accepted; token derivation and hashing are total.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::domain::{DownloadToken, PortalLink, PortalTarget, SecretHash};

fuzz_target!(|input: (&str, &str, i64, &str)| {
    let (order, signature, expires, token) = input;
    let key = [7u8; 32];
    let mut link = PortalLink::new("merchant", order, PortalTarget::Zip, 0);
    link.expires = expires;
    let genuine = link.query(&key);
    if link.verify(&key, signature, 0).is_ok() {
        assert!(genuine.ends_with(&format!("&s={signature}")), "only the genuine signature opens a link");
    }
    let _ = SecretHash::of(token);
    let _ = DownloadToken::derive(&key, token).hash();
});
