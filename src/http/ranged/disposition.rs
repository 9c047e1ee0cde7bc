//! `Content-Disposition: attachment` with the exact UTF-8 name (`filename*`, RFC 8187) and a
//! transliterated ASCII fallback (`filename`) for clients that ignore `filename*` (`curl -OJ`).

use http::HeaderValue;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// `attachment; filename="<ascii fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 / 8187).
pub fn content_disposition(filename: &str) -> HeaderValue {
    let fallback = ascii_fallback(filename);
    let encoded = utf8_percent_encode(filename, ATTR_CHAR);
    let value = format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}");
    // Both parts are printable ASCII by construction; the fallback is belt and braces.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The name in printable ASCII: letters transliterated where one can (`Résumé – 東京.pdf` →
/// `Resume - Dong Jing.pdf`, by `deunicode`), `_` for the rest, and nothing that can close
/// the quoted string or name a directory.
pub fn ascii_fallback(filename: &str) -> String {
    let mut out = String::with_capacity(filename.len());
    let mut chars = filename.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let spelled = deunicode::deunicode_char(c).unwrap_or("_");
        out.push_str(spelled.trim_end());
        // deunicode ends a syllable (東 → "Dong ") with a space; keep it only between two
        // transliterated characters, so `東京.pdf` is `Dong Jing.pdf`, not `Dong Jing .pdf`.
        if spelled.ends_with(' ') && chars.peek().is_some_and(|next| !next.is_ascii()) {
            out.push(' ');
        }
    }
    out.chars()
        .map(|c| match c {
            '"' | '\\' | '/' => '_',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '_',
        })
        .collect()
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
