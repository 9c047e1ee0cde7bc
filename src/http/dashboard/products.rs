//! `/dashboard/products`: the list, the new-product form, the edit page with Digital Product
//! Delivery (files or an external link), archiving and restoring.
//!
//! Saving goes through the same domain checks and data-layer functions as the JSON API
//! (`src/http/api/products.rs`); a refused form comes back as typed, each error next to its field.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::product_form::{DeliveryFields, FieldErrors, FileRow, Op, Posted, ProductFields, facts};
use super::release_rows::{ReleaseRow, emails_in_words};
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::catalog::{self, CatalogError};
use crate::db::DbError;
use crate::db::blobs as db_blobs;
use crate::db::products::{self as db_products, Product, ProductChange};
use crate::db::releases as db_releases;
use crate::db::update_emails;
use crate::domain::{DeliveryMode, Invalid, MAX_FILES, human_date, human_limit, human_price};
use crate::http::Error;
use crate::http::pages::render;
use crate::state::AppState;

/// A urlencoded form as (name, value) pairs in page order (file lists repeat their names).
type Pairs = Vec<(String, String)>;

/// `?notice=` after a change, and `?archived=1` on the list.
#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    notice: Option<String>,
    #[serde(default)]
    archived: Option<String>,
}

/// One line of the products table.
struct ListRow {
    id: String,
    name: String,
    price: String,
    /// "Files", "External link" or "Not set up".
    delivery: &'static str,
    delivery_badge: &'static str,
    files: usize,
    active: bool,
    /// Active but with nothing to deliver: a draft, which cannot be bought.
    draft: bool,
    updated: String,
}

#[derive(Template)]
#[template(path = "dashboard/products.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ListRow>,
    showing_archived: bool,
    archived_count: usize,
    max_files: usize,
}

/// `GET /dashboard/products`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn list(State(state): State<AppState>, user: SignedIn, Query(q): Query<PageQuery>) -> PageResult {
    let showing_archived = q.archived.is_some();
    let products = db_products::list(&state.db, &user.merchant.id, true).await?;
    let archived_count = products.iter().filter(|p| !p.row.active).count();
    let rows = products
        .into_iter()
        .filter(|p| showing_archived || p.row.active)
        .map(|p| {
            let (delivery, delivery_badge) = match p.row.delivery_mode {
                DeliveryMode::Files => ("Files", "badge-ok"),
                DeliveryMode::ExternalLink => ("External link", "badge-ok"),
                DeliveryMode::None => ("Not set up", "badge-warn"),
            };
            ListRow {
                draft: p.row.active && !p.on_sale(),
                price: human_price(p.row.price_minor, &p.row.currency),
                delivery,
                delivery_badge,
                files: p.files.len(),
                active: p.row.active,
                updated: human_date(p.row.updated_at),
                id: p.row.id,
                name: p.row.name,
            }
        })
        .collect();
    let page = ListPage {
        chrome: Chrome::new(&user, Section::Products, q.notice.as_deref()),
        rows,
        showing_archived,
        archived_count,
        max_files: MAX_FILES,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "dashboard/product_new.html")]
struct NewPage {
    chrome: Chrome,
    fields: ProductFields,
    errors: FieldErrors,
}

/// `GET /dashboard/products/new`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn new(user: SignedIn) -> PageResult {
    let fields = ProductFields { currency: "USD".into(), ..Default::default() };
    let page = NewPage { chrome: Chrome::new(&user, Section::Products, None), fields, errors: FieldErrors::default() };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /dashboard/products`: creates the product and opens its edit page, where its
/// delivery is set up.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn create(State(state): State<AppState>, Verified { user, form }: Verified<Pairs>) -> PageResult {
    let fields = Posted::read(form).fields;
    let mut errors = FieldErrors::default();
    if let Some(new) = fields.check(&mut errors) {
        match db_products::create(&state.db, &user.merchant.id, &new).await {
            Ok(product) => {
                return Ok(
                    Redirect::to(&format!("/dashboard/products/{}?notice=created", product.row.id)).into_response()
                );
            }
            Err(DbError::Conflict(message)) => errors.add("external_ids", &Invalid::new("external_ids", message)),
            Err(e) => return Err(e.into()),
        }
    }
    let page = NewPage { chrome: Chrome::new(&user, Section::Products, None), fields, errors };
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// A file uploaded earlier that the list does not hold, offered for adding.
struct UploadedFile {
    id: String,
    filename: String,
    /// `2.4 MB · application/pdf`
    facts: String,
    /// `report.pdf · 2.4 MB · application/pdf`
    label: String,
}

#[derive(Template)]
#[template(path = "dashboard/product_edit.html")]
struct EditPage {
    chrome: Chrome,
    id: String,
    /// The saved name, for the heading.
    title: String,
    active: bool,
    /// Active but with nothing to deliver (saved): shown as a draft, with why.
    draft: bool,
    fields: ProductFields,
    delivery: DeliveryFields,
    errors: FieldErrors,
    uploaded: Vec<UploadedFile>,
    /// The list differs from what is saved (a list change made without JavaScript).
    unsaved: bool,
    max_files: usize,
    max_upload_bytes: u64,
    max_upload_text: String,
    /// The row the page's script copies for each new upload.
    blank_row: FileRow,
    /// The product's test checkout, for its copy button.
    checkout_url: String,
    /// Its newest releases (each saved change of its delivery), newest first.
    releases: Vec<ReleaseRow>,
    /// The "Publish update" card, while the latest release is not published.
    publish: Option<super::publish::PublishCard>,
}

/// Releases shown on the product page, at most.
const RELEASES_SHOWN: i64 = 10;

/// The edit page as `fields` and `delivery` say (what is saved, or what was just posted).
pub(super) async fn edit_page(
    state: &AppState,
    user: &SignedIn,
    product: &Product,
    (fields, delivery): (ProductFields, DeliveryFields),
    errors: FieldErrors,
    status: StatusCode,
    notice: Option<&str>,
) -> PageResult {
    page_of(state, user, product, (fields, delivery), errors, (status, notice), None).await
}

/// The edit page, with the "Publish update" card `publishing` (None: the card as it is).
async fn page_of(
    state: &AppState,
    user: &SignedIn,
    product: &Product,
    (fields, delivery): (ProductFields, DeliveryFields),
    errors: FieldErrors,
    (status, notice): (StatusCode, Option<&str>),
    publishing: Option<super::publish::PublishCard>,
) -> PageResult {
    let publish = match publishing {
        Some(card) => Some(card),
        None => super::publish::card(state, &user.merchant.id, &product.row.id).await?,
    };
    let listed: Vec<&str> = delivery.files.iter().map(|f| f.file_id.as_str()).collect();
    let uploaded = db_blobs::list(&state.db, &user.merchant.id)
        .await?
        .into_iter()
        .filter(|b| !listed.contains(&b.id.as_str()))
        .map(|b| {
            let facts = facts(b.size, &b.content_type);
            UploadedFile { label: format!("{} · {facts}", b.filename), facts, id: b.id, filename: b.filename }
        })
        .collect();
    let releases = db_releases::list(&state.db, &user.merchant.id, &product.row.id, RELEASES_SHOWN).await?;
    let oldest = releases.last().map_or(0, |r| r.release.number);
    let email_counts = update_emails::counts_by_release(&state.db, &product.row.id, oldest).await?;
    let emails_of = |n: i64| email_counts.iter().find(|(number, _)| *number == n).map(|(_, c)| emails_in_words(c));
    let unsaved = status == StatusCode::OK && notice == Some("unsaved");
    let limit = state.blobs.max_upload_bytes();
    let page = EditPage {
        chrome: Chrome::new(user, Section::Products, notice),
        id: product.row.id.clone(),
        title: product.row.name.clone(),
        active: product.row.active,
        draft: product.row.active && !product.on_sale(),
        fields,
        delivery,
        errors,
        uploaded,
        unsaved,
        max_files: MAX_FILES,
        max_upload_bytes: limit,
        max_upload_text: human_limit(limit),
        blank_row: FileRow::default(),
        checkout_url: format!("{}/buy/{}", state.public_url, product.row.id),
        releases: releases
            .into_iter()
            .enumerate()
            .map(|(i, r)| ReleaseRow { latest: i == 0, emails: emails_of(r.release.number), ..ReleaseRow::of(r) })
            .collect(),
        publish,
    };
    Ok(render(status, &page))
}

/// The edit page as saved, with the "Publish update" card as posted (its errors shown).
pub(super) async fn edit_page_with(
    state: &AppState,
    user: &SignedIn,
    product: &Product,
    card: Option<super::publish::PublishCard>,
    status: StatusCode,
) -> PageResult {
    let form = (ProductFields::of(product), DeliveryFields::of(product));
    page_of(state, user, product, form, FieldErrors::default(), (status, None), card).await
}

async fn product_of(state: &AppState, user: &SignedIn, id: &str) -> Result<Product, Error> {
    db_products::get(&state.db, &user.merchant.id, id).await.map_err(Error::missing("product"))
}

/// `GET /dashboard/products/{id}`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, product_id = %id))]
pub async fn edit(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let product = product_of(&state, &user, &id).await?;
    let form = (ProductFields::of(&product), DeliveryFields::of(&product));
    edit_page(&state, &user, &product, form, FieldErrors::default(), StatusCode::OK, q.notice.as_deref()).await
}

/// `POST /dashboard/products/{id}`: "Update product" saves everything on the page at once;
/// the list buttons (when JavaScript is off) change the list and show the page again unsaved.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, product_id = %id))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Verified { user, form }: Verified<Pairs>,
) -> PageResult {
    let merchant = &user.merchant.id;
    let product = product_of(&state, &user, &id).await?;
    let Posted { fields, mut delivery, op, add_file_id } = Posted::read(form);
    let mut errors = FieldErrors::default();
    if let Some(op) = op.filter(|op| *op != Op::Save) {
        let added = match db_blobs::get(&state.db, merchant, &add_file_id).await {
            Ok(blob) if op == Op::Add => {
                Some(FileRow { file_id: blob.id, display_name: blob.filename, ..Default::default() })
            }
            _ => None,
        };
        delivery.apply(op, added);
        // Only to show each file's facts: nothing is being saved, so nothing is an error yet.
        delivery.check(&state, merchant, &mut FieldErrors::default()).await?;
        let notice = Some("unsaved");
        return edit_page(&state, &user, &product, (fields, delivery), errors, StatusCode::OK, notice).await;
    }
    let change = fields.change(&mut errors);
    let checked = delivery.check(&state, merchant, &mut errors).await?;
    let (Some(change), Some(checked)) = (change, checked) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return edit_page(&state, &user, &product, (fields, delivery), errors, status, None).await;
    };
    // The product's fields first: an external id taken by another product is the one refusal
    // left that only the database can see, and it must leave the delivery unsaved too.
    if let Err(e) = db_products::update(&state.db, merchant, &id, &change).await {
        let DbError::Conflict(message) = e else { return Err(Error::missing("product")(e).into()) };
        errors.add("external_ids", &Invalid::new("external_ids", message));
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return edit_page(&state, &user, &product, (fields, delivery), errors, status, None).await;
    }
    if let Err(e) = catalog::set_delivery(&state, merchant, &id, &checked).await {
        // A listed file deleted through the API since the check above.
        let CatalogError::Db(DbError::Conflict(message)) = e else { return Err(e.into()) };
        errors.add("files", &Invalid::new("files", message));
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return edit_page(&state, &user, &product, (fields, delivery), errors, status, None).await;
    }
    Ok(Redirect::to(&format!("/dashboard/products/{id}?notice=saved")).into_response())
}

#[derive(Template)]
#[template(path = "dashboard/product_archive.html")]
struct ArchivePage {
    chrome: Chrome,
    id: String,
    name: String,
}

/// `GET /dashboard/products/{id}/archive`: asks before archiving.
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, product_id = %id))]
pub async fn confirm_archive(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult {
    let product = product_of(&state, &user, &id).await?;
    let page = ArchivePage { chrome: Chrome::new(&user, Section::Products, None), id, name: product.row.name };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /dashboard/products/{id}/archive`
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, product_id = %id))]
pub async fn archive(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Pairs>) -> PageResult {
    set_active(&state, &form.user, &id, false).await?;
    Ok(Redirect::to("/dashboard/products?notice=archived").into_response())
}

/// `POST /dashboard/products/{id}/restore`
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, product_id = %id))]
pub async fn restore(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Pairs>) -> PageResult {
    set_active(&state, &form.user, &id, true).await?;
    Ok(Redirect::to(&format!("/dashboard/products/{id}?notice=unarchived")).into_response())
}

async fn set_active(state: &AppState, user: &SignedIn, id: &str, active: bool) -> Result<Product, Error> {
    let change = ProductChange { active: Some(active), ..Default::default() };
    db_products::update(&state.db, &user.merchant.id, id, &change).await.map_err(Error::missing("product"))
}
