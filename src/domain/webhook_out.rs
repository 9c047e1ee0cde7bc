//! A shop's own webhook endpoints (events out): the URL rules, the known event types, and the
//! per-shop limit. Nothing here does I/O.

use super::Invalid;

/// The event types a shop can subscribe to, in the order they are listed and stored.
pub const EVENT_TYPES: [&str; 4] = ["order.created", "order.refunded", "order.revoked", "order.restored"];

/// At most this many endpoints per shop: enough for a shop's systems (a CRM, a licence server,
/// a chat channel…), few enough that one order never fans out into a flood of deliveries.
pub const MAX_ENDPOINTS: i64 = 10;

/// The longest URL accepted, in characters as sent.
pub const MAX_URL_CHARS: usize = 2000;

/// An endpoint's URL: http(s), a host, no user name or password, at most 2000 characters.
/// (Where it may connect to is checked when sending, against the resolved addresses.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    /// Parses and checks the URL, refused under `url`.
    pub fn parse(raw: &str) -> Result<EndpointUrl, Invalid> {
        const FIELD: &str = "url";
        // Counted as sent (before trimming), as the API description counts it. The normalized
        // form can be longer (percent-encoding), but is bounded by this.
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(Invalid::new(FIELD, format!("is longer than {MAX_URL_CHARS} characters")));
        }
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Invalid::new(FIELD, "is required: the https:// address that receives the events"));
        }
        let url = url::Url::parse(raw)
            .map_err(|_| Invalid::new(FIELD, "must be a full URL like https://example.com/satchel-events"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::new(FIELD, format!("must use https:// or http://, not {}:", url.scheme())));
        }
        match url.host() {
            None => return Err(Invalid::new(FIELD, "must name a host")),
            // A name DNS can resolve: letters, digits, hyphens and dots (IDNs arrive as punycode).
            Some(url::Host::Domain(name))
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
            {
                return Err(Invalid::new(FIELD, "must name a host of letters, digits, hyphens and dots"));
            }
            Some(_) => {}
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::new(FIELD, "must not contain a user name or password"));
        }
        Ok(EndpointUrl(url.into()))
    }

    /// The normalized URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a list of event types, refused under `events`: at least one, each a known type.
/// Returns them in the order of [`EVENT_TYPES`], each once.
pub fn subscribed_events(raw: &[String]) -> Result<Vec<&'static str>, Invalid> {
    if raw.is_empty() {
        return Err(Invalid::new("events", format!("name at least one event type: {}", EVENT_TYPES.join(", "))));
    }
    if let Some(unknown) = raw.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
        let shown: String = unknown.chars().take(60).collect();
        return Err(Invalid::new(
            "events",
            format!("{shown:?} is not an event type; known types: {}", EVENT_TYPES.join(", ")),
        ));
    }
    Ok(EVENT_TYPES.into_iter().filter(|known| raw.iter().any(|e| e == known)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_without_credentials_are_endpoints() {
        assert_eq!(EndpointUrl::parse(" https://example.com/hook ").unwrap().as_str(), "https://example.com/hook");
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://u:p@example.com/",
            "https://u@x.io/",
            "",
            "x",
            "https://a*.io/",
        ] {
            assert_eq!(EndpointUrl::parse(bad).unwrap_err().field, "url", "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert!(EndpointUrl::parse(&long).is_err());
    }

    #[test]
    fn events_are_known_and_kept_once_in_list_order() {
        let raw = ["order.revoked", "order.created", "order.revoked"].map(String::from);
        assert_eq!(subscribed_events(&raw).unwrap(), ["order.created", "order.revoked"]);
        assert_eq!(subscribed_events(&["order.paid".into()]).unwrap_err().field, "events");
        assert_eq!(subscribed_events(&[]).unwrap_err().field, "events");
    }
}
