//! `/portal/{merchant}…`: the customer portal. A customer signs in with a code or magic link
//! sent to their email ([`sign_in`]), sees every purchase from that shop ([`purchases`]) and
//! downloads through short-lived signed URLs ([`downloads`], [`zip`]) that work whatever the
//! email link's policy says (rule 5).
//!
//! Every handler starts from the shop named in the path, and every query is scoped to it: a
//! session, code or signed URL of one shop opens nothing of another (rule 9).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;

use crate::db::merchants::{self, Merchant};
use crate::db::sessions::{self, Session, SessionKind};
use crate::db::{DbError, orders::OrderDetail};
use crate::domain::{LinkRefusal, OrderStatus, PortalLink, PortalTarget, now_millis};
use crate::http::session::secret_of;
use crate::http::{PageError, PageResult};
use crate::state::AppState;

mod downloads;
mod purchases;
mod sign_in;
pub(crate) mod zip;

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

/// The shop named in the path, by its slug (recorded in the handler's span).
async fn shop(state: &AppState, slug: &str) -> PageResult<Merchant> {
    match merchants::find(&state.db, slug).await {
        Ok(m) if m.slug == slug => {
            tracing::Span::current().record("merchant_id", m.id.as_str());
            Ok(m)
        }
        // A shop that does not exist (or is named by id rather than slug).
        Ok(_) | Err(DbError::NotFound) => Err(PageError::LinkNotFound),
        Err(e) => Err(PageError::internal(e)),
    }
}

/// The customer's live session with this shop, rolled forward; None when signed out.
async fn session_of(state: &AppState, jar: &CookieJar, merchant: &Merchant) -> PageResult<Option<Session>> {
    let Some(secret) = secret_of(jar, COOKIE) else { return Ok(None) };
    let found = sessions::find(&state.db, SessionKind::Customer, &secret).await.map_err(PageError::internal)?;
    // The cookie's path keeps shops apart in the browser; this keeps them apart here.
    Ok(found.filter(|s| s.merchant_id == merchant.id))
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
) -> PageResult<(Merchant, OrderDetail)> {
    let merchant = shop(state, slug).await?;
    let (expires, signature) = signed_query(query).ok_or(PageError::LinkNotFound)?;
    let link = PortalLink { merchant_id: &merchant.id, order_id, target, expires };
    match link.verify(&state.secrets.key(), &signature, now_millis()) {
        Ok(()) => {}
        Err(LinkRefusal::Forged) => return Err(PageError::LinkNotFound),
        Err(LinkRefusal::Expired) => {
            return Err(PageError::refused(
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
        Err(DbError::NotFound) => return Err(PageError::LinkNotFound),
        Err(e) => return Err(PageError::internal(e)),
    };
    if detail.order.status == OrderStatus::Revoked {
        return Err(PageError::LinkNotFound);
    }
    tracing::Span::current().record("order_id", detail.order.id.as_str());
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
