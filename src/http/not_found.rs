//! What answers a path no route serves: `/` leads to the dashboard, `/dashboard/` to the
//! dashboard too, `/favicon.ico` is the icon, and any other unknown path gets a page of its
//! own (404) rather than the browser's error. Unknown `/api/` paths answer the API's JSON error.
//! The page is the same for every path, so it tells nothing about which shops exist.

use askama::Template;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::http::pages::render;

/// The branded "page not found" page.
#[derive(Template)]
#[template(path = "not_found.html")]
struct PageNotFound;

/// `GET /`: the merchant's dashboard (which asks to sign in first when needed).
pub async fn home() -> Redirect {
    Redirect::to("/dashboard")
}

/// `GET /dashboard/`: the same dashboard, at its one address.
pub async fn dashboard_slash() -> Redirect {
    Redirect::permanent("/dashboard")
}

/// `GET /favicon.ico`, built into the binary (browsers ask for it on every site).
pub async fn favicon() -> Response {
    let icon: &'static [u8] = include_bytes!("../../static/favicon.ico");
    ([(header::CONTENT_TYPE, "image/x-icon"), (header::CACHE_CONTROL, "public, max-age=86400")], icon).into_response()
}

/// Any path no route serves: the API's JSON 404 under `/api/`, the branded page elsewhere.
pub async fn fallback(uri: Uri) -> Response {
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        return super::Error::NotFound("endpoint").into_response();
    }
    render(StatusCode::NOT_FOUND, &PageNotFound)
}
