//! Start-up checks on how the server is exposed.

use std::net::IpAddr;

/// Whether binding `host` with the public URL `public_url` sends session cookies without
/// `Secure` to other machines: bound beyond loopback while links (and cookies) are plain
/// `http://`. Behind a TLS-terminating proxy the public URL is `https://`, so no warning.
pub fn insecure_cookies_exposed(host: &str, public_url: &str) -> bool {
    let loopback = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    !loopback && !public_url.to_ascii_lowercase().starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_beyond_loopback_is_flagged() {
        assert!(insecure_cookies_exposed("0.0.0.0", "http://0.0.0.0:8080"));
        assert!(insecure_cookies_exposed("192.0.2.10", "http://shop.example.com"));
        assert!(insecure_cookies_exposed("::", "HTTP://shop.example.com"));
        assert!(insecure_cookies_exposed("files.example.com", "http://files.example.com"));
        assert!(!insecure_cookies_exposed("0.0.0.0", "https://files.example.com"), "TLS at a proxy");
        assert!(!insecure_cookies_exposed("127.0.0.1", "http://127.0.0.1:8080"), "loopback only");
        assert!(!insecure_cookies_exposed("::1", "http://[::1]:8080"));
        assert!(!insecure_cookies_exposed("[::1]", "http://[::1]:8080"));
        assert!(!insecure_cookies_exposed("localhost", "http://localhost:8080"));
    }
}
