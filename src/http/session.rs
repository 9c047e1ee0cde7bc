//! Session cookies shared by the dashboard and the portal: `HttpOnly`, `SameSite=Lax`,
//! `Secure` when the service is reached over https, scoped to the area's path; and the
//! same-origin check their forms rely on.

use axum::http::{HeaderMap, header};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::app::AppState;

/// The browser keeps the cookie this long; the database's rolling 30-day expiry decides
/// whether it still signs anyone in (400 days is the most browsers keep a cookie).
const COOKIE_MAX_AGE_DAYS: i64 = 400;

/// A session cookie named `name` for pages under `path`.
pub fn session_cookie(state: &AppState, name: &'static str, path: String, secret: String) -> Cookie<'static> {
    Cookie::build((name, secret))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.public_url.starts_with("https://"))
        .max_age(time::Duration::days(COOKIE_MAX_AGE_DAYS))
        .build()
}

/// The secret in the cookie `name`, if the browser sent one.
pub fn secret_of(jar: &CookieJar, name: &str) -> Option<String> {
    jar.get(name).map(|c| c.value().to_owned()).filter(|v| !v.is_empty())
}

/// Drops the cookie `name` set for `path` (sign out).
pub fn removed(jar: CookieJar, name: &'static str, path: String) -> CookieJar {
    jar.remove(Cookie::build((name, "")).path(path).build())
}

/// Whether the request was made by a page of this service rather than another site: the
/// browser's `Sec-Fetch-Site`, else `Origin`, must name us. Requests with neither (old
/// browsers, curl) fall through to the CSRF token check alone.
pub fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    if origin == public_url.trim_end_matches('/') {
        return true;
    }
    // Behind a proxy the public URL may be configured differently: the Host header is the
    // browser's own idea of where it is.
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    !host.is_empty() && origin_host == host
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn requests_from_other_sites_are_not_same_origin() {
        let us = "http://127.0.0.1:8080";
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")]), us));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")]), us));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")]), us));
        assert!(same_origin(&headers(&[("origin", "http://127.0.0.1:8080")]), us));
        assert!(!same_origin(&headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:8080")]), us));
        assert!(same_origin(&headers(&[("origin", "https://shop.example"), ("host", "shop.example")]), us));
        assert!(same_origin(&headers(&[]), us), "no browser headers: the CSRF token decides");
    }
}
