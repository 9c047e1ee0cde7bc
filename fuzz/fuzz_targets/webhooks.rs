//! Both webhook verifiers and payload parsers: arbitrary headers and bodies never panic, and
//! nothing unsigned is accepted.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use satchel::payments::{standard, stripe};

fuzz_target!(|data: &[u8]| {
    let Some((head, body)) = data.iter().position(|&b| b == 0).map(|i| data.split_at(i)) else {
        return;
    };
    let body = &body[1..];
    let text = String::from_utf8_lossy(head);
    let mut headers = HeaderMap::new();
    for line in text.split('\n') {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (HeaderName::try_from(name.trim()), HeaderValue::from_str(value.trim()))
        {
            headers.append(name, value);
        }
    }
    let now = 1_800_000_000;
    let standard_ok = standard::verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &headers, body, now).is_ok();
    let stripe_ok = stripe::verify("whsec_test_secret", &headers, body, now).is_ok();
    // Forging an HMAC-SHA256 signature by chance is not something a fuzzer does.
    assert!(!standard_ok && !stripe_ok, "an unsigned body was accepted");
    let _ = standard::parse("msg_fuzz", body);
    let _ = stripe::parse(body);
});
