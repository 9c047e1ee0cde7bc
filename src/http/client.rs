//! Who is asking: the client's IP address, for rate limits and the download log. Behind a
//! reverse proxy the connection comes from the proxy, so with `server.trusted_proxies = N` the
//! address is read from `X-Forwarded-For` instead: the N-th entry from the right, the one our
//! own nearest proxy wrote (entries further left are whatever the client claimed).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The client's IP address as text (empty when unknown).
#[derive(Debug, Clone, Default)]
pub struct ClientIp(pub String);

/// The client address given the connection's peer and `trusted` proxies in front of us.
pub fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, trusted: u8) -> String {
    let peer = peer.map(|p| p.ip().to_string()).unwrap_or_default();
    if trusted == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    match forwarded.len().checked_sub(trusted as usize) {
        Some(i) if forwarded[i].parse::<std::net::IpAddr>().is_ok() => forwarded[i].to_owned(),
        _ => peer,
    }
}

/// Middleware working out [`ClientIp`] once per request.
pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let ip = client_address(request.headers(), peer, state.config.server.trusted_proxies);
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ClientIp>().cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn the_entry_our_proxy_wrote_is_the_client() {
        let proxy: SocketAddr = "10.0.0.2:443".parse().unwrap();
        let claimed = forwarded("6.6.6.6, 203.0.113.7");
        assert_eq!(client_address(&claimed, Some(proxy), 0), "10.0.0.2", "no proxy trusted: the connection");
        assert_eq!(client_address(&claimed, Some(proxy), 1), "203.0.113.7", "what our proxy saw, not the claim");
        assert_eq!(client_address(&claimed, Some(proxy), 2), "6.6.6.6", "two proxies in a row");
        assert_eq!(client_address(&claimed, Some(proxy), 3), "10.0.0.2", "too few entries: the connection");
        assert_eq!(client_address(&forwarded("not-an-ip"), Some(proxy), 1), "10.0.0.2");
        assert_eq!(client_address(&HeaderMap::new(), Some(proxy), 1), "10.0.0.2");
    }
}
