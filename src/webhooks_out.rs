//! The HTTP client that delivers events to the shops' own endpoints, with its guard against
//! server-side request forgery: a merchant chooses the URL, so without the guard a delivery
//! could reach the operator's loopback services, cloud metadata or private network.
//!
//! The guard filters the addresses a name resolves to at connect time (a name that resolves to
//! 127.0.0.1 is refused, and DNS cannot change the answer between a check and the connection),
//! and [`check_host`] refuses IP literals in the URL, which are connected to without resolving.

pub mod worker;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Time allowed to connect to an endpoint (at most: never more than the whole delivery's).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for a whole delivery, answer included, unless `[webhooks_out]
/// timeout_milliseconds` says otherwise.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether a delivery may connect to `ip` when private addresses are not allowed: not
/// loopback, unspecified, private (RFC 1918), shared (100.64/10), link-local, unique-local,
/// multicast, broadcast or documentation ranges; IPv4 inside IPv6 is judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site local fec0::/10 (deprecated)
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 reaches IPv4 behind it
        }
    }
}

/// Refuses a URL whose host is an IP address the guard does not allow (IP literals are
/// connected to without resolving, so the resolver never sees them).
pub fn check_host(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(format!("refused: {ip} is a private, loopback or reserved address"))
    }
}

/// Resolves names with the system resolver and keeps only the addresses the guard allows.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Keep every address (`[webhooks_out] allow_private = true`).
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = all.into_iter().filter(|a| allow_private || is_public(a.ip())).collect();
            if kept.is_empty() {
                let message = format!("refused: {host} resolves only to private, loopback or reserved addresses");
                return Err(message.into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The client deliveries are sent with: the guard, 5 s to connect, `total` in all (15 s by
/// default), redirects not followed (a 3xx is the endpoint's answer, and following it would
/// leave the guard's URL).
pub fn client(allow_private: bool, total: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(GuardedResolver { allow_private })
        .connect_timeout(CONNECT_TIMEOUT.min(total))
        .timeout(total)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Satchel-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_reserved_addresses_are_not_public() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            assert!(!is_public(refused.parse().unwrap()), "{refused}");
        }
        for allowed in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"] {
            assert!(is_public(allowed.parse().unwrap()), "{allowed}");
        }
    }

    #[test]
    fn ip_literals_are_checked_in_the_url() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(check_host(&url("http://127.0.0.1:8080/hook"), false).is_err());
        assert!(check_host(&url("http://[::1]/hook"), false).is_err());
        assert!(check_host(&url("http://127.0.0.1:8080/hook"), true).is_ok());
        assert!(check_host(&url("https://example.com/hook"), false).is_ok());
    }

    /// A name resolving to loopback gets no connection: the listener never sees one, and the
    /// error says why.
    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_at_connect_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let error = client(false, TOTAL_TIMEOUT)
            .unwrap()
            .post(format!("http://localhost:{port}/hook"))
            .send()
            .await
            .unwrap_err();
        let chain = format!("{:?}", error);
        assert!(chain.contains("refused: localhost resolves only to private"), "{chain}");
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection was made");
        // Allowed by the operator, the same request reaches the listener.
        let send =
            tokio::spawn(client(true, TOTAL_TIMEOUT).unwrap().post(format!("http://localhost:{port}/hook")).send());
        let (stream, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept()).await.unwrap().unwrap();
        drop(stream);
        let _ = send.await;
    }
}
