//! A shop's own webhook endpoints (events out): the URL rules, the known event types, and the
//! per-shop limit. Nothing here does I/O.

use super::Invalid;

/// The event types a shop can subscribe to, in the order they are listed and stored.
pub const EVENT_TYPES: [&str; 12] = [
    "order.created",
    "order.refunded",
    "order.revoked",
    "order.restored",
    "email.sent",
    "email.failed",
    "download.started",
    "download.limit_reached",
    "link.expired_hit",
    "release.published",
    "sharing.suspected",
    "sharing.locked",
];

/// `link.expired_hit` is queued at most once per order in this long, so a customer (or a
/// script) reloading an expired link cannot flood the shop's endpoints.
pub const EXPIRED_HIT_EVERY_MS: super::Millis = 24 * 3600 * 1000;

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

/// What an order event says about the order (ids and amounts: never an email address, a token
/// or a secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OrderEventData {
    /// The order.
    pub order_id: String,
    /// The customer (the same id for every order of one email address at this shop).
    pub customer_id: String,
    /// `stripe`, `standard`, `api` or `test`.
    pub provider: String,
    /// The provider's payment id.
    pub payment_id: String,
    /// The amount paid, in minor units.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// `paid`, `refunded` or `revoked`.
    pub status: String,
    /// A test order (the test checkout or a provider's test mode).
    pub test: bool,
    /// When it was created (unix milliseconds).
    #[serde(serialize_with = "rfc3339")]
    pub created_at: super::Millis,
    /// When it was refunded.
    #[serde(serialize_with = "rfc3339_opt")]
    pub refunded_at: Option<super::Millis>,
    /// When access was revoked.
    #[serde(serialize_with = "rfc3339_opt")]
    pub revoked_at: Option<super::Millis>,
}

/// `millis` (unix milliseconds) as RFC 3339 text in UTC, as events carry times.
pub fn rfc3339_millis(millis: super::Millis) -> String {
    rfc3339_text(millis)
}

fn rfc3339_text(millis: super::Millis) -> String {
    let nanos = i128::from(millis) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn rfc3339<S: serde::Serializer>(millis: &super::Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_text(*millis))
}

fn rfc3339_opt<S: serde::Serializer>(millis: &Option<super::Millis>, s: S) -> Result<S::Ok, S::Error> {
    match millis {
        Some(m) => s.serialize_str(&rfc3339_text(*m)),
        None => s.serialize_none(),
    }
}

/// A new event's id (`evt_` + a UUID, sent as `webhook-id` on every attempt) and its JSON body:
/// `{"type", "timestamp", "data"}`, the shape Standard Webhooks suggests.
pub fn order_event_payload(event_type: &str, now: super::Millis, data: &OrderEventData) -> (String, String) {
    let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
    let body = serde_json::json!({ "type": event_type, "timestamp": rfc3339_text(now), "data": data });
    (id, body.to_string())
}

/// A new event's id and JSON body (like [`order_event_payload`]) for any event's `data`.
pub fn event_payload(event_type: &str, now: super::Millis, data: &impl serde::Serialize) -> (String, String) {
    let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
    let body = serde_json::json!({ "type": event_type, "timestamp": rfc3339_text(now), "data": data });
    (id, body.to_string())
}

/// The `LIKE` pattern matching a stored `' ' || events || ' '` list that holds `event_type`
/// (`_` and `%` escaped, with a backslash as the escape character).
pub fn subscribed_pattern(event_type: &str) -> String {
    format!("% {} %", event_type.replace('\\', "\\\\").replace('_', "\\_").replace('%', "\\%"))
}

/// The delays between attempts at one delivery, in multiples of the base delay (30 s by
/// default): 30 s, 2 min, 10 min, 1 h, 4 h, then every 8 h. With [`MAX_DELIVERY_ATTEMPTS`] the
/// last attempt comes about 69 hours (~3 days) after the first.
const RETRY_STEPS: [i64; 5] = [1, 4, 20, 120, 480];
/// The step after [`RETRY_STEPS`]: 8 h at the default base.
const RETRY_STEP_LAST: i64 = 960;

/// Attempts made at one delivery before it is marked failed: 1 + 5 growing delays + 8 of 8 h.
pub const MAX_DELIVERY_ATTEMPTS: i32 = 14;

/// The most of an endpoint's answer kept in the deliveries log.
pub const MAX_RESPONSE_EXCERPT: usize = 1024;

/// When to try a delivery again after its attempt number `attempts` (1 for the first) failed
/// at `now`, with delays in multiples of `base_ms`; `None`: that was the last attempt. `jitter`
/// in `[0, 1)` adds up to a tenth of the delay, so deliveries that failed together (an endpoint
/// down) do not all come back in the same instant.
pub fn next_delivery_attempt(attempts: i32, now: super::Millis, base_ms: i64, jitter: f64) -> Option<super::Millis> {
    if attempts >= MAX_DELIVERY_ATTEMPTS {
        return None;
    }
    let index = usize::try_from(attempts.max(1) - 1).unwrap_or(0);
    let step = RETRY_STEPS.get(index).copied().unwrap_or(RETRY_STEP_LAST);
    let delay = base_ms.max(1).saturating_mul(step);
    let spread = ((delay as f64 / 10.0) * jitter.clamp(0.0, 1.0)) as i64;
    Some(now.saturating_add(delay).saturating_add(spread))
}

/// The first [`MAX_RESPONSE_EXCERPT`] bytes of an answer, as text (cut on a character
/// boundary, invalid UTF-8 replaced).
pub fn response_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_RESPONSE_EXCERPT)]).into_owned();
    let mut end = text.len().min(MAX_RESPONSE_EXCERPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_grow_to_every_eight_hours_for_about_three_days() {
        const BASE: i64 = 30_000;
        assert_eq!(next_delivery_attempt(1, 0, BASE, 0.0), Some(30_000));
        assert_eq!(next_delivery_attempt(2, 0, BASE, 0.0), Some(120_000));
        assert_eq!(next_delivery_attempt(3, 0, BASE, 0.0), Some(600_000));
        assert_eq!(next_delivery_attempt(4, 0, BASE, 0.0), Some(3_600_000));
        assert_eq!(next_delivery_attempt(5, 0, BASE, 0.0), Some(4 * 3_600_000));
        assert_eq!(next_delivery_attempt(6, 0, BASE, 0.0), Some(8 * 3_600_000));
        assert_eq!(next_delivery_attempt(6, 0, BASE, 0.999), Some(8 * 3_600_000 + 2_877_120), "a tenth at most");
        assert_eq!(next_delivery_attempt(MAX_DELIVERY_ATTEMPTS, 0, BASE, 0.0), None);
        let (mut now, mut attempts) = (0, 1);
        while let Some(next) = next_delivery_attempt(attempts, now, BASE, 0.0) {
            (now, attempts) = (next, attempts + 1);
        }
        assert_eq!(attempts, MAX_DELIVERY_ATTEMPTS);
        let hours = now / 3_600_000;
        assert!((60..=72).contains(&hours), "last attempt after {hours} h");
        assert_eq!(next_delivery_attempt(1, 0, 5, 0.0), Some(5), "tests use milliseconds");
    }

    #[test]
    fn an_answer_is_kept_to_its_first_kilobyte() {
        assert_eq!(response_excerpt(b"down"), "down");
        assert_eq!(response_excerpt(&[b'a'; 3000]).len(), 1024);
        let mut wide = vec![b'a'; 1023];
        wide.extend_from_slice("é".as_bytes());
        assert_eq!(response_excerpt(&wide), "a".repeat(1023), "a cut character is left out");
        assert_eq!(response_excerpt(b"ok\xff"), "ok\u{fffd}", "invalid UTF-8 is replaced");
    }

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

    #[test]
    fn an_order_event_carries_ids_and_amounts_under_type_timestamp_and_data() {
        let data = OrderEventData {
            order_id: "ord".into(),
            customer_id: "cus".into(),
            provider: "stripe".into(),
            payment_id: "pi_1".into(),
            amount_minor: 1999,
            currency: "EUR".into(),
            status: "refunded".into(),
            test: false,
            created_at: 1_735_689_600_000,
            refunded_at: Some(1_735_689_601_500),
            revoked_at: None,
        };
        let (id, body) = order_event_payload("order.refunded", 1_735_689_602_000, &data);
        assert!(id.starts_with("evt_") && id.len() == 36, "{id}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        let expected = serde_json::json!({
            "type": "order.refunded",
            "timestamp": "2025-01-01T00:00:02Z",
            "data": {"order_id": "ord", "customer_id": "cus", "provider": "stripe", "payment_id": "pi_1",
                     "amount_minor": 1999, "currency": "EUR", "status": "refunded", "test": false,
                     "created_at": "2025-01-01T00:00:00Z", "refunded_at": "2025-01-01T00:00:01.5Z",
                     "revoked_at": null}
        });
        assert_eq!(body, expected);
    }
}
