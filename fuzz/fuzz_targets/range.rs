//! The download decision (`http::ranged::decide`, `head`): Range with If-Range and the
//! preconditions If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since. Never a
//! panic; a 206 lies inside the file; a request without conditions or Range gets the file.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use satchel::http::ranged::{Answer, ServedFile, decide, etag, head, time_of};

const NAMES: [HeaderName; 6] = [
    header::RANGE,
    header::IF_RANGE,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::IF_UNMODIFIED_SINCE,
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    // Sizes up to 1 TiB, with small ones (where off-by-one errors live) as likely as big ones.
    let raw = u64::from_le_bytes(data[..8].try_into().unwrap());
    let size = if raw & 1 == 0 { (raw >> 1) % 16 } else { (raw >> 1) % (1 << 40) };
    let modified = i64::from_le_bytes(data[8..16].try_into().unwrap()) % 400_000_000_000_000;
    let sha = "ab".repeat(32);
    let file = ServedFile {
        size,
        sha256_hex: &sha,
        content_type: "application/pdf",
        filename: "a.pdf",
        last_modified: time_of(modified),
    };
    // Header lines separated by \n, each led by a byte naming the header; `%E` stands for our
    // own ETag and `%D` for our own Last-Modified, so the matching branches are reachable.
    let ours = etag(&sha);
    let date = head(&Answer::Full, &file).1[header::LAST_MODIFIED].to_str().unwrap().to_owned();
    let mut headers = HeaderMap::new();
    for line in data[16..].split(|&b| b == b'\n') {
        let Some((&which, value)) = line.split_first() else { continue };
        let value = String::from_utf8_lossy(value).replace("%E", &ours).replace("%D", &date);
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(NAMES[usize::from(which) % NAMES.len()].clone(), value);
        }
    }
    let answer = decide(&headers, &file);
    let (status, sent) = head(&answer, &file);
    match answer {
        Answer::Partial { start, end } => {
            assert!(start <= end && end < size, "{start}-{end} of {size}");
            assert_eq!(status, StatusCode::PARTIAL_CONTENT);
            assert_eq!(sent[header::CONTENT_LENGTH], (end - start + 1).to_string().as_str());
            assert!(headers.contains_key(header::RANGE), "206 without Range");
        }
        Answer::Full => assert_eq!(sent[header::CONTENT_LENGTH], size.to_string().as_str()),
        Answer::Unsatisfiable => assert!(headers.contains_key(header::RANGE), "416 without Range"),
        Answer::NotModified | Answer::PreconditionFailed => {
            assert!(NAMES[2..].iter().any(|n| headers.contains_key(n)), "{answer:?} without a precondition");
        }
    }
});
