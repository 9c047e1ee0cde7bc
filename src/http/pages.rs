//! Rendering askama pages into responses, and the embedded stylesheet and script.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Renders `page` with `status`; a template error is logged and answered 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on our side").into_response()
        }
    }
}

/// `GET /static/{name}`: the stylesheet, the dashboard's scripts and the icon, built into the binary.
pub async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (content_type, body) = match name.as_str() {
        "satchel.css" => ("text/css; charset=utf-8", include_str!("../../static/satchel.css")),
        "dashboard.js" => ("text/javascript; charset=utf-8", include_str!("../../static/dashboard.js")),
        "file_list.js" => ("text/javascript; charset=utf-8", include_str!("../../static/file_list.js")),
        "favicon.svg" => ("image/svg+xml", include_str!("../../static/favicon.svg")),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

#[cfg(test)]
mod tests {
    /// Several teams append to one stylesheet; an unclosed `@media` block silently moves every
    /// later rule into it (desktop pages lose their layout), so braces must balance.
    #[test]
    fn every_block_of_the_stylesheet_is_closed() {
        let css = include_str!("../../static/satchel.css");
        let mut depth = 0i32;
        for (n, line) in css.lines().enumerate() {
            depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
            assert!(depth >= 0, "a `}}` without its `{{` on line {}", n + 1);
            if line.starts_with("/* ") {
                assert_eq!(depth, 0, "section comment on line {} is inside an open block", n + 1);
            }
        }
        assert_eq!(depth, 0, "an open block at the end of the stylesheet");
    }
}
