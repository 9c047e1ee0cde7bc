//! The public assets of a shop's brand (`templates/_shop_brand.html` shows them):
//! `GET /brand/logo/{sha256}.{png|jpeg|webp}` and `GET /brand/accent/{rrggbb}.css`. Both are
//! named by their content, so they are cached for a year; neither can hold anything but an
//! image or one colour (pages allow only our own styles, so the colour comes as a stylesheet).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::db::shop_profile;
use crate::domain::{AccentColour, LogoType, is_sha256};
use crate::state::AppState;

/// `Cache-Control` of content-named assets.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// `GET /brand/logo/{sha256}.{ext}`: a stored logo, with the type its bytes say (the name's
/// extension must agree).
#[tracing::instrument(skip_all)]
pub async fn logo(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some((sha, ext)) = file.split_once('.') else { return not_found() };
    if !is_sha256(sha) || LogoType::parse(ext).is_none() {
        return not_found();
    }
    let bytes = match state.blobs.get_small(&shop_profile::logo_key(sha)).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "could not read a logo");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    match LogoType::sniff(&bytes) {
        Some(kind) if kind.as_str() == ext => (
            [
                (header::CONTENT_TYPE, kind.mime()),
                (header::CACHE_CONTROL, IMMUTABLE),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"),
            ],
            bytes,
        )
            .into_response(),
        _ => not_found(),
    }
}

/// `GET /brand/accent/{rrggbb}.css`: the accent colour as custom properties, with a text
/// colour readable on it. Six hex digits or 404: nothing else can reach the stylesheet.
pub async fn accent(Path(file): Path<String>) -> Response {
    let colour = file
        .strip_suffix(".css")
        .filter(|hex| hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .and_then(|hex| AccentColour::parse("accent_colour", &format!("#{hex}")).ok());
    let Some(colour) = colour else { return not_found() };
    let (c, ink) = (colour.as_str(), colour.ink());
    let css = format!(
        "/* The shop's accent colour (Settings → Shop profile). */\n\
         :root {{ --shop-accent: {c}; --shop-accent-ink: {ink}; --accent: {c}; --accent-ink: {ink}; }}\n"
    );
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, IMMUTABLE)], css).into_response()
}
