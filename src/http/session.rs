//! Session cookies shared by the dashboard and the portal: `HttpOnly`, `SameSite=Lax`,
//! `Secure` when the service is reached over https, scoped to the area's path.

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
