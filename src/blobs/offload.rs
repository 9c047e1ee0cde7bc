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

    #[test]
    fn lifetime_grows_with_the_size_up_to_seven_days() {
        assert_eq!(lifetime(0), Duration::from_secs(300));
        assert_eq!(lifetime(1), Duration::from_secs(301));
        assert_eq!(lifetime(1 << 30), Duration::from_secs(300 + 8192));
        assert_eq!(lifetime(u64::MAX), MAX_LIFETIME);
        assert_eq!(lifetime(100 * (1 << 30)), MAX_LIFETIME, "100 GiB would take longer than 7 days");
    }
}
