//! Both webhook verifiers and payload parsers (`payments::standard`, `payments::stripe`), fed
//! headers and bodies as the webhook handler reads them. Never a panic; nothing unsigned is
//! accepted; a body signed with the right secret and a fresh timestamp is always accepted (as
//! an event, or kept as unreadable), whatever it holds.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use satchel::http::fuzzing::webhook;
use satchel::payments::{Provider, standard, stripe};
use sha2::Sha256;

const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STANDARD_KEY: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STRIPE_SECRET: &str = "whsec_test_secret";
const NOW: i64 = 1_800_000_000;

fn sign(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    parts.iter().for_each(|p| mac.update(p));
    mac.finalize().into_bytes().to_vec()
}

fuzz_target!(|data: &[u8]| {
    // A mode byte, header lines (`name: value`, one a line) up to the first NUL, then the body.
    let Some((&mode, rest)) = data.split_first() else { return };
    let (head, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut headers = HeaderMap::new();
    for line in head.split('\n') {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (HeaderName::try_from(name.trim()), HeaderValue::from_str(value.trim()))
        {
            headers.append(name, value);
        }
    }
    let _ = standard::parse("msg_fuzz", body);
    let _ = stripe::parse(body);
    // Bit 0: sign the body genuinely (as the provider would), else leave the fuzzer's headers.
    let genuine = mode & 1 != 0;
    let provider = if mode & 2 != 0 { Provider::Stripe } else { Provider::Standard };
    if genuine {
        let ts = NOW.to_string();
        match provider {
            Provider::Standard => {
                let key = STANDARD.decode(STANDARD_KEY).unwrap();
                let sig = STANDARD.encode(sign(&key, &[b"msg_fuzz.", ts.as_bytes(), b".", body]));
                headers.insert("webhook-id", HeaderValue::from_static("msg_fuzz"));
                headers.insert("webhook-timestamp", HeaderValue::from_str(&ts).unwrap());
                headers.insert("webhook-signature", HeaderValue::from_str(&format!("v1,{sig}")).unwrap());
            }
            Provider::Stripe => {
                let sig = hex::encode(sign(STRIPE_SECRET.as_bytes(), &[ts.as_bytes(), b".", body]));
                headers.insert("stripe-signature", HeaderValue::from_str(&format!("t={ts},v1={sig}")).unwrap());
            }
        }
    }
    let secret = match provider {
        Provider::Standard => STANDARD_SECRET,
        Provider::Stripe => STRIPE_SECRET,
    };
    let result = webhook(provider, secret, &headers, body, NOW);
    if genuine {
        if let Err(e) = result {
            panic!("a genuine {provider:?} webhook was refused: {e}");
        }
    } else {
        // Forging an HMAC-SHA256 signature by chance is not something a fuzzer does.
        assert!(result.is_err(), "an unsigned {provider:?} body was accepted");
    }
});
