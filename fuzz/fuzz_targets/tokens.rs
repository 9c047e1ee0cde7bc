//! Signed portal URLs and download tokens: the query of a signed URL is read as the portal
//! reads it, and only the genuine signature of this very link opens it (a fuzzer cannot forge
//! HMAC-SHA256, so anything else accepted is a bug); `/d/{token}` looks up only token-shaped
//! text, and every token the server derives has that shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::domain::{DownloadToken, LinkRefusal, PortalLink, PortalTarget, SecretHash};
use satchel::http::fuzzing::{signed_query, token_shaped};

const KEY: [u8; 32] = [7; 32];
const NOW: i64 = 1_800_000_000_000;

fuzz_target!(|input: (&str, &str, u8, i64, &str)| {
    let (order, query, which, n, token) = input;
    let target = match which % 3 {
        0 => PortalTarget::File(n),
        1 => PortalTarget::Link(n),
        _ => PortalTarget::Zip,
    };
    // Half the time, the query is a genuine link's with the fuzzer's text around it.
    let genuine = PortalLink::new("merchant", order, target, NOW);
    let query = if which & 0x80 != 0 { format!("{}{query}", genuine.query(&KEY)) } else { query.to_owned() };
    if let Some((expires, signature)) = signed_query(Some(&query)) {
        let link = PortalLink { merchant_id: "merchant", order_id: order, target, expires };
        match link.verify(&KEY, &signature, NOW) {
            Ok(()) | Err(LinkRefusal::Expired) => {
                assert_eq!(link, genuine, "only the link that was signed opens");
                assert!(genuine.query(&KEY).ends_with(&format!("&s={signature}")), "only its own signature");
            }
            Err(LinkRefusal::Forged) => {}
        }
    }
    if token_shaped(token) {
        assert!(token.len() == 43 && token.is_ascii(), "{token:?}");
    }
    let derived = DownloadToken::derive(&KEY, token);
    assert!(token_shaped(derived.expose()), "a derived token must pass the shape check");
    assert_eq!(derived.hash(), SecretHash::of(derived.expose()));
});
