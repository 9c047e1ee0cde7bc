//! The merchant's whole journey in a real browser (Chromium driven by playwright-core through
//! `tests/support/products.mjs`): sign in, create a product, upload three files at once with
//! progress bars (one of 24 MiB), rename one, move one up, drag one by its number to the end,
//! "Update product". The API must then deliver the three files in the new order, with the new
//! name and the exact bytes. A fourth, large file is then uploaded on a slow connection: its
//! progress says bytes, speed and time left, and "Cancel upload" leaves nothing on the server. Then
//! (`tests/support/journey.mjs`): switch to an external link and back (the files are kept), turn
//! on test mode, see that a new draft product cannot be bought, buy
//! through the test checkout, find the order and its email in the Mailbox, resend it, revoke
//! access (the customer's link gives 404) and restore it (200 again).
//!
//! `SATCHEL_SCREENSHOTS=/some/dir` makes the script also save screenshots of the pages there.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{PASSWORD, owner_email};
use crate::helpers::{FileBytes, Stack, TestApp};

/// Writes `len` bytes of [`FileBytes`] to `path` a MiB at a time; returns their SHA-256.
fn write_file(path: &std::path::Path, len: u64, seed: u64) -> String {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("test file"));
    let mut bytes = FileBytes::new(len, seed);
    loop {
        let chunk = bytes.next_chunk(1 << 20);
        if chunk.is_empty() {
            break;
        }
        out.write_all(&chunk).expect("write test file");
    }
    out.flush().expect("flush test file");
    FileBytes::new(len, seed).sha256_hex()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_merchant_journey_in_a_browser() {
    let app = TestApp::spawn(Stack::Embedded).await;
    let merchant = app.merchant("Lighthouse Books").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let made = [("Chapter 1.pdf", 180_000, 11), ("Chapter 2.pdf", 1_200_000, 12), ("Audiobook.zip", 24 << 20, 13)];
    let mut paths = Vec::new();
    let mut sha = Vec::new();
    for (name, len, seed) in made {
        let path = dir.path().join(name);
        sha.push(write_file(&path, len, seed));
        paths.push(path.display().to_string());
    }

    let big = dir.path().join("Big Bundle.zip");
    write_file(&big, 24 << 20, 14);
    let mut args = vec![app.address.clone(), owner_email(&merchant), PASSWORD.to_owned()];
    args.extend(paths);
    args.push(big.display().to_string());
    let result = run_script("products.mjs", args).await;

    // What the page showed along the way.
    assert_eq!(result["counter"], "3 of 10 files", "{result}");
    let renamed = "Chapter 2 (revised).pdf";
    assert_eq!(result["renamed"], renamed, "typed without \".pdf\", the name keeps it");
    assert_eq!(result["order"], serde_json::json!(["Chapter 1.pdf", "Audiobook.zip", renamed]), "{result}");
    assert_eq!(result["focused"], "↑ Move up file 2", "the keyboard stays on the moved file's button");
    assert_eq!(result["dragged"], serde_json::json!(["Audiobook.zip", renamed, "Chapter 1.pdf"]), "{result}");
    assert_eq!(result["positions"], serde_json::json!(["1", "2", "3"]), "renumbered after the drag");
    assert_eq!(result["flash"], "Product updated. Changes apply to future purchases only.");

    // The cancelled upload: its progress said how far it was, and nothing of it was kept.
    let progress = result["progress_text"].as_str().unwrap();
    let (done, rest) = progress.split_once(" of 25 MB · ").unwrap_or_else(|| panic!("bytes of total: {progress}"));
    assert!(done.ends_with("MB") || done.ends_with("KB"), "{progress}");
    assert!(rest.contains("/s · ") && rest.ends_with(" left"), "speed and time left: {progress}");
    assert_eq!(result["uploading_count"], "4 of 10 files");
    assert_eq!(result["after_cancel"], "3 of 10 files", "the row went with the upload");
    // Only the kept files' objects remain (three, and a spare one when screenshots are taken):
    // no staging object, no unfinished upload, no "Big Bundle.zip".
    let listed = || async {
        let (_, files) = app.get_json(&merchant, "/files").await;
        let names: Vec<String> =
            files.as_array().unwrap().iter().map(|f| f["filename"].as_str().unwrap().to_owned()).collect();
        names
    };
    let kept = format!("m/{}/", merchant.id);
    crate::helpers::eventually(Duration::from_secs(20), "the cancelled upload is gone", || async {
        let names = listed().await;
        let left = app.leftovers().await;
        let only_kept = left.iter().all(|l| l.contains(&kept)) && app.stored_keys("").await.len() == names.len();
        (only_kept && names.len() >= 3 && !names.iter().any(|n| n == "Big Bundle.zip")).then_some(())
    })
    .await;

    // What the product now delivers, through the API.
    let id = result["product_id"].as_str().expect("product id");
    let (status, delivery) = app.get_json(&merchant, &format!("/products/{id}/delivery")).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(delivery["mode"], "files");
    let got: Vec<(String, String, i64)> = delivery["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap().to_owned();
            (text("display_name"), text("sha256"), f["size"].as_i64().unwrap())
        })
        .collect();
    let want = vec![
        ("Audiobook.zip".to_owned(), sha[2].clone(), 24 << 20),
        (renamed.to_owned(), sha[1].clone(), 1_200_000),
        ("Chapter 1.pdf".to_owned(), sha[0].clone(), 180_000),
    ];
    assert_eq!(got, want, "three files, dragged order, new name, same bytes");

    // The rest of the journey: link and back, test checkout, order, mailbox, resend, revoke, restore.
    let args = vec![app.address.clone(), owner_email(&merchant), PASSWORD.to_owned(), id.to_owned()];
    let journey = run_script("journey.mjs", args).await;
    assert_eq!(journey["link_saved"], "https://downloads.example.com/keeper", "{journey}");
    assert_eq!(journey["kept_count"], "3 of 10 files", "the files were kept while the link was delivered");
    assert_eq!(journey["file_count"], "3 of 10 files", "back to the three uploaded files: {journey}");
    assert_eq!(journey["kept_link"], "https://downloads.example.com/keeper", "and the link is kept too");
    assert_eq!(journey["draft_badge"], "Draft", "{journey}");
    assert_eq!(journey["draft_note"], "Add files or a link to put it on sale: until then it cannot be bought.");
    assert_eq!(journey["draft_checkout_links"], 0, "no test checkout offered for a draft");
    assert_eq!(journey["draft_checkout_status"], 422);
    let refusal = "\u{201c}Unfinished Draft\u{201d} has nothing to deliver yet, so it cannot be bought.";
    assert!(journey["draft_checkout_error"].as_str().unwrap().starts_with(refusal), "{journey}");
    assert_eq!(journey["draft_pay_buttons"], 0, "a draft cannot be bought");
    assert_eq!(journey["delivery_files"], 3, "the buyer's delivery page lists the three files");
    let delivery_url = journey["delivery_url"].as_str().unwrap();
    assert_eq!(journey["order_link"], delivery_url, "the order page shows the customer's link");
    assert_eq!(journey["mail_has_link"], true, "the email in the mailbox carries the link");
    assert_eq!(journey["resent"], "A new copy of the purchase email is on its way.");
    assert_eq!(journey["after_revoke"], 404, "revoked: the customer's link is dead at once");
    assert_eq!(journey["after_restore"], 200, "restored: it works again");
    let (_, orders) = app.get_json(&merchant, "/orders").await;
    let (_, order) = app.get_json(&merchant, &format!("/orders/{}", orders[0]["id"].as_str().unwrap())).await;
    let emails = &order["emails"];
    assert_eq!(emails.as_array().map(Vec::len), Some(2), "the purchase email and the resent copy: {emails}");
}

/// Runs `tests/support/{script}` with `args` (and `SATCHEL_SCREENSHOTS` as the last one when
/// set); returns the JSON it printed, after checking that every step passed.
pub(crate) async fn run_script(script: &str, mut args: Vec<String>) -> Value {
    let support = PathBuf::from(std::env::var("SATCHEL_TEST_NODE_SUPPORT").expect("run with ./scripts/test"));
    if let Ok(shots) = std::env::var("SATCHEL_SCREENSHOTS") {
        args.push(shots);
    }
    let run = tokio::process::Command::new("node").arg(support.join(script)).args(&args).kill_on_drop(true).output();
    let out = tokio::time::timeout(Duration::from_secs(240), run).await.expect("the script finishes").expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!("{script} prints JSON; got {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr))
    });
    assert_eq!(result["ok"], true, "a step of {script} failed: {result}");
    assert!(out.status.success());
    result
}
