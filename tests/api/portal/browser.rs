//! The whole journey in Chromium, as a customer would take it: the code comes by real SMTP
//! (maildev), the downloads land on disk, and signing out ends the session for good.

use reqwest::StatusCode;
use serde_json::Value;

use super::{page, purchase, shop, signed_in};
use crate::helpers::{Stack, TestApp, on_both_stacks, sha256_hex};
use crate::mail::{Maildev, send_to, smtp_port, unique_address};

on_both_stacks!(portal_in_a_browser_from_code_to_zip_to_sign_out);

async fn portal_in_a_browser_from_code_to_zip_to_sign_out(stack: Stack) {
    let app = TestApp::spawn_with(stack, |c| send_to(c, smtp_port())).await;
    let shop = shop(&app, "Acme Books").await;
    let email = unique_address("browser");
    purchase(&app, &shop, &email).await;
    purchase(&app, &shop, &email).await;
    Maildev::shared().wait_for(&email, 2).await; // the two purchase emails

    let out = tempfile::tempdir().unwrap();
    let support = std::env::var("SATCHEL_TEST_NODE_SUPPORT").expect("run the tests with ./scripts/test");
    let run = tokio::process::Command::new("node")
        .arg("portal.mjs")
        .current_dir(&support)
        .env("PORTAL_URL", app.url("/portal/acme-books"))
        .env("EMAIL", &email)
        .env("MAILDEV_URL", std::env::var("SATCHEL_TEST_MAILDEV_URL").unwrap())
        .env("OUT_DIR", out.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), run).await.expect("in time").unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| panic!("portal.mjs printed no JSON: {stdout} {}", String::from_utf8_lossy(&output.stderr)));
    assert!(output.status.success(), "a browser step failed: {}\nsteps done: {}", result["error"], result["steps"]);

    // The email: code and magic link in both parts.
    let text = result["email"]["text"].as_str().unwrap();
    assert!(result["email"]["subject"].as_str().unwrap().ends_with("is your code to sign in to Acme Books"));
    assert!(text.contains(&app.url("/portal/acme-books/sign-in/")), "{text}");
    assert!(result["email"]["html"].as_str().unwrap().contains("/portal/acme-books/sign-in/"));

    assert_eq!(result["purchases"], 2, "two purchases from two payments: {}", result["pageText"]);
    assert_eq!(result["file"]["suggested"], "guide.pdf");
    assert_eq!(result["file"]["sha256"], sha256_hex(&shop.pdf).as_str(), "the downloaded file is the file");

    let zip = result["zip"]["path"].as_str().unwrap();
    assert!(result["zip"]["suggested"].as_str().unwrap().ends_with(".zip"));
    let check = "import sys, zipfile, hashlib, json\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        assert z.testzip() is None\n\
        print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))\n";
    let listed = std::process::Command::new("python3").arg("-c").arg(check).arg(zip).output().unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let expected = serde_json::json!({"guide.pdf": sha256_hex(&shop.pdf), "notes.txt": sha256_hex(&shop.notes)});
    assert_eq!(listed, expected);

    // Signed out in the browser, and the session is over on the server: the old cookie is dead.
    assert_eq!(result["signedOut"], true);
    let cookie = &result["cookie"];
    assert_eq!(cookie["httpOnly"], true);
    assert_eq!(cookie["sameSite"], "Lax");
    assert_eq!(cookie["path"], "/portal/acme-books");
    let old = format!("satchel_portal={}", cookie["value"].as_str().unwrap());
    let (status, html) = page(&app, "/portal/acme-books", &old).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!signed_in(&html), "the old cookie no longer signs in");
}
