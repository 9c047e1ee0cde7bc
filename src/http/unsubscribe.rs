//! `/unsubscribe/{token}`: a customer's way out of one shop's update emails (purchase emails
//! are never affected). Every update email carries the URL twice: in RFC 8058's
//! `List-Unsubscribe` header, which a mail client POSTs `List-Unsubscribe=One-Click` to (no
//! session, no form token: the token in the URL is the authority, as RFC 8058 says), and as a
//! visible link, whose page (GET changes nothing: mail scanners follow links) has the button.
//! Unknown and tampered tokens get the same 404 page as any other bad link.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use crate::db::merchants;
use crate::db::update_emails::{self, Subscription};
use crate::domain::ShopBrand;
use crate::domain::{UnsubscribeToken, now_millis};
use crate::http::pages::render;
use crate::http::{PageError, PageResult};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage<'a> {
    merchant: &'a str,
    brand: ShopBrand,
    action: String,
    unsubscribed: bool,
    /// Just changed by the button (says so), rather than shown as it stands.
    changed: bool,
}

/// The subscription a token names: 404 for an unknown or tampered one.
async fn find(state: &AppState, token: &str) -> PageResult<(UnsubscribeToken, Subscription)> {
    let Some(token) = UnsubscribeToken::parse(token) else { return Err(PageError::LinkNotFound) };
    let found = update_emails::by_token(&state.db, token.hash().as_str()).await.map_err(PageError::internal)?;
    let subscription = found.ok_or(PageError::LinkNotFound)?;
    // A hash collision is out of reach; the derivation is checked all the same, so only the
    // server's own tokens open a row.
    let derived = UnsubscribeToken::derive(&state.secrets.key(), &subscription.token_salt);
    if derived.expose() != token.expose() {
        return Err(PageError::LinkNotFound);
    }
    Ok((token, subscription))
}

/// The page for `subscription` as it stands.
async fn page(
    state: &AppState,
    token: &UnsubscribeToken,
    unsubscribed: bool,
    changed: bool,
    merchant_id: &str,
) -> PageResult {
    let merchant = merchants::get(&state.db, merchant_id).await.map_err(PageError::internal)?;
    let page = UnsubscribePage {
        merchant: &merchant.name,
        brand: merchant.brand(""),
        action: format!("/unsubscribe/{}", token.expose()),
        unsubscribed,
        changed,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /unsubscribe/{token}`: the page with the "Unsubscribe" (or "Subscribe again") button.
#[tracing::instrument(skip_all)]
pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> PageResult {
    let (token, subscription) = find(&state, &token).await?;
    page(&state, &token, subscription.unsubscribed_at.is_some(), false, &subscription.merchant_id).await
}

/// What a POST asks for.
#[derive(Debug, PartialEq, Eq)]
enum Wish {
    Unsubscribe,
    Subscribe,
}

/// Reads the POST's body: RFC 8058's `List-Unsubscribe=One-Click` (form-urlencoded, or
/// multipart/form-data as RFC 8058 prefers) or the page's `action=unsubscribe|subscribe`.
fn wish(headers: &HeaderMap, body: &[u8]) -> Option<Wish> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        // The one field RFC 8058 sends; a full multipart parser is not needed to find it.
        let text = String::from_utf8_lossy(body);
        let one_click = text.contains("name=\"List-Unsubscribe\"") && text.contains("One-Click");
        return one_click.then_some(Wish::Unsubscribe);
    }
    let mut wish = None;
    for (name, value) in url::form_urlencoded::parse(body) {
        match (name.as_ref(), value.as_ref()) {
            ("List-Unsubscribe", "One-Click") | ("action", "unsubscribe") => wish = Some(Wish::Unsubscribe),
            ("action", "subscribe") => wish = Some(Wish::Subscribe),
            _ => {}
        }
    }
    wish
}

/// `POST /unsubscribe/{token}`: unsubscribes (RFC 8058 one-click, or the page's button; 200
/// either way), or subscribes again (the page's other button). A body asking for neither
/// changes nothing and shows the page as it stands.
#[tracing::instrument(skip_all)]
pub async fn change(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult<Response> {
    let (token, subscription) = find(&state, &token).await?;
    let Some(wish) = wish(&headers, &body) else {
        return page(&state, &token, subscription.unsubscribed_at.is_some(), false, &subscription.merchant_id).await;
    };
    let unsubscribe = wish == Wish::Unsubscribe;
    update_emails::set_unsubscribed(&state.db, token.hash().as_str(), unsubscribe, now_millis())
        .await
        .map_err(PageError::internal)?;
    tracing::info!(merchant_id = %subscription.merchant_id, customer_id = %subscription.customer_id, unsubscribe,
        "update emails subscription changed");
    page(&state, &token, unsubscribe, true, &subscription.merchant_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_click_bodies_in_both_encodings_and_the_pages_buttons() {
        let form = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            h
        };
        let urlencoded = form("application/x-www-form-urlencoded");
        assert_eq!(wish(&urlencoded, b"List-Unsubscribe=One-Click"), Some(Wish::Unsubscribe));
        assert_eq!(wish(&urlencoded, b"action=subscribe"), Some(Wish::Subscribe));
        assert_eq!(wish(&urlencoded, b"List-Unsubscribe=Two-Clicks"), None);
        assert_eq!(wish(&HeaderMap::new(), b""), None);
        let multipart = form("multipart/form-data; boundary=x");
        let body = b"--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--\r\n";
        assert_eq!(wish(&multipart, body), Some(Wish::Unsubscribe));
    }
}
