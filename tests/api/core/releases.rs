//! Releases (issue 16, item 1): every saved change to a product's delivery is numbered 1, 2, …
//! and kept; a save that changes nothing is none; orders say which release they bought and keep
//! its bytes; a file an earlier release holds is not deleted; existing data migrates to
//! release 1 without losing anything.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dashboard::Dashboard;
use crate::fulfilment::{buy, delivery_url, download, order, product, set_delivery, upload};
use crate::helpers::{Stack, TestApp, TestMerchant, error_code, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(
    each_saved_change_is_the_next_release_and_an_unchanged_save_is_none,
    an_order_keeps_the_release_it_bought_and_its_bytes,
    concurrent_saves_get_consecutive_release_numbers,
    a_file_only_an_earlier_release_holds_is_not_deleted,
    existing_products_and_orders_migrate_to_release_1,
);

/// `GET /api/v1/products/{id}/releases`, expecting 200.
async fn releases(app: &TestApp, m: &TestMerchant, product_id: &str) -> Vec<Value> {
    let (status, body) = app.get_json(m, &format!("/products/{product_id}/releases")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

fn numbers(releases: &[Value]) -> Vec<i64> {
    releases.iter().map(|r| r["number"].as_i64().unwrap()).collect()
}

/// The first file of an order, downloaded through its delivery page's link.
async fn first_file(app: &TestApp, order: &Value) -> Vec<u8> {
    download(app, &format!("{}/files/{}", delivery_url(order), order["files"][0]["position"])).await
}

async fn each_saved_change_is_the_next_release_and_an_unchanged_save_is_none(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Release Press").await;
    let bytes = file_bytes(3_000, 1);
    let file = upload(&app, &m, "guide.pdf", "application/pdf", &bytes).await;
    let id = product(&app, &m, "Guide", json!({})).await;
    assert_eq!(releases(&app, &m, &id).await, Vec::<Value>::new(), "a new draft has none");
    // Saving the empty delivery a new product has is no change either.
    set_delivery(&app, &m, &id, json!({"mode": "none"})).await;
    assert_eq!(releases(&app, &m, &id).await, Vec::<Value>::new());

    let files = json!([{"file_id": file["id"], "display_name": "Guide.pdf"}]);
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": files, "instructions": "Enjoy"})).await;
    let first = releases(&app, &m, &id).await;
    assert_eq!(numbers(&first), [1]);
    let r1 = &first[0];
    assert_eq!(
        (&r1["mode"], &r1["instructions"], &r1["external_url"]),
        (&json!("files"), &json!("Enjoy"), &json!(null))
    );
    assert_eq!((&r1["label"], &r1["changelog"]), (&json!(null), &json!(null)), "set when published, later");
    assert!(r1["created_at"].as_str().unwrap().ends_with('Z'), "{r1}");
    let f = &r1["files"][0];
    assert_eq!((&f["position"], &f["file_id"], &f["display_name"]), (&json!(1), &file["id"], &json!("Guide.pdf")));
    assert_eq!((&f["size"], f["sha256"].as_str().unwrap()), (&json!(3_000), sha256_hex(&bytes).as_str()));

    // The same delivery again, whole or as "keep what is saved": no new release.
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": files, "instructions": "Enjoy"})).await;
    set_delivery(&app, &m, &id, json!({"mode": "files"})).await;
    assert_eq!(numbers(&releases(&app, &m, &id).await), [1]);
    // …nor a change of name or price, which is not the delivery.
    let renamed = app.api(&m, Method::PATCH, &format!("/products/{id}")).json(&json!({"name": "Guide 2"}));
    assert_eq!(renamed.send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(numbers(&releases(&app, &m, &id).await), [1]);

    // Instructions, a link, a display name: each a release, newest first.
    set_delivery(&app, &m, &id, json!({"mode": "files", "instructions": "Enjoy v2"})).await;
    set_delivery(&app, &m, &id, json!({"mode": "external_link", "external_url": "https://example.com/g"})).await;
    let renamed = json!([{"file_id": file["id"], "display_name": "Guide v3.pdf"}]);
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": renamed})).await;
    let all = releases(&app, &m, &id).await;
    assert_eq!(numbers(&all), [4, 3, 2, 1]);
    assert_eq!((&all[1]["mode"], &all[1]["external_url"]), (&json!("external_link"), &json!("https://example.com/g")));
    assert_eq!(all[1]["files"][0]["display_name"], "Guide.pdf", "a link release keeps the file list it had");
    assert_eq!(all[0]["files"][0]["display_name"], "Guide v3.pdf");

    // One release by number; anything else is not found, for this shop and every other.
    let (status, r2) = app.get_json(&m, &format!("/products/{id}/releases/2")).await;
    assert_eq!((status, &r2["number"], &r2["instructions"]), (StatusCode::OK, &json!(2), &json!("Enjoy v2")));
    for missing in ["5", "0", "-1", "abc", "1.0", "99999999999999999999"] {
        let (status, body) = app.get_json(&m, &format!("/products/{id}/releases/{missing}")).await;
        assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"), "{missing}: {body}");
    }
    let other = app.merchant("Other Shop").await;
    for path in
        [format!("/products/{id}/releases"), format!("/products/{id}/releases/1"), "/products/nope/releases".into()]
    {
        let (status, body) = app.get_json(&other, &path).await;
        assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"), "{path}: {body}");
    }

    // The dashboard's "Update product" saves the delivery through the same service: saved
    // unchanged it makes no release, and the product page lists them.
    let d = Dashboard::sign_in(&app, &m).await;
    let form = [
        ("name", "Guide 2"),
        ("description", ""),
        ("price", "19.99"),
        ("currency", "USD"),
        ("external_id_standard", ""),
        ("external_id_stripe", ""),
        ("delivery_mode", "files"),
        ("file_id", file["id"].as_str().unwrap()),
        ("display_name", "Guide v3.pdf"),
        ("external_url", "https://example.com/g"),
        ("instructions", "Enjoy v2"),
        ("op", "save"),
    ];
    let saved = d.post(&format!("/dashboard/products/{id}"), &form).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{}", saved.text().await.unwrap());
    assert_eq!(numbers(&releases(&app, &m, &id).await), [4, 3, 2, 1], "an unchanged form is no release");
    let mut changed = form;
    changed[10] = ("instructions", "Enjoy v5");
    let saved = d.post(&format!("/dashboard/products/{id}"), &changed).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(numbers(&releases(&app, &m, &id).await), [5, 4, 3, 2, 1]);
    let (_, page) = d.get(&format!("/dashboard/products/{id}")).await;
    let list = page.split(r#"<h2 id="releases-heading">Releases</h2>"#).nth(1).expect("a Releases list");
    assert!(list.find("<strong>Release 5</strong>").unwrap() < list.find("<strong>Release 1</strong>").unwrap());
    assert!(list.contains("· 1 file</span>") && list.contains("· External link</span>"), "{list}");
    screenshots(&app, &m, &[format!("releases-product=/dashboard/products/{id}")]).await;
}

/// With `SATCHEL_SCREENSHOTS=/some/dir` (embedded stack only), saves screenshots of `pages`
/// (`name=/path`) at desktop and phone widths there.
async fn screenshots(app: &TestApp, m: &TestMerchant, pages: &[String]) {
    let Ok(out) = std::env::var("SATCHEL_SCREENSHOTS") else { return };
    if app.stack != Stack::Embedded {
        return;
    }
    let support = std::env::var("SATCHEL_TEST_NODE_SUPPORT").expect("run with ./scripts/test");
    let script = std::path::Path::new(&support).join("screenshot-dashboard.mjs");
    let email = crate::dashboard::owner_email(m);
    let mut args = vec![app.address.clone(), email, crate::dashboard::PASSWORD.to_owned(), out];
    args.extend(pages.iter().cloned());
    let status = tokio::process::Command::new("node").arg(script).args(&args).status().await.expect("node");
    assert!(status.success(), "screenshots");
}

async fn an_order_keeps_the_release_it_bought_and_its_bytes(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Release Press").await;
    let (v1, v2) = (file_bytes(200_000, 11), file_bytes(210_000, 12));
    let old_file = upload(&app, &m, "guide-1.pdf", "application/pdf", &v1).await;
    let id = product(&app, &m, "Guide", json!({})).await;
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": [{"file_id": old_file["id"]}]})).await;
    let early = buy(&app, &m, &id, "early@example.com").await;
    assert_eq!(
        early["releases"],
        json!([{"number": 1, "product_id": id, "item_position": 1, "label": null,
        "created_at": releases(&app, &m, &id).await[0]["created_at"], "granted": false}])
    );

    let new_file = upload(&app, &m, "guide-2.pdf", "application/pdf", &v2).await;
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": [{"file_id": new_file["id"]}]})).await;
    let late = buy(&app, &m, &id, "late@example.com").await;
    assert_eq!((late["releases"].as_array().unwrap().len(), &late["releases"][0]["number"]), (1, &json!(2)));

    // Each order downloads its own release's bytes, exactly.
    let early = order(&app, &m, early["id"].as_str().unwrap()).await;
    assert_eq!(early["releases"][0]["number"], 1, "still the release it bought");
    assert_eq!(sha256_hex(&first_file(&app, &early).await), sha256_hex(&v1));
    assert_eq!(sha256_hex(&first_file(&app, &late).await), sha256_hex(&v2));
    // What the order froze is what its release froze.
    for (o, n) in [(&early, 1), (&late, 2)] {
        let (_, release) = app.get_json(&m, &format!("/products/{id}/releases/{n}")).await;
        assert_eq!(o["files"][0]["sha256"], release["files"][0]["sha256"], "release {n}");
        assert_eq!(o["files"][0]["file_id"], release["files"][0]["file_id"], "release {n}");
    }
    // A link order owns its release too, and has no files.
    set_delivery(&app, &m, &id, json!({"mode": "external_link", "external_url": "https://example.com/g"})).await;
    let linked = buy(&app, &m, &id, "link@example.com").await;
    assert_eq!((&linked["releases"][0]["number"], linked["files"].as_array().unwrap().len()), (&json!(3), 0));
}

async fn concurrent_saves_get_consecutive_release_numbers(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Release Press").await;
    let id = product(&app, &m, "Guide", json!({})).await;
    let link = |i: usize| json!({"mode": "external_link", "external_url": "https://example.com/g", "instructions": format!("Edition {i}")});
    let saves = (0..8).map(|i| {
        let request = app.api(&m, Method::PUT, &format!("/products/{id}/delivery")).json(&link(i));
        async move { request.send().await.unwrap().status() }
    });
    let statuses = futures_util::future::join_all(saves).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");

    let all = releases(&app, &m, &id).await;
    assert_eq!(numbers(&all), (1..=8).rev().collect::<Vec<i64>>(), "1 to 8, no gap, no repeat");
    let mut editions: Vec<&str> = all.iter().map(|r| r["instructions"].as_str().unwrap()).collect();
    editions.sort_unstable();
    assert_eq!(editions, (0..8).map(|i| format!("Edition {i}")).collect::<Vec<_>>(), "each save its own release");
    let (_, saved) = app.get_json(&m, &format!("/products/{id}/delivery")).await;
    assert_eq!(saved["instructions"], all[0]["instructions"], "the newest release is what is saved");
}

async fn a_file_only_an_earlier_release_holds_is_not_deleted(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Release Press").await;
    let old_file = upload(&app, &m, "draft.pdf", "application/pdf", &file_bytes(4_000, 21)).await;
    let new_file = upload(&app, &m, "final.pdf", "application/pdf", &file_bytes(4_000, 22)).await;
    let id = product(&app, &m, "Guide", json!({})).await;
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": [{"file_id": old_file["id"]}]})).await;
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": [{"file_id": new_file["id"]}]})).await;
    let old_id = old_file["id"].as_str().unwrap();

    // No product lists it and no order bought it, but release 1 holds it.
    let refused = app.api(&m, Method::DELETE, &format!("/files/{old_id}")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(error_code(&refused), "file_in_use");
    assert!(refused["error"]["message"].as_str().unwrap().contains("1 earlier release(s)"), "{refused}");
    assert_eq!(app.get_json(&m, &format!("/files/{old_id}")).await.0, StatusCode::OK);
    let key = format!("m/{}/{}", m.id, old_file["sha256"].as_str().unwrap());
    assert!(app.stored_keys(&format!("m/{}/", m.id)).await.contains(&key), "its bytes are kept");

    // The files library says why, and offers no Delete.
    let d = Dashboard::sign_in(&app, &m).await;
    let (_, html) = d.get("/dashboard/files").await;
    let row = html.split(&format!(r#"<tr id="file-{old_id}">"#)).nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(row.contains("in 1 earlier release") && !row.contains("Delete…") && !row.contains("Unused"), "{row}");
    let refused = d.post(&format!("/dashboard/files/{old_id}/delete"), &[]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let page = refused.text().await.unwrap();
    assert!(page.contains("“draft.pdf” was not deleted: 1 earlier release of a product keeps it"), "{page}");
    let pages =
        ["releases-files=/dashboard/files".to_owned(), format!("releases-file=/dashboard/files/{old_id}/delete")];
    screenshots(&app, &m, &pages).await;
}

/// Runs `statements` on the app's database, one at a time.
async fn run_sql(app: &TestApp, statements: &[&'static str]) {
    for sql in statements {
        match &app.state.db {
            satchel::db::Db::Sqlite(db) => sqlx::query(*sql).execute(db.pool()).await.map(|_| ()),
            satchel::db::Db::Postgres(pool) => sqlx::query(*sql).execute(pool).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// The data of a shop made before releases existed: the database is taken back to migration
/// 15 by removing exactly what migrations 16 and 18 add (their tables, their columns, their
/// rows in sqlx's ledger), then migrated again, so both run on rows the app made the usual way.
async fn existing_products_and_orders_migrate_to_release_1(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Old Shop").await;
    let (v1, v2) = (file_bytes(50_000, 31), file_bytes(60_000, 32));
    let first = upload(&app, &m, "guide-1.pdf", "application/pdf", &v1).await;
    let second = upload(&app, &m, "guide-2.pdf", "application/pdf", &v2).await;
    let guide = product(&app, &m, "Guide", json!({})).await;
    set_delivery(&app, &m, &guide, json!({"mode": "files", "files": [{"file_id": first["id"]}]})).await;
    let early = buy(&app, &m, &guide, "early@example.com").await;
    let files = json!([{"file_id": second["id"], "display_name": "Guide 2.pdf"}]);
    set_delivery(&app, &m, &guide, json!({"mode": "files", "files": files, "instructions": "v2"})).await;
    let course = product(&app, &m, "Course", json!({})).await;
    set_delivery(&app, &m, &course, json!({"mode": "external_link", "external_url": "https://example.com/c"})).await;
    let draft = product(&app, &m, "Draft", json!({})).await;

    run_sql(
        &app,
        &[
            // Migration 22 undone first (it alters product_releases), then 18 (it builds on
            // 16); both run again after it.
            "DROP TABLE mail_throttle",
            "DROP TABLE update_email_subscriptions",
            "DROP INDEX emails_one_update_per_order_release",
            "DROP INDEX emails_due_updates",
            "DROP INDEX emails_due_others",
            "DROP INDEX emails_updates_claimed",
            "DROP INDEX emails_release",
            "ALTER TABLE emails DROP COLUMN product_id",
            "ALTER TABLE emails DROP COLUMN release_number",
            "ALTER TABLE emails DROP COLUMN claimed_at",
            "DELETE FROM _sqlx_migrations WHERE version = 22",
            "DROP TABLE order_releases",
            "ALTER TABLE order_files DROP COLUMN release_number",
            "DELETE FROM _sqlx_migrations WHERE version = 18",
            "DROP TABLE release_files",
            "DROP TABLE product_releases",
            "ALTER TABLE order_items DROP COLUMN release_number",
            "DELETE FROM _sqlx_migrations WHERE version = 16",
        ],
    )
    .await;
    app.state.db.migrate().await.expect("migrations 16, 18 and 22 run again");

    // Release 1 of each product with a delivery is that delivery as it is now.
    let guide_releases = releases(&app, &m, &guide).await;
    assert_eq!(numbers(&guide_releases), [1]);
    let r1 = &guide_releases[0];
    assert_eq!((&r1["mode"], &r1["instructions"]), (&json!("files"), &json!("v2")));
    assert_eq!(
        (&r1["files"][0]["display_name"], &r1["files"][0]["sha256"]),
        (&json!("Guide 2.pdf"), &second["sha256"])
    );
    let course_releases = releases(&app, &m, &course).await;
    assert_eq!((numbers(&course_releases), &course_releases[0]["mode"]), (vec![1], &json!("external_link")));
    assert_eq!(releases(&app, &m, &draft).await, Vec::<Value>::new(), "nothing to deliver: no release");

    // The old order points at release 1 and still downloads the bytes it bought.
    let early = order(&app, &m, early["id"].as_str().unwrap()).await;
    assert_eq!((early["releases"].as_array().unwrap().len(), &early["releases"][0]["number"]), (1, &json!(1)));
    assert_eq!(early["releases"][0]["granted"], false, "bought, not granted");
    assert_eq!(sha256_hex(&first_file(&app, &early).await), sha256_hex(&v1));
    // Both files are kept: one by the order, one by the product and its release.
    for file in [&first, &second] {
        let refused = app.api(&m, Method::DELETE, &format!("/files/{}", file["id"].as_str().unwrap())).send();
        assert_eq!(refused.await.unwrap().status(), StatusCode::CONFLICT);
    }

    // The next change is release 2, and a new order buys it.
    set_delivery(&app, &m, &guide, json!({"mode": "files", "instructions": "v3"})).await;
    assert_eq!(numbers(&releases(&app, &m, &guide).await), [2, 1]);
    let late = buy(&app, &m, &guide, "late@example.com").await;
    assert_eq!(late["releases"][0]["number"], 2);
    assert_eq!(sha256_hex(&first_file(&app, &late).await), sha256_hex(&v2));
}
