//! Digital Product Delivery: up to ten files in order under their own names, or one http(s)
//! link; anything else is refused whole; a file stays while a product delivers it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Stack, TestApp, TestMerchant, error_code, file_bytes, on_both_stacks};

on_both_stacks!(
    ten_files_are_delivered_and_an_eleventh_refused,
    only_http_links_and_own_files_are_accepted,
    files_can_be_reordered_and_renamed,
    a_delivered_file_cannot_be_deleted,
    a_mode_alone_switches_and_keeps_the_other_setup,
);

/// PUTs a delivery; returns the status and the JSON answer.
async fn put_delivery(app: &TestApp, m: &TestMerchant, product_id: &str, body: Value) -> (StatusCode, Value) {
    let response =
        app.api(m, Method::PUT, &format!("/products/{product_id}/delivery")).json(&body).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Uploads `n` distinct small files named `file-{i}.pdf` and returns their ids.
async fn upload_files(app: &TestApp, m: &TestMerchant, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let file = app.upload(m, &format!("file-{i}.pdf"), file_bytes(1000 + i, 100 + i as u64)).await;
        ids.push(file["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn file_list(ids: &[String]) -> Value {
    ids.iter().map(|id| json!({ "file_id": id })).collect()
}

/// Asserts a 422 naming `field`.
fn assert_refused(answer: &(StatusCode, Value), field: &str, what: &str) {
    assert_eq!(answer.0, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {}", answer.1);
    assert_eq!(error_code(&answer.1), "invalid_field", "{what}");
    assert_eq!(answer.1["error"]["field"], field, "{what}: {}", answer.1);
    assert!(answer.1["error"]["message"].as_str().unwrap().contains(field), "{what}: {}", answer.1);
}

async fn ten_files_are_delivered_and_an_eleventh_refused(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let product = app.product(&m, "Box set").await;
    let id = product["id"].as_str().unwrap();
    let ids = upload_files(&app, &m, 11).await;

    let (status, saved) =
        put_delivery(&app, &m, id, json!({ "mode": "files", "files": file_list(&ids[..10]), "instructions": "Enjoy" }))
            .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let files = saved["delivery"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 10);
    for (i, file) in files.iter().enumerate() {
        assert_eq!(file["position"], i + 1);
        assert_eq!(file["file_id"], ids[i].as_str());
        assert_eq!(file["display_name"], format!("file-{i}.pdf"), "defaults to the uploaded name");
        assert_eq!(file["size"], 1000 + i);
    }
    assert_eq!(saved["delivery"]["mode"], "files");
    assert_eq!(saved["delivery"]["instructions"], "Enjoy");

    let before = app.get_json(&m, &format!("/products/{id}")).await;
    let answer =
        put_delivery(&app, &m, id, json!({ "mode": "files", "files": file_list(&ids), "instructions": "More!" })).await;
    assert_refused(&answer, "files", "an 11th file");
    assert!(answer.1["error"]["message"].as_str().unwrap().contains("10"), "{}", answer.1);
    assert_eq!(app.get_json(&m, &format!("/products/{id}")).await, before, "nothing of the refused delivery is saved");
}

async fn only_http_links_and_own_files_are_accepted(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let other = app.merchant("Other Shop").await;
    let product = app.product(&m, "Course").await;
    let id = product["id"].as_str().unwrap();
    let mine = upload_files(&app, &m, 1).await;
    let theirs = upload_files(&app, &other, 1).await;

    let (status, saved) = put_delivery(
        &app,
        &m,
        id,
        json!({ "mode": "external_link", "external_url": "https://drive.example.com/course.zip" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["delivery"]["mode"], "external_link");
    assert_eq!(saved["delivery"]["external_url"], "https://drive.example.com/course.zip");
    let before = app.get_json(&m, &format!("/products/{id}")).await;

    for bad in ["javascript:alert(1)", "data:text/html,x", "ftp://x/y", "", "not a url"] {
        let answer = put_delivery(&app, &m, id, json!({ "mode": "external_link", "external_url": bad })).await;
        assert_refused(&answer, "external_url", bad);
    }
    let answer = put_delivery(&app, &m, id, json!({ "mode": "external_link", "external_url": null })).await;
    assert_refused(&answer, "external_url", "a link mode without a link");
    let answer = put_delivery(&app, &m, id, json!({ "mode": "files", "files": [] })).await;
    assert_refused(&answer, "files", "files mode without files");
    let answer = put_delivery(
        &app,
        &m,
        id,
        json!({ "mode": "files", "files": file_list(&[mine[0].clone(), theirs[0].clone()]) }),
    )
    .await;
    assert_refused(&answer, "files", "another merchant's file");
    let answer =
        put_delivery(&app, &m, id, json!({ "mode": "files", "files": file_list(&[mine[0].clone(), mine[0].clone()]) }))
            .await;
    assert_refused(&answer, "files", "the same file twice");
    assert_eq!(app.get_json(&m, &format!("/products/{id}")).await, before, "nothing refused was saved");
    // The other merchant's file is still theirs alone.
    assert_eq!(app.get_json(&other, &format!("/files/{}", theirs[0])).await.0, StatusCode::OK);
}

async fn files_can_be_reordered_and_renamed(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let product = app.product(&m, "Novel").await;
    let id = product["id"].as_str().unwrap();
    let ids = upload_files(&app, &m, 3).await;
    let (status, _) = put_delivery(&app, &m, id, json!({ "mode": "files", "files": file_list(&ids) })).await;
    assert_eq!(status, StatusCode::OK);

    let reordered = json!({ "mode": "files", "files": [
        { "file_id": ids[2], "display_name": "Chapter 1.pdf" },
        { "file_id": ids[0] },
        { "file_id": ids[1], "display_name": "  Appendix – maps.pdf " },
    ]});
    let (status, saved) = put_delivery(&app, &m, id, reordered).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let expected =
        [(&ids[2], "Chapter 1.pdf", 1002), (&ids[0], "file-0.pdf", 1000), (&ids[1], "Appendix – maps.pdf", 1001)];
    let shown = |delivery: &Value| -> Vec<(String, String, i64, i64)> {
        delivery["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let text = |k: &str| f[k].as_str().unwrap().to_owned();
                (text("file_id"), text("display_name"), f["size"].as_i64().unwrap(), f["position"].as_i64().unwrap())
            })
            .collect()
    };
    let want: Vec<_> = expected
        .iter()
        .enumerate()
        .map(|(i, (id, name, size))| (id.to_string(), name.to_string(), *size, i as i64 + 1))
        .collect();
    assert_eq!(shown(&saved["delivery"]), want);
    let (status, delivery) = app.get_json(&m, &format!("/products/{id}/delivery")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown(&delivery), want, "what is read back is what was saved");

    // Dropping files from the list keeps the others (and the uploads themselves).
    let (status, saved) =
        put_delivery(&app, &m, id, json!({ "mode": "files", "files": [{ "file_id": ids[1] }] })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown(&saved["delivery"]), [(ids[1].clone(), "file-1.pdf".to_owned(), 1001, 1)]);
    assert_eq!(app.get_json(&m, "/files").await.1.as_array().unwrap().len(), 3);
}

async fn a_delivered_file_cannot_be_deleted(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let ids = upload_files(&app, &m, 1).await;
    let file = &ids[0];
    let key = format!("m/{}/", m.id);
    let (first, second) = (app.product(&m, "Ebook").await, app.product(&m, "Bundle").await);
    for product in [&first, &second] {
        let (status, _) = put_delivery(
            &app,
            &m,
            product["id"].as_str().unwrap(),
            json!({ "mode": "files", "files": file_list(&ids) }),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let delete = || app.api(&m, Method::DELETE, &format!("/files/{file}")).send();

    let refused = delete().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(&refused.json().await.unwrap()), "file_in_use");

    // Switched to a link, a product keeps its file list for later: it still holds the file.
    let link = json!({ "mode": "external_link", "external_url": "https://example.com/" });
    let (status, _) = put_delivery(&app, &m, second["id"].as_str().unwrap(), link).await;
    assert_eq!(status, StatusCode::OK);
    let refused = delete().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.unwrap().contains("2 product(s)"));

    // One product still holds it once the other's list is emptied.
    let emptied = json!({ "mode": "external_link", "files": [] });
    let (status, _) = put_delivery(&app, &m, second["id"].as_str().unwrap(), emptied).await;
    assert_eq!(status, StatusCode::OK);
    let refused = delete().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(&refused.json().await.unwrap()), "file_in_use");
    assert_eq!(app.get_json(&m, &format!("/files/{file}")).await.0, StatusCode::OK);
    assert_eq!(app.stored_keys(&key).await.len(), 1);

    // None does, but the products' earlier releases keep it (issue 16): still refused.
    let (status, _) =
        put_delivery(&app, &m, first["id"].as_str().unwrap(), json!({ "mode": "none", "files": [] })).await;
    assert_eq!(status, StatusCode::OK);
    let refused = delete().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(error_code(&refused), "file_in_use");
    assert!(refused["error"]["message"].as_str().unwrap().contains("earlier release"), "{refused}");
    assert_eq!(app.stored_keys(&key).await.len(), 1, "its object is kept");

    // A file no product ever saved is deleted, object and all.
    let spare = app.upload(&m, "spare.pdf", file_bytes(500, 7)).await;
    let spare = spare["id"].as_str().unwrap();
    let deleted = app.api(&m, Method::DELETE, &format!("/files/{spare}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get_json(&m, &format!("/files/{spare}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.stored_keys(&key).await.len(), 1, "only the kept file's object is left");
}

/// A product keeps both its file list and its link: a mode alone switches between them, a
/// part left out keeps what is saved, and `[]` or `null` take a part off.
async fn a_mode_alone_switches_and_keeps_the_other_setup(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let product = app.product(&m, "Course").await;
    let id = product["id"].as_str().unwrap();
    let ids = upload_files(&app, &m, 2).await;
    let named = json!([{ "file_id": ids[0], "display_name": "Lesson 1.mp4" }, { "file_id": ids[1] }]);
    let (status, saved) =
        put_delivery(&app, &m, id, json!({ "mode": "files", "files": named, "instructions": "Enjoy" })).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let files = saved["delivery"]["files"].clone();

    let link = "https://drive.example.com/course.zip";
    let (status, saved) = put_delivery(&app, &m, id, json!({ "mode": "external_link", "external_url": link })).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let want = json!({ "mode": "external_link", "files": files, "external_url": link, "instructions": "Enjoy" });
    assert_eq!(saved["delivery"], want, "the files are kept in link mode");

    let (status, saved) = put_delivery(&app, &m, id, json!({ "mode": "files" })).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let want = json!({ "mode": "files", "files": files, "external_url": link, "instructions": "Enjoy" });
    assert_eq!(saved["delivery"], want, "back to the same files; the link is kept");
    assert_eq!(app.get_json(&m, &format!("/products/{id}/delivery")).await.1, want, "as read back");
    let (status, saved) = put_delivery(&app, &m, id, json!({ "mode": "none" })).await;
    assert_eq!(
        (status, &saved["delivery"]["files"], saved["on_sale"].as_bool()),
        (StatusCode::OK, &files, Some(false))
    );

    // Taking a part off: the link with null (or ""), the files with [].
    let (status, saved) = put_delivery(&app, &m, id, json!({ "mode": "files", "external_url": null })).await;
    assert_eq!((status, &saved["delivery"]["external_url"]), (StatusCode::OK, &Value::Null), "{saved}");
    let answer = put_delivery(&app, &m, id, json!({ "mode": "external_link" })).await;
    assert_refused(&answer, "external_url", "link mode once the link is gone");
    assert_eq!(answer.1["error"]["message"], "external_url: is required for an external download link");
    let (status, saved) =
        put_delivery(&app, &m, id, json!({ "mode": "external_link", "external_url": link, "files": [] })).await;
    assert_eq!((status, &saved["delivery"]["files"]), (StatusCode::OK, &json!([])), "{saved}");
    let answer = put_delivery(&app, &m, id, json!({ "mode": "files" })).await;
    assert_refused(&answer, "files", "files mode once the files are gone");
    let (status, saved) = put_delivery(&app, &m, id, json!({ "mode": "external_link", "external_url": "" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "link mode with the link taken off: {saved}");
    // Only the link can be taken off with null: files and instructions are a list and a text.
    for null in [json!({ "mode": "none", "instructions": null }), json!({ "mode": "none", "files": null })] {
        let response = app.api(&m, Method::PUT, &format!("/products/{id}/delivery")).json(&null).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{null}");
        assert_eq!(error_code(&response.json().await.unwrap()), "invalid_body", "{null}");
    }
    // A bad link is refused in any mode: it is kept for later, so it must work then.
    let answer = put_delivery(&app, &m, id, json!({ "mode": "none", "external_url": "javascript:alert(1)" })).await;
    assert_refused(&answer, "external_url", "a bad link outside link mode");
    assert_eq!(app.get_json(&m, &format!("/products/{id}/delivery")).await.1["external_url"], link, "unchanged");
}
