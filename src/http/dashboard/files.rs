//! `/dashboard/files`: the files library. Every file the shop uploaded, its size, SHA-256 and
//! upload time, which products' file lists hold it and how many orders bought it; "Delete…"
//! for a file nothing uses, behind a confirm page. The delete is the catalog's service
//! ([`catalog::delete_file`]), the same one `DELETE /api/v1/files/{id}` runs.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::orders::{Pager, when};
use super::sign_in::Empty;
use super::{Chrome, PageResult, Section, SignedIn, Verified};
use crate::catalog::{self, CatalogError};
use crate::db::file_library::{self, FileUse, LibraryFile};
use crate::db::page::PageAt;
use crate::domain::human_size;
use crate::http::pages::render;
use crate::http::{Error, PageError};
use crate::state::AppState;

/// `?after=` / `?before=` (pages) and `?notice=`.
#[derive(Deserialize, Default)]
pub struct LibraryQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    notice: Option<String>,
}

/// A product whose file list holds the file, as a link.
struct UsedBy {
    href: String,
    name: String,
    archived: bool,
    /// The file's name in that product, when it differs from the uploaded name.
    shown_as: Option<String>,
}

/// One file as the library shows it.
struct FileView {
    id: String,
    filename: String,
    content_type: String,
    size: String,
    sha256: String,
    /// The first 12 hex digits, for the table.
    sha_short: String,
    uploaded: String,
    products: Vec<UsedBy>,
    orders: i64,
    /// Earlier releases that keep it (of products that no longer list it).
    releases: i64,
}

impl FileView {
    fn new(file: LibraryFile, uses: &[FileUse]) -> FileView {
        let products = uses
            .iter()
            .filter(|u| u.blob_id == file.id)
            .map(|u| UsedBy {
                href: format!("/dashboard/products/{}", u.product_id),
                name: u.product_name.clone(),
                archived: !u.active,
                shown_as: (u.display_name != file.filename).then(|| u.display_name.clone()),
            })
            .collect();
        FileView {
            sha_short: file.sha256.chars().take(12).collect(),
            size: human_size(file.size),
            uploaded: when(file.created_at),
            id: file.id,
            filename: file.filename,
            content_type: file.content_type,
            sha256: file.sha256,
            products,
            orders: file.orders,
            releases: file.releases,
        }
    }

    /// Whether "Delete" is offered: in no product's list, bought in no order, kept by no release.
    fn deletable(&self) -> bool {
        self.products.is_empty() && self.orders == 0 && self.releases == 0
    }

    /// Why it cannot be deleted, in the merchant's words.
    fn why_kept(&self) -> String {
        let mut reasons = Vec::new();
        if !self.products.is_empty() {
            let n = self.products.len();
            reasons.push(format!("it is in the file list of {n} product{}", if n == 1 { "" } else { "s" }));
        }
        if self.orders > 0 {
            let n = self.orders;
            reasons.push(format!(
                "{n} order{} bought it, and bytes a customer bought are never deleted",
                if n == 1 { "" } else { "s" }
            ));
        }
        if self.releases > 0 {
            let n = self.releases;
            reasons.push(format!(
                "{n} earlier release{} of a product keep{} it, and a release keeps its files",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" }
            ));
        }
        reasons.join("; ")
    }

    /// [`FileView::why_kept`] as a sentence of its own.
    fn used_in(&self) -> String {
        let why = self.why_kept();
        let mut chars = why.chars();
        chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "dashboard/files.html")]
struct LibraryPage {
    chrome: Chrome,
    files: Vec<FileView>,
    pager: Pager,
    first_page: bool,
}

/// `GET /dashboard/files`
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id))]
pub async fn list(State(state): State<AppState>, user: SignedIn, Query(q): Query<LibraryQuery>) -> PageResult {
    let merchant = &user.merchant.id;
    let at = PageAt::from_query(q.after.as_deref(), q.before.as_deref());
    let page = file_library::page(&state.db, merchant, &at).await?;
    let ids: Vec<&str> = page.rows.iter().map(|f| f.id.as_str()).collect();
    let uses = file_library::uses(&state.db, merchant, &ids).await?;
    let pager = Pager::of(&page, "/dashboard/files?");
    let files = page.rows.into_iter().map(|f| FileView::new(f, &uses)).collect();
    let chrome = Chrome::new(&user, Section::Files, q.notice.as_deref());
    let page = LibraryPage { chrome, files, pager, first_page: at == PageAt::First };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "dashboard/file_delete.html")]
struct ConfirmPage {
    chrome: Chrome,
    file: FileView,
    /// Why a delete just posted was refused.
    refused: Option<String>,
}

/// The file `id` with its uses, for the confirm page.
async fn file_view(state: &AppState, merchant: &str, id: &str) -> Result<FileView, Error> {
    let file = file_library::one(&state.db, merchant, id).await.map_err(Error::missing("file"))?;
    let uses = file_library::uses(&state.db, merchant, &[id]).await?;
    Ok(FileView::new(file, &uses))
}

/// `GET /dashboard/files/{id}/delete`: what deleting the file means, with the button only
/// when nothing uses it (otherwise why it is kept).
#[tracing::instrument(skip_all, fields(merchant_id = %user.merchant.id, file_id = %id))]
pub async fn confirm(State(state): State<AppState>, user: SignedIn, Path(id): Path<String>) -> PageResult {
    let file = file_view(&state, &user.merchant.id, &id).await?;
    let page = ConfirmPage { chrome: Chrome::new(&user, Section::Files, None), file, refused: None };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /dashboard/files/{id}/delete`: deletes the file if nothing uses it; refused (409, the
/// confirm page again with why) when a product or an order holds it, even one added since the
/// confirm page was shown.
#[tracing::instrument(skip_all, fields(merchant_id = %form.user.merchant.id, file_id = %id))]
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, form: Verified<Empty>) -> PageResult {
    let user = &form.user;
    match catalog::delete_file(&state, &user.merchant.id, &id).await {
        Ok(_) => Ok(Redirect::to("/dashboard/files?notice=file-deleted").into_response()),
        Err(CatalogError::FileInUse(_)) => {
            let file = file_view(&state, &user.merchant.id, &id).await?;
            let mut why = file.why_kept();
            if why.is_empty() {
                // Held at that moment by a save or a purchase that has let go of it since.
                why = "a product or an order was using it at that moment; try again".into();
            }
            let refused = Some(format!("“{}” was not deleted: {why}.", file.filename));
            let page = ConfirmPage { chrome: Chrome::new(user, Section::Files, None), file, refused };
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(PageError::from(Error::from(e))),
    }
}
