//! Releases as customers and merchants see them (issue 16, items 4 and 5): the delivery page
//! and the portal show each item's latest owned release with its changelog and "New" badge,
//! earlier ones under "Previous versions", all downloadable at their URLs; "Download all"
//! takes the latest release; the download log, the order page and the product page's Releases
//! card say which release is which. A merchant's changelog carries no script to any page.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dashboard::Dashboard;
use crate::fulfilment::{buy, delivery_url, download, flush_download_log, get, product, set_delivery, upload};
use crate::helpers::{Stack, TestApp, TestMerchant, file_bytes, on_both_stacks, sha256_hex};
use crate::mail::unique_address;
use crate::portal::{links, page, sign_in};

on_both_stacks!(
    a_granted_release_is_new_with_its_changelog_and_the_bought_one_stays_under_previous_versions,
    an_order_of_one_plain_release_shows_no_versions,
    in_a_browser_the_portal_shows_new_until_the_new_release_is_downloaded,
);

/// A changelog as a hostile (or compromised) merchant account could write it.
const HOSTILE: &str = "## What's new\n\n- Chapter 9\n\n<script>alert('owned')</script>\n\n\
    [claim your prize](javascript:alert(1)) · [notes](https://example.com/notes)";

/// The two ways a script could get into a page from a changelog, neither of which may show.
fn assert_no_script(html: &str, what: &str) {
    assert!(!html.contains("<script>alert"), "a changelog's <script> on {what}: {html}");
    assert!(!html.to_ascii_lowercase().contains("javascript:"), "a javascript: link on {what}: {html}");
}

/// The "Previous versions" disclosure of a page (empty when it has none) and the page without it.
fn split_previous(html: &str) -> (String, String) {
    match html.find(r#"<details class="previous-versions">"#) {
        Some(start) => {
            let end = start + html[start..].find("</details>").expect("a closed disclosure") + 10;
            (html[start..end].to_owned(), format!("{}{}", &html[..start], &html[end..]))
        }
        None => (String::new(), html.to_owned()),
    }
}

/// The names and SHA-256 of the entries of a ZIP, read by Python's zipfile.
fn zip_entries(zip: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.zip");
    std::fs::write(&path, zip).unwrap();
    let check = "import sys, zipfile, hashlib, json\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        assert z.testzip() is None\n\
        print(json.dumps([[i.filename, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))\n";
    let listed = std::process::Command::new("python3").arg("-c").arg(check).arg(&path).output().unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    serde_json::from_slice(&listed.stdout).unwrap()
}

/// Polls `fetch` until `done` holds of the page, failing after a deadline (the download log,
/// which the "New" badge reads, is written by a background batch).
async fn wait_for_page<F, Fut>(what: &str, fetch: F, done: impl Fn(&str) -> bool) -> String
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let html = fetch().await;
        if done(&html) {
            return html;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {html}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn publish(app: &TestApp, m: &TestMerchant, product_id: &str, body: Value) {
    let response = app.api(m, Method::POST, &format!("/products/{product_id}/releases")).json(&body).send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
}

async fn a_granted_release_is_new_with_its_changelog_and_the_bought_one_stays_under_previous_versions(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Release Press").await;
    let (v1, v2, extras) = (file_bytes(90_000, 61), file_bytes(95_000, 62), b"Bonus maps.\n".to_vec());
    let f1 = upload(&app, &m, "guide.pdf", "application/pdf", &v1).await;
    let f2 = upload(&app, &m, "guide-v2.pdf", "application/pdf", &v2).await;
    let f3 = upload(&app, &m, "extras.txt", "text/plain", &extras).await;
    let id = product(&app, &m, "Field Guide", json!({})).await;
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": [{"file_id": f1["id"]}]})).await;
    let email = unique_address("ada");
    let bought = buy(&app, &m, &id, &email).await;
    let files = json!([{"file_id": f2["id"], "display_name": "guide.pdf"}, {"file_id": f3["id"]}]);
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": files})).await;
    publish(&app, &m, &id, json!({"label": "2.0", "changelog": HOSTILE, "audience": "all"})).await;
    let base = delivery_url(&bought);
    let delivery_page = || async { get(&app, &base).await.text().await.unwrap() };

    // The delivery page: release 2 on top with its changelog and "New"; release 1 below,
    // under "Previous versions", at the URL it always had.
    let html = delivery_page().await;
    assert_no_script(&html, "the delivery page");
    let (previous, top) = split_previous(&html);
    assert!(top.contains("<strong>2.0</strong>") && top.contains("<li>Chapter 9</li>"), "{top}");
    assert!(top.contains(r#"<a href="https://example.com/notes">notes</a>"#), "web links stay: {top}");
    assert!(top.contains("claim your prize") && top.contains("&lt;script&gt;"), "shown as text: {top}");
    assert_eq!(top.matches(r#"class="badge badge-info badge-new">New<"#).count(), 1, "{top}");
    assert!(top.contains("/files/2\"") && top.contains("/files/3\"") && !top.contains("/files/1\""), "{top}");
    assert!(previous.contains("Previous versions") && previous.contains("<strong>Release 1</strong>"), "{previous}");
    assert!(previous.contains("/files/1\"") && !previous.contains("/files/2\""), "{previous}");
    assert!(top.contains("Download all <span class=\"muted\">(ZIP · 2 files, "), "the latest release only: {top}");

    // The portal shows the same, with signed links.
    let cookie = sign_in(&app, &m, &email).await;
    let portal_page = || async { page(&app, &format!("/portal/{}", m.slug), &cookie).await.1 };
    let portal = portal_page().await;
    assert_no_script(&portal, "the portal");
    let (portal_previous, portal_top) = split_previous(&portal);
    assert!(portal_top.contains("<strong>2.0</strong>") && portal_top.contains("<li>Chapter 9</li>"), "{portal_top}");
    assert_eq!(portal_top.matches(">New<").count(), 1, "{portal_top}");
    assert_eq!(links(&portal_top, "/files/").len(), 2, "{portal_top}");
    let token_path = base.split_once("/d/").map(|(_, t)| format!("/d/{t}")).unwrap();
    let customer_pages = [format!("release-delivery={token_path}"), format!("release-portal=/portal/{}", m.slug)];
    screenshots(&app, "screenshot-customer.mjs", vec![cookie.clone()], &customer_pages).await;
    let old = links(&portal_previous, "/files/");
    assert_eq!(old.len(), 1, "{portal_previous}");
    assert_eq!(sha256_hex(&download(&app, &app.url(&old[0])).await), sha256_hex(&v1), "release 1 from the portal");

    // Downloading release 1 again leaves release 2 new; downloading a file of release 2 does not.
    let order_id = bought["id"].as_str().unwrap();
    assert_eq!(sha256_hex(&download(&app, &format!("{base}/files/1")).await), sha256_hex(&v1));
    flush_download_log(&app, &m, order_id, &format!("{base}/files/1")).await;
    assert!(delivery_page().await.contains(">New<"), "an old release's download is not the new one's");
    assert_eq!(sha256_hex(&download(&app, &format!("{base}/files/2")).await), sha256_hex(&v2));
    assert_eq!(download(&app, &format!("{base}/files/3")).await, extras);
    let html = wait_for_page("New goes once release 2 is downloaded", delivery_page, |h| !h.contains(">New<")).await;
    assert!(html.contains("<strong>2.0</strong>") && html.contains("Previous versions"), "{html}");
    assert!(!portal_page().await.contains(">New<"), "the portal reads the same log");

    // "Download all", by the email link and in the portal: release 2's files, exactly.
    let latest = json!([["guide.pdf", sha256_hex(&v2)], ["extras.txt", sha256_hex(&extras)]]);
    assert_eq!(zip_entries(&download(&app, &format!("{base}/zip")).await), latest);
    let portal_zip = links(&portal_page().await, "/zip/");
    assert_eq!(portal_zip.len(), 1);
    assert_eq!(zip_entries(&download(&app, &app.url(&portal_zip[0])).await), latest);

    // The merchant's order page: the releases the order owns, and the download log's release.
    let dashboard = Dashboard::sign_in(&app, &m).await;
    let (status, order_page) = dashboard.get(&format!("/dashboard/orders/{order_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(order_page.contains("Release 1: bought; Release 2 · 2.0: granted on "), "{order_page}");
    let log = &order_page[order_page.find("<h2>Downloads</h2>").unwrap()..];
    assert!(log.contains(r#"<div class="muted small">Release 2 · 2.0</div>"#), "{log}");
    assert!(log.contains(r#"<div class="muted small">Release 1</div>"#), "{log}");
    assert_no_script(&order_page, "the order page");

    // The product page's Releases card.
    let (_, product_page) = dashboard.get(&format!("/dashboard/products/{id}")).await;
    let card = &product_page[product_page.find("id=\"releases-heading\"").unwrap()..];
    assert!(card.contains("Published") && card.contains("All past buyers · granted to 1 past order<"), "{card}");
    assert!(card.contains("<li>Chapter 9</li>") && card.contains("Not published"), "{card}");
    // Release 1 was never published, but it was what buyers got before release 2: said so.
    assert!(card.contains("new buyers got it until release 2<"), "{card}");
    assert_no_script(&product_page, "the product page");
    let merchant = vec![crate::dashboard::owner_email(&m), crate::dashboard::PASSWORD.to_owned()];
    let pages =
        [format!("release-order=/dashboard/orders/{order_id}"), format!("release-product=/dashboard/products/{id}")];
    screenshots(&app, "screenshot-dashboard.mjs", merchant, &pages).await;
}

/// With `SATCHEL_SCREENSHOTS=/some/dir` (embedded stack only), saves screenshots of `pages`
/// (`name=/path`) at desktop and phone widths there, by `script` in tests/support given
/// `before` (a merchant's email and password, or a portal session cookie) ahead of the
/// out dir (the dashboard script) or after it (the customer script).
async fn screenshots(app: &TestApp, script: &str, before: Vec<String>, pages: &[String]) {
    let Ok(out) = std::env::var("SATCHEL_SCREENSHOTS") else { return };
    if app.stack != Stack::Embedded {
        return;
    }
    let support = std::env::var("SATCHEL_TEST_NODE_SUPPORT").expect("run with ./scripts/test");
    let mut args = vec![app.address.clone()];
    if script == "screenshot-customer.mjs" {
        args.push(out);
        args.extend(before);
    } else {
        args.extend(before);
        args.push(out);
    }
    args.extend(pages.iter().cloned());
    let path = std::path::Path::new(&support).join(script);
    let status = tokio::process::Command::new("node").arg(path).args(&args).status().await.expect("node");
    assert!(status.success(), "screenshots by {script}");
}

async fn an_order_of_one_plain_release_shows_no_versions(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Plain Press").await;
    let (a, b) = (file_bytes(40_000, 71), file_bytes(50_000, 72));
    let fa = upload(&app, &m, "a.pdf", "application/pdf", &a).await;
    let fb = upload(&app, &m, "b.pdf", "application/pdf", &b).await;
    let id = product(&app, &m, "Pair", json!({})).await;
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": [{"file_id": fa["id"]}, {"file_id": fb["id"]}]}))
        .await;
    let email = unique_address("bo");
    let plain = buy(&app, &m, &id, &email).await;
    let html = get(&app, &delivery_url(&plain)).await.text().await.unwrap();
    for absent in ["Previous versions", "release-head", ">New<", "Release 1"] {
        assert!(!html.contains(absent), "{absent} on a one-release order: {html}");
    }
    assert!(html.contains("Download all <span class=\"muted\">(ZIP · 2 files, "), "{html}");
    let cookie = sign_in(&app, &m, &email).await;
    let (_, portal) = page(&app, &format!("/portal/{}", m.slug), &cookie).await;
    for absent in ["Previous versions", "release-head", ">New<", "Release 1"] {
        assert!(!portal.contains(absent), "{absent} in the portal: {portal}");
    }

    // Published to future buyers with a label and a changelog: a new order shows them, with
    // nothing "New" (it bought the release) and no earlier version; the old order is unchanged.
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": [{"file_id": fb["id"]}]})).await;
    publish(&app, &m, &id, json!({"label": "1.1", "changelog": "Smaller download."})).await;
    let late = buy(&app, &m, &id, &unique_address("cy")).await;
    let html = get(&app, &delivery_url(&late)).await.text().await.unwrap();
    assert!(html.contains("<strong>1.1</strong>") && html.contains("<p>Smaller download.</p>"), "{html}");
    assert!(!html.contains("Previous versions") && !html.contains(">New<"), "{html}");
    let old = get(&app, &delivery_url(&plain)).await.text().await.unwrap();
    assert!(!old.contains("1.1") && !old.contains("Previous versions"), "{old}");
}

async fn in_a_browser_the_portal_shows_new_until_the_new_release_is_downloaded(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let m = app.merchant("Browser Press").await;
    let (v1, v2) = (file_bytes(80_000, 81), file_bytes(85_000, 82));
    let f1 = upload(&app, &m, "guide.pdf", "application/pdf", &v1).await;
    let f2 = upload(&app, &m, "guide-v2.pdf", "application/pdf", &v2).await;
    let id = product(&app, &m, "Field Guide", json!({})).await;
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": [{"file_id": f1["id"]}]})).await;
    let email = unique_address("eve");
    buy(&app, &m, &id, &email).await;
    let files = json!([{"file_id": f2["id"], "display_name": "guide.pdf"}]);
    set_delivery(&app, &m, &id, json!({"mode": "files", "files": files})).await;
    publish(&app, &m, &id, json!({"label": "2.0", "changelog": HOSTILE, "audience": "all"})).await;
    let cookie = sign_in(&app, &m, &email).await;

    let out = tempfile::tempdir().unwrap();
    let support = std::env::var("SATCHEL_TEST_NODE_SUPPORT").expect("run the tests with ./scripts/test");
    let run = tokio::process::Command::new("node")
        .arg("release_views.mjs")
        .current_dir(&support)
        .env("PORTAL_URL", app.url(&format!("/portal/{}", m.slug)))
        .env("COOKIE", &cookie)
        .env("OUT_DIR", out.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), run).await.expect("in time").unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!("release_views.mjs printed no JSON: {stdout} {}", String::from_utf8_lossy(&output.stderr))
    });
    assert!(output.status.success(), "a browser step failed: {}\nsteps done: {}", seen["error"], seen["steps"]);
    assert_eq!(seen["dialogs"], json!([]), "a changelog's script ran");
    assert_eq!(seen["newBadges"], 1, "{seen}");
    let changelog = seen["changelog"].as_str().unwrap();
    assert!(changelog.contains("Chapter 9") && changelog.contains("<script>alert('owned')</script>"), "{changelog}");
    assert_eq!((&seen["previousHiddenAtFirst"], &seen["previousShownWhenOpened"]), (&json!(true), &json!(true)));
    assert_eq!(seen["older"], json!({"suggested": "guide.pdf", "sha256": sha256_hex(&v1)}));
    assert_eq!(seen["newAfterOlder"], 1, "release 1's download leaves release 2 new");
    assert_eq!(seen["latest"], json!({"suggested": "guide.pdf", "sha256": sha256_hex(&v2)}));
    assert_eq!(seen["newAfterLatest"], 0, "New goes once release 2 is downloaded: {seen}");
}
