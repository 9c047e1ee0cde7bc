//! The local store's disk full during an upload: 507, nothing kept, and the next upload that
//! fits works. The disk is a real one of 1 MiB (a tmpfs mounted for the test: the tests run as
//! root, as on CI), so the error is the kernel's own ENOSPC.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Stack, TestApp, file_bytes, files_below};

/// A tmpfs of 1 MiB mounted on a fresh folder, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// None when this process may not mount (not root).
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "satchel-test-full", dir.path().to_str().unwrap()])
            .status()
            .ok()?;
        status.success().then_some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_507_and_keeps_nothing() {
    // A real full disk, not a simulation: the test command runs as root (it installs packages),
    // so a 1 MiB tmpfs can be mounted; without root this fails rather than pass untested.
    let disk = SmallDisk::mount().expect("mounting a 1 MiB tmpfs (needs root, as ./scripts/test has)");
    let blobs = disk.dir.path().join("blobs");
    let app = TestApp::spawn_with(Stack::Embedded, |c| c.storage.path = Some(blobs.clone())).await;
    let m = app.merchant("Full Disk").await;
    let upload = |bytes: Vec<u8>| {
        app.api(&m, Method::POST, "/files")
            .query(&[("filename", "Big.pdf")])
            .header("content-type", "application/pdf")
            .body(bytes)
            .send()
    };

    let refused = upload(file_bytes(3 * 1024 * 1024, 61)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::INSUFFICIENT_STORAGE);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "insufficient_storage", "{error}");
    assert_eq!(files_below(&blobs), Vec::<String>::new(), "nothing partial left on the disk");
    assert_eq!(app.get_json(&m, "/files").await.1, Value::Array(vec![]), "nothing listed");

    // Multipart, all or nothing: the first file fits, the second fills the disk; neither is kept.
    let form = reqwest::multipart::Form::new()
        .part("a", reqwest::multipart::Part::bytes(file_bytes(300_000, 63)).file_name("Fits.pdf"))
        .part("b", reqwest::multipart::Part::bytes(file_bytes(1_500_000, 64)).file_name("Big.pdf"));
    let refused = app.api(&m, Method::POST, "/files").multipart(form).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(files_below(&blobs), Vec::<String>::new(), "nothing partial left on the disk");
    assert_eq!(app.get_json(&m, "/files").await.1, Value::Array(vec![]), "nothing listed");

    let fits = upload(file_bytes(200_000, 62)).await.unwrap();
    assert_eq!(fits.status(), StatusCode::CREATED, "the disk has room again once the refused upload is gone");
    drop(app);
}
