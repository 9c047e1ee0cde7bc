//! The dashboard's products pages over HTTP: creating and listing products, uploading through
//! the dashboard's streaming endpoint, saving Digital Product Delivery from the edit form, and
//! the refusals a merchant relies on (an 11th file, unsafe links, forged or cut-off uploads,
//! another shop's products).

use reqwest::StatusCode;
use serde_json::Value;

use super::{Dashboard, PASSWORD, browser, csrf_of, location, owner_email};
use crate::helpers::{FileBytes, Stack, TestApp, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(
    dashboard_products_are_created_from_the_form_and_listed_with_their_delivery,
    dashboard_uploads_stream_and_update_product_saves_names_and_order,
    dashboard_refuses_an_eleventh_file_naming_the_field,
    dashboard_refuses_an_unsafe_link_next_to_the_field_and_switches_modes,
    dashboard_uploads_need_the_csrf_header_and_our_origin,
    dashboard_cut_off_upload_leaves_nothing_behind,
    dashboard_shows_another_merchants_product_as_not_found,
    dashboard_shows_a_draft_and_why_until_it_has_something_to_deliver
);

/// Creates a product through the new-product form; returns its id.
pub(super) async fn create_product(d: &Dashboard, name: &str) -> String {
    let response = d
        .post(
            "/dashboard/products",
            &[("name", name), ("description", "A book."), ("price", "19.99"), ("currency", "usd")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
    let to = location(&response);
    let id = to.strip_prefix("/dashboard/products/").and_then(|rest| rest.strip_suffix("?notice=created"));
    id.unwrap_or_else(|| panic!("sent to the edit page, not {to}")).to_owned()
}

/// Uploads `body` as the raw body of the dashboard's upload endpoint, as the page's script does.
pub(super) async fn upload(d: &Dashboard, filename: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    d.client
        .post(format!("{}/dashboard/uploads", d.address))
        .query(&[("filename", filename)])
        .header("x-csrf-token", &d.csrf)
        .header("origin", &d.address)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Uploads small distinct files; returns their ids.
pub(super) async fn upload_files(d: &Dashboard, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let response = upload(d, &format!("part-{i}.bin"), file_bytes(1000 + i, 100 + i as u64)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let file: Value = response.json().await.unwrap();
        ids.push(file["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// The edit form as the page posts it: basic fields, then the delivery.
pub(super) fn edit_form(name: &str, mode: &str, files: &[(&str, &str)], url: &str) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = [
        ("name", name),
        ("description", "A book."),
        ("price", "19.99"),
        ("currency", "USD"),
        ("external_id_standard", ""),
        ("external_id_stripe", ""),
        ("delivery_mode", mode),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (id, display_name) in files {
        form.push(("file_id".into(), id.to_string()));
        form.push(("display_name".into(), display_name.to_string()));
    }
    form.push(("external_url".into(), url.into()));
    form.push(("instructions".into(), "Unzip it.".into()));
    form.push(("op".into(), "save".into()));
    form
}

pub(super) async fn post_edit(d: &Dashboard, id: &str, form: &[(String, String)]) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    d.post(&format!("/dashboard/products/{id}"), &fields).await
}

async fn dashboard_products_are_created_from_the_form_and_listed_with_their_delivery(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &merchant).await;

    let (status, empty) = d.get("/dashboard/products").await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("Create your first product"), "an empty list says what to do next");

    let refused = d.post("/dashboard/products", &[("name", " "), ("price", "12.345"), ("currency", "USD")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains(r#"aria-describedby="name-error""#) && html.contains(r#"id="name-error""#), "{html}");
    assert!(html.contains("Price: USD allows 2 decimal places"), "{html}");
    assert!(html.contains(r#"value="12.345""#), "what was typed is kept");
    assert_eq!(app.get_json(&merchant, "/products").await.1, Value::Array(vec![]), "nothing created");

    let id = create_product(&d, "Field Recordings Vol. 1").await;
    let (status, page) = d.get(&format!("/dashboard/products/{id}?notice=created")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Product created.") && page.contains("Digital Product Delivery"));
    let (_, product) = app.get_json(&merchant, &format!("/products/{id}")).await;
    assert_eq!(product["price_minor"], 1999);
    assert_eq!(product["currency"], "USD");
    assert_eq!(product["description"], "A book.");

    let (_, list) = d.get("/dashboard/products").await;
    assert!(list.contains("Field Recordings Vol. 1") && list.contains("Not set up"), "{list}");

    let ids = upload_files(&d, 2).await;
    let saved =
        post_edit(&d, &id, &edit_form("Field Recordings Vol. 1", "files", &[(&ids[0], "A"), (&ids[1], "B")], "")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, list) = d.get("/dashboard/products").await;
    assert!(
        list.contains(r#"badge-ok">Files<"#) && list.contains(r#">2<span class="hide-narrow"> of 10</span>"#),
        "mode and file count: {list}"
    );
}

async fn dashboard_uploads_stream_and_update_product_saves_names_and_order(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &merchant).await;
    let id = create_product(&d, "Field Recordings").await;

    // A several-MiB body streamed without a Content-Length: it reaches the store in pieces.
    let big_len = 6 * 1024 * 1024 + 123;
    let response =
        upload(&d, "Field Recordings (FLAC).zip", reqwest::Body::wrap_stream(FileBytes::new(big_len, 7).stream()))
            .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let big: Value = response.json().await.unwrap();
    assert_eq!(big["sha256"], FileBytes::new(big_len, 7).sha256_hex());
    assert_eq!(big["size"], big_len);
    let big_id = big["id"].as_str().unwrap().to_owned();
    let (_, stored) = app.get_json(&merchant, &format!("/files/{big_id}")).await;
    assert_eq!(stored["sha256"], big["sha256"], "the API sees the same file");
    assert_eq!(stored["filename"], "Field Recordings (FLAC).zip");

    let small = file_bytes(5000, 8);
    let response = upload(&d, "liner notes.pdf", small.clone()).await;
    let notes: Value = response.json().await.unwrap();
    assert_eq!(notes["sha256"], sha256_hex(&small));
    let again = upload(&d, "copy.pdf", small.clone()).await;
    assert_eq!(again.status(), StatusCode::OK, "the same content is stored once");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], notes["id"]);
    let cover = upload(&d, "cover.jpg", file_bytes(3000, 9)).await.json::<Value>().await.unwrap();

    // Renamed and reordered as the page's list would post them.
    let files = [
        (cover["id"].as_str().unwrap(), "Cover art.jpg"),
        (big_id.as_str(), "Recordings.zip"),
        (notes["id"].as_str().unwrap(), "Liner notes.pdf"),
    ];
    let response = post_edit(&d, &id, &edit_form("Field Recordings", "files", &files, "")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/dashboard/products/{id}?notice=saved"));
    let (_, page) = d.get(&location(&response)).await;
    assert!(page.contains("Product updated. Changes apply to future purchases only."), "confirmed");
    assert!(page.contains("3 of 10 files"));

    let (status, delivery) = app.get_json(&merchant, &format!("/products/{id}/delivery")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(delivery["mode"], "files");
    assert_eq!(delivery["instructions"], "Unzip it.");
    let got: Vec<(&str, &str, &str)> = delivery["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file_id"].as_str().unwrap(), f["display_name"].as_str().unwrap(), f["sha256"].as_str().unwrap()))
        .collect();
    let want: Vec<(&str, &str, &str)> = vec![
        (files[0].0, "Cover art.jpg", cover["sha256"].as_str().unwrap()),
        (files[1].0, "Recordings.zip", big["sha256"].as_str().unwrap()),
        (files[2].0, "Liner notes.pdf", notes["sha256"].as_str().unwrap()),
    ];
    assert_eq!(got, want);
}

async fn dashboard_refuses_an_eleventh_file_naming_the_field(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &merchant).await;
    let id = create_product(&d, "Sample Pack").await;
    let ids = upload_files(&d, 11).await;
    let files: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "Sample.wav")).collect();
    let (_, before) = app.get_json(&merchant, &format!("/products/{id}")).await;

    let response = post_edit(&d, &id, &edit_form("Renamed Pack", "files", &files, "")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<p class="field-error" id="files-error" data-files-error>Files: a product can deliver at most 10 files; 11 were given</p>"#), "{html}");
    assert!(html.contains("Nothing was saved."));
    assert!(html.contains(r#"value="Renamed Pack""#), "the form keeps what was typed");
    assert_eq!(html.matches("data-file-row").count(), 11 + 1, "the eleven rows (and the blank template) are shown");

    let (_, after) = app.get_json(&merchant, &format!("/products/{id}")).await;
    assert_eq!(after, before, "nothing half-saved: neither the name nor the files");
    let ten = post_edit(&d, &id, &edit_form("Sample Pack", "files", &files[..10], "")).await;
    assert_eq!(ten.status(), StatusCode::SEE_OTHER, "ten is fine");
}

async fn dashboard_refuses_an_unsafe_link_next_to_the_field_and_switches_modes(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &merchant).await;
    let id = create_product(&d, "Course").await;
    let ids = upload_files(&d, 2).await;
    let files = [(ids[0].as_str(), "Lesson 1.mp4"), (ids[1].as_str(), "Lesson 2.mp4")];
    assert_eq!(post_edit(&d, &id, &edit_form("Course", "files", &files, "")).await.status(), StatusCode::SEE_OTHER);
    let (_, before) = app.get_json(&merchant, &format!("/products/{id}")).await;

    for bad in ["javascript:alert(1)", "data:text/html,hi"] {
        let response = post_edit(&d, &id, &edit_form("Course", "external_link", &files, bad)).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let html = response.text().await.unwrap();
        let scheme = bad.split(':').next().unwrap();
        let message = format!(
            r#"<p class="field-error" id="external_url-error">Download URL: must use https:// or http://, not {scheme}:</p>"#
        );
        assert!(html.contains(&message), "the message next to the field: {html}");
        assert!(html.contains(r#"aria-describedby="external_url-hint external_url-error" aria-invalid="true""#));
        assert!(html.contains(&format!(r#"value="{bad}""#)), "what was typed is kept");
        assert!(html.contains(r#"value="external_link" aria-describedby="mode-link-hint" checked"#), "mode kept");
        assert_eq!(app.get_json(&merchant, &format!("/products/{id}")).await.1, before, "{bad}: unchanged");
    }

    let link = "https://drive.example.org/course.zip";
    let response = post_edit(&d, &id, &edit_form("Course", "external_link", &files, link)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, delivery) = app.get_json(&merchant, &format!("/products/{id}/delivery")).await;
    assert_eq!(delivery["mode"], "external_link");
    assert_eq!(delivery["external_url"], link);
    let names: Vec<&str> =
        delivery["files"].as_array().unwrap().iter().map(|f| f["display_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Lesson 1.mp4", "Lesson 2.mp4"], "the file list is kept for later in link mode");

    // Back to files: the list is still there, and so is the link.
    let (_, page) = d.get(&format!("/dashboard/products/{id}")).await;
    assert!(page.contains("2 of 10 files") && page.contains(r#"value="Lesson 2.mp4""#), "{page}");
    let response = post_edit(&d, &id, &edit_form("Course", "files", &files, link)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, delivery) = app.get_json(&merchant, &format!("/products/{id}/delivery")).await;
    assert_eq!(delivery["mode"], "files");
    assert_eq!(delivery["external_url"], link);
    assert_eq!(delivery["files"].as_array().unwrap().len(), 2);
}

async fn dashboard_uploads_need_the_csrf_header_and_our_origin(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &merchant).await;
    let url = format!("{}/dashboard/uploads?filename=x.bin", app.address);
    let body = || file_bytes(64 * 1024, 3);

    let no_header = d.client.post(&url).header("origin", &app.address).body(body()).send().await.unwrap();
    assert_eq!(no_header.status(), StatusCode::FORBIDDEN, "no X-CSRF-Token");
    let wrong = d.client.post(&url).header("x-csrf-token", "forged").body(body()).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN, "a wrong token");
    let elsewhere = d
        .client
        .post(&url)
        .header("x-csrf-token", &d.csrf)
        .header("origin", "https://evil.example")
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN, "another origin, even with the token");
    let cross_site =
        d.client.post(&url).header("x-csrf-token", &d.csrf).header("sec-fetch-site", "cross-site").body(body());
    assert_eq!(cross_site.send().await.unwrap().status(), StatusCode::FORBIDDEN, "the browser says cross-site");
    let signed_out = browser().post(&url).header("x-csrf-token", &d.csrf).body(body()).send().await.unwrap();
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED, "no session");

    assert_eq!(app.leftovers().await, Vec::<String>::new(), "nothing stored");
    assert_eq!(app.get_json(&merchant, "/files").await.1, Value::Array(vec![]));
    assert_eq!(upload(&d, "x.bin", body()).await.status(), StatusCode::CREATED, "the page's own request works");
}

async fn dashboard_cut_off_upload_leaves_nothing_behind(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    // Signed in by hand, to hold the session cookie for a raw connection.
    let client = super::browser();
    let token = super::sign_in_token(&client, &app).await;
    let signed_in = client
        .post(app.url("/dashboard/sign-in"))
        .form(&[("email", owner_email(&merchant).as_str()), ("password", PASSWORD), ("form_token", &token)])
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = app.client.get(app.url("/dashboard/products")).header("cookie", &cookie).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());

    let head = format!(
        "POST /dashboard/uploads?filename=x.bin HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n\
         Origin: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: 20971520\r\n\r\n",
        app.address.trim_start_matches("http://"),
        app.address
    );
    app.cut_off_upload(&head).await;
    assert_eq!(app.get_json(&merchant, "/files").await.1, Value::Array(vec![]), "no file listed");
}

async fn dashboard_shows_another_merchants_product_as_not_found(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let ours = app.merchant("Lamplight Audio").await;
    let theirs = app.merchant("Other Shop").await;
    let their_product = app.product(&theirs, "Their Ebook").await;
    let their_id = their_product["id"].as_str().unwrap();
    let d = Dashboard::sign_in(&app, &ours).await;

    for path in [format!("/dashboard/products/{their_id}"), format!("/dashboard/products/{their_id}/archive")] {
        let (status, html) = d.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("This product does not exist."), "{path}: {html}");
        assert!(!html.contains("Their Ebook"), "{path}: nothing of theirs shows");
    }
    let ids = upload_files(&d, 1).await;
    let edit = post_edit(&d, their_id, &edit_form("Taken over", "files", &[(&ids[0], "x")], "")).await;
    assert_eq!(edit.status(), StatusCode::NOT_FOUND);
    let archive = d.post(&format!("/dashboard/products/{their_id}/archive"), &[]).await;
    assert_eq!(archive.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get_json(&theirs, &format!("/products/{their_id}")).await.1, their_product, "untouched");
    let (_, list) = d.get("/dashboard/products").await;
    assert!(!list.contains("Their Ebook"));
}

async fn dashboard_shows_a_draft_and_why_until_it_has_something_to_deliver(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let merchant = app.merchant("Lamplight Audio").await;
    crate::fulfilment::settings(&app, &merchant, serde_json::json!({"test_mode": true})).await;
    let d = Dashboard::sign_in(&app, &merchant).await;
    let id = create_product(&d, "Course").await;
    let why = "Add files or a link to put it on sale";

    let (_, list) = d.get("/dashboard/products").await;
    assert!(
        list.contains(r#"<span class="badge badge-warn" title="Add files or a link to put it on sale">Draft</span>"#),
        "{list}"
    );
    let (_, page) = d.get(&format!("/dashboard/products/{id}")).await;
    assert!(page.contains(r#"<span class="badge badge-warn">Draft</span>"#) && page.contains(why), "{page}");
    assert!(!page.contains("On sale") && !page.contains(&format!(r#"href="/buy/{id}""#)), "no checkout for a draft");
    let on_sale = |n: u32| format!(r#"<span class="stat-value">{n}</span><span class="muted">Products on sale</span>"#);
    let (_, overview) = d.get("/dashboard").await;
    assert!(overview.contains(&on_sale(0)), "a draft is not on sale: {overview}");
    assert!(page.contains("Several at once, each up to 5 GB."), "the 5 GiB upload limit reads as set, not 5.4 GB");

    // "No mode" saves, and the product stays a draft; files mode without files does not save.
    let saved = post_edit(&d, &id, &edit_form("Course", "", &[], "")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let refused = post_edit(&d, &id, &edit_form("Course", "files", &[], "")).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("Files: choose at least one file"));
    let (_, product) = app.get_json(&merchant, &format!("/products/{id}")).await;
    assert_eq!((product["on_sale"].as_bool(), product["delivery"]["mode"].as_str()), (Some(false), Some("none")));

    let link = "https://drive.example.org/course.zip";
    assert_eq!(
        post_edit(&d, &id, &edit_form("Course", "external_link", &[], link)).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, page) = d.get(&format!("/dashboard/products/{id}")).await;
    assert!(page.contains(r#"<span class="badge badge-ok">On sale</span>"#) && !page.contains(why), "{page}");
    assert!(page.contains(&format!(r#"href="/buy/{id}""#)), "the test checkout is offered");
    let (_, list) = d.get("/dashboard/products").await;
    assert!(!list.contains(">Draft</span>"), "{list}");
    let (_, overview) = d.get("/dashboard").await;
    assert!(overview.contains(&on_sale(1)), "{overview}");
}
