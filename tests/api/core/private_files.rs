//! The data directory (database, secrets, mailbox, local files) is readable by the service's
//! own user only.

use std::os::unix::fs::PermissionsExt;

use crate::fulfilment::{buy, shop};
use crate::helpers::{Stack, TestApp, eventually, files_below, on_both_stacks};

on_both_stacks!(nothing_in_the_data_directory_is_open_to_other_users);

async fn nothing_in_the_data_directory_is_open_to_other_users(stack: Stack) {
    let app = TestApp::spawn(stack).await;
    let shop = shop(&app, "Quiet Press", "guide.pdf", b"%PDF-1.4 private".to_vec()).await;
    buy(&app, &shop.m, &shop.product_id, "ada@example.com").await;
    let data = app.state.config.data_dir.clone();
    let mailbox = data.join("mailbox");
    eventually(crate::mail::WITHIN, "the purchase email is in the mailbox", || {
        let found = files_below(&mailbox).into_iter().find(|f| f.ends_with(".eml"));
        async move { found }
    })
    .await;

    let mut open = Vec::new();
    let mut seen = Vec::new();
    let mut dirs = vec![data.clone()];
    while let Some(dir) = dirs.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        seen.push(format!("{}/ {mode:o}", dir.strip_prefix(&data).unwrap().display()));
        if mode & 0o077 != 0 {
            open.push(dir.display().to_string());
        }
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            seen.push(format!("{} {mode:o}", path.strip_prefix(&data).unwrap().display()));
            if mode & 0o077 != 0 {
                open.push(format!("{} {mode:o}", path.display()));
            }
        }
    }
    let has = |part: &str| seen.iter().any(|s| s.contains(part));
    assert!(has("secrets.json") && has(".eml"), "{seen:#?}");
    if stack == Stack::Embedded {
        assert!(has("satchel.db-wal") && has("satchel.db-shm") && has("blobs/"), "{seen:#?}");
    }
    assert_eq!(open, Vec::<String>::new(), "open to group or others: {seen:#?}");
}
