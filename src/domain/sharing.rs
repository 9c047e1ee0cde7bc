//! The link-sharing brake's rules (issue 17, item 2): the shop's policy, what counts as one
//! client network, the short user-agent family shown to the merchant, and what to do once an
//! order's email link was downloaded from too many networks. Nothing here does I/O.

use std::net::IpAddr;

use super::stored::stored_enum;
use super::{Invalid, Millis};

stored_enum! {
    /// What the brake does when an email link is downloaded from too many networks.
    pub enum SharingMode {
        /// Nothing is recorded (the default).
        Off = "off",
        /// `sharing.suspected` goes out; the link keeps working.
        Notify = "notify",
        /// `sharing.suspected` and `sharing.locked` go out, and the email link is locked.
        Lock = "lock",
    }
}

/// The fewest distinct networks a shop may allow (one buyer at home and at work is two).
pub const MIN_NETWORKS: i64 = 2;
/// The most distinct networks a shop may allow.
pub const MAX_NETWORKS: i64 = 1000;
/// The shortest window, in hours.
pub const MIN_WINDOW_HOURS: i64 = 1;
/// The longest window, in hours (30 days).
pub const MAX_WINDOW_HOURS: i64 = 720;
/// Networks kept per order at least: the history the merchant sees. A shop allowing more keeps
/// one more than it allows, which is all the decision needs.
pub const MIN_ROWS_KEPT: i64 = 100;

/// A shop's brake policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharingPolicy {
    /// Off, notify or lock.
    pub mode: SharingMode,
    /// Distinct networks allowed within the window (more is sharing).
    pub max_networks: i64,
    /// The window, in hours.
    pub window_hours: i64,
}

impl Default for SharingPolicy {
    fn default() -> SharingPolicy {
        SharingPolicy { mode: SharingMode::Off, max_networks: 5, window_hours: 24 }
    }
}

impl SharingPolicy {
    /// Checks a policy: `sharing_max_networks` 2..=1000, `sharing_window_hours` 1..=720.
    pub fn new(mode: SharingMode, max_networks: i64, window_hours: i64) -> Result<SharingPolicy, Invalid> {
        if !(MIN_NETWORKS..=MAX_NETWORKS).contains(&max_networks) {
            let message = format!("must be a whole number from {MIN_NETWORKS} to {MAX_NETWORKS}");
            return Err(Invalid::new("sharing_max_networks", message));
        }
        if !(MIN_WINDOW_HOURS..=MAX_WINDOW_HOURS).contains(&window_hours) {
            let message = format!("must be a whole number of hours from {MIN_WINDOW_HOURS} to {MAX_WINDOW_HOURS}");
            return Err(Invalid::new("sharing_window_hours", message));
        }
        Ok(SharingPolicy { mode, max_networks, window_hours })
    }

    /// When the window ending at `now` starts.
    pub fn window_start(&self, now: Millis) -> Millis {
        now.saturating_sub(self.window_hours.saturating_mul(3_600_000))
    }

    /// Networks kept per order under this policy.
    pub fn rows_kept(&self) -> i64 {
        MIN_ROWS_KEPT.max(self.max_networks + 1)
    }
}

/// The network a client address belongs to, as stored and shown: an IPv4 /24
/// (`203.0.113.0/24`) or an IPv6 /48 (`2001:db8:1::/48`); an IPv4 address mapped into IPv6 is
/// its IPv4 network. None for anything that is not an address (an unknown client).
pub fn network_of(ip: &str) -> Option<String> {
    let ip: IpAddr = ip.trim().parse().ok()?;
    let v4 = match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    if let Some(v4) = v4 {
        let [a, b, c, _] = v4.octets();
        return Some(format!("{a}.{b}.{c}.0/24"));
    }
    let IpAddr::V6(v6) = ip else { return None };
    let s = v6.segments();
    Some(format!("{}/48", std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0)))
}

/// A short family of a `User-Agent` ("Firefox on Linux", "curl"): a small fixed set, so a
/// client inventing agents cannot make rows of its own, and the merchant reads it at a glance.
pub fn agent_family(user_agent: &str) -> String {
    let ua = user_agent.to_ascii_lowercase();
    let tools = [
        ("curl/", "curl"),
        ("wget/", "Wget"),
        ("aria2/", "aria2"),
        ("python", "Python"),
        ("go-http-client", "Go"),
        ("java/", "Java"),
        ("okhttp", "OkHttp"),
        ("node", "Node.js"),
    ];
    if let Some((_, name)) = tools.iter().find(|(needle, _)| ua.starts_with(needle)) {
        return (*name).to_owned();
    }
    let browsers = [
        ("edg/", "Edge"),
        ("opr/", "Opera"),
        ("firefox/", "Firefox"),
        ("fxios/", "Firefox"),
        ("crios/", "Chrome"),
        ("chrome/", "Chrome"),
        ("safari/", "Safari"),
    ];
    let Some((_, browser)) = browsers.iter().find(|(needle, _)| ua.contains(needle)) else {
        return if ua.trim().is_empty() { "Unknown".to_owned() } else { "Other".to_owned() };
    };
    let systems = [
        ("android", "Android"),
        ("iphone", "iOS"),
        ("ipad", "iOS"),
        ("windows", "Windows"),
        ("mac os", "macOS"),
        ("cros", "ChromeOS"),
        ("linux", "Linux"),
    ];
    match systems.iter().find(|(needle, _)| ua.contains(needle)) {
        Some((_, system)) => format!("{browser} on {system}"),
        None => (*browser).to_owned(),
    }
}

/// What an order's link looks like after a counted download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Distinct networks within the window (since the last unlock or new link).
    pub networks: i64,
    /// When `sharing.suspected` last went out.
    pub suspected_at: Option<Millis>,
    /// Whether the link is locked already.
    pub locked: bool,
}

/// What the brake does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// `sharing.suspected` goes out (not sent yet in this window).
    pub suspect: bool,
    /// The link is locked and `sharing.locked` goes out.
    pub lock: bool,
}

impl Verdict {
    /// Whether anything is to be done.
    pub fn any(&self) -> bool {
        self.suspect || self.lock
    }
}

/// Decides, at `now`, what `policy` does about `seen`: nothing within the allowance; past it,
/// `sharing.suspected` once per window, and under "lock" the lock.
pub fn verdict(policy: &SharingPolicy, seen: &Seen, now: Millis) -> Verdict {
    if policy.mode == SharingMode::Off || seen.networks <= policy.max_networks {
        return Verdict { suspect: false, lock: false };
    }
    let suspect = seen.suspected_at.is_none_or(|at| at < policy.window_start(now));
    let lock = policy.mode == SharingMode::Lock && !seen.locked;
    Verdict { suspect, lock }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_is_an_ipv4_slash_24_or_an_ipv6_slash_48() {
        assert_eq!(network_of("203.0.113.7").unwrap(), "203.0.113.0/24");
        assert_eq!(network_of("203.0.113.250").unwrap(), "203.0.113.0/24");
        assert_eq!(network_of("::ffff:198.51.100.9").unwrap(), "198.51.100.0/24", "mapped IPv4");
        assert_eq!(network_of("2001:db8:1:2::7").unwrap(), "2001:db8:1::/48");
        assert_eq!(network_of("2001:db8:1:ffff::1").unwrap(), "2001:db8:1::/48");
        assert_eq!(network_of("2001:db8:2::1").unwrap(), "2001:db8:2::/48");
        assert_eq!(network_of(""), None);
        assert_eq!(network_of("not-an-ip"), None);
    }

    #[test]
    fn agents_are_a_short_family() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(agent_family(firefox), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        assert_eq!(agent_family(chrome), "Chrome on Windows");
        let edge = format!("{chrome} Edg/126.0");
        assert_eq!(agent_family(&edge), "Edge on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(agent_family(safari), "Safari on iOS");
        assert_eq!(agent_family("curl/8.5.0"), "curl");
        assert_eq!(agent_family("Wget/1.21"), "Wget");
        assert_eq!(agent_family(""), "Unknown");
        assert_eq!(agent_family("made-up agent 12345"), "Other");
    }

    #[test]
    fn policies_are_checked_naming_the_field() {
        assert!(SharingPolicy::new(SharingMode::Lock, 2, 1).is_ok());
        assert!(SharingPolicy::new(SharingMode::Lock, 1000, 720).is_ok());
        assert_eq!(SharingPolicy::new(SharingMode::Lock, 1, 24).unwrap_err().field, "sharing_max_networks");
        assert_eq!(SharingPolicy::new(SharingMode::Lock, 1001, 24).unwrap_err().field, "sharing_max_networks");
        assert_eq!(SharingPolicy::new(SharingMode::Lock, 5, 0).unwrap_err().field, "sharing_window_hours");
        assert_eq!(SharingPolicy::new(SharingMode::Lock, 5, 721).unwrap_err().field, "sharing_window_hours");
        assert_eq!(SharingMode::parse("sharing_mode", "block").unwrap_err().field, "sharing_mode");
        let wide = SharingPolicy::new(SharingMode::Notify, 500, 24).unwrap();
        assert_eq!((SharingPolicy::default().rows_kept(), wide.rows_kept()), (100, 501));
    }

    #[test]
    fn past_the_allowance_suspicion_goes_out_once_a_window_and_lock_locks() {
        let hour = 3_600_000;
        let now = 100 * hour;
        let lock = SharingPolicy::new(SharingMode::Lock, 3, 24).unwrap();
        let notify = SharingPolicy { mode: SharingMode::Notify, ..lock };
        let off = SharingPolicy { mode: SharingMode::Off, ..lock };
        let seen = |networks, suspected_at, locked| Seen { networks, suspected_at, locked };
        let none = Verdict { suspect: false, lock: false };
        assert_eq!(verdict(&lock, &seen(3, None, false), now), none, "at the allowance");
        assert_eq!(verdict(&off, &seen(50, None, false), now), none, "off");
        assert_eq!(verdict(&notify, &seen(4, None, false), now), Verdict { suspect: true, lock: false });
        assert_eq!(verdict(&notify, &seen(5, Some(now - hour), false), now), none, "once a window");
        assert!(verdict(&notify, &seen(5, Some(now - 25 * hour), false), now).suspect, "next window");
        assert_eq!(verdict(&lock, &seen(4, None, false), now), Verdict { suspect: true, lock: true });
        assert_eq!(verdict(&lock, &seen(4, Some(now), true), now), none, "locked already");
    }
}
