//! Storage offload (`[storage.s3] offload = true`): a download is answered with a presigned GET
//! URL of the store, so the file's bytes go from the store to the customer without passing
//! through Satchel.
//!
//! object_store's `Signer::signed_url_opts` folds extra query parameters into the SigV4
//! signature, so the URL can carry `response-content-disposition` and `response-content-type`
//! (the name and type the customer's browser sees) without their being editable.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};

/// Time every presigned URL gets on top of the transfer time: enough to follow the redirect
/// and for a download manager to open its connections.
const BASE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// The slow rate the transfer time is reckoned at: 1 Mbit/s (a poor mobile line).
const SLOW_BYTES_PER_SECOND: u64 = 128 * 1024;
/// The longest a SigV4 presigned URL may last (S3 refuses longer ones).
const MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long the presigned URL of a file of `size` bytes lasts: five minutes plus the time to
/// fetch the whole file at 1 Mbit/s (so a slow client can still resume against it), at most
/// S3's 7 days. A 1 GiB file gets 2 h 22 min.
pub fn lifetime(size: u64) -> Duration {
    let transfer = Duration::from_secs(size.div_ceil(SLOW_BYTES_PER_SECOND));
    BASE_LIFETIME.saturating_add(transfer).min(MAX_LIFETIME)
}

/// What the store must answer a presigned download with: the headers Satchel would send.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// `Content-Disposition` (attachment, RFC 6266 with the ASCII fallback).
    pub content_disposition: &'a str,
    /// `Content-Type`, the stored media type.
    pub content_type: &'a str,
}

/// Signs download URLs for the objects of one S3 bucket.
#[derive(Debug, Clone)]
pub(super) struct Offload {
    pub(super) s3: Arc<AmazonS3>,
}

impl Offload {
    /// A GET of `key` (`size` bytes) that the store answers with `presented`'s headers, valid
    /// for [`lifetime`]`(size)`.
    pub(super) async fn url(
        &self,
        key: &str,
        size: u64,
        presented: Presented<'_>,
    ) -> Result<url::Url, object_store::Error> {
        let options = SignedUrlOptions::default().with_query([
            ("response-content-disposition", presented.content_disposition),
            ("response-content-type", presented.content_type),
        ]);
        self.s3.signed_url_opts(Method::GET, &Path::from(key), lifetime(size), &options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::Blobs;
    use crate::config::{Config, Secret, StorageBackend};

    fn s3_config(offload: bool) -> Config {
        let mut config = Config::default();
        config.storage.backend = StorageBackend::S3;
        let s3 = &mut config.storage.s3;
        s3.endpoint = Some("http://127.0.0.1:9000".into());
        (s3.bucket, s3.region, s3.access_key_id) = ("files".into(), "eu-west-1".into(), "key".into());
        s3.secret_access_key = Secret("secret".into());
        s3.allow_http = true;
        s3.offload = offload;
        config
    }

    #[tokio::test]
    async fn the_url_is_the_configured_endpoint_path_style_with_signed_overrides() {
        let presented =
            Presented { content_disposition: "attachment; filename=\"a b.pdf\"", content_type: "application/pdf" };
        let blobs = Blobs::from_config(&s3_config(true)).unwrap();
        assert!(blobs.offloads());
        let url = blobs.presigned_download("m/1/abc", 1 << 30, presented).await.unwrap().expect("a URL");
        assert_eq!((url.host_str(), url.port(), url.path()), (Some("127.0.0.1"), Some(9000), "/files/m/1/abc"));
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["response-content-disposition"], presented.content_disposition);
        assert_eq!(query["response-content-type"], "application/pdf");
        assert_eq!(query["X-Amz-Expires"], (300 + 8192).to_string());
        assert!(query["X-Amz-Credential"].starts_with("key/") && query["X-Amz-Credential"].contains("/eu-west-1/s3/"));

        let streaming = Blobs::from_config(&s3_config(false)).unwrap();
        assert!(!streaming.offloads());
        assert!(streaming.presigned_download("m/1/abc", 10, presented).await.unwrap().is_none());
        let mut memory = s3_config(true);
        memory.storage.backend = StorageBackend::Memory;
        assert!(!Blobs::from_config(&memory).unwrap().offloads(), "only S3 offloads");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
    fn offload_is_off_unless_asked_for() {
        figment::Jail::expect_with(|jail| {
            let file = std::path::Path::new("satchel.toml");
            assert!(!Config::load(file).expect("config loads").storage.s3.offload);
            jail.set_env("SATCHEL__STORAGE__S3__OFFLOAD", "true");
            assert!(Config::load(file).expect("config loads").storage.s3.offload);
            Ok(())
        });
    }

    #[test]
    fn lifetime_grows_with_the_size_up_to_seven_days() {
        assert_eq!(lifetime(0), Duration::from_secs(300));
        assert_eq!(lifetime(1), Duration::from_secs(301));
        assert_eq!(lifetime(1 << 30), Duration::from_secs(300 + 8192));
        assert_eq!(lifetime(u64::MAX), MAX_LIFETIME);
        assert_eq!(lifetime(100 * (1 << 30)), MAX_LIFETIME, "100 GiB would take longer than 7 days");
    }
}
