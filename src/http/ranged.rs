//! How to answer a file download: conditional requests (If-None-Match, If-Range)
//! and single byte ranges, following RFC 9110. Pure: no I/O, never panics on input.

use http::StatusCode;
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderMap,
    HeaderName, HeaderValue, IF_NONE_MATCH, IF_RANGE, RANGE, X_CONTENT_TYPE_OPTIONS,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What the server knows about the file being served.
pub struct ServedFile<'a> {
    /// Length of the stored file in bytes.
    pub size: u64,
    /// Hex SHA-256 of the file's bytes; the ETag is derived from it.
    pub sha256_hex: &'a str,
    /// Stored media type, sent as Content-Type.
    pub content_type: &'a str,
    /// Name offered to the browser in Content-Disposition.
    pub filename: &'a str,
}

/// How to answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200 with the whole body.
    Full,
    /// 206 with bytes start..=end.
    Partial {
        /// First byte sent (0-based).
        start: u64,
        /// Last byte sent, inclusive; always `< size`.
        end: u64,
    },
    /// 304, no body (If-None-Match matched).
    NotModified,
    /// 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Decide from the request headers (Range, If-Range, If-None-Match).
pub fn decide(headers: &HeaderMap, file: &ServedFile) -> Answer {
    let ours = etag(file.sha256_hex);
    // RFC 9110 §13.2.2: If-None-Match is evaluated before Range/If-Range.
    let mut none_match = headers.get_all(IF_NONE_MATCH).iter();
    if none_match.any(|v| none_match_hits(v, &ours)) {
        return Answer::NotModified;
    }
    let Some(range) = single_value(headers, RANGE) else {
        return Answer::Full;
    };
    // Only our exact strong ETag keeps the Range alive. We send no Last-Modified,
    // so an HTTP-date can never validate, and weak tags are never enough (§13.1.5).
    if headers.contains_key(IF_RANGE) && single_value(headers, IF_RANGE) != Some(&ours) {
        return Answer::Full;
    }
    // RFC 9110 calls every range of an empty file unsatisfiable, but ignoring Range
    // is always allowed, and resuming clients that send `bytes=0-` expect a 200 with
    // an empty body rather than an error (nginx answers that one with 200 too).
    if file.size == 0 {
        return Answer::Full;
    }
    parse_range(range, file.size).unwrap_or(Answer::Full)
}

/// The strong ETag for a file: `"` + sha256 hex + `"` (content-addressed, so identical bytes share it).
pub fn etag(sha256_hex: &str) -> String {
    format!("\"{sha256_hex}\"")
}

/// The response status and headers for an answer (no body). Always: Accept-Ranges: bytes,
/// ETag, Cache-Control: private, X-Content-Type-Options: nosniff. For Full/Partial also
/// Content-Type (the stored one), Content-Length (of the part sent), Content-Disposition;
/// Partial adds Content-Range: bytes start-end/size; Unsatisfiable: Content-Range: bytes */size
/// and Content-Length: 0; NotModified: no Content-Length/Type.
pub fn head(answer: &Answer, file: &ServedFile) -> (StatusCode, HeaderMap) {
    let mut h = HeaderMap::new();
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // The hash comes from our own database; should it ever not be header-safe,
    // dropping the ETag beats panicking mid-download.
    if let Ok(tag) = HeaderValue::from_str(&etag(file.sha256_hex)) {
        h.insert(ETAG, tag);
    }
    // Download links belong to one buyer: shared caches must not keep them.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let (status, length) = match *answer {
        Answer::NotModified => return (StatusCode::NOT_MODIFIED, h),
        Answer::Unsatisfiable => {
            h.insert(CONTENT_RANGE, ascii(format!("bytes */{}", file.size)));
            h.insert(CONTENT_LENGTH, HeaderValue::from(0u64));
            return (StatusCode::RANGE_NOT_SATISFIABLE, h);
        }
        Answer::Full => (StatusCode::OK, file.size),
        Answer::Partial { start, end } => {
            debug_assert!(start <= end && end < file.size, "Partial outside the file");
            let range = format!("bytes {start}-{end}/{}", file.size);
            h.insert(CONTENT_RANGE, ascii(range));
            // Saturating: a bogus hand-built Partial must not overflow.
            let length = end.saturating_sub(start).saturating_add(1);
            (StatusCode::PARTIAL_CONTENT, length)
        }
    };
    // A stored type that is empty or not header-safe degrades to plain bytes.
    let content_type = Some(file.content_type)
        .filter(|t| !t.is_empty())
        .and_then(|t| HeaderValue::from_str(t).ok())
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    h.insert(CONTENT_TYPE, content_type);
    h.insert(CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(CONTENT_DISPOSITION, content_disposition(file.filename));
    (status, h)
}

/// `attachment; filename="<ascii fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 / 8187).
pub fn content_disposition(filename: &str) -> HeaderValue {
    // Clients that ignore `filename*` read this quoted-string: keep it printable ASCII
    // that can neither close the quotes nor name a directory.
    let fallback: String = filename
        .chars()
        .map(|c| match c {
            '"' | '\\' | '/' => '_',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(filename, ATTR_CHAR);
    let value = format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}");
    // Both parts are printable ASCII by construction; the fallback is belt and braces.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// RFC 8187 `attr-char` (letters, digits and the marks listed below) stays; the rest gets %XX.
const ATTR_CHAR: &AsciiSet = &{
    let (mut set, keep, mut i) = (NON_ALPHANUMERIC.remove(b'!'), b"#$&+-.^_`|~", 0);
    while i < keep.len() {
        set = set.remove(keep[i]);
        i += 1;
    }
    set
};

/// A header value built from ASCII we formatted ourselves.
fn ascii(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("`bytes`, digits and `*-/ ` are header-safe")
}

/// The one value of a singleton header, trimmed; `None` if absent, repeated or not ASCII.
fn single_value(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    let mut lines = headers.get_all(name).into_iter();
    let value = lines.next()?;
    // Range and If-Range are singletons; several lines make the request ambiguous.
    if lines.next().is_some() {
        return None;
    }
    value.to_str().ok().map(str::trim)
}

/// Weak comparison (§8.8.3.2): `W/` is ignored, and `*` matches any existing file.
fn none_match_hits(value: &HeaderValue, ours: &str) -> bool {
    let Ok(list) = value.to_str() else {
        return false;
    };
    // Splitting on commas is enough: our own tag is hex and contains none.
    list.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
}

/// Parse a Range value for a non-empty file; `None` means "ignore it" (other unit,
/// malformed, or several ranges, which would need multipart/byteranges).
fn parse_range(value: &str, size: u64) -> Option<Answer> {
    let (unit, set) = value.split_once('=')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    // Empty list elements are legal (§5.6.1), so `bytes=0-9,` is still one range.
    let mut specs = set.split(',').map(str::trim).filter(|s| !s.is_empty());
    let spec = specs.next()?;
    if specs.next().is_some() {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (start, end) = if first.is_empty() {
        // Suffix range `-n`: the last n bytes, or the whole file if n >= size.
        match number(last)? {
            0 => return Some(Answer::Unsatisfiable),
            n => (size - n.min(size), u64::MAX),
        }
    } else if last.is_empty() {
        (number(first)?, u64::MAX)
    } else {
        (number(first)?, number(last)?)
    };
    // last-pos < first-pos makes the range-spec invalid (§14.1.1), not unsatisfiable.
    if end < start {
        return None;
    }
    if start >= size {
        return Some(Answer::Unsatisfiable);
    }
    let end = end.min(size - 1);
    Some(Answer::Partial { start, end })
}

/// `1*DIGIT`. Values past u64 saturate: they are still "beyond the end" of any file.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Answer::{Full, NotModified, Unsatisfiable};

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
        (1000, b"if-range: Wed, 21 Oct 2015 07:28:00 GMT\nrange: bytes=500-", Full),
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
        // Values that are not ASCII count as absent or malformed.
        (1000, b"range: bytes=0-\xff", Full),
        (1000, b"if-none-match: \"\xff\"\nrange: bytes=0-9", p(0, 9)),
        (1000, b"if-range: \"\xff\"\nrange: bytes=0-9", Full),
    ];

    fn file(size: u64) -> ServedFile<'static> {
        let (content_type, filename) = ("application/pdf", "book.pdf");
        ServedFile { size, sha256_hex: "abc", content_type, filename }
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
        for answer in [Full, p(0, 0), NotModified, Unsatisfiable] {
            let h = head(&answer, &f).1;
            assert_eq!(get(&h, ACCEPT_RANGES), Some("bytes"));
            assert_eq!(get(&h, ETAG), Some("\"abc\""));
            assert_eq!(get(&h, CACHE_CONTROL), Some("private"));
            assert_eq!(get(&h, X_CONTENT_TYPE_OPTIONS), Some("nosniff"));
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

        let (status, h) = head(&NotModified, &f);
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert_eq!(get(&h, CONTENT_LENGTH), None);
        assert_eq!(get(&h, CONTENT_TYPE), None);

        let (_, h) = head(&Full, &file(u64::MAX));
        assert_eq!(get(&h, CONTENT_LENGTH), Some("18446744073709551615"));
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
            ("Résumé \"final\".pdf", "R_sum_ _final_.pdf",
             "R%C3%A9sum%C3%A9%20%22final%22.pdf"),
            ("../a\\b/c;d%.zip", ".._a_b_c;d%.zip",
             "..%2Fa%5Cb%2Fc%3Bd%25.zip"),
            ("aZ09!#$&+-.^_`|~", "aZ09!#$&+-.^_`|~", "aZ09!#$&+-.^_`|~"),
            ("🦀.txt", "_.txt", "%F0%9F%A6%80.txt"),
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
}
