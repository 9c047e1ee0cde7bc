//! Security headers on every answer: pages may not be framed elsewhere and run only our own
//! scripts and styles (`Content-Security-Policy`), and pages whose URL carries a bearer token
//! (`/d/{token}`, the portal's sign-in links) send no `Referer` at all.

use axum::extract::Request;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Our pages: scripts, styles, images, forms and fetches from this origin only; never framed.
const PAGES: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
/// The Mailbox (and the publish preview) shows email HTML (inline `style=` attributes) in a sandboxed `srcdoc` frame,
/// which inherits this policy; Swagger UI sets inline styles too. Scripts stay our own.
const INLINE_STYLES: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Whether `path`'s URL is itself a credential (so it must not leave in a `Referer`).
pub fn token_in_url(path: &str) -> bool {
    if path.starts_with("/d/") {
        return true;
    }
    let mut parts = path.trim_start_matches('/').split('/');
    parts.next() == Some("portal") && matches!(parts.nth(1), Some("sign-in" | "link")) && parts.next().is_some()
}

/// The `Content-Security-Policy` of an HTML page at `path`.
pub fn page_policy(path: &str) -> &'static str {
    // The publish preview shows the update email as the Mailbox shows emails.
    let preview = path.starts_with("/dashboard/products/") && path.ends_with("/publish");
    if path.starts_with("/dashboard/mailbox/") || path.starts_with("/api/docs") || preview {
        INLINE_STYLES
    } else {
        PAGES
    }
}

/// Middleware adding the headers (those a handler set itself are kept).
pub async fn headers(request: Request, next: Next) -> Response {
    // Decided from the path before the request moves on: nothing is copied on the download path.
    let path = request.uri().path();
    let no_referrer = token_in_url(path);
    let policy = page_policy(path);
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if no_referrer {
        // On every answer there, redirects included: a redirect's policy governs its Referer.
        set(header::REFERRER_POLICY, "no-referrer");
    }
    if is_html {
        set(header::CONTENT_SECURITY_POLICY, policy);
        set(header::REFERRER_POLICY, "same-origin");
        set(header::X_FRAME_OPTIONS, "DENY");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_urls_are_recognised() {
        assert!(token_in_url("/d/abc"));
        assert!(token_in_url("/d/abc/link/2"));
        assert!(token_in_url("/portal/acme/sign-in/tok"));
        assert!(token_in_url("/portal/acme/link/ord/1"));
        assert!(!token_in_url("/portal/acme/sign-in"), "the form itself carries no token");
        assert!(!token_in_url("/portal/acme"));
        assert!(!token_in_url("/dashboard/d/x"));
    }
}
