//! How to answer a file download: conditional requests (If-Match, If-Unmodified-Since,
//! If-None-Match, If-Modified-Since, If-Range) and single byte ranges, following RFC 9110.
//! Pure: no I/O, never panics on input.

use std::time::SystemTime;

use http::StatusCode;
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderMap,
    HeaderName, HeaderValue, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED,
    RANGE, X_CONTENT_TYPE_OPTIONS,
};
use httpdate::HttpDate;

mod disposition;
pub use disposition::content_disposition;

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
    /// Sent as Last-Modified (whole seconds); the bytes never change after it.
    pub last_modified: SystemTime,
}

/// How to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// 304, no body (If-None-Match matched, or not modified since If-Modified-Since).
    NotModified,
    /// 412, no body (If-Match or If-Unmodified-Since failed).
    PreconditionFailed,
    /// 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

impl Answer {
    /// The bytes of a file of `size` bytes this answer carries; `None` when it carries none.
    pub fn bytes(&self, size: u64) -> Option<std::ops::Range<u64>> {
        match *self {
            Answer::Full => Some(0..size),
            Answer::Partial { start, end } => Some(start..end + 1),
            Answer::NotModified | Answer::PreconditionFailed | Answer::Unsatisfiable => None,
        }
    }
}

/// Decide from the request headers, in the order of RFC 9110 §13.2.2: If-Match (else
/// If-Unmodified-Since), If-None-Match (else If-Modified-Since), then Range with If-Range.
/// Only GET and HEAD reach here, so the "GET or HEAD" conditions always apply.
pub fn decide(headers: &HeaderMap, file: &ServedFile) -> Answer {
    let ours = etag(file.sha256_hex);
    let modified = http_date(file.last_modified);
    // §13.1.1: strong comparison; `*` matches any existing file. Several lines form one list.
    if headers.contains_key(IF_MATCH) {
        if !headers.get_all(IF_MATCH).iter().any(|v| tag_list_hits(v, &ours, false)) {
            return Answer::PreconditionFailed;
        }
    } else if let Some(since) = date(headers, IF_UNMODIFIED_SINCE) {
        // §13.1.4: an invalid date is ignored.
        if modified > since {
            return Answer::PreconditionFailed;
        }
    }
    if headers.contains_key(IF_NONE_MATCH) {
        // §13.1.2: weak comparison.
        if headers.get_all(IF_NONE_MATCH).iter().any(|v| tag_list_hits(v, &ours, true)) {
            return Answer::NotModified;
        }
    } else if let Some(since) = date(headers, IF_MODIFIED_SINCE) {
        // §13.1.3: evaluated only without If-None-Match; an invalid date is ignored.
        if modified <= since {
            return Answer::NotModified;
        }
    }
    let Some(range) = single_value(headers, RANGE) else {
        return Answer::Full;
    };
    // §13.1.5: If-Range keeps the Range alive only with our exact strong ETag, or with the
    // exact Last-Modified date (a strong validator here: the bytes of a file never change).
    // Weak tags and any other date or value mean "send the whole file".
    if headers.contains_key(IF_RANGE) && !if_range_holds(headers, &ours, modified) {
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

fn if_range_holds(headers: &HeaderMap, ours: &str, modified: HttpDate) -> bool {
    match single_value(headers, IF_RANGE) {
        Some(tag) if tag.starts_with('"') => tag == ours,
        Some(text) => text.parse::<HttpDate>().is_ok_and(|date| date == modified),
        None => false,
    }
}

/// `t` as an HTTP-date, clamped to what one can say (1970 to 9999) rather than panicking.
fn http_date(t: SystemTime) -> HttpDate {
    let latest = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(253_402_300_799);
    HttpDate::from(t.clamp(SystemTime::UNIX_EPOCH, latest))
}

/// The time of a stored unix-milliseconds value (negative ones are the epoch).
pub fn time_of(millis: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(millis.max(0) as u64)
}

/// A singleton date header: `None` if absent, repeated or not a valid HTTP-date (any of the
/// three formats of §5.6.7).
fn date(headers: &HeaderMap, name: HeaderName) -> Option<HttpDate> {
    single_value(headers, name)?.parse().ok()
}

/// The strong ETag for a file: `"` + sha256 hex + `"` (content-addressed, so identical bytes share it).
pub fn etag(sha256_hex: &str) -> String {
    format!("\"{sha256_hex}\"")
}

/// The response status and headers for an answer (no body). Always: Accept-Ranges: bytes,
/// ETag, Last-Modified, Cache-Control: private, X-Content-Type-Options: nosniff. For Full/Partial also
/// Content-Type (the stored one), Content-Length (of the part sent), Content-Disposition;
/// Partial adds Content-Range: bytes start-end/size; Unsatisfiable: Content-Range: bytes */size
/// and Content-Length: 0; PreconditionFailed: Content-Length: 0; NotModified: no Content-Length/Type.
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
    h.insert(LAST_MODIFIED, ascii(http_date(file.last_modified).to_string()));
    let (status, length) = match *answer {
        Answer::NotModified => return (StatusCode::NOT_MODIFIED, h),
        Answer::PreconditionFailed => {
            h.insert(CONTENT_LENGTH, HeaderValue::from(0u64));
            return (StatusCode::PRECONDITION_FAILED, h);
        }
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
    h.insert(CONTENT_TYPE, content_type(file.content_type));
    h.insert(CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(CONTENT_DISPOSITION, content_disposition(file.filename));
    (status, h)
}

/// The `Content-Type` of a file stored as `stored`: a type that is empty or not header-safe
/// degrades to plain bytes.
pub fn content_type(stored: &str) -> HeaderValue {
    Some(stored)
        .filter(|t| !t.is_empty())
        .and_then(|t| HeaderValue::from_str(t).ok())
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"))
}

/// A header value built from ASCII we formatted ourselves.
fn ascii(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("`bytes`, digits, HTTP-dates and `*-/ ` are header-safe")
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

/// Whether a list of entity tags (or `*`) holds ours: weak comparison (§8.8.3.2) ignores
/// `W/`, strong comparison never matches a weak tag.
fn tag_list_hits(value: &HeaderValue, ours: &str, weak: bool) -> bool {
    let Ok(list) = value.to_str() else {
        return false;
    };
    // Splitting on commas is enough: our own tag is hex and contains none.
    list.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == ours || (weak && tag.strip_prefix("W/") == Some(ours)))
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
mod tests;
