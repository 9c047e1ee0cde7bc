//! Publishing releases (issue 16, items 2 and 6): `POST /api/v1/products/{id}/releases`
//! publishes the latest release with a label, changelog and audience. Future buyers get it
//! always; past orders only when the audience names them (never revoked ones), keeping their
//! earlier files at their old download URLs and getting the new ones after them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fulfilment::{buy, delivery_url, download, order, product, set_delivery, upload};
use crate::helpers::{Stack, TestApp, TestMerchant, error_code, file_bytes, on_both_stacks, sha256_hex};

on_both_stacks!(
    publishing_to_future_buyers_leaves_past_orders_as_they_were,
    publishing_to_all_adds_the_new_files_after_the_old_ones_and_skips_revoked_orders,
    each_audience_filter_grants_exactly_the_orders_it_names,
    hostile_publish_bodies_are_refused_naming_the_field_and_change_nothing,
    a_past_order_granted_a_new_link_follows_it_and_keeps_its_files,
);

/// `POST /api/v1/products/{id}/releases`: the status and the JSON answered.
async fn publish(app: &TestApp, m: &TestMerchant, product_id: &str, body: Value) -> (StatusCode, Value) {
    let response = app.api(m, Method::POST, &format!("/products/{product_id}/releases")).json(&body).send();
    let response = response.await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Publishes, expecting 201; returns the release.
async fn published(app: &TestApp, m: &TestMerchant, product_id: &str, body: Value) -> Value {
    let (status, release) = publish(app, m, product_id, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {release}");
    release
}

/// Sets a files delivery of the uploaded `files`.
async fn deliver(app: &TestApp, m: &TestMerchant, product_id: &str, files: &[&Value]) {
    let files: Vec<Value> = files.iter().map(|f| json!({"file_id": f["id"]})).collect();
    set_delivery(app, m, product_id, json!({"mode": "files", "files": files})).await;
}

/// The order as the API shows it now.
async fn fresh(app: &TestApp, m: &TestMerchant, o: &Value) -> Value {
    order(app, m, o["id"].as_str().unwrap()).await
}

/// (number, granted) of each release the order owns, in order.
fn owned(o: &Value) -> Vec<(i64, bool)> {
    let releases = o["releases"].as_array().unwrap();
    releases.iter().map(|r| (r["number"].as_i64().unwrap(), r["granted"].as_bool().unwrap())).collect()
}

/// (position, sha256) of each file of the order.
fn files(o: &Value) -> Vec<(i64, String)> {
    let files = o["files"].as_array().unwrap();
    files.iter().map(|f| (f["position"].as_i64().unwrap(), f["sha256"].as_str().unwrap().to_owned())).collect()
}

/// Downloads file `position` of the order and checks its bytes are exactly `bytes`.
async fn downloads(app: &TestApp, o: &Value, position: i64, bytes: &[u8]) {
    let got = download(app, &format!("{}/files/{position}", delivery_url(o))).await;
    assert_eq!(sha256_hex(&got), sha256_hex(bytes), "file {position} of {}", o["id"]);
}

async fn publishing_to_future_buyers_leaves_past_orders_as_they_were(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Release Press").await;
    let (v1, v2) = (file_bytes(100_000, 41), file_bytes(120_000, 42));
    let f1 = upload(&app, &m, "guide-1.pdf", "application/pdf", &v1).await;
    let f2 = upload(&app, &m, "guide-2.pdf", "application/pdf", &v2).await;
    let id = product(&app, &m, "Guide", json!({})).await;
    deliver(&app, &m, &id, &[&f1]).await;
    let early = buy(&app, &m, &id, "early@example.com").await;
    deliver(&app, &m, &id, &[&f2]).await;

    let body = json!({"label": " 2.0 ", "changelog": "## New\n- Chapter 9", "email": null});
    let release = published(&app, &m, &id, body).await;
    assert_eq!((&release["number"], &release["label"]), (&json!(2), &json!("2.0")));
    assert_eq!((&release["changelog"], &release["audience"]), (&json!("## New\n- Chapter 9"), &json!("future")));
    assert_eq!(release["granted_orders"], 0);
    assert!(release["published_at"].as_str().unwrap().ends_with('Z'), "{release}");
    let (_, listed) = app.get_json(&m, &format!("/products/{id}/releases")).await;
    assert_eq!(listed[0], release, "the list shows what publishing answered");
    assert_eq!((&listed[1]["published_at"], &listed[1]["audience"]), (&json!(null), &json!(null)));
    let (_, one) = app.get_json(&m, &format!("/products/{id}/releases/2")).await;
    assert_eq!(one, release);

    // The old order keeps only what it bought, byte for byte; a new order gets release 2.
    let early = fresh(&app, &m, &early).await;
    assert_eq!((owned(&early), files(&early)), (vec![(1, false)], vec![(1, sha256_hex(&v1))]));
    downloads(&app, &early, 1, &v1).await;
    let late = buy(&app, &m, &id, "late@example.com").await;
    assert_eq!((owned(&late), files(&late)), (vec![(2, false)], vec![(1, sha256_hex(&v2))]));
    downloads(&app, &late, 1, &v2).await;

    // Published once: a repeat (the same request again) changes nothing.
    for body in [json!({"label": "2.0", "changelog": "## New\n- Chapter 9"}), json!({"audience": "all"})] {
        let (status, refused) = publish(&app, &m, &id, body).await;
        assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "already_published"), "{refused}");
    }
    let (_, again) = app.get_json(&m, &format!("/products/{id}/releases/2")).await;
    assert_eq!(again, release);
    assert_eq!(owned(&fresh(&app, &m, &early).await), [(1, false)]);
}

async fn publishing_to_all_adds_the_new_files_after_the_old_ones_and_skips_revoked_orders(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Release Press").await;
    let (v1, v2a, v2b) = (file_bytes(90_000, 51), file_bytes(91_000, 52), file_bytes(92_000, 53));
    let f1 = upload(&app, &m, "guide.pdf", "application/pdf", &v1).await;
    let f2a = upload(&app, &m, "guide-2.pdf", "application/pdf", &v2a).await;
    let f2b = upload(&app, &m, "extras.zip", "application/zip", &v2b).await;
    let id = product(&app, &m, "Guide", json!({})).await;
    deliver(&app, &m, &id, &[&f1]).await;
    let kept = buy(&app, &m, &id, "kept@example.com").await;
    let revoked = buy(&app, &m, &id, "revoked@example.com").await;
    let revoke = app.api(&m, Method::POST, &format!("/orders/{}/revoke", revoked["id"].as_str().unwrap()));
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::OK);
    deliver(&app, &m, &id, &[&f2a, &f2b]).await;
    let hook = json!({"url": "https://hooks.satchel.invalid/in", "events": ["release.published"]});
    let hook = app.api(&m, Method::POST, "/webhook-endpoints").json(&hook).send().await.unwrap();
    assert_eq!(hook.status(), StatusCode::CREATED);

    let release = published(&app, &m, &id, json!({"label": "2.0", "audience": "all"})).await;
    assert_eq!((&release["audience"], &release["granted_orders"]), (&json!("all"), &json!(1)));
    // The event was queued with the publish, saying what was published and to how many.
    let payloads = event_payloads(&app, &m.id).await;
    assert_eq!(payloads.len(), 1, "{payloads:?}");
    assert_eq!(payloads[0]["type"], "release.published");
    let data = json!({"product_id": id, "release_number": 2, "label": "2.0", "granted_orders": 1});
    assert_eq!(payloads[0]["data"], data);

    // The old order owns both releases: its file 1 (the URL it always had) is still v1, and
    // release 2's files come after it.
    let kept = fresh(&app, &m, &kept).await;
    assert_eq!(owned(&kept), [(1, false), (2, true)]);
    assert_eq!(files(&kept), [(1, sha256_hex(&v1)), (2, sha256_hex(&v2a)), (3, sha256_hex(&v2b))]);
    for (position, bytes) in [(1, &v1), (2, &v2a), (3, &v2b)] {
        downloads(&app, &kept, position, bytes).await;
    }
    assert_eq!(kept["releases"][1]["label"], "2.0");
    // The revoked order got nothing, and restoring it later gives it only what it bought.
    let restore = app.api(&m, Method::POST, &format!("/orders/{}/restore", revoked["id"].as_str().unwrap()));
    assert_eq!(restore.send().await.unwrap().status(), StatusCode::OK);
    let revoked = fresh(&app, &m, &revoked).await;
    assert_eq!((owned(&revoked), files(&revoked)), (vec![(1, false)], vec![(1, sha256_hex(&v1))]));

    // Release 3 (instructions only), bought by one order before it is published to all: that
    // order owns it already; the others get it, its files after theirs.
    set_delivery(&app, &m, &id, json!({"mode": "files", "instructions": "Read me first"})).await;
    let bought_3 = buy(&app, &m, &id, "three@example.com").await;
    let release = published(&app, &m, &id, json!({"audience": "all"})).await;
    assert_eq!((&release["number"], &release["granted_orders"]), (&json!(3), &json!(2)), "kept and revoked");
    let bought_3 = fresh(&app, &m, &bought_3).await;
    assert_eq!((owned(&bought_3), files(&bought_3).len()), (vec![(3, false)], 2), "nothing twice");
    let kept = fresh(&app, &m, &kept).await;
    assert_eq!(owned(&kept), [(1, false), (2, true), (3, true)]);
    assert_eq!(files(&kept).iter().map(|(p, _)| *p).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    downloads(&app, &kept, 1, &v1).await;
    downloads(&app, &kept, 5, &v2b).await;
}

/// A merchant moving a product from files to a download link, then to a newer link, and
/// publishing each to past buyers: the old order's page, its link redirect and the API follow
/// the newest link and instructions; the files it bought stay downloadable.
async fn a_past_order_granted_a_new_link_follows_it_and_keeps_its_files(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Link Press").await;
    let v1 = file_bytes(70_000, 61);
    let f1 = upload(&app, &m, "guide.pdf", "application/pdf", &v1).await;
    let id = product(&app, &m, "Guide", json!({})).await;
    deliver(&app, &m, &id, &[&f1]).await;
    let early = buy(&app, &m, &id, "early-link@example.com").await;
    let page = delivery_url(&early);
    let follow = || {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let url = format!("{page}/link/1");
        async move { client.get(url).send().await.unwrap() }
    };
    assert_eq!(follow().await.status(), StatusCode::NOT_FOUND, "a files order has no link");

    for (n, target, how) in [
        (2, "https://downloads.example.com/guide/v2.zip", "Sign in with your order email"),
        (3, "https://cdn.example.net/guide-v3.zip", "The password is on page 2"),
    ] {
        set_delivery(&app, &m, &id, json!({"mode": "external_link", "external_url": target, "instructions": how}))
            .await;
        let release = published(&app, &m, &id, json!({"audience": "all"})).await;
        assert_eq!((&release["number"], &release["granted_orders"]), (&json!(n), &json!(1)));
        let now = fresh(&app, &m, &early).await;
        let item = &now["items"][0];
        assert_eq!((&item["delivery_mode"], &item["external_url"]), (&json!("external_link"), &json!(target)));
        assert_eq!(item["instructions"], how);
        let redirect = follow().await;
        assert_eq!(redirect.status(), StatusCode::FOUND, "release {n}");
        assert_eq!(redirect.headers()["location"], target);
        let html = app.client.get(&page).send().await.unwrap().text().await.unwrap();
        let host = reqwest::Url::parse(target).unwrap().host_str().unwrap().to_owned();
        assert!(html.contains(&host) && html.contains(how), "release {n} on the page: {html}");
        assert_eq!(files(&now), [(1, sha256_hex(&v1))], "the bought file stays");
        downloads(&app, &now, 1, &v1).await;
    }
    // Published to future buyers only, a newer link leaves the past order on the one it has.
    set_delivery(&app, &m, &id, json!({"mode": "external_link", "external_url": "https://later.example.org/v4"})).await;
    published(&app, &m, &id, json!({"audience": "future"})).await;
    assert_eq!(follow().await.headers()["location"], "https://cdn.example.net/guide-v3.zip");
}

/// The JSON bodies of the shop's queued `release.published` deliveries.
async fn event_payloads(app: &TestApp, merchant_id: &str) -> Vec<Value> {
    let sql = "SELECT payload FROM event_deliveries WHERE merchant_id = $1 AND event_type = 'release.published' \
               ORDER BY created_at";
    let rows: Vec<(String,)> = match &app.state.db {
        satchel::db::Db::Sqlite(db) => sqlx::query_as(sql).bind(merchant_id).fetch_all(db.pool()).await,
        satchel::db::Db::Postgres(pool) => sqlx::query_as(sql).bind(merchant_id).fetch_all(pool).await,
    }
    .unwrap();
    rows.iter().map(|(p,)| serde_json::from_str(p).unwrap()).collect()
}

/// Sets an order's purchase time (unix milliseconds) in the database, to test a date boundary.
async fn set_created_at(app: &TestApp, order_id: &str, at: i64) {
    let sql = "UPDATE orders SET created_at = $1 WHERE id = $2";
    let done = match &app.state.db {
        satchel::db::Db::Sqlite(db) => {
            sqlx::query(sql).bind(at).bind(order_id).execute(db.pool()).await.map(|r| r.rows_affected())
        }
        satchel::db::Db::Postgres(pool) => {
            sqlx::query(sql).bind(at).bind(order_id).execute(pool).await.map(|r| r.rows_affected())
        }
    };
    assert_eq!(done.unwrap(), 1);
}

async fn each_audience_filter_grants_exactly_the_orders_it_names(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Release Press").await;
    let bytes: Vec<Vec<u8>> = (0..4).map(|i| file_bytes(10_000 + i, 60 + i as u64)).collect();
    let mut uploaded = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        uploaded.push(upload(&app, &m, &format!("v{}.pdf", i + 1), "application/pdf", b).await);
    }
    let id = product(&app, &m, "Guide", json!({})).await;
    deliver(&app, &m, &id, &[&uploaded[0]]).await;
    let before = buy(&app, &m, &id, "before@example.com").await;
    let on_the_day = buy(&app, &m, &id, "day@example.com").await;
    // 2026-01-30T23:59:59.999Z and 2026-01-31T00:00:00Z.
    set_created_at(&app, before["id"].as_str().unwrap(), 1_769_817_599_999).await;
    set_created_at(&app, on_the_day["id"].as_str().unwrap(), 1_769_817_600_000).await;
    deliver(&app, &m, &id, &[&uploaded[1]]).await;
    let on_2 = buy(&app, &m, &id, "two@example.com").await;
    deliver(&app, &m, &id, &[&uploaded[2]]).await;

    // Release 3 to orders bought on or after 2026-01-31: the one on the day, and on_2.
    let r3 = published(&app, &m, &id, json!({"audience": {"bought_after": "2026-01-31"}})).await;
    assert_eq!((&r3["audience"], &r3["granted_orders"]), (&json!({"bought_after": "2026-01-31"}), &json!(2)));
    assert_eq!(owned(&fresh(&app, &m, &before).await), [(1, false)], "a millisecond before the day");
    assert_eq!(owned(&fresh(&app, &m, &on_the_day).await), [(1, false), (3, true)]);
    assert_eq!(owned(&fresh(&app, &m, &on_2).await), [(2, false), (3, true)]);

    // Release 4 to orders whose newest release is 1 or earlier: only `before` now.
    deliver(&app, &m, &id, &[&uploaded[3]]).await;
    let r4 = published(&app, &m, &id, json!({"audience": {"releases_up_to": 1}})).await;
    assert_eq!((&r4["audience"], &r4["granted_orders"]), (&json!({"releases_up_to": 1}), &json!(1)));
    let before = fresh(&app, &m, &before).await;
    assert_eq!(owned(&before), [(1, false), (4, true)]);
    downloads(&app, &before, 1, &bytes[0]).await;
    downloads(&app, &before, 2, &bytes[3]).await;
    assert_eq!(owned(&fresh(&app, &m, &on_the_day).await), [(1, false), (3, true)]);
    let on_2 = fresh(&app, &m, &on_2).await;
    assert_eq!(files(&on_2), [(1, sha256_hex(&bytes[1])), (2, sha256_hex(&bytes[2]))]);
}

async fn hostile_publish_bodies_are_refused_naming_the_field_and_change_nothing(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Release Press").await;
    let (v1, v2) = (file_bytes(5_000, 71), file_bytes(6_000, 72));
    let f1 = upload(&app, &m, "a.pdf", "application/pdf", &v1).await;
    let f2 = upload(&app, &m, "b.pdf", "application/pdf", &v2).await;
    let draft = product(&app, &m, "Draft", json!({})).await;
    let (status, refused) = publish(&app, &m, &draft, json!({})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::CONFLICT, "no_release"), "{refused}");
    let id = product(&app, &m, "Guide", json!({})).await;
    deliver(&app, &m, &id, &[&f1]).await;
    let past = buy(&app, &m, &id, "past@example.com").await;
    deliver(&app, &m, &id, &[&f2]).await;

    let cases = [
        (json!({"audience": "everyone"}), "audience"),
        (json!({"audience": "All"}), "audience"),
        (json!({"audience": 1}), "audience"),
        (json!({"audience": {"bought_after": "2026-02-30"}}), "audience"),
        (json!({"audience": {"bought_after": "31/01/2026"}}), "audience"),
        (json!({"audience": {"releases_up_to": 0}}), "audience"),
        (json!({"audience": {"releases_up_to": -1}}), "audience"),
        (json!({"audience": {"releases_up_to": 1, "and": "more"}}), "audience"),
        (json!({"audience": {"bought_after": "2026-01-31", "releases_up_to": 1}}), "audience"),
        (json!({"audience": "all", "label": "x".repeat(41)}), "label"),
        (json!({"audience": "all", "label": "2.0\n"}), "label"),
        (json!({"audience": "all", "label": "2.0\u{202E}"}), "label"),
        (json!({"audience": "all", "changelog": "bad\u{0}byte"}), "changelog"),
        (json!({"audience": "all", "changelog": "x".repeat(20_001)}), "changelog"),
    ];
    for (body, field) in cases {
        let (status, refused) = publish(&app, &m, &id, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
        assert_eq!(refused["error"]["field"], field, "{body}: {refused}");
    }
    for body in [json!({"audience": "all", "extra": true}), json!({"label": 2}), json!([])] {
        let (status, refused) = publish(&app, &m, &id, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
    }
    // Another shop's product, or none: not found.
    let other = app.merchant("Other Shop").await;
    for (who, product_id) in [(&other, id.as_str()), (&m, "nope")] {
        let (status, refused) = publish(&app, who, product_id, json!({"audience": "all"})).await;
        assert_eq!((status, error_code(&refused)), (StatusCode::NOT_FOUND, "not_found"), "{refused}");
    }

    // Nothing changed: release 2 unpublished, the past order as it was.
    let (_, r2) = app.get_json(&m, &format!("/products/{id}/releases/2")).await;
    assert_eq!((&r2["published_at"], &r2["granted_orders"], &r2["label"]), (&json!(null), &json!(0), &json!(null)));
    let past_now = fresh(&app, &m, &past).await;
    assert_eq!((owned(&past_now), files(&past_now)), (vec![(1, false)], vec![(1, sha256_hex(&v1))]));
    // …and a good request still publishes it.
    let release = published(&app, &m, &id, json!({"audience": "all", "label": "", "changelog": null})).await;
    assert_eq!((&release["granted_orders"], &release["label"]), (&json!(1), &json!(null)));
}
