//! Range / If-Range / If-None-Match decisions: never panic, and a partial answer always lies
//! inside the file.
#![no_main]

use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use satchel::http::ranged::{Answer, ServedFile, decide, head};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let size = u64::from_le_bytes(data[..8].try_into().unwrap()) % (1 << 40);
    let text = String::from_utf8_lossy(&data[8..]);
    let mut parts = text.split('\u{1}');
    let mut headers = HeaderMap::new();
    for name in [header::RANGE, header::IF_RANGE, header::IF_NONE_MATCH] {
        if let Some(value) = parts.next().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.append(name, value);
        }
    }
    let sha = "ab".repeat(32);
    let file = ServedFile { size, sha256_hex: &sha, content_type: "application/pdf", filename: "a.pdf" };
    let answer = decide(&headers, &file);
    if let Answer::Partial { start, end } = answer {
        assert!(start <= end && end < size, "{start}-{end} of {size}");
    }
    let _ = head(&answer, &file);
});
