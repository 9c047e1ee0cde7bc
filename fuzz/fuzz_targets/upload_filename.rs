//! `?filename=` of a raw upload: the query string is decoded as the API does, the name checked
//! as an upload's, then offered back in Content-Disposition: never a panic, always a valid header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::domain::DisplayName;
use satchel::http::ranged::content_disposition;

fuzz_target!(|query: &str| {
    let Ok(uri) = http::Uri::try_from(format!("/api/v1/files?{query}")) else {
        return;
    };
    let Some(filename) = satchel::http::fuzzing::upload_filename(&uri) else {
        return;
    };
    if let Ok(name) = DisplayName::parse("filename", &filename) {
        let header = content_disposition(name.as_str());
        assert!(header.to_str().is_ok(), "Content-Disposition is ASCII");
    }
});
