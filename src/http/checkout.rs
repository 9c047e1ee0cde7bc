//! `/buy/{product}`: a test-mode checkout that succeeds a payment without a card, so a
//! newcomer can walk the whole journey. It only works while the merchant's test mode is on,
//! only from this site's own page (never another site's form), a few times per network and
//! per address; with SMTP configured, its emails reach only the merchant's own addresses (the
//! outbox keeps the rest in the file mailbox).

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::db::merchants::Merchant;
use crate::db::products::{self, Product};
use crate::domain::{CustomerName, Email, PaymentSource, human_price};
use crate::http::page_error::NotFoundPage;
use crate::http::pages::render;
use crate::orders::{self, Outcome, Payment};
use crate::state::AppState;

/// Test purchases allowed per client network per [`WINDOW`].
pub const PURCHASES_PER_IP: u32 = 20;
/// Test purchases allowed per customer address (all shops together) per [`WINDOW`].
pub const PURCHASES_PER_ADDRESS: u32 = 5;
/// The window both limits count in.
pub const WINDOW: Duration = Duration::from_secs(600);

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    merchant: String,
    product: String,
    price: String,
    action: String,
    name: String,
    email: String,
    error: String,
    /// False for a draft: the page says why and offers no form.
    buyable: bool,
}

/// The form fields.
#[derive(Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

fn page(merchant: &Merchant, product: &Product, form: &CheckoutForm, error: String) -> CheckoutPage {
    CheckoutPage {
        merchant: merchant.name.clone(),
        product: product.row.name.clone(),
        price: human_price(product.row.price_minor, &product.row.currency),
        action: format!("/buy/{}", product.row.id),
        name: form.name.clone(),
        email: form.email.clone(),
        error,
        buyable: true,
    }
}

/// 422 for a draft (nothing to deliver): naming the product, with no way to pay.
fn draft(merchant: &Merchant, product: &Product, form: &CheckoutForm) -> Response {
    let error = format!(
        "\u{201c}{}\u{201d} has nothing to deliver yet, so it cannot be bought. If this is your shop, add files \
         or a link to it in the dashboard.",
        product.row.name
    );
    let page = CheckoutPage { buyable: false, ..page(merchant, product, form, error) };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// The product and its merchant if it can be bought in test mode, else the page to answer.
async fn for_sale(state: &AppState, product_id: &str) -> Result<(Merchant, Product), Response> {
    match products::for_sale(&state.db, product_id).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(render(StatusCode::NOT_FOUND, &NotFoundPage)),
        Err(e) => Err(crate::http::Error::from(e).into_response()),
    }
}

/// `GET /buy/{product}`: the checkout form.
#[tracing::instrument(skip_all, fields(product_id = %product_id))]
pub async fn show(State(state): State<AppState>, Path(product_id): Path<String>) -> Response {
    match for_sale(&state, &product_id).await {
        Ok((merchant, product)) => {
            let empty = CheckoutForm { name: String::new(), email: String::new() };
            if !product.on_sale() {
                return draft(&merchant, &product, &empty);
            }
            render(StatusCode::OK, &page(&merchant, &product, &empty, String::new()))
        }
        Err(response) => response,
    }
}

/// `POST /buy/{product}`: pays, then sends the buyer to their delivery page.
#[tracing::instrument(skip_all, fields(product_id = %product_id))]
pub async fn pay(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
    client: crate::http::client::ClientIp,
    headers: HeaderMap,
    Form(form): Form<CheckoutForm>,
) -> Response {
    let (merchant, product) = match for_sale(&state, &product_id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !product.on_sale() {
        return draft(&merchant, &product, &form);
    }
    let refuse = |status, error: String| render(status, &page(&merchant, &product, &form, error));
    // Another site's form would make this an order and email generator aimed at anyone.
    if !crate::http::session::same_origin(&headers, &state.public_url) {
        return refuse(StatusCode::FORBIDDEN, "Test purchases can only be made from this checkout page.".into());
    }
    let email = match Email::parse("email", &form.email) {
        Ok(email) => email,
        Err(invalid) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, format!("Email {}", invalid.message)),
    };
    let name = match CustomerName::parse("name", &form.name) {
        Ok(name) => name,
        Err(invalid) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, format!("Name: {}", invalid.message)),
    };
    let limits = [
        (format!("buy-ip:{}", client.0), PURCHASES_PER_IP),
        (format!("buy-email:{}", email.as_str()), PURCHASES_PER_ADDRESS),
    ];
    for (key, limit) in limits {
        let verdict = match state.rate_limits.check(&key, limit, WINDOW).await {
            Ok(verdict) => verdict,
            Err(e) => return crate::http::Error::from(e).into_response(),
        };
        if let Err(wait) = verdict {
            let error = format!("Too many test purchases: please try again in {} seconds.", wait.as_secs());
            let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, error);
            crate::http::retry_after(&mut response, wait);
            return response;
        }
    }
    let payment_id = format!("test_{}", crate::db::new_id());
    let payment = Payment {
        provider: PaymentSource::Test,
        payment_id: &payment_id,
        customer_email: email.as_str(),
        customer_name: &name,
        amount_minor: product.row.price_minor,
        currency: &product.row.currency,
        items: vec![(product.row.id.clone(), 1)],
        test: true,
        event: None,
        idempotency: None,
    };
    match orders::record_payment(&state, &merchant, &payment).await {
        Ok(Outcome::Created { token, .. }) => {
            (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/d/{}", token.expose()))]).into_response()
        }
        Ok(Outcome::Unmatched(invalid)) => {
            render(StatusCode::UNPROCESSABLE_ENTITY, &page(&merchant, &product, &form, invalid.message))
        }
        Ok(Outcome::Duplicate(_)) => {
            render(StatusCode::CONFLICT, &page(&merchant, &product, &form, "Already paid.".into()))
        }
        Err(e) => crate::http::Error::from(e).into_response(),
    }
}
