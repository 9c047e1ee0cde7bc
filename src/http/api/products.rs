//! `/api/v1/products`: create, list, get, update, archive, and Digital Product Delivery.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::doc::{CurrencyCode, DeliveryRequest, ExternalIds, ProductNameText};
use super::time::rfc3339;
use super::whole;
use crate::catalog;
use crate::catalog::RequestedDelivery;
use crate::db::products::{self as db_products, NewProduct, Product, ProductChange};
use crate::domain::{Currency, Price, ProductName, external_ids, product_description as description};
use crate::http::{ApiJson, ApiMerchant, ApiQuery, Error, Result};
use crate::state::AppState;

/// A product as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct ProductOut {
    id: String,
    name: String,
    description: String,
    price_minor: i64,
    currency: String,
    active: bool,
    /// Whether it can be bought: active, and its delivery set (files or a link). A product is
    /// a draft (`false`) until then: orders, the test checkout and paid webhooks refuse it.
    on_sale: bool,
    /// The merchant's id for this product at each payment provider (`standard`, `stripe`).
    external_ids: BTreeMap<String, String>,
    delivery: DeliveryOut,
    created_at: String,
    updated_at: String,
}

/// A product's Digital Product Delivery. The file list and the link are both kept whatever
/// the mode; the mode chooses which one customers get.
#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    /// `none` (nothing yet: a draft), `files` or `external_link`.
    mode: String,
    /// The file list, delivered in `files` mode.
    files: Vec<DeliveryFileOut>,
    /// The link, delivered in `external_link` mode.
    external_url: Option<String>,
    instructions: String,
}

/// One delivered file.
#[derive(Serialize, ToSchema)]
pub struct DeliveryFileOut {
    /// 1-based position.
    position: i64,
    file_id: String,
    display_name: String,
    size: i64,
    content_type: String,
    sha256: String,
}

impl From<Product> for ProductOut {
    fn from(p: Product) -> ProductOut {
        let on_sale = p.on_sale();
        let delivery = DeliveryOut {
            mode: p.row.delivery_mode.to_string(),
            files: p
                .files
                .into_iter()
                .map(|f| DeliveryFileOut {
                    position: f.position,
                    file_id: f.blob_id,
                    display_name: f.display_name,
                    size: f.size,
                    content_type: f.content_type,
                    sha256: f.sha256,
                })
                .collect(),
            external_url: p.row.external_url,
            instructions: p.row.instructions,
        };
        ProductOut {
            id: p.row.id,
            name: p.row.name,
            description: p.row.description,
            price_minor: p.row.price_minor,
            currency: p.row.currency,
            active: p.row.active,
            on_sale,
            external_ids: p.external_ids.into_iter().collect(),
            delivery,
            created_at: rfc3339(p.row.created_at),
            updated_at: rfc3339(p.row.updated_at),
        }
    }
}

/// Body of `POST /api/v1/products`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    #[schema(value_type = ProductNameText)]
    name: String,
    #[serde(default)]
    #[schema(max_length = 20000)]
    description: String,
    /// Price in minor units (1999 = 19.99).
    #[serde(deserialize_with = "whole::whole")]
    #[schema(minimum = 0, maximum = 999_999_999_999_i64)]
    price_minor: i64,
    /// ISO 4217 code.
    #[schema(value_type = CurrencyCode)]
    currency: String,
    /// Provider name → the merchant's product id there.
    #[serde(default)]
    #[schema(value_type = ExternalIds)]
    external_ids: BTreeMap<String, String>,
}

/// Body of `PATCH /api/v1/products/{id}`; absent fields are left as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProduct {
    #[schema(value_type = Option<ProductNameText>)]
    name: Option<String>,
    #[schema(max_length = 20000)]
    description: Option<String>,
    #[serde(default, deserialize_with = "whole::optional")]
    #[schema(minimum = 0, maximum = 999_999_999_999_i64)]
    price_minor: Option<i64>,
    #[schema(value_type = Option<CurrencyCode>)]
    currency: Option<String>,
    active: Option<bool>,
    /// Replaces all external ids.
    #[schema(value_type = Option<ExternalIds>)]
    external_ids: Option<BTreeMap<String, String>>,
}

/// Body of `PUT /api/v1/products/{id}/delivery`. A part left out keeps the product's saved
/// one, so `{"mode": "external_link"}` switches to the saved link and keeps the files.
/// (Documented by hand as `DeliveryRequest`, with the rules of each mode.)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetDelivery {
    /// `none`, `files` or `external_link`.
    mode: String,
    /// Up to 10 distinct files, in order (at least one in `files` mode); `[]` removes them all.
    #[serde(default, deserialize_with = "present")]
    files: Option<Vec<DeliveryFileIn>>,
    /// An http(s) URL without user name or password; `null` or `""` removes the link.
    #[serde(default, deserialize_with = "present")]
    external_url: Option<Option<String>>,
    /// Left out: kept; `null` is refused, as the description says (text only).
    #[serde(default, deserialize_with = "present")]
    instructions: Option<String>,
}

/// Reads a field that is present (`null` included) as `Some`, so a field left out (`None`)
/// can be told from one set to `null` (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// One file of a delivery.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFileIn {
    file_id: String,
    /// Defaults to the uploaded file name.
    display_name: Option<String>,
}

/// Query of `GET /api/v1/products`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Include archived products.
    #[serde(default)]
    include_archived: bool,
}

/// List products.
#[utoipa::path(get, path = "/api/v1/products", operation_id = "list_products", params(ListQuery),
    responses((status = 200, body = [ProductOut])))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
pub async fn list(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<ProductOut>>> {
    let products = db_products::list(&state.db, &merchant, query.include_archived).await?;
    Ok(Json(products.into_iter().map(ProductOut::from).collect()))
}

/// Create a product (delivery mode `none` until set).
#[utoipa::path(post, path = "/api/v1/products", operation_id = "create_product", request_body = CreateProduct,
    responses((status = 201, body = ProductOut), (status = 409, description = "an external id is already another product's"),
              (status = 422, description = "a field is invalid")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
pub async fn create(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    ApiJson(body): ApiJson<CreateProduct>,
) -> Result<(StatusCode, Json<ProductOut>)> {
    let new = NewProduct {
        name: ProductName::parse("name", &body.name)?,
        description: description(&body.description)?,
        price: Price::new(body.price_minor, Currency::parse("currency", &body.currency)?)?,
        external_ids: external_ids(body.external_ids)?,
    };
    let product = db_products::create(&state.db, &merchant, &new).await?;
    Ok((StatusCode::CREATED, Json(product.into())))
}

/// Get a product.
#[utoipa::path(get, path = "/api/v1/products/{id}", operation_id = "get_product", params(("id" = String, Path, description = "the product's id")), 
    responses((status = 200, body = ProductOut), (status = 404, description = "no such product")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, product_id = %id))]
pub async fn get(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<ProductOut>> {
    Ok(Json(db_products::get(&state.db, &merchant, &id).await.map_err(Error::missing("product"))?.into()))
}

/// Change a product's name, description, price, external ids or active flag.
#[utoipa::path(patch, path = "/api/v1/products/{id}", operation_id = "update_product", request_body = UpdateProduct,
    params(("id" = String, Path, description = "the product's id")), 
    responses((status = 200, body = ProductOut), (status = 404, description = "no such product"),
              (status = 409, description = "an external id is already another product's"),
              (status = 422, description = "a field is invalid")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, product_id = %id))]
pub async fn update(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateProduct>,
) -> Result<Json<ProductOut>> {
    let current = db_products::get(&state.db, &merchant, &id).await.map_err(Error::missing("product"))?;
    let price = match (body.price_minor, body.currency) {
        (None, None) => None,
        (amount, currency) => Some(Price::new(
            amount.unwrap_or(current.row.price_minor),
            Currency::parse("currency", currency.as_deref().unwrap_or(&current.row.currency))?,
        )?),
    };
    let change = ProductChange {
        name: body.name.as_deref().map(|n| ProductName::parse("name", n)).transpose()?,
        description: body.description.as_deref().map(description).transpose()?,
        price,
        active: body.active,
        external_ids: body.external_ids.map(external_ids).transpose()?,
    };
    Ok(Json(db_products::update(&state.db, &merchant, &id, &change).await.map_err(Error::missing("product"))?.into()))
}

/// Archive a product: it can no longer be bought; past orders keep their delivery.
#[utoipa::path(post, path = "/api/v1/products/{id}/archive", operation_id = "archive_product", params(("id" = String, Path, description = "the product's id")), 
    responses((status = 200, body = ProductOut), (status = 404, description = "no such product")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, product_id = %id))]
pub async fn archive(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<ProductOut>> {
    let change = ProductChange { active: Some(false), ..Default::default() };
    Ok(Json(db_products::update(&state.db, &merchant, &id, &change).await.map_err(Error::missing("product"))?.into()))
}

/// Get a product's Digital Product Delivery.
#[utoipa::path(get, path = "/api/v1/products/{id}/delivery", operation_id = "get_product_delivery", params(("id" = String, Path, description = "the product's id")), 
    responses((status = 200, body = DeliveryOut), (status = 404, description = "no such product")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, product_id = %id))]
pub async fn get_delivery(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<DeliveryOut>> {
    let product: ProductOut =
        db_products::get(&state.db, &merchant, &id).await.map_err(Error::missing("product"))?.into();
    Ok(Json(product.delivery))
}

/// Set a product's Digital Product Delivery: up to 10 files, or one external link, plus
/// instructions. The product keeps both its files and its link; the mode chooses which one
/// is delivered, and a part left out keeps what is saved. Applies to future purchases only;
/// past orders keep what they bought.
#[utoipa::path(put, path = "/api/v1/products/{id}/delivery", operation_id = "set_product_delivery",
    request_body = DeliveryRequest, params(("id" = String, Path, description = "the product's id")), 
    responses((status = 200, body = ProductOut), (status = 404, description = "no such product"),
              (status = 422, description = "11th file, no file in files mode, a file listed twice or not uploaded, \
                no link in link mode, bad URL")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, product_id = %id))]
pub async fn set_delivery(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetDelivery>,
) -> Result<Json<ProductOut>> {
    let request = RequestedDelivery {
        mode: &body.mode,
        files: body
            .files
            .as_ref()
            .map(|files| files.iter().map(|f| (f.file_id.as_str(), f.display_name.as_deref())).collect()),
        external_url: body.external_url.as_ref().map(Option::as_deref),
        instructions: body.instructions.as_deref(),
    };
    Ok(Json(catalog::set_requested_delivery(&state, &merchant, &id, &request).await?.into()))
}
