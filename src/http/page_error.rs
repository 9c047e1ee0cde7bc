//! The one error of HTML pages: the customer's order links (`/d/…`), the portal and the
//! dashboard all answer refusals and failures through [`PageError`], so their handlers use `?`.
//!
//! Everything a page shows is known when the error is made (the shop's name, the way back), so
//! turning it into a response needs no database and no state. 4xx pages say what is wrong;
//! 5xx are logged with their cause and show one generic page.

use std::time::Duration;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::db::DbError;
use crate::db::merchants::Merchant;
use crate::domain::ShopBrand;
use crate::http::pages::render;

/// The "this link doesn't work" page: unknown and tampered links alike (no oracle).
#[derive(Template)]
#[template(path = "delivery/not_found.html")]
pub(crate) struct NotFoundPage;

#[derive(Template)]
#[template(path = "delivery/gone.html")]
struct GonePage<'a> {
    merchant: &'a str,
    brand: &'a ShopBrand,
    headline: &'a str,
    explanation: &'a str,
    portal_href: &'a str,
}

/// A page with a headline, a sentence and one way on (the portal's refusals and limits).
#[derive(Template)]
#[template(path = "portal/message.html")]
struct MessagePage<'a> {
    merchant: &'a str,
    headline: &'a str,
    explanation: &'a str,
    action_href: &'a str,
    action_label: &'a str,
}

#[derive(Template)]
#[template(path = "dashboard/problem.html")]
struct ProblemPage<'a> {
    title: &'a str,
    message: &'a str,
    dashboard: bool,
}

/// Why an order's email link no longer opens (410, or 403 for a locked link), with the way to
/// the shop's portal.
#[derive(Debug)]
pub struct LinkGone {
    /// 410, or 403 for a link the sharing brake locked.
    pub status: StatusCode,
    /// The shop's display name ("" when it could not be loaded).
    pub merchant: String,
    /// `/portal/{slug}`.
    pub portal_href: String,
    /// The shop's logo, colour and support address (none when it could not be loaded).
    pub brand: ShopBrand,
    /// What happened, as the page's title.
    pub headline: &'static str,
    /// Why links do that.
    pub explanation: &'static str,
}

/// A portal page refusing something, with one way on.
#[derive(Debug)]
pub struct Refusal {
    /// 403, 404, 410, 429…
    pub status: StatusCode,
    /// The shop's display name.
    pub merchant: String,
    /// What happened.
    pub headline: &'static str,
    /// What to do about it.
    pub explanation: String,
    /// Where the button goes.
    pub action_href: String,
    /// The button's words.
    pub action_label: &'static str,
    /// Sent as `Retry-After` (whole seconds, at least one) when set.
    pub retry_after: Option<Duration>,
}

/// An error answered as an HTML page.
#[derive(Debug)]
pub enum PageError {
    /// 404 "This link doesn't work": an unknown or tampered order link, signed URL or shop, or
    /// a revoked order's portal link; all look the same, so nothing tells which exist.
    LinkNotFound,
    /// 410: an order link that expired, or whose download count is used up; 403: an order link
    /// the sharing brake locked.
    LinkGone(Box<LinkGone>),
    /// A portal refusal: a limit, a lock, an expired sign-in or download link.
    Refused(Box<Refusal>),
    /// A dashboard request that did not work (4xx, or 507 for a full disk): the problem page
    /// with its message.
    Dashboard(super::Error),
    /// 503 "Temporarily unavailable" with `Retry-After`: the database or the blob store is down
    /// for now; logged with its cause.
    Unavailable(anyhow::Error),
    /// 500: logged with its cause; the page says nothing about it.
    Internal(anyhow::Error),
}

impl PageError {
    /// 500 from any error, keeping the cause for the log; 503 (or 507) when the cause is a
    /// dependency that is down (or a full disk), as [`super::Error::internal`] sorts them.
    pub fn internal(e: impl Into<anyhow::Error>) -> PageError {
        super::Error::internal(e).into()
    }

    /// 410 for an expired order link of `merchant` (None when it could not be loaded:
    /// `merchant_id` then stands in for the slug, as the page must still say something).
    pub fn link_expired(merchant: Option<&Merchant>, merchant_id: &str) -> PageError {
        let headline = "This download link has expired";
        let explanation = "Links in purchase emails from this shop work for a limited time.";
        PageError::link_gone(merchant, merchant_id, headline, explanation)
    }

    /// 410 for a file whose download count through the order link is used up.
    pub fn downloads_used_up(merchant: Option<&Merchant>, merchant_id: &str) -> PageError {
        let headline = "This file's download limit is reached";
        let explanation = "The link in your purchase email allows a limited number of downloads per file.";
        PageError::link_gone(merchant, merchant_id, headline, explanation)
    }

    /// 403 for an order link the sharing brake locked: the portal still opens the order.
    pub fn link_locked(merchant: Option<&Merchant>, merchant_id: &str) -> PageError {
        let headline = "This download link is locked";
        let explanation = "It was used from more places than this shop allows for one purchase, so the shop \
                           locked it. Downloads through your purchases page are not affected.";
        let mut error = PageError::link_gone(merchant, merchant_id, headline, explanation);
        if let PageError::LinkGone(gone) = &mut error {
            gone.status = StatusCode::FORBIDDEN;
        }
        error
    }

    fn link_gone(
        merchant: Option<&Merchant>,
        merchant_id: &str,
        headline: &'static str,
        explanation: &'static str,
    ) -> PageError {
        let (name, slug) = merchant.map_or(("", merchant_id), |m| (m.name.as_str(), m.slug.as_str()));
        PageError::LinkGone(Box::new(LinkGone {
            status: StatusCode::GONE,
            merchant: name.to_owned(),
            portal_href: format!("/portal/{slug}"),
            brand: merchant.map(|m| m.brand("")).unwrap_or_default(),
            headline,
            explanation,
        }))
    }

    /// A portal refusal answering `status`, whose button (`action`) leads back to `merchant`'s
    /// portal.
    pub fn refused(
        status: StatusCode,
        merchant: &Merchant,
        headline: &'static str,
        explanation: impl Into<String>,
        action: &'static str,
    ) -> PageError {
        PageError::Refused(Box::new(Refusal {
            status,
            merchant: merchant.name.clone(),
            headline,
            explanation: explanation.into(),
            action_href: format!("/portal/{}", merchant.slug),
            action_label: action,
            retry_after: None,
        }))
    }

    /// 429 "Please wait a moment", with `Retry-After`.
    pub fn too_many(merchant: &Merchant, explanation: impl Into<String>, retry_after: Duration) -> PageError {
        let status = StatusCode::TOO_MANY_REQUESTS;
        let mut error = PageError::refused(status, merchant, "Please wait a moment", explanation, "Back to sign in");
        if let PageError::Refused(refusal) = &mut error {
            refusal.retry_after = Some(retry_after);
        }
        error
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::LinkNotFound => StatusCode::NOT_FOUND,
            PageError::LinkGone(gone) => gone.status,
            PageError::Refused(refusal) => refusal.status,
            PageError::Dashboard(e) => e.status(),
            PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<super::Error> for PageError {
    fn from(e: super::Error) -> PageError {
        match e {
            super::Error::Internal(cause) => PageError::Internal(cause),
            super::Error::Unavailable(cause) => PageError::Unavailable(cause),
            e => PageError::Dashboard(e),
        }
    }
}

impl From<DbError> for PageError {
    fn from(e: DbError) -> PageError {
        super::Error::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            PageError::LinkNotFound => render(status, &NotFoundPage),
            PageError::LinkGone(gone) => {
                let LinkGone { merchant, portal_href, brand, headline, explanation, .. } = &*gone;
                render(status, &GonePage { merchant, brand, headline, explanation, portal_href })
            }
            PageError::Refused(refusal) => refused_page(&refusal),
            PageError::Dashboard(super::Error::Internal(cause)) | PageError::Internal(cause) => {
                tracing::error!(error = ?cause, "page failed");
                let message = "Something went wrong on our side; it was logged. Try again in a moment.";
                render(status, &ProblemPage { title: "Something went wrong", message, dashboard: false })
            }
            PageError::Dashboard(super::Error::Unavailable(cause)) | PageError::Unavailable(cause) => {
                tracing::warn!(error = ?cause, "a page's dependency is unavailable");
                let message = "This page is temporarily unavailable. Try again in a few seconds.";
                let page = ProblemPage { title: "Temporarily unavailable", message, dashboard: false };
                let mut response = render(status, &page);
                super::retry_after(&mut response, super::fault::RETRY_AFTER);
                response
            }
            PageError::Dashboard(e) => {
                if let super::Error::StorageFull(cause) = &e {
                    tracing::error!(error = ?cause, "no room left to store a file");
                }
                let (title, message) = match &e {
                    super::Error::NotFound(what) => ("Not found", format!("This {what} does not exist.")),
                    other => ("That did not work", other.to_string()),
                };
                render(status, &ProblemPage { title, message: &message, dashboard: true })
            }
        }
    }
}

fn refused_page(refusal: &Refusal) -> Response {
    let page = MessagePage {
        merchant: &refusal.merchant,
        headline: refusal.headline,
        explanation: &refusal.explanation,
        action_href: &refusal.action_href,
        action_label: refusal.action_label,
    };
    let mut response = render(refusal.status, &page);
    if let Some(wait) = refusal.retry_after {
        super::retry_after(&mut response, wait);
    }
    response
}

/// What page handlers return.
pub type PageResult<T = Response> = Result<T, PageError>;

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, header};

    use super::*;

    async fn answer(error: PageError) -> (StatusCode, HeaderValue, String) {
        let response = error.into_response();
        let status = response.status();
        let retry = response.headers().get(header::RETRY_AFTER).cloned().unwrap_or(HeaderValue::from_static(""));
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, retry, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_500_is_logged_and_says_nothing_of_its_cause() {
        for error in [
            PageError::internal(anyhow::anyhow!("disk on fire")),
            crate::http::Error::internal(anyhow::anyhow!("disk on fire")).into(),
        ] {
            let (status, _, html) = answer(error).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            assert!(html.contains("Something went wrong on our side") && !html.contains("disk on fire"), "{html}");
        }
    }

    #[tokio::test]
    async fn a_dependency_that_is_down_is_a_503_saying_when_to_come_back() {
        let down = || crate::db::DbError::Sqlx(sqlx::Error::PoolTimedOut);
        for error in [PageError::internal(down()), down().into(), crate::http::Error::internal(down()).into()] {
            let (status, retry, html) = answer(error).await;
            assert_eq!((status, retry.to_str().unwrap()), (StatusCode::SERVICE_UNAVAILABLE, "5"));
            assert!(html.contains("Temporarily unavailable") && !html.contains("pool"), "{html}");
        }
        let json = crate::http::Error::from(down()).into_response();
        assert_eq!(json.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(json.headers()[header::RETRY_AFTER], "5");
        let full = crate::http::Error::internal(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert_eq!(full.status(), StatusCode::INSUFFICIENT_STORAGE);
        let (status, _, html) = answer(full.into()).await;
        assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE);
        assert!(html.contains("no room left"), "{html}");
    }

    #[tokio::test]
    async fn dashboard_refusals_show_their_message_and_the_way_back() {
        let (status, _, html) = answer(crate::http::Error::NotFound("product").into()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("This product does not exist.") && html.contains("Back to the dashboard"), "{html}");
        let (status, _, html) = answer(crate::db::DbError::Conflict("taken".into()).into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(html.contains("That did not work") && html.contains("taken"), "{html}");
    }

    #[tokio::test]
    async fn link_pages_lead_to_the_shops_portal() {
        let (status, _, html) = answer(PageError::downloads_used_up(None, "m1")).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(html.contains("download limit is reached"), "{html}");
        // A shop that could not be loaded: its id stands in for the slug.
        let (_, _, html) = answer(PageError::link_expired(None, "m1")).await;
        assert!(html.contains("has expired") && html.contains("href=\"/portal/m1\""), "{html}");
        let (status, _, html) = answer(PageError::LinkNotFound).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("This link doesn't work") || html.contains("This link doesn&#39;t work"), "{html}");
    }

    #[tokio::test]
    async fn limits_say_when_to_come_back() {
        let refusal = Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            merchant: "Acme & Co".into(),
            headline: "Please wait a moment",
            explanation: "Wait.".into(),
            action_href: "/portal/acme".into(),
            action_label: "Back to sign in",
            retry_after: Some(Duration::from_millis(10)),
        };
        let (status, retry, html) = answer(PageError::Refused(Box::new(refusal))).await;
        assert_eq!((status, retry.to_str().unwrap()), (StatusCode::TOO_MANY_REQUESTS, "1"));
        assert!(html.contains("Please wait a moment") && html.contains("href=\"/portal/acme\""), "{html}");
        assert!(html.contains("Acme &#38; Co") || html.contains("Acme &amp; Co"), "escaped: {html}");
    }
}
