//! `/api/v1/products/{id}/releases`: a product's releases, each saved change of its delivery,
//! newest first, with what each delivered (read only for now).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::time::rfc3339;
use crate::db::releases::{self as db_releases, OrderRelease, ReleaseDetail};
use crate::http::{ApiMerchant, Error, Result};
use crate::state::AppState;

/// Releases listed at most (a release is a saved change made by hand: far fewer in practice).
const MAX_LISTED: i64 = 1000;

/// A release: the product's delivery as it was saved, numbered 1, 2, … per product.
#[derive(Serialize, ToSchema)]
pub struct ReleaseOut {
    /// 1, 2, … per product, without gaps.
    number: i64,
    /// The version label ("2.1"), once published (null until then).
    label: Option<String>,
    /// What changed, once published (null until then).
    changelog: Option<String>,
    /// When the delivery was saved.
    created_at: String,
    /// `none`, `files` or `external_link`: which of the two below customers got.
    mode: String,
    /// The file list (kept whatever the mode, delivered in `files` mode).
    files: Vec<ReleaseFileOut>,
    /// The link (kept whatever the mode, delivered in `external_link` mode).
    external_url: Option<String>,
    instructions: String,
}

/// A file of a release, as it was.
#[derive(Serialize, ToSchema)]
pub struct ReleaseFileOut {
    /// 1-based position.
    position: i64,
    file_id: String,
    display_name: String,
    size: i64,
    content_type: String,
    sha256: String,
}

/// A release an order owns: the one an item bought.
#[derive(Serialize, ToSchema)]
pub struct OrderReleaseOut {
    /// The release's number.
    number: i64,
    /// Its product.
    product_id: String,
    /// The order item (1-based) that bought it.
    item_position: i64,
    /// Its label, once published.
    label: Option<String>,
    created_at: String,
}

impl From<ReleaseDetail> for ReleaseOut {
    fn from(d: ReleaseDetail) -> ReleaseOut {
        let r = d.release;
        ReleaseOut {
            number: r.number,
            label: r.label,
            changelog: r.changelog,
            created_at: rfc3339(r.created_at),
            mode: r.delivery_mode.to_string(),
            files: d
                .files
                .into_iter()
                .map(|f| ReleaseFileOut {
                    position: f.position,
                    file_id: f.blob_id,
                    display_name: f.display_name,
                    size: f.size,
                    content_type: f.content_type,
                    sha256: f.sha256,
                })
                .collect(),
            external_url: r.external_url,
            instructions: r.instructions,
        }
    }
}

impl From<OrderRelease> for OrderReleaseOut {
    fn from(r: OrderRelease) -> OrderReleaseOut {
        OrderReleaseOut {
            number: r.number,
            product_id: r.product_id,
            item_position: r.item_position,
            label: r.label,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// List a product's releases, newest first: each saved change of its delivery. A product
/// that never had anything to deliver has none.
#[utoipa::path(get, path = "/api/v1/products/{id}/releases", operation_id = "list_product_releases",
    params(("id" = String, Path, description = "the product's id")),
    responses((status = 200, body = [ReleaseOut]), (status = 404, description = "no such product")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, product_id = %id))]
pub async fn list(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Json<Vec<ReleaseOut>>> {
    let releases = db_releases::list(&state.db, &merchant, &id, MAX_LISTED).await.map_err(Error::missing("product"))?;
    Ok(Json(releases.into_iter().map(ReleaseOut::from).collect()))
}

/// Get one release of a product.
#[utoipa::path(get, path = "/api/v1/products/{id}/releases/{number}", operation_id = "get_product_release",
    params(("id" = String, Path, description = "the product's id"),
           ("number" = i64, Path, description = "the release's number (1, 2, …)")),
    responses((status = 200, body = ReleaseOut), (status = 404, description = "no such product or release")))]
#[tracing::instrument(skip_all, fields(merchant_id = %merchant, product_id = %id, release = %number))]
pub async fn get(
    State(state): State<AppState>,
    ApiMerchant(merchant): ApiMerchant,
    Path((id, number)): Path<(String, String)>,
) -> Result<Json<ReleaseOut>> {
    // Anything but a release's number names no release: 404, like an unknown one.
    let number: i64 = number.parse().map_err(|_| Error::NotFound("release"))?;
    let release = db_releases::get(&state.db, &merchant, &id, number).await.map_err(Error::missing("release"))?;
    Ok(Json(release.into()))
}
