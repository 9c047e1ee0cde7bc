//! `/buy/{product}`: a test-mode checkout that succeeds a payment without a card, so a
//! newcomer can walk the whole journey. It only works while the merchant's test mode is on.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::db::merchants::{self, Merchant};
use crate::db::products::{self, Product};
use crate::db::{DbError, with_pool};
use crate::domain::{Email, human_price};
use crate::fulfilment::{self, Outcome, Payment};
use crate::http::delivery::NotFoundPage;
use crate::http::pages::render;

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
}

/// The form fields.
#[derive(Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

/// The product and its merchant, if it can be bought in test mode.
async fn for_sale(state: &AppState, product_id: &str) -> Result<Option<(Merchant, Product)>, DbError> {
    let merchant_id: Option<(String,)> = with_pool!(&state.db, pool => {
        sqlx::query_as("SELECT merchant_id FROM products WHERE id = $1 AND active").bind(product_id).fetch_optional(pool).await?
    });
    let Some((merchant_id,)) = merchant_id else { return Ok(None) };
    let merchant = merchants::get(&state.db, &merchant_id).await?;
    if !merchant.test_mode {
        return Ok(None);
    }
    let product = products::get(&state.db, &merchant_id, product_id).await?;
    Ok(Some((merchant, product)))
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
    }
}

/// `GET /buy/{product}`: the checkout form.
pub async fn show(State(state): State<AppState>, Path(product_id): Path<String>) -> Response {
    match for_sale(&state, &product_id).await {
        Ok(Some((merchant, product))) => {
            let empty = CheckoutForm { name: String::new(), email: String::new() };
            render(StatusCode::OK, &page(&merchant, &product, &empty, String::new()))
        }
        Ok(None) => render(StatusCode::NOT_FOUND, &NotFoundPage),
        Err(e) => crate::http::Error::from(e).into_response(),
    }
}

/// `POST /buy/{product}`: pays, then sends the buyer to their delivery page.
pub async fn pay(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
    Form(form): Form<CheckoutForm>,
) -> Response {
    let (merchant, product) = match for_sale(&state, &product_id).await {
        Ok(Some(found)) => found,
        Ok(None) => return render(StatusCode::NOT_FOUND, &NotFoundPage),
        Err(e) => return crate::http::Error::from(e).into_response(),
    };
    if let Err(invalid) = Email::parse("email", &form.email) {
        let error = format!("Email {}", invalid.message);
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page(&merchant, &product, &form, error));
    }
    let payment_id = format!("test_{}", crate::db::new_id());
    let payment = Payment {
        provider: "test",
        payment_id: &payment_id,
        customer_email: &form.email,
        customer_name: &form.name,
        amount_minor: product.row.price_minor,
        currency: &product.row.currency,
        items: vec![(product.row.id.clone(), 1)],
        event: None,
        idempotency: None,
    };
    match fulfilment::record_payment(&state.db, &state.secrets.key(), &merchant, &payment).await {
        Ok(Outcome::Created { token, .. }) => {
            state.mail.wake();
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
