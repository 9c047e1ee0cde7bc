//! What answers an address no page serves: `/` and `/dashboard/` lead to the dashboard, the
//! favicon is an image, every other unknown path gets a page of Satchel's own (never the
//! browser's empty error), the same for every path so it tells nothing about which shops
//! exist, while unknown API paths keep answering the API's JSON error.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dashboard::{Dashboard, location};
use crate::helpers::{Stack, TestApp, on_both_stacks};

on_both_stacks!(the_root_leads_to_the_dashboard_and_unknown_paths_get_a_page, the_favicon_is_an_image);

const NOT_FOUND: &str = "<h1>This page doesn't exist</h1>";

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

async fn the_root_leads_to_the_dashboard_and_unknown_paths_get_a_page(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Known Shop").await;
    for (path, status) in [("/", StatusCode::SEE_OTHER), ("/dashboard/", StatusCode::PERMANENT_REDIRECT)] {
        let response = get(&app, path).await;
        assert_eq!((response.status(), location(&response)), (status, "/dashboard".to_owned()), "{path}");
    }

    let pages = ["/nope", "/portal/", "/portal/known-shop/nope", "/portal/no-such-shop/nope", "/d/", "/static/x.css/y"];
    let mut bodies = Vec::new();
    for path in pages {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8", "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(NOT_FOUND), "{path}: {html}");
        assert!(html.contains(r#"href="/static/favicon.svg""#) && html.contains("/static/satchel.css"), "{path}");
        bodies.push(html);
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]), "one page for every path: no shop is told apart");
    assert!(!bodies[0].contains(&m.slug), "names no shop");

    // Signed in, an unknown dashboard page is shown in the dashboard's frame, as before.
    let dashboard = Dashboard::sign_in(&app, &m).await;
    let (status, html) = dashboard.get("/dashboard/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("This page does not exist") && html.contains("Known Shop"), "{html}");
    // An unknown order link keeps its own page.
    let response = get(&app, "/d/not-a-token").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("This link doesn"));

    for path in ["/api/v1/nope", "/api/nope", "/api/v1/products/x/y"] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json", "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"error": {"code": "not_found", "message": "endpoint not found"}}), "{path}");
    }
}

async fn the_favicon_is_an_image(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let icon = get(&app, "/favicon.ico").await;
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/x-icon");
    let bytes = icon.bytes().await.unwrap();
    assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO file");
    assert_eq!(&bytes[22..26], b"\x89PNG", "holding a PNG");
    let svg = get(&app, "/static/favicon.svg").await;
    assert_eq!((svg.status(), svg.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "image/svg+xml"));
    assert!(svg.text().await.unwrap().starts_with("<svg"));
}
