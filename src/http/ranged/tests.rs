//! The decision table of [`super::decide`] and the exact headers of [`super::head`].

use super::*;
use Answer::{Full, NotModified, PreconditionFailed as Failed, Unsatisfiable};

const fn p(start: u64, end: u64) -> Answer {
    Answer::Partial { start, end }
}

/// (file size, request header lines `name: value`, expected answer); our ETag is `"abc"`.
#[rustfmt::skip] // one case per line reads better as a table
const CASES: &[(u64, &[u8], Answer)] = &[
    (1000, b"", Full),
    // Single ranges; `end` past the file is clamped.
    (1000, b"range: bytes=0-", p(0, 999)),
    (1000, b"range: bytes=-500", p(500, 999)),
    (1000, b"range: bytes=500-", p(500, 999)),
    (1000, b"range: bytes=0-0", p(0, 0)),
    (1000, b"range: bytes=10-5000", p(10, 999)),
    (1000, b"range: bytes=-5000", p(0, 999)),
    (1000, b"range: Bytes=1-2", p(1, 2)),
    (1000, b"range: bytes=7-9, ", p(7, 9)),
    // Valid but unsatisfiable.
    (1000, b"range: bytes=1000-", Unsatisfiable),
    (1000, b"range: bytes=1000-2000", Unsatisfiable),
    (1000, b"range: bytes=-0", Unsatisfiable),
    // Several ranges, other units, garbage, repeated header: Range is ignored.
    (1000, b"range: bytes=0-0,5-9", Full),
    (1000, b"range: items=0-1", Full),
    (1000, b"range: bytes=0-1\nrange: bytes=2-3", Full),
    (1000, b"range:", Full),
    (1000, b"range: bytes=", Full),
    (1000, b"range: bytes=-", Full),
    (1000, b"range: bytes=a-b", Full),
    (1000, b"range: bytes=5-3", Full),
    (1000, b"range: bytes=1000-0", Full),
    (1000, b"range: bytes=+1-2", Full),
    (1000, b"range: bytes=1-2-3", Full),
    (1000, b"range: bytes=0x1-", Full),
    (1000, b"range: bytes=1 - 2", Full),
    (1000, b"range: bytes=--5", Full),
    (1000, b"range: 0-1", Full),
    // Numbers past u64 saturate instead of overflowing.
    (1000, b"range: bytes=99999999999999999999999-", Unsatisfiable),
    (1000, b"range: bytes=0-99999999999999999999999", p(0, 999)),
    (1000, b"range: bytes=-99999999999999999999999", p(0, 999)),
    (u64::MAX, b"range: bytes=99999999999999999999999-", Unsatisfiable),
    (u64::MAX, b"range: bytes=-1", p(u64::MAX - 1, u64::MAX - 1)),
    // Empty file: always the (empty) full body.
    (0, b"range: bytes=0-", Full),
    (0, b"range: bytes=-5", Full),
    (0, b"range: bytes=5-", Full),
    (0, b"range: bytes=-0", Full),
    // If-Range: only our exact strong ETag keeps the Range.
    (1000, b"if-range: \"abc\"\nrange: bytes=500-", p(500, 999)),
    (1000, b"if-range: \"abc\"\nrange: bytes=1000-", Unsatisfiable),
    (1000, b"if-range: \"xyz\"\nrange: bytes=500-", Full),
    (1000, b"if-range: \"xyz\"\nrange: bytes=1000-", Full),
    (1000, b"if-range: W/\"abc\"\nrange: bytes=500-", Full),
    // If-Range with a date: only exactly our Last-Modified (Wed, 21 Oct 2015 07:28:00 GMT).
    (1000, b"if-range: Wed, 21 Oct 2015 07:28:00 GMT\nrange: bytes=500-", p(500, 999)),
    (1000, b"if-range: Wednesday, 21-Oct-15 07:28:00 GMT\nrange: bytes=500-", p(500, 999)),
    (1000, b"if-range: Wed Oct 21 07:28:00 2015\nrange: bytes=500-", p(500, 999)),
    (1000, b"if-range: Wed, 21 Oct 2015 07:28:01 GMT\nrange: bytes=500-", Full),
    (1000, b"if-range: Wed, 21 Oct 2015 07:27:59 GMT\nrange: bytes=500-", Full),
    (1000, b"if-range: yesterday\nrange: bytes=500-", Full),
    (1000, b"if-range: \"abc\"", Full),
    // If-None-Match: lists, `*`, weak tags, several lines; wins over Range.
    (1000, b"if-none-match: \"a\", W/\"abc\" , \"b\"", NotModified),
    (1000, b"if-none-match: \"abc\"", NotModified),
    (1000, b"if-none-match: *", NotModified),
    (1000, b"if-none-match: \"a\", \"b\"", Full),
    (1000, b"if-none-match: \"a\"\nif-none-match: \"abc\"", NotModified),
    (1000, b"if-none-match: \"abc\"\nrange: bytes=0-9", NotModified),
    (1000, b"if-none-match: \"a\"\nrange: bytes=0-9", p(0, 9)),
    (0, b"if-none-match: *", NotModified),
    // If-Match: strong comparison, `*`, lists; fails with 412 before anything else.
    (1000, b"if-match: \"abc\"\nrange: bytes=0-9", p(0, 9)),
    (1000, b"if-match: \"x\", \"abc\"", Full),
    (1000, b"if-match: \"x\"\nif-match: \"abc\"", Full),
    (1000, b"if-match: *", Full),
    (1000, b"if-match: \"x\"", Failed),
    (1000, b"if-match: W/\"abc\"", Failed),
    (1000, b"if-match: \"x\"\nif-none-match: \"abc\"", Failed),
    (1000, b"if-match: \"x\"\nrange: bytes=5000-", Failed),
    (1000, b"if-match: \"\xff\"", Failed),
    // If-Unmodified-Since: only without If-Match; an invalid date is ignored.
    (1000, b"if-unmodified-since: Wed, 21 Oct 2015 07:28:00 GMT", Full),
    (1000, b"if-unmodified-since: Thu, 22 Oct 2015 07:28:00 GMT", Full),
    (1000, b"if-unmodified-since: Wed, 21 Oct 2015 07:27:59 GMT", Failed),
    (1000, b"if-match: \"abc\"\nif-unmodified-since: Wed, 21 Oct 2015 07:27:59 GMT", Full),
    (1000, b"if-unmodified-since: garbage", Full),
    // If-Modified-Since: only without If-None-Match; 304 when not modified since.
    (1000, b"if-modified-since: Wed, 21 Oct 2015 07:28:00 GMT", NotModified),
    (1000, b"if-modified-since: Sun, 06 Nov 2044 08:49:37 GMT", NotModified),
    (1000, b"if-modified-since: Wed, 21 Oct 2015 07:27:59 GMT\nrange: bytes=0-9", p(0, 9)),
    (1000, b"if-modified-since: Wed, 21 Oct 2015 07:28:00 GMT\nif-none-match: \"x\"", Full),
    (1000, b"if-modified-since: Wed, 21 Oct 2015 07:27:59 GMT\nif-none-match: \"abc\"", NotModified),
    (1000, b"if-modified-since: Wed, 21 Oct 2015 07:28:00 GMT\nif-modified-since: x", Full),
    (1000, b"if-modified-since: 21 Oct 2015", Full),
    (1000, b"if-modified-since: Wed, 21 Oct 2015 07:28:00 GMT\xff", Full),
    // Values that are not ASCII count as absent or malformed.
    (1000, b"range: bytes=0-\xff", Full),
    (1000, b"if-none-match: \"\xff\"\nrange: bytes=0-9", p(0, 9)),
    (1000, b"if-range: \"\xff\"\nrange: bytes=0-9", Full),
];

fn file(size: u64) -> ServedFile<'static> {
    let (content_type, filename) = ("application/pdf", "book.pdf");
    let last_modified = time_of(1_445_412_480_999); // Wed, 21 Oct 2015 07:28:00.999 GMT
    ServedFile { size, sha256_hex: "abc", content_type, filename, last_modified }
}

fn request(lines: &[u8]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let colon = line.iter().position(|&b| b == b':').unwrap();
        let name = HeaderName::from_bytes(&line[..colon]).unwrap();
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii_start());
        h.append(name, value.unwrap());
    }
    h
}

#[test]
fn decide_follows_rfc_9110() {
    for (size, lines, want) in CASES {
        let got = decide(&request(lines), &file(*size));
        let shown = String::from_utf8_lossy(lines);
        assert_eq!(&got, want, "size {size}: {shown}");
    }
}

fn get(h: &HeaderMap, name: HeaderName) -> Option<&str> {
    h.get(name).map(|v| v.to_str().unwrap())
}

#[test]
fn head_sets_exact_status_and_headers() {
    let f = file(1000);
    for answer in [Full, p(0, 0), NotModified, Failed, Unsatisfiable] {
        let h = head(&answer, &f).1;
        assert_eq!(get(&h, ACCEPT_RANGES), Some("bytes"));
        assert_eq!(get(&h, ETAG), Some("\"abc\""));
        assert_eq!(get(&h, CACHE_CONTROL), Some("private"));
        assert_eq!(get(&h, X_CONTENT_TYPE_OPTIONS), Some("nosniff"));
        assert_eq!(get(&h, LAST_MODIFIED), Some("Wed, 21 Oct 2015 07:28:00 GMT"));
    }
    let (status, h) = head(&p(500, 999), &f);
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(get(&h, CONTENT_RANGE), Some("bytes 500-999/1000"));
    assert_eq!(get(&h, CONTENT_LENGTH), Some("500"));
    assert_eq!(get(&h, CONTENT_TYPE), Some("application/pdf"));
    let disposition = "attachment; filename=\"book.pdf\"; filename*=UTF-8''book.pdf";
    assert_eq!(get(&h, CONTENT_DISPOSITION), Some(disposition));

    let (status, h) = head(&Full, &f);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get(&h, CONTENT_LENGTH), Some("1000"));
    assert_eq!(get(&h, CONTENT_RANGE), None);
    assert_eq!(get(&h, CONTENT_DISPOSITION), Some(disposition));

    let (status, h) = head(&Unsatisfiable, &f);
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(get(&h, CONTENT_RANGE), Some("bytes */1000"));
    assert_eq!(get(&h, CONTENT_LENGTH), Some("0"));
    assert_eq!(get(&h, CONTENT_TYPE), None);

    let (status, h) = head(&Failed, &f);
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(get(&h, CONTENT_LENGTH), Some("0"));
    assert_eq!((get(&h, CONTENT_TYPE), get(&h, CONTENT_DISPOSITION)), (None, None));

    let (status, h) = head(&NotModified, &f);
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(get(&h, CONTENT_LENGTH), None);
    assert_eq!(get(&h, CONTENT_TYPE), None);

    let (_, h) = head(&Full, &file(u64::MAX));
    assert_eq!(get(&h, CONTENT_LENGTH), Some("18446744073709551615"));
    // Times no HTTP-date can say are clamped, not a panic.
    let (_, h) = head(&Full, &ServedFile { last_modified: time_of(-5), ..file(1) });
    assert_eq!(get(&h, LAST_MODIFIED), Some("Thu, 01 Jan 1970 00:00:00 GMT"));
    let far = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::MAX / 4);
    let (_, h) = head(&Full, &ServedFile { last_modified: far, ..file(1) });
    assert_eq!(get(&h, LAST_MODIFIED), Some("Fri, 31 Dec 9999 23:59:59 GMT"));
    let odd = ServedFile { content_type: "text/plain\n", sha256_hex: "\r\n", ..f };
    let (_, h) = head(&Full, &odd);
    assert_eq!(get(&h, CONTENT_TYPE), Some("application/octet-stream"));
    assert_eq!(get(&h, ETAG), None);
}

fn disposition(name: &str) -> String {
    content_disposition(name).to_str().unwrap().to_owned()
}

#[test]
fn content_disposition_fallback_and_encoding() {
    #[rustfmt::skip]
    let cases = [
        ("Résumé \"final\".pdf", "Resume _final_.pdf",
         "R%C3%A9sum%C3%A9%20%22final%22.pdf"),
        ("Résumé – 東京.pdf", "Resume - Dong Jing.pdf",
         "R%C3%A9sum%C3%A9%20%E2%80%93%20%E6%9D%B1%E4%BA%AC.pdf"),
        ("Ærøskøbing Straße.txt", "AEroskobing Strasse.txt",
         "%C3%86r%C3%B8sk%C3%B8bing%20Stra%C3%9Fe.txt"),
        ("../a\\b/c;d%.zip", ".._a_b_c;d%.zip",
         "..%2Fa%5Cb%2Fc%3Bd%25.zip"),
        ("aZ09!#$&+-.^_`|~", "aZ09!#$&+-.^_`|~", "aZ09!#$&+-.^_`|~"),
        ("🦄.txt", "unicorn.txt", "%F0%9F%A6%84.txt"),
        // Header injection: CR/LF/NUL/DEL never reach the header.
        ("evil\r\nSet-Cookie: a=b\0\x7f.pdf", "evil__Set-Cookie: a=b__.pdf",
         "evil%0D%0ASet-Cookie%3A%20a%3Db%00%7F.pdf"),
    ];
    for (name, fallback, encoded) in cases {
        let want = format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}");
        assert_eq!(disposition(name), want);
        assert!(!want.bytes().any(|b| b.is_ascii_control()));
    }
}
