//! Reading a message from the file mailbox back the way a mail client shows it: the headers
//! people look at, and the plain text and HTML parts decoded. Enough MIME for what lettre
//! writes (multipart, 7bit/8bit, quoted-printable, base64, UTF-8), not a general parser.

use base64::Engine;

use super::mailbox::{decode_words, header};

/// A message as a mail client shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadMessage {
    /// `Subject`, decoded.
    pub subject: String,
    /// `From`, decoded.
    pub from: String,
    /// `To`, decoded.
    pub to: String,
    /// `Date` as written.
    pub date: String,
    /// The first `text/plain` part.
    pub text: Option<String>,
    /// The first `text/html` part.
    pub html: Option<String>,
}

/// Reads a raw RFC 5322 message.
pub fn read(raw: &str) -> ReadMessage {
    let get = |name: &str| decode_words(&header(raw, name).unwrap_or_default());
    let mut message = ReadMessage {
        subject: get("Subject"),
        from: get("From"),
        to: get("To"),
        date: header(raw, "Date").unwrap_or_default(),
        text: None,
        html: None,
    };
    collect_parts(raw, &mut message, 0);
    message
}

/// Splits a part into its header block and body at the first empty line.
fn split_part(part: &str) -> (&str, &str) {
    for separator in ["\r\n\r\n", "\n\n"] {
        if let Some(i) = part.find(separator) {
            return (&part[..i], &part[i + separator.len()..]);
        }
    }
    (part, "")
}

/// The value of `param` in a header like `multipart/alternative; boundary="abc"`.
fn parameter(value: &str, param: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (key, v) = p.trim().split_once('=')?;
        key.trim().eq_ignore_ascii_case(param).then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn collect_parts(part: &str, out: &mut ReadMessage, depth: usize) {
    let (headers, body) = split_part(part);
    // `header` reads up to the first empty line, so give it the header block with one.
    let headers = format!("{headers}\r\n\r\n");
    let content_type = header(&headers, "Content-Type").unwrap_or_else(|| "text/plain".into());
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media.starts_with("multipart/") {
        let Some(boundary) = parameter(&content_type, "boundary").filter(|_| depth < 8) else { return };
        let delimiter = format!("--{boundary}");
        for child in body.split(delimiter.as_str()).skip(1) {
            if child.starts_with("--") {
                break;
            }
            collect_parts(child.trim_start_matches(['\r', '\n']), out, depth + 1);
        }
        return;
    }
    let encoding = header(&headers, "Content-Transfer-Encoding").unwrap_or_default().to_ascii_lowercase();
    let decoded = decode_body(body, &encoding);
    match media.as_str() {
        "text/plain" if out.text.is_none() => out.text = Some(decoded),
        "text/html" if out.html.is_none() => out.html = Some(decoded),
        _ => {}
    }
}

fn decode_body(body: &str, encoding: &str) -> String {
    let bytes = match encoding {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD.decode(compact).unwrap_or_default()
        }
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    };
    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    text.strip_suffix('\n').map(str::to_owned).unwrap_or(text)
}

fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        // `=` at the end of a line is a soft break; `=XX` is a byte.
        let rest = &bytes[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let Some(byte) = rest.get(..2).and_then(|h| std::str::from_utf8(h).ok())
            && let Ok(value) = u8::from_str_radix(byte, 16)
        {
            out.push(value);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::Message;
    use lettre::message::MultiPart;

    fn formatted(text: &str, html: &str) -> String {
        let message = Message::builder()
            .from("Café Crème <shop@example.com>".parse().unwrap())
            .to("ada@example.com".parse().unwrap())
            .subject("Your purchase from Café Crème")
            .multipart(MultiPart::alternative_plain_html(text.to_owned(), html.to_owned()))
            .unwrap();
        String::from_utf8(message.formatted()).unwrap()
    }

    #[test]
    fn reads_back_what_lettre_writes() {
        // Long lines and non-ASCII text make lettre pick quoted-printable or base64.
        let long = "x".repeat(300);
        let text = format!("Hello Zoë,\nYour link: https://shop.example/d/abc\n{long}");
        let html = format!("<p>Hello Zoë, <a href=\"https://shop.example/d/abc\">download</a></p><p>{long}</p>");
        let message = read(&formatted(&text, &html));
        assert_eq!(message.subject, "Your purchase from Café Crème");
        assert!(message.from.contains("Café Crème") && message.from.contains("shop@example.com"), "{message:?}");
        assert_eq!(message.to, "ada@example.com");
        assert!(!message.date.is_empty());
        assert_eq!(message.text.as_deref(), Some(text.as_str()));
        assert_eq!(message.html.as_deref(), Some(html.as_str()));
    }

    #[test]
    fn plain_ascii_parts_and_soft_breaks() {
        let message = read(&formatted("plain text", "<b>bold</b>"));
        assert_eq!((message.text.as_deref(), message.html.as_deref()), (Some("plain text"), Some("<b>bold</b>")));
        assert_eq!(decode_quoted_printable("a=3Db=\r\nc=\nd =ZZ"), b"a=bcd =ZZ");
        assert_eq!(read("Subject: hi\r\n\r\nbody").text.as_deref(), Some("body"));
    }
}
