//! How to answer a file download: conditional requests (If-None-Match, If-Range)
//! and single byte ranges, following RFC 9110. Pure: no I/O, never panics on input.

use http::StatusCode;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
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
    let lines = headers.get_all(header::IF_NONE_MATCH);
    if lines.iter().any(|v| none_match_hits(v, &ours)) {
        return Answer::NotModified;
    }
    let Some(range) = single_value(headers, header::RANGE) else {
        return Answer::Full;
    };
    // Only our exact strong ETag keeps the Range alive. We send no Last-Modified,
    // so an HTTP-date can never validate, and weak tags are never enough (§13.1.5).
    if headers.contains_key(header::IF_RANGE)
        && single_value(headers, header::IF_RANGE) != Some(ours.as_str())
    {
        return Answer::Full;
    }
    // RFC 9110 calls every range of an empty file unsatisfiable, but ignoring Range
    // is always allowed, and resuming clients that send `bytes=0-` expect a 200 with
    // an empty body rather than an error (nginx also answers 200 there).
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
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // The hash comes from our own database; should it ever not be header-safe,
    // dropping the ETag beats panicking mid-download.
    if let Ok(tag) = HeaderValue::from_str(&etag(file.sha256_hex)) {
        h.insert(header::ETAG, tag);
    }
    // Download links belong to one buyer: shared caches must not keep them.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let (status, length) = match *answer {
        Answer::NotModified => return (StatusCode::NOT_MODIFIED, h),
        Answer::Unsatisfiable => {
            h.insert(
                header::CONTENT_RANGE,
                digits(format!("bytes */{}", file.size)),
            );
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(0u64));
            return (StatusCode::RANGE_NOT_SATISFIABLE, h);
        }
        Answer::Full => (StatusCode::OK, file.size),
        Answer::Partial { start, end } => {
            debug_assert!(start <= end && end < file.size, "Partial outside the file");
            let range = format!("bytes {start}-{end}/{}", file.size);
            h.insert(header::CONTENT_RANGE, digits(range));
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
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(file.filename),
    );
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

/// RFC 8187 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else gets %XX.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A header value made only of ASCII text and digits.
fn digits(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("ASCII letters, digits and `*-/ ` are header-safe")
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
    list.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
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
    if first.is_empty() {
        // Suffix range `-n`: the last n bytes, or the whole file if n >= size.
        let n = number(last)?;
        if n == 0 {
            return Some(Answer::Unsatisfiable);
        }
        return Some(Answer::Partial {
            start: size - n.min(size),
            end: size - 1,
        });
    }
    let start = number(first)?;
    let end = if last.is_empty() {
        u64::MAX
    } else {
        number(last)?
    };
    // last-pos < first-pos makes the range-spec invalid (§14.1.1), not unsatisfiable.
    if end < start {
        return None;
    }
    if start >= size {
        return Some(Answer::Unsatisfiable);
    }
    Some(Answer::Partial {
        start,
        end: end.min(size - 1),
    })
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

    const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const TAG: &str = "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"";

    fn file(size: u64) -> ServedFile<'static> {
        let (content_type, filename) = ("application/pdf", "book.pdf");
        ServedFile {
            size,
            sha256_hex: HEX,
            content_type,
            filename,
        }
    }

    fn req(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            h.append(name, HeaderValue::from_bytes(value).unwrap());
        }
        h
    }

    fn ask_sized(size: u64, pairs: &[(&str, &[u8])]) -> Answer {
        decide(&req(pairs), &file(size))
    }

    fn range(size: u64, value: &str) -> Answer {
        ask_sized(size, &[("range", value.as_bytes())])
    }

    fn part(start: u64, end: u64) -> Answer {
        Answer::Partial { start, end }
    }

    #[test]
    fn single_ranges_on_a_1000_byte_file() {
        assert_eq!(ask_sized(1000, &[]), Answer::Full);
        assert_eq!(range(1000, "bytes=0-"), part(0, 999));
        assert_eq!(range(1000, "bytes=-500"), part(500, 999));
        assert_eq!(range(1000, "bytes=500-"), part(500, 999));
        assert_eq!(range(1000, "bytes=0-0"), part(0, 0));
        assert_eq!(range(1000, "bytes=10-5000"), part(10, 999));
        assert_eq!(range(1000, "bytes=-5000"), part(0, 999));
        assert_eq!(range(1000, "Bytes=1-2"), part(1, 2));
        assert_eq!(range(1000, "bytes=7-9, "), part(7, 9));
    }

    #[test]
    fn valid_but_unsatisfiable_ranges() {
        assert_eq!(range(1000, "bytes=1000-"), Answer::Unsatisfiable);
        assert_eq!(range(1000, "bytes=1000-2000"), Answer::Unsatisfiable);
        assert_eq!(range(1000, "bytes=-0"), Answer::Unsatisfiable);
    }

    #[test]
    fn several_ranges_other_units_and_garbage_are_ignored() {
        let ignored = [
            "bytes=0-0,5-9",
            "items=0-1",
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=,",
            "bytes=a-b",
            "bytes=5-3",
            "bytes=+1-2",
            "bytes=1-2-3",
            "bytes=0x1-",
            "bytes=1 - 2",
            "bytes=--5",
            "0-1",
            "bytes 0-1",
            "bytes=1000-0",
        ];
        for value in ignored {
            assert_eq!(range(1000, value), Answer::Full, "{value:?}");
        }
        let two_lines = [("range", &b"bytes=0-1"[..]), ("range", b"bytes=2-3")];
        assert_eq!(ask_sized(1000, &two_lines), Answer::Full);
    }

    #[test]
    fn huge_numbers_saturate_instead_of_overflowing() {
        let huge = "99999999999999999999999";
        assert_eq!(
            range(1000, &format!("bytes={huge}-")),
            Answer::Unsatisfiable
        );
        assert_eq!(range(1000, &format!("bytes=0-{huge}")), part(0, 999));
        assert_eq!(range(1000, &format!("bytes=-{huge}")), part(0, 999));
        assert_eq!(
            range(u64::MAX, &format!("bytes={huge}-")),
            Answer::Unsatisfiable
        );
        assert_eq!(
            range(u64::MAX, "bytes=-1"),
            part(u64::MAX - 1, u64::MAX - 1)
        );
        let (status, h) = head(&Answer::Full, &file(u64::MAX));
        assert_eq!(
            (status, &h[header::CONTENT_LENGTH]),
            (StatusCode::OK, &u64::MAX.into())
        );
    }

    #[test]
    fn empty_file_always_gets_the_full_empty_body() {
        for value in ["bytes=0-", "bytes=-5", "bytes=5-", "bytes=-0", "bytes=0-0"] {
            assert_eq!(range(0, value), Answer::Full, "{value:?}");
        }
    }

    #[test]
    fn if_range_needs_our_exact_strong_etag() {
        let with = |if_range: &str, range: &str| {
            ask_sized(
                1000,
                &[
                    ("if-range", if_range.as_bytes()),
                    ("range", range.as_bytes()),
                ],
            )
        };
        assert_eq!(with(TAG, "bytes=500-"), part(500, 999));
        assert_eq!(with(TAG, "bytes=1000-"), Answer::Unsatisfiable);
        assert_eq!(with("\"other\"", "bytes=500-"), Answer::Full);
        assert_eq!(with("\"other\"", "bytes=1000-"), Answer::Full);
        assert_eq!(with(&format!("W/{TAG}"), "bytes=500-"), Answer::Full);
        assert_eq!(
            with("Wed, 21 Oct 2015 07:28:00 GMT", "bytes=500-"),
            Answer::Full
        );
        assert_eq!(
            ask_sized(1000, &[("if-range", TAG.as_bytes())]),
            Answer::Full
        );
    }

    #[test]
    fn if_none_match_lists_star_and_precedence() {
        let inm = |value: &str| ask_sized(1000, &[("if-none-match", value.as_bytes())]);
        assert_eq!(inm(&format!("\"a\", W/{TAG} , \"b\"")), Answer::NotModified);
        assert_eq!(inm(TAG), Answer::NotModified);
        assert_eq!(inm("*"), Answer::NotModified);
        assert_eq!(inm("\"a\", \"b\""), Answer::Full);
        let lines = [
            ("if-none-match", &b"\"a\""[..]),
            ("if-none-match", TAG.as_bytes()),
        ];
        assert_eq!(ask_sized(1000, &lines), Answer::NotModified);
        let both = [
            ("if-none-match", TAG.as_bytes()),
            ("range", &b"bytes=0-9"[..]),
        ];
        assert_eq!(ask_sized(1000, &both), Answer::NotModified);
        let miss = [("if-none-match", &b"\"a\""[..]), ("range", b"bytes=0-9")];
        assert_eq!(ask_sized(1000, &miss), part(0, 9));
    }

    #[test]
    fn non_ascii_header_values_are_treated_as_absent_or_malformed() {
        assert_eq!(ask_sized(1000, &[("range", b"bytes=0-\xff")]), Answer::Full);
        let inm = [("if-none-match", &b"\"\xff\""[..]), ("range", b"bytes=0-9")];
        assert_eq!(ask_sized(1000, &inm), part(0, 9));
        let if_range = [("if-range", &b"\"\xff\""[..]), ("range", b"bytes=0-9")];
        assert_eq!(ask_sized(1000, &if_range), Answer::Full);
    }

    fn get(h: &HeaderMap, name: HeaderName) -> Option<&str> {
        h.get(name).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn head_sets_exact_status_and_headers() {
        let f = file(1000);
        let (status, h) = head(&part(500, 999), &f);
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(get(&h, header::CONTENT_RANGE), Some("bytes 500-999/1000"));
        assert_eq!(get(&h, header::CONTENT_LENGTH), Some("500"));
        assert_eq!(get(&h, header::CONTENT_TYPE), Some("application/pdf"));
        let disposition = "attachment; filename=\"book.pdf\"; filename*=UTF-8''book.pdf";
        assert_eq!(get(&h, header::CONTENT_DISPOSITION), Some(disposition));
        for (name, value) in [
            (header::ACCEPT_RANGES, "bytes"),
            (header::ETAG, TAG),
            (header::CACHE_CONTROL, "private"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ] {
            for answer in [
                Answer::Full,
                part(0, 0),
                Answer::NotModified,
                Answer::Unsatisfiable,
            ] {
                assert_eq!(
                    get(&head(&answer, &f).1, name.clone()),
                    Some(value),
                    "{answer:?}"
                );
            }
        }

        let (status, h) = head(&Answer::Full, &f);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(get(&h, header::CONTENT_LENGTH), Some("1000"));
        assert_eq!(get(&h, header::CONTENT_RANGE), None);

        let (status, h) = head(&Answer::Unsatisfiable, &f);
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(get(&h, header::CONTENT_RANGE), Some("bytes */1000"));
        assert_eq!(get(&h, header::CONTENT_LENGTH), Some("0"));
        assert_eq!(get(&h, header::CONTENT_TYPE), None);

        let (status, h) = head(&Answer::NotModified, &f);
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert_eq!(get(&h, header::CONTENT_LENGTH), None);
        assert_eq!(get(&h, header::CONTENT_TYPE), None);
        assert_eq!(get(&h, header::CONTENT_DISPOSITION), None);

        let odd = ServedFile {
            content_type: "text/plain\n",
            sha256_hex: "\r\n",
            ..file(3)
        };
        let (_, h) = head(&Answer::Full, &odd);
        assert_eq!(
            get(&h, header::CONTENT_TYPE),
            Some("application/octet-stream")
        );
        assert_eq!(get(&h, header::ETAG), None);
    }

    #[test]
    fn etag_is_quoted_hash() {
        assert_eq!(etag(HEX), TAG);
    }

    fn disposition(name: &str) -> String {
        content_disposition(name).to_str().unwrap().to_owned()
    }

    #[test]
    fn content_disposition_fallback_and_encoding() {
        assert_eq!(
            disposition("Résumé \"final\".pdf"),
            "attachment; filename=\"R_sum_ _final_.pdf\"; \
             filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf"
        );
        assert_eq!(
            disposition("../a\\b/c;d%.zip"),
            "attachment; filename=\".._a_b_c;d%.zip\"; filename*=UTF-8''..%2Fa%5Cb%2Fc%3Bd%25.zip"
        );
        let attr_chars = "aZ09!#$&+-.^_`|~";
        assert!(disposition(attr_chars).ends_with(&format!("UTF-8''{attr_chars}")));
        assert!(
            disposition("🦀.txt")
                .ends_with("filename=\"_.txt\"; filename*=UTF-8''%F0%9F%A6%80.txt")
        );
    }

    #[test]
    fn content_disposition_cannot_inject_headers() {
        let value = disposition("evil\r\nSet-Cookie: a=b\0\x7f.pdf");
        assert_eq!(
            value,
            "attachment; filename=\"evil__Set-Cookie: a=b__.pdf\"; \
             filename*=UTF-8''evil%0D%0ASet-Cookie%3A%20a%3Db%00%7F.pdf"
        );
        assert!(!value.bytes().any(|b| b.is_ascii_control()));
    }
}
