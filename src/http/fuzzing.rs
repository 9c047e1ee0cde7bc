//! Entry points for the fuzz targets in `fuzz/`: the parsers of the HTTP layer that are not
//! public API otherwise, each exactly as the handlers call it.

use axum::extract::{FromRequest, Multipart};
use http::HeaderMap;

use crate::domain::{DisplayName, Invalid};
use crate::payments::{self, PaymentEvent, Provider, Unreadable, WebhookError};

/// Whether `/d/{token}` looks a download token up at all (`order_links::open`).
pub fn token_shaped(token: &str) -> bool {
    super::order_links::token_shaped(token)
}

/// The expiry and signature a signed portal URL's query string carries (`portal::open_signed`).
pub fn signed_query(query: Option<&str>) -> Option<(i64, String)> {
    super::portal::signed_query(query)
}

/// A webhook verified and parsed as `POST /webhooks/{merchant}/{provider}` does it, with the
/// handler's own reading of the request headers.
pub fn webhook(
    provider: Provider,
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now_unix: i64,
) -> Result<Result<PaymentEvent, Unreadable>, WebhookError> {
    payments::verify_then_parse(provider, secret, &super::webhooks::Headers(headers), body, now_unix)
}

/// The `?filename=` of a raw upload (`POST /api/v1/files`, `POST /dashboard/uploads`).
pub fn upload_filename(query: Option<&str>) -> Result<Option<String>, Invalid> {
    super::upload::filename_in_query(query)
}

/// The stored names of a multipart upload's file parts, read as `receive_parts` reads them:
/// `Err` when the body cannot be read as multipart (the handler answers 400 then), else one
/// entry per file part, the name or why it is refused.
pub fn multipart_filenames(content_type: &str, body: Vec<u8>) -> Result<Vec<Result<DisplayName, Invalid>>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let request = http::Request::builder()
            .method("POST")
            .header(http::header::CONTENT_TYPE, content_type)
            .body(axum::body::Body::from(body))
            .map_err(|e| e.to_string())?;
        let mut multipart = Multipart::from_request(request, &()).await.map_err(|e| e.body_text())?;
        let mut names = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
            if let Some(name) = super::upload::part_filename(field.file_name()) {
                names.push(name);
            }
        }
        Ok::<_, String>(names)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_names_are_read_as_uploads_read_them() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\nx\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\ny\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n\r\n--b--\r\n";
        let names = multipart_filenames("multipart/form-data; boundary=b", body.into()).unwrap();
        let names: Vec<_> = names.into_iter().map(|n| n.unwrap().as_str().to_owned()).collect();
        assert_eq!(names, ["a.pdf"]);
        assert!(multipart_filenames("text/plain", Vec::new()).is_err());
    }

    #[test]
    fn token_shape_and_signed_query() {
        assert!(token_shaped(&"A-_9".repeat(11)[..43]));
        assert!(!token_shaped(&"a".repeat(42)));
        assert!(!token_shaped(&format!("{}=", "a".repeat(42))));
        assert_eq!(signed_query(Some("e=5&s=abc")), Some((5, "abc".into())));
        assert_eq!(signed_query(Some("s=abc&e=x")), None);
        assert_eq!(signed_query(None), None);
    }
}
