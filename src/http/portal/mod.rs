//! `/portal/{merchant}…`: the customer portal. A customer signs in with a code or magic link
//! sent to their email ([`sign_in`]), sees every purchase from that shop ([`purchases`]) and
//! downloads through short-lived signed URLs ([`downloads`], [`zip`]) that work whatever the
//! email link's policy says (rule 5).
//!
//! Every handler starts from the shop named in the path, and every query is scoped to it: a
//! session, code or signed URL of one shop opens nothing of another (rule 9).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;

use crate::app::AppState;
use crate::db::merchants::{self, Merchant};
use crate::db::sessions::{self, Session, SessionKind};
use crate::db::{DbError, orders::OrderDetail};
use crate::domain::{LinkRefusal, OrderStatus, PortalLink, PortalTarget, now_millis};
use crate::http::pages::render;
use crate::http::session::secret_of;

mod downloads;
mod purchases;
mod sign_in;
mod zip;

/// The portal's session cookie, scoped to `/portal/{slug}`.
const COOKIE: &str = "satchel_portal";

/// Every portal route.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/portal/{merchant}", get(purchases::home))
        .route("/portal/{merchant}/sign-in", post(sign_in::request_code))
        .route("/portal/{merchant}/code", post(sign_in::enter_code))
        .route("/portal/{merchant}/sign-in/{token}", get(sign_in::magic_page).post(sign_in::magic_use))
        .route("/portal/{merchant}/sign-out", post(sign_in::sign_out))
        .route("/portal/{merchant}/files/{order}/{n}", get(downloads::file))
        .route("/portal/{merchant}/link/{order}/{n}", get(downloads::link))
        .route("/portal/{merchant}/zip/{order}", get(zip::download_all))
        .route_layer(axum::middleware::from_fn_with_state(state, refuse_cross_site))
}

/// The portal's forms carry no token (the session cookie is `SameSite=Lax`, so other sites
/// cannot post with it); what remains is another site posting a sign-in form to put a
/// visitor into someone else's account, or requesting codes in a visitor's name. Browsers say
/// where a form came from, so forms from other sites are refused.
async fn refuse_cross_site(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let reads = matches!(*request.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    if !reads && !crate::http::session::same_origin(request.headers(), &state.public_url) {
        return (StatusCode::FORBIDDEN, "This form came from another site. Open the shop's portal and try again.")
            .into_response();
    }
    next.run(request).await
}

fn home_of(merchant: &Merchant) -> String {
    format!("/portal/{}", merchant.slug)
}

/// A page with a headline, a sentence and one way on: refusals, limits, expired links.
#[derive(Template)]
#[template(path = "portal/message.html")]
struct MessagePage<'a> {
    merchant: &'a str,
    headline: &'a str,
    explanation: &'a str,
    action_href: String,
    action_label: &'a str,
}

/// Renders a [`MessagePage`] answering `status`, with a way back to the shop's portal.
fn message(status: StatusCode, merchant: &Merchant, headline: &str, explanation: &str, action: &str) -> Response {
    let page = MessagePage {
        merchant: &merchant.name,
        headline,
        explanation,
        action_href: home_of(merchant),
        action_label: action,
    };
    render(status, &page)
}

/// 404 for a shop that does not exist (or is named by id rather than slug).
fn no_such_shop() -> Response {
    render(StatusCode::NOT_FOUND, &crate::http::delivery::NotFoundPage)
}

/// 500: logged, never explained.
fn internal(e: impl Into<anyhow::Error>) -> Response {
    crate::http::Error::Internal(e.into()).into_response()
}

/// The shop named in the path, by its slug.
async fn shop(state: &AppState, slug: &str) -> Result<Merchant, Response> {
    match merchants::find(&state.db, slug).await {
        Ok(m) if m.slug == slug => Ok(m),
        Ok(_) | Err(DbError::NotFound) => Err(no_such_shop()),
        Err(e) => Err(internal(e)),
    }
}

/// The customer's live session with this shop, rolled forward; None when signed out.
async fn session_of(state: &AppState, jar: &CookieJar, merchant: &Merchant) -> Result<Option<Session>, Response> {
    let Some(secret) = secret_of(jar, COOKIE) else { return Ok(None) };
    match sessions::find(&state.db, SessionKind::Customer, &secret).await {
        // The cookie's path keeps shops apart in the browser; this keeps them apart here.
        Ok(found) => Ok(found.filter(|s| s.merchant_id == merchant.id)),
        Err(e) => Err(internal(e)),
    }
}

/// The signed URL (path and query) of `target` in the order, valid from now.
fn signed_url(state: &AppState, merchant: &Merchant, order_id: &str, target: PortalTarget) -> String {
    let link = PortalLink::new(&merchant.id, order_id, target, now_millis());
    let path = match target {
        PortalTarget::File(n) => format!("files/{order_id}/{n}"),
        PortalTarget::Link(n) => format!("link/{order_id}/{n}"),
        PortalTarget::Zip => format!("zip/{order_id}"),
    };
    format!("/portal/{}/{path}?{}", merchant.slug, link.query(&state.secrets.key()))
}

/// The order a signed URL opens: its signature must be ours for exactly this shop, order and
/// target (else 404), still in time (else 410 with the way to a fresh link), and the order
/// must not be revoked (404, as for email links).
async fn open_signed(
    state: &AppState,
    slug: &str,
    order_id: &str,
    target: PortalTarget,
    query: Option<&str>,
) -> Result<(Merchant, OrderDetail), Response> {
    let merchant = shop(state, slug).await?;
    let not_found = || render(StatusCode::NOT_FOUND, &crate::http::delivery::NotFoundPage);
    let Some((expires, signature)) = signed_query(query) else { return Err(not_found()) };
    let link = PortalLink { merchant_id: &merchant.id, order_id, target, expires };
    match link.verify(&state.secrets.key(), &signature, now_millis()) {
        Ok(()) => {}
        Err(LinkRefusal::Forged) => return Err(not_found()),
        Err(LinkRefusal::Expired) => {
            return Err(message(
                StatusCode::GONE,
                &merchant,
                "This download link has expired",
                "Download links on your purchases page work for 10 minutes, so that they are not worth \
                 sharing. Your purchase is still yours: reload your purchases page (sign in again with \
                 your email if asked) and use the fresh link.",
                "Go to my purchases",
            ));
        }
    }
    let detail = match crate::db::orders::get(&state.db, &merchant.id, order_id).await {
        Ok(detail) => detail,
        Err(DbError::NotFound) => return Err(not_found()),
        Err(e) => return Err(internal(e)),
    };
    if detail.order.status == OrderStatus::Revoked {
        return Err(not_found());
    }
    Ok((merchant, detail))
}

/// The expiry (`e`) and signature (`s`) of a signed URL's query string; `None` when either is
/// missing or the expiry is not a number. The last of repeated keys wins.
pub(crate) fn signed_query(query: Option<&str>) -> Option<(i64, String)> {
    let (mut expires, mut signature) = (None, None);
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "e" => expires = value.parse::<i64>().ok(),
            "s" => signature = Some(value.into_owned()),
            _ => {}
        }
    }
    Some((expires?, signature?))
}

/// 429 with `Retry-After`, as a page.
fn too_many(merchant: &Merchant, explanation: &str, retry_after: std::time::Duration) -> Response {
    let mut response =
        message(StatusCode::TOO_MANY_REQUESTS, merchant, "Please wait a moment", explanation, "Back to sign in");
    if let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// "in 3 minutes", "in 1 minute", "in a few seconds".
fn wait_words(wait: std::time::Duration) -> String {
    match wait.as_secs().div_ceil(60) {
        0 => "in a few seconds".to_owned(),
        1 => "in a minute".to_owned(),
        n => format!("in {n} minutes"),
    }
}
