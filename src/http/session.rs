//! Session cookies shared by the dashboard and the portal: `HttpOnly`, `SameSite=Lax`,
//! `Secure` when the service is reached over https, scoped to the area's path; and the
//! same-origin check their forms rely on.

use axum::http::{HeaderMap, header};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::state::AppState;

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

/// The form cookie over plain http. Over https it is `__Host-satchel_form`: the prefix makes
/// browsers refuse it from a sibling subdomain, which could otherwise plant a cookie whose
/// token it had fetched for itself.
pub const FORM_COOKIE: &str = "satchel_form";
const FORM_COOKIE_HTTPS: &str = "__Host-satchel_form";
/// The hidden field that carries a sign-in form's token.
pub const FORM_FIELD: &str = "form_token";

fn form_cookie_name(state: &AppState) -> &'static str {
    if state.public_url.starts_with("https://") { FORM_COOKIE_HTTPS } else { FORM_COOKIE }
}

/// A token for a sign-in form shown now, bound to the browser's form cookie; the cookie is
/// added to the jar when the browser has none yet (a pre-session cookie: it signs nobody in).
pub fn form_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let name = form_cookie_name(state);
    let now = crate::domain::now_millis();
    if let Some(cookie) = secret_of(&jar, name) {
        let token = crate::domain::FormToken::issue(&state.secrets.key(), &cookie, now);
        return (jar, token);
    }
    let cookie = crate::domain::FormToken::new_cookie();
    let token = crate::domain::FormToken::issue(&state.secrets.key(), &cookie, now);
    let built = Cookie::build((name, cookie))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.public_url.starts_with("https://"))
        .build();
    (jar.add(built), token)
}

/// Whether a posted sign-in form carries a fresh token issued to this browser's form cookie.
pub fn form_token_ok(state: &AppState, jar: &CookieJar, presented: &str) -> bool {
    let Some(cookie) = secret_of(jar, form_cookie_name(state)) else { return false };
    crate::domain::FormToken::verify(&state.secrets.key(), &cookie, presented, crate::domain::now_millis())
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
