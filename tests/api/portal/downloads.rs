//! Portal downloads: signed, short-lived, streamed like email links, and never held back by
//! the email link's expiry or download cap; "download all" as one ZIP.

use reqwest::StatusCode;
use serde_json::json;

use super::{links, page, purchase, shop, sign_in};
use crate::fulfilment::{buy, delivery_url, product, set_delivery, settings, upload};
use crate::helpers::{Stack, TestApp, on_both_stacks, sha256_hex};
use crate::mail::unique_address;

on_both_stacks!(
    portal_downloads_work_after_the_email_link_is_used_up,
    portal_signed_urls_expire_and_refuse_changes,
    portal_download_all_is_a_zip_of_every_file,
    portal_external_links_go_through_a_signed_redirect,
);

async fn portal_downloads_work_after_the_email_link_is_used_up(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    settings(&app, &shop.m, json!({"max_downloads_per_file": 1})).await;
    let email = unique_address("ada");
    let order = purchase(&app, &shop, &email).await;
    let order_id = order["id"].as_str().unwrap();
    let email_link = format!("{}/files/1", delivery_url(&order));
    assert_eq!(app.client.get(&email_link).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.client.get(&email_link).send().await.unwrap().status(), StatusCode::GONE, "used up");

    let cookie = sign_in(&app, &shop.m, &email).await;
    let (_, html) = page(&app, "/portal/acme-books", &cookie).await;
    let pdf = links(&html, "/files/").into_iter().find(|l| l.contains(&format!("{order_id}/1?"))).unwrap();
    // No cookie needed: a download manager has none.
    for _ in 0..3 {
        let response = app.client.get(app.url(&pdf)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/pdf");
        assert_eq!(headers["etag"], format!("\"{}\"", sha256_hex(&shop.pdf)).as_str());
        assert!(headers["content-disposition"].to_str().unwrap().contains("filename*=UTF-8''guide.pdf"));
        assert_eq!(headers["accept-ranges"], "bytes");
        assert_eq!(response.bytes().await.unwrap().as_ref(), shop.pdf.as_slice());
    }
    let ranged = app.client.get(app.url(&pdf)).header("range", "bytes=100-199").send().await.unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.headers()["content-range"], format!("bytes 100-199/{}", shop.pdf.len()).as_str());
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &shop.pdf[100..200]);
    let head = app.client.head(app.url(&pdf)).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);

    // Logged as download events, not counted against the email link's cap.
    let detail = crate::helpers::eventually(std::time::Duration::from_secs(15), "portal downloads logged", || async {
        let detail = crate::fulfilment::order(&app, &shop.m, order_id).await;
        (detail["downloads"].as_array().unwrap().len() >= 6).then_some(detail)
    })
    .await;
    let files = detail["files"].as_array().unwrap();
    assert_eq!(files[0]["download_count"], 1, "only the email link's download counts: {detail:#}");
    assert_eq!(app.client.get(&email_link).send().await.unwrap().status(), StatusCode::GONE);
}

async fn portal_signed_urls_expire_and_refuse_changes(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("ada");
    let order = purchase(&app, &shop, &email).await;
    let order_id = order["id"].as_str().unwrap();
    let cookie = sign_in(&app, &shop.m, &email).await;
    let (_, html) = page(&app, "/portal/acme-books", &cookie).await;
    let url = links(&html, "/files/").into_iter().find(|l| l.contains(&format!("{order_id}/1?"))).unwrap();
    assert_eq!(app.client.get(app.url(&url)).send().await.unwrap().status(), StatusCode::OK);

    // A URL signed 11 minutes ago, with the server's own key: expired, so 410 with the way back.
    use satchel::domain::{PortalLink, PortalTarget, now_millis};
    let key = app.state.secrets.key();
    let old = PortalLink::new(&shop.m.id, order_id, PortalTarget::File(1), now_millis() - 11 * 60 * 1000);
    let expired = format!("/portal/acme-books/files/{order_id}/1?{}", old.query(&key));
    let response = app.client.get(app.url(&expired)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    let html = response.text().await.unwrap();
    assert!(html.contains("This download link has expired") && html.contains("reload your purchases page"), "{html}");
    assert!(html.contains("href=\"/portal/acme-books\""), "{html}");
    let zip = PortalLink::new(&shop.m.id, order_id, PortalTarget::Zip, now_millis() - 11 * 60 * 1000);
    let expired_zip = format!("/portal/acme-books/zip/{order_id}?{}", zip.query(&key));
    assert_eq!(app.client.get(app.url(&expired_zip)).send().await.unwrap().status(), StatusCode::GONE);

    // Any changed byte: 404. The expiry moved later, the signature, the file number.
    let (path, query) = url.split_once('?').unwrap();
    let expiry: i64 = query.split('&').next().unwrap().trim_start_matches("e=").parse().unwrap();
    let signature = query.split("&s=").nth(1).unwrap();
    let flipped: String =
        signature.char_indices().map(|(i, c)| if i == 10 { if c == 'A' { 'B' } else { 'A' } } else { c }).collect();
    for changed in [
        format!("{path}?e={}&s={signature}", expiry + 3600),
        format!("{path}?e={expiry}&s={flipped}"),
        format!("{path}?e={expiry}&s={}", &signature[..signature.len() - 1]),
        format!("{path}?e={expiry}"),
        path.to_owned(),
        format!("{}?{query}", path.replace("/1", "/2")),
        format!("/portal/acme-books/files/{order_id}/1?e={}&s={}", expiry - 3600, signature),
    ] {
        assert_eq!(
            app.client.get(app.url(&changed)).send().await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{changed}"
        );
    }
    // An expired URL with a changed byte is 404 too: only genuine URLs learn they expired.
    let (old_path, old_query) = expired.split_once('?').unwrap();
    let tampered = format!("{old_path}?{}", old_query.replace("&s=", "&s=A"));
    assert_eq!(app.client.get(app.url(&tampered)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

async fn portal_download_all_is_a_zip_of_every_file(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let one = crate::helpers::file_bytes(200_000, 1);
    let two = crate::helpers::file_bytes(1_500_000, 2);
    let three = b"third".to_vec();
    let f1 = upload(&app, &m, "a.pdf", "application/pdf", &one).await;
    let f2 = upload(&app, &m, "b.pdf", "application/pdf", &two).await;
    let f3 = upload(&app, &m, "c.txt", "text/plain", &three).await;
    let p = product(&app, &m, "Bundle", json!({})).await;
    let files = json!([
        {"file_id": f1["id"], "display_name": "a.pdf"},
        {"file_id": f2["id"], "display_name": "a.pdf"},
        {"file_id": f3["id"], "display_name": "../../etc/passwd"},
    ]);
    set_delivery(&app, &m, &p, json!({"mode": "files", "files": files})).await;
    let email = unique_address("ada");
    let order = buy(&app, &m, &p, &email).await;
    let cookie = sign_in(&app, &m, &email).await;
    let (_, html) = page(&app, "/portal/acme-books", &cookie).await;
    let zip = links(&html, "/zip/");
    assert_eq!(zip.len(), 1, "{html}");
    assert!(html.contains("3 files, 1.7 MB"), "{html}");
    let response = app.client.get(app.url(&zip[0])).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let reference = super::reference(&order);
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains(&format!("acme-books-order-{reference}.zip")), "{disposition}");
    let bytes = response.bytes().await.unwrap();
    let path = app.dir.path().join("all.zip");
    std::fs::write(&path, &bytes).unwrap();

    let check = "import sys, zipfile, hashlib, json\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        assert z.testzip() is None\n\
        print(json.dumps([[i.filename, hashlib.sha256(z.read(i)).hexdigest(), i.compress_type] for i in z.infolist()]))\n";
    let out = std::process::Command::new("python3").arg("-c").arg(check).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        listed,
        json!([["a.pdf", sha256_hex(&one), 0], ["a (2).pdf", sha256_hex(&two), 0], ["passwd", sha256_hex(&three), 0]])
    );
    let unzip = std::process::Command::new("unzip").arg("-t").arg(&path).output().unwrap();
    assert!(unzip.status.success(), "unzip -t: {}", String::from_utf8_lossy(&unzip.stdout));
}

async fn portal_external_links_go_through_a_signed_redirect(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Acme Books").await;
    let p = product(&app, &m, "Course", json!({})).await;
    let url = "https://courses.example/enrol?code=42";
    set_delivery(&app, &m, &p, json!({"mode": "external_link", "external_url": url, "instructions": "Use code 42."}))
        .await;
    let email = unique_address("ada");
    let order = buy(&app, &m, &p, &email).await;
    let cookie = sign_in(&app, &m, &email).await;
    let (_, html) = page(&app, "/portal/acme-books", &cookie).await;
    assert!(html.contains("Open download link") && html.contains("Use code 42."), "{html}");
    let link = links(&html, "/link/");
    assert_eq!(link.len(), 1, "{html}");
    assert!(!html.contains("courses.example"), "the page links to the signed redirect, not the URL");
    let response = app.client.get(app.url(&link[0])).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], url);
    let edited = link[0].replace("/link/", "/files/");
    assert_eq!(app.client.get(app.url(&edited)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // Revoked by the merchant: the link stops working at once.
    let revoke = app.api(&m, reqwest::Method::POST, &format!("/orders/{}/revoke", order["id"].as_str().unwrap()));
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.client.get(app.url(&link[0])).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}
