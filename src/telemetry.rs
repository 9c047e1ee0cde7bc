//! Prometheus metrics for operators: request counts and latencies per route, and what the
//! service did (orders, emails, downloads). Scraped at `GET /metrics` with `metrics.token` as
//! a bearer token; every label takes a bounded set of values.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by method, route and status.
pub const HTTP_REQUESTS: &str = "satchel_http_requests_total";
/// Time to the response's head, seconds, by route.
pub const HTTP_DURATION: &str = "satchel_http_request_duration_seconds";
/// Orders created, by provider.
pub const ORDERS_CREATED: &str = "satchel_orders_created_total";
/// Verified payment events that matched no product.
pub const PAYMENTS_UNMATCHED: &str = "satchel_payments_unmatched_total";
/// Emails handed to SMTP or written to the mailbox, by kind.
pub const EMAILS_SENT: &str = "satchel_emails_sent_total";
/// Failed sending attempts (retried later or given up), by outcome.
pub const EMAIL_FAILURES: &str = "satchel_email_failures_total";
/// Emails waiting to be sent or retried (set when scraped).
pub const EMAILS_WAITING: &str = "satchel_emails_waiting";
/// 1 while the outbox worker runs, 0 while it is stopped or being restarted.
pub const MAIL_WORKER_UP: &str = "satchel_mail_worker_up";
/// Times the outbox worker died and was started again.
pub const MAIL_WORKER_RESTARTS: &str = "satchel_mail_worker_restarts_total";
/// 1 while the events-out delivery worker runs, 0 while it is stopped or being restarted.
pub const EVENTS_WORKER_UP: &str = "satchel_events_worker_up";
/// Times the events-out delivery worker died and was started again.
pub const EVENTS_WORKER_RESTARTS: &str = "satchel_events_worker_restarts_total";
/// File downloads recorded, by whether they counted against the link's cap.
pub const DOWNLOADS: &str = "satchel_downloads_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once (several apps in one test process share it).
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &buckets)
            .expect("buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (an embedding program): keep ours private then.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The metrics in Prometheus text format.
pub fn render() -> String {
    install().render()
}

/// The `method` label: a standard method's name, else `other` (any token is a valid method, so
/// naming each would let clients add series without end).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    let known = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::TRACE, "TRACE"),
        (Method::CONNECT, "CONNECT"),
    ];
    known.into_iter().find(|(m, _)| m == method).map_or("other", |(_, name)| name)
}

/// Whether `authorization` (the request's header) carries `token` as a bearer token. Compared
/// in constant time over SHA-256 digests, so neither the token nor its length leaks.
pub fn scrape_allowed(authorization: Option<&[u8]>, token: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let Some(given) = authorization.and_then(|v| v.strip_prefix(b"Bearer ")) else {
        return false;
    };
    Sha256::digest(given).ct_eq(&Sha256::digest(token.as_bytes())).into()
}

/// Middleware counting each request under its route pattern (`/d/{token}`, never the token).
pub async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route).record(start.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn methods_outside_the_standard_ones_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"XYZZY").unwrap()), "other");
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "other");
    }

    #[test]
    fn only_the_configured_bearer_token_may_scrape() {
        assert!(scrape_allowed(Some(b"Bearer s3cret-token"), "s3cret-token"));
        assert!(!scrape_allowed(Some(b"Bearer s3cret-toke"), "s3cret-token"));
        assert!(!scrape_allowed(Some(b"Bearer "), "s3cret-token"));
        assert!(!scrape_allowed(Some(b"s3cret-token"), "s3cret-token"));
        assert!(!scrape_allowed(None, "s3cret-token"));
    }
}
