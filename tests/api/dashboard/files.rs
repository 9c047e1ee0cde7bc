//! The dashboard's files library (`/dashboard/files`): every upload with its size, SHA-256 and
//! where it is used; "Delete" only for files nothing uses, refused with a clear message for
//! a file in a product's list or bought in an order (the bytes stay), and safe against a
//! product save adding the file at the same moment. Also: a display name edited without its
//! extension keeps it, and the Overview's "Getting started" ticks only what was done.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::products::{create_product, edit_form, post_edit};
use super::{Dashboard, location};
use crate::fulfilment::{buy, send_standard, set_delivery, upload};
use crate::helpers::{Stack, TestApp, TestMerchant, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(
    dashboard_files_library_lists_each_file_with_where_it_is_used,
    dashboard_files_library_is_paged,
    dashboard_deletes_an_unused_file_after_confirming,
    dashboard_refuses_to_delete_a_file_a_product_lists,
    dashboard_never_deletes_a_file_a_customer_bought,
    dashboard_file_delete_racing_a_product_save_never_loses_a_listed_file,
    dashboard_display_name_keeps_the_file_extension,
    dashboard_getting_started_ticks_only_what_was_done_and_can_be_closed
);

/// The object keys stored for `file` (its content address, `m/{merchant}/{sha256}`).
async fn stored(app: &TestApp, m: &TestMerchant, file: &Value) -> Vec<String> {
    let key = format!("m/{}/{}", m.id, file["sha256"].as_str().unwrap());
    app.stored_keys(&format!("m/{}", m.id)).await.into_iter().filter(|k| *k == key).collect()
}

/// The files library's row of the file `id` (from its `<tr>` to the next).
fn row_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!(r#"<tr id="file-{id}">"#)).unwrap_or_else(|| panic!("a row for {id}: {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

async fn dashboard_files_library_lists_each_file_with_where_it_is_used(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &m).await;
    let (status, empty) = d.get("/dashboard/files").await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("No files yet"), "{empty}");
    assert!(empty.contains(r#"<a href="/dashboard/files" aria-current="page">Files</a>"#), "in the nav");

    let pdf = file_bytes(120_000, 1);
    let guide = upload(&app, &m, "guide.pdf", "application/pdf", &pdf).await;
    let notes = upload(&app, &m, "notes.txt", "text/plain", b"Read me.\n").await;
    let spare = upload(&app, &m, "spare.zip", "application/zip", &file_bytes(2_500, 2)).await;
    let book = crate::fulfilment::product(&app, &m, "Field Guide", json!({})).await;
    let sampler = crate::fulfilment::product(&app, &m, "Sampler", json!({})).await;
    let files = json!([{"file_id": guide["id"], "display_name": "The Guide.pdf"}, {"file_id": notes["id"]}]);
    set_delivery(&app, &m, &book, json!({"mode": "files", "files": files})).await;
    set_delivery(&app, &m, &sampler, json!({"mode": "files", "files": [{"file_id": guide["id"]}]})).await;
    buy(&app, &m, &book, "ada@example.com").await;
    buy(&app, &m, &book, "grace@example.com").await;

    let (status, html) = d.get("/dashboard/files").await;
    assert_eq!(status, StatusCode::OK);
    let id = |f: &Value| f["id"].as_str().unwrap().to_owned();
    let guide_row = row_of(&html, &id(&guide));
    assert!(guide_row.contains("guide.pdf") && guide_row.contains("120 KB"), "{guide_row}");
    assert!(guide_row.contains(&format!(r#"data-copy="{}""#, sha256_hex(&pdf))), "the full SHA-256: {guide_row}");
    assert!(guide_row.contains(&format!(r#"href="/dashboard/products/{book}">Field Guide</a>"#)), "{guide_row}");
    assert!(guide_row.contains("as “The Guide.pdf”"), "the name customers see there: {guide_row}");
    assert!(guide_row.contains(&format!(r#"href="/dashboard/products/{sampler}">Sampler</a>"#)), "{guide_row}");
    assert!(guide_row.contains("in 2 orders"), "two orders bought it: {guide_row}");
    assert!(!guide_row.contains("Delete…") && guide_row.contains(">In use<"), "no Delete for a used file: {guide_row}");
    let notes_row = row_of(&html, &id(&notes));
    assert!(notes_row.contains("Field Guide") && !notes_row.contains("Sampler") && notes_row.contains("in 2 orders"));
    let spare_row = row_of(&html, &id(&spare));
    assert!(spare_row.contains("Unused") && spare_row.contains("2.5 KB"), "{spare_row}");
    let delete_link = format!(r#"href="/dashboard/files/{}/delete">Delete…"#, id(&spare));
    assert!(spare_row.contains(&delete_link), "{spare_row}");
    // Newest first.
    let at = |f: &Value| html.find(&format!("file-{}", id(f))).unwrap();
    assert!(at(&spare) < at(&notes) && at(&notes) < at(&guide), "newest first");

    // Another shop's files are not listed, and their delete page is not found.
    let other = app.merchant("Other Shop").await;
    let theirs = upload(&app, &other, "secret.pdf", "application/pdf", b"theirs").await;
    assert!(!d.get("/dashboard/files").await.1.contains("secret.pdf"));
    let (status, _) = d.get(&format!("/dashboard/files/{}/delete", id(&theirs))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let refused = d.post(&format!("/dashboard/files/{}/delete", id(&theirs)), &[]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(stored(&app, &other, &theirs).await.len(), 1, "theirs untouched");
}

async fn dashboard_files_library_is_paged(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &m).await;
    for i in 0..51u64 {
        upload(&app, &m, &format!("part-{i:02}.bin"), "application/octet-stream", &file_bytes(100, 500 + i)).await;
    }
    let rows = |html: &str| html.matches(r#"<tr id="file-"#).count();
    let (_, first) = d.get("/dashboard/files").await;
    assert_eq!(rows(&first), 50, "50 a page");
    assert!(first.contains("part-50.bin") && !first.contains("part-00.bin"), "newest first");
    let older = first.split(r#"href="/dashboard/files?after="#).nth(1).expect("an Older link");
    let cursor = older.split('"').next().unwrap();
    let (status, second) = d.get(&format!("/dashboard/files?after={cursor}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&second), 1);
    assert!(second.contains("part-00.bin") && second.contains(r#"rel="prev">← Newer</a>"#), "{second}");
}

async fn dashboard_deletes_an_unused_file_after_confirming(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &m).await;
    let spare = upload(&app, &m, "spare.zip", "application/zip", &file_bytes(5_000, 3)).await;
    let id = spare["id"].as_str().unwrap();
    assert_eq!(stored(&app, &m, &spare).await.len(), 1);

    let (status, confirm) = d.get(&format!("/dashboard/files/{id}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Delete “spare.zip”?") && confirm.contains(spare["sha256"].as_str().unwrap()));
    assert!(confirm.contains(r#"<button type="submit" class="button button-danger">Delete file</button>"#));

    // Without the CSRF token (or from another origin): refused, nothing deleted.
    let forged = d
        .client
        .post(app.url(&format!("/dashboard/files/{id}/delete")))
        .header("origin", &d.address)
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let cross = d
        .client
        .post(app.url(&format!("/dashboard/files/{id}/delete")))
        .header("origin", "https://evil.example")
        .form(&[("csrf", d.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get_json(&m, &format!("/files/{id}")).await.0, StatusCode::OK, "still there");

    let deleted = d.post(&format!("/dashboard/files/{id}/delete"), &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&deleted), "/dashboard/files?notice=file-deleted");
    let (_, list) = d.get("/dashboard/files?notice=file-deleted").await;
    assert!(list.contains("File deleted: its bytes are gone from storage.") && !list.contains("spare.zip"));
    assert_eq!(app.get_json(&m, &format!("/files/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(stored(&app, &m, &spare).await, Vec::<String>::new(), "the bytes are gone");
    let again = d.post(&format!("/dashboard/files/{id}/delete"), &[]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "deleting twice");
}

async fn dashboard_refuses_to_delete_a_file_a_product_lists(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &m).await;
    let guide = upload(&app, &m, "guide.pdf", "application/pdf", &file_bytes(9_000, 4)).await;
    let id = guide["id"].as_str().unwrap();
    let product = crate::fulfilment::product(&app, &m, "Field Guide", json!({})).await;
    // Kept in the product's list while it delivers a link: still "used".
    let delivery =
        json!({"mode": "external_link", "external_url": "https://example.com/x", "files": [{"file_id": id}]});
    set_delivery(&app, &m, &product, delivery).await;

    let (status, page) = d.get(&format!("/dashboard/files/{id}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("“guide.pdf” is kept") && !page.contains("Delete file</button>"), "{page}");
    let refused = d.post(&format!("/dashboard/files/{id}/delete"), &[]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let html = refused.text().await.unwrap();
    assert!(html.contains("“guide.pdf” was not deleted: it is in the file list of 1 product."), "{html}");
    assert!(html.contains(&format!(r#"href="/dashboard/products/{product}">Field Guide</a>"#)), "{html}");
    assert_eq!(app.get_json(&m, &format!("/files/{id}")).await.0, StatusCode::OK);
    assert_eq!(stored(&app, &m, &guide).await.len(), 1, "the bytes are kept");
    let (_, delivery) = app.get_json(&m, &format!("/products/{product}/delivery")).await;
    assert_eq!(delivery["files"][0]["file_id"], id, "the product still lists it");

    // The API refuses the same, with the same service.
    let api = app.api(&m, Method::DELETE, &format!("/files/{id}")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::CONFLICT);
    assert_eq!(api.json::<Value>().await.unwrap()["error"]["code"], "file_in_use");
}

async fn dashboard_never_deletes_a_file_a_customer_bought(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &m).await;
    let pdf = file_bytes(9_000, 5);
    let guide = upload(&app, &m, "guide.pdf", "application/pdf", &pdf).await;
    let id = guide["id"].as_str().unwrap();
    let product = crate::fulfilment::product(&app, &m, "Field Guide", json!({})).await;
    set_delivery(&app, &m, &product, json!({"mode": "files", "files": [{"file_id": id}]})).await;
    let order = buy(&app, &m, &product, "ada@example.com").await;
    // The product lets go of the file: only the order's snapshot holds it now.
    let link = json!({"mode": "external_link", "external_url": "https://example.com/x", "files": []});
    set_delivery(&app, &m, &product, link).await;

    let (_, list) = d.get("/dashboard/files").await;
    let row = row_of(&list, id);
    assert!(row.contains("in 1 order") && !row.contains("Delete…"), "{row}");
    let (_, page) = d.get(&format!("/dashboard/files/{id}/delete")).await;
    assert!(page.contains("those customers keep their downloads") && !page.contains("Delete file</button>"));
    let refused = d.post(&format!("/dashboard/files/{id}/delete"), &[]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let html = refused.text().await.unwrap();
    assert!(html.contains("1 order bought it, and bytes a customer bought are never deleted"), "{html}");
    let api = app.api(&m, Method::DELETE, &format!("/files/{id}")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::CONFLICT);

    // The customer still downloads exactly what they bought.
    let url = format!("{}/files/{}", crate::fulfilment::delivery_url(&order), order["files"][0]["position"]);
    assert_eq!(crate::fulfilment::download(&app, &url).await, pdf);
}

/// A delete and a product save adding the same file, at the same moment, many times: either
/// the file stays (and the product lists it), or the save fails and says so. Never a product
/// pointing at deleted bytes.
async fn dashboard_file_delete_racing_a_product_save_never_loses_a_listed_file(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &m).await;
    let product = create_product(&d, "Field Guide").await;
    let (mut kept, mut deleted) = (0, 0);
    for round in 0..20u64 {
        let file = upload(&app, &m, "guide.pdf", "application/pdf", &file_bytes(4_000, 100 + round)).await;
        let id = file["id"].as_str().unwrap().to_owned();
        let form = edit_form("Field Guide", "files", &[(&id, "guide.pdf")], "");
        let path = format!("/dashboard/files/{id}/delete");
        // The delete starts 0 to 18 ms after the save, so that rounds land on either side of
        // the save's transaction (this varies the interleaving; it waits for nothing).
        let head_start = std::time::Duration::from_millis(round % 4 * 6);
        let delete = async {
            tokio::time::sleep(head_start).await;
            d.post(&path, &[]).await
        };
        let (save, delete) = tokio::join!(post_edit(&d, &product, &form), delete);
        let (save, delete) = (save.status(), delete.status());
        let (_, delivery) = app.get_json(&m, &format!("/products/{product}/delivery")).await;
        let listed = delivery["files"].as_array().unwrap().iter().any(|f| f["file_id"] == id.as_str());
        let exists = app.get_json(&m, &format!("/files/{id}")).await.0 == StatusCode::OK;
        let bytes = stored(&app, &m, &file).await.len();
        match (save, delete) {
            (StatusCode::SEE_OTHER, StatusCode::CONFLICT) => {
                assert!(listed && exists && bytes == 1, "round {round}: saved first, the file stays");
                kept += 1;
            }
            (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::SEE_OTHER) => {
                assert!(!listed && !exists && bytes == 0, "round {round}: deleted first, the save failed");
                deleted += 1;
            }
            other => panic!("round {round}: unexpected outcome {other:?} (listed {listed}, exists {exists})"),
        }
        // Free the product's list for the next round (its file stays: nothing else deletes it).
        let emptied = post_edit(&d, &product, &edit_form("Field Guide", "", &[], "")).await;
        assert_eq!(emptied.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(kept + deleted, 20);
}

async fn dashboard_display_name_keeps_the_file_extension(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &m).await;
    let product = create_product(&d, "Field Guide").await;
    let guide = upload(&app, &m, "guide.pdf", "application/pdf", &file_bytes(3_000, 6)).await;
    let notes = upload(&app, &m, "notes.txt", "text/plain", b"Notes\n").await;
    let map = upload(&app, &m, "map.png", "image/png", &file_bytes(2_000, 7)).await;
    let id = |f: &Value| f["id"].as_str().unwrap().to_owned();
    let (g, n, p) = (id(&guide), id(&notes), id(&map));
    let rows = [(g.as_str(), "Guide"), (n.as_str(), "Read me v1.2"), (p.as_str(), "Map.jpeg")];
    let saved = post_edit(&d, &product, &edit_form("Field Guide", "files", &rows, "")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{}", saved.text().await.unwrap());
    let (_, delivery) = app.get_json(&m, &format!("/products/{product}/delivery")).await;
    let names: Vec<&str> =
        delivery["files"].as_array().unwrap().iter().map(|f| f["display_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Guide.pdf", "Read me v1.2.txt", "Map.jpeg"], "kept unless typed on purpose");
    let (_, page) = d.get(&format!("/dashboard/products/{product}")).await;
    assert!(page.contains(r#"value="Guide.pdf""#), "the page shows the stored name");
    // The API takes names exactly as sent (scripts set what they mean).
    let api = json!({"mode": "files", "files": [{"file_id": g, "display_name": "Guide"}]});
    set_delivery(&app, &m, &product, api).await;
    let (_, delivery) = app.get_json(&m, &format!("/products/{product}/delivery")).await;
    assert_eq!(delivery["files"][0]["display_name"], "Guide");
}

/// The `data-step` items of the Getting started list ticked as done.
fn ticked(html: &str) -> Vec<&str> {
    html.split(r#"<li class="step done" data-step=""#).skip(1).filter_map(|rest| rest.split('"').next()).collect()
}

async fn dashboard_getting_started_ticks_only_what_was_done_and_can_be_closed(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Lamplight Audio").await;
    let d = Dashboard::sign_in(&app, &m).await;
    let (_, html) = d.get("/dashboard").await;
    assert!(html.contains("0 of 4 done"), "{html}");
    assert_eq!(ticked(&html), Vec::<&str>::new());

    // A draft is not a product ready to sell.
    let product = crate::fulfilment::product(&app, &m, "Field Guide", json!({})).await;
    assert_eq!(ticked(&d.get("/dashboard").await.1), Vec::<&str>::new(), "a draft does not count");
    let file = upload(&app, &m, "guide.pdf", "application/pdf", b"%PDF").await;
    set_delivery(&app, &m, &product, json!({"mode": "files", "files": [{"file_id": file["id"]}]})).await;
    assert_eq!(ticked(&d.get("/dashboard").await.1), ["product"]);

    // The dashboard's own "Send test event" proves nothing about the provider; a refused
    // delivery neither; a signed event from the provider does.
    let sent = d.post("/dashboard/webhooks/test", &[("provider", "standard")]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let forged = crate::fulfilment::post_webhook(&app, &m.slug, "standard", &[], r#"{"type":"x"}"#).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ticked(&d.get("/dashboard").await.1), ["product"]);
    let event = json!({"type": "customer.created", "timestamp": "2025-01-01T00:00:00Z", "data": {}}).to_string();
    let signed = send_standard(&app, &m, "msg_connect_1", &event).await;
    assert!(signed.status().is_success(), "{}", signed.status());
    assert_eq!(ticked(&d.get("/dashboard").await.1), ["product", "provider"]);

    // An order, then a customer asking for a portal sign-in code.
    buy(&app, &m, &product, "ada@example.com").await;
    assert_eq!(ticked(&d.get("/dashboard").await.1), ["product", "provider", "order"]);
    let asked = crate::portal::request_code(&app, &m.slug, "ada@example.com").await;
    assert!(asked.status().is_success() || asked.status().is_redirection(), "{}", asked.status());
    let (_, html) = d.get("/dashboard").await;
    assert_eq!(ticked(&html), ["product", "provider", "order", "portal"]);
    assert!(html.contains("4 of 4 done"));

    // Closed for the whole shop: another session sees it closed too; it can be shown again.
    let closed = d.post("/dashboard/getting-started", &[("closed", "1")]).await;
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&closed), "/dashboard?notice=steps-closed");
    let other = Dashboard::sign_in(&app, &m).await;
    let (_, html) = other.get("/dashboard").await;
    assert!(!html.contains(r#"data-step="#) && html.contains("Show it again"), "{html}");
    let forged = other
        .client
        .post(app.url("/dashboard/getting-started"))
        .header("origin", &other.address)
        .form(&[("closed", "0"), ("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let reopened = other.post("/dashboard/getting-started", &[("closed", "0")]).await;
    assert_eq!(reopened.status(), StatusCode::SEE_OTHER);
    assert_eq!(ticked(&d.get("/dashboard").await.1).len(), 4, "shown again, still ticked");
}
