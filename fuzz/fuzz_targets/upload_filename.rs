//! Upload file names: `?filename=` of a raw upload and the file names of multipart parts are
//! read as `POST /api/v1/files` reads them, checked as an upload's name, then offered back in
//! Content-Disposition. Never a panic; an accepted name is valid UTF-8 without control
//! characters and always yields a full, ASCII header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::domain::DisplayName;
use satchel::http::fuzzing::{multipart_filenames, upload_filename};
use satchel::http::ranged::content_disposition;

fn offered(name: &DisplayName) {
    assert!(!name.as_str().chars().any(char::is_control), "{:?}", name.as_str());
    let header = content_disposition(name.as_str());
    let text = header.to_str().expect("Content-Disposition is ASCII");
    assert!(text.starts_with("attachment; filename=\""), "the name is kept: {text}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 != 0 {
        // Multipart: the boundary up to the first newline, then the whole request body.
        let (boundary, body) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        let content_type = format!("multipart/form-data; boundary={}", String::from_utf8_lossy(boundary));
        if let Ok(names) = multipart_filenames(&content_type, body.to_vec()) {
            names.iter().flatten().for_each(offered);
        }
        return;
    }
    // A raw upload's query string (the server hands over the raw, still-encoded text).
    let Ok(query) = std::str::from_utf8(rest) else { return };
    if let Ok(Some(filename)) = upload_filename(Some(query)) {
        if let Ok(name) = DisplayName::parse("filename", &filename) {
            offered(&name);
        }
    }
});
