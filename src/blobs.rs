//! Where uploaded files live: an [`ObjectStore`] (local folder, S3-compatible, or memory).
//!
//! Uploads stream into a staging object while their SHA-256 is computed, so memory does not
//! grow with the file; the staging object only becomes a real blob (content-addressed per
//! merchant: `m/{merchant}/{sha256}`) once the body is complete and within the size limit.
//! A cut-off or oversized upload is aborted and leaves nothing behind.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::config::{Config, StorageBackend};

mod offload;
mod paced;
mod small;

pub use offload::{Presented, lifetime as presigned_lifetime};

/// Multipart part size: S3's minimum, so an upload holds at most a few parts in memory.
const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts in flight at once while uploading.
const PARTS_IN_FLIGHT: usize = 2;

/// A stream of file bytes on their way to a client.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// The blob store.
#[derive(Clone, Debug)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// Set for the local backend: downloads read the files directly, with large reads.
    local_root: Option<PathBuf>,
    max_upload_bytes: u64,
    /// Whole small files, by key. Keys are content addresses, so an entry can never be stale.
    small_files: Arc<std::sync::Mutex<SmallFiles>>,
    /// Set when downloads are offloaded to the S3 store (`[storage.s3] offload`).
    offload: Option<offload::Offload>,
}

/// Small files kept in memory: serving one then costs no file system call at all.
#[derive(Debug, Default)]
struct SmallFiles {
    files: std::collections::HashMap<String, Bytes>,
    bytes: usize,
}

/// Files up to this size are kept in memory once read.
const SMALL_FILE: u64 = 256 * 1024;
/// Memory for small files; when full the cache starts over (cheap, and hot files return at once).
const SMALL_FILES_BUDGET: usize = 32 * 1024 * 1024;

/// An upload that arrived whole and is waiting to be kept or discarded.
#[derive(Debug)]
pub struct Staged {
    key: Path,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// Why an upload was not stored. In every case nothing is left behind.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The body was larger than the configured limit.
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The client's body ended in an error (connection dropped).
    #[error("the upload was cut off: {0}")]
    CutOff(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] object_store::Error),
}

impl Blobs {
    /// The store the configuration names; creates the local folder if needed.
    pub fn from_config(config: &Config) -> anyhow::Result<Blobs> {
        let storage = &config.storage;
        let mut offloaded = None;
        let (store, local_root): (Arc<dyn ObjectStore>, _) = match storage.backend {
            StorageBackend::Local => {
                let root = config.blob_dir();
                std::fs::create_dir_all(&root)?;
                let root = std::fs::canonicalize(&root)?;
                (Arc::new(LocalFileSystem::new_with_prefix(&root)?.with_automatic_cleanup(true)), Some(root))
            }
            StorageBackend::S3 => {
                let s3 = &storage.s3;
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(if s3.region.is_empty() { "us-east-1" } else { &s3.region })
                    .with_access_key_id(&s3.access_key_id)
                    .with_secret_access_key(s3.secret_access_key.expose())
                    .with_allow_http(s3.allow_http)
                    .with_retry(store_retries());
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
                }
                let s3 = Arc::new(builder.build()?);
                if storage.s3.offload {
                    offloaded = Some(offload::Offload { s3: s3.clone() });
                }
                (s3, None)
            }
            StorageBackend::Memory => (Arc::new(InMemory::new()), None),
        };
        let max_upload_bytes = storage.max_upload_bytes;
        Ok(Blobs { store, local_root, max_upload_bytes, small_files: Default::default(), offload: offloaded })
    }

    /// Whether downloads are answered with a presigned URL of the store (S3 with `offload`).
    pub fn offloads(&self) -> bool {
        self.offload.is_some()
    }

    /// A presigned GET of the blob at `key` (`size` bytes), answered by the store with
    /// `presented`'s headers and valid for [`presigned_lifetime`]; `None` without offload.
    pub async fn presigned_download(
        &self,
        key: &str,
        size: u64,
        presented: Presented<'_>,
    ) -> Result<Option<url::Url>, object_store::Error> {
        match &self.offload {
            Some(offload) => offload.url(key, size, presented).await.map(Some),
            None => Ok(None),
        }
    }

    /// The largest upload accepted, in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_bytes
    }

    /// Streams `body` into a staging object, hashing and counting as it goes.
    pub async fn stage<S, E>(&self, body: S) -> Result<Staged, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let key = Path::from(format!("staging/{}", uuid::Uuid::new_v4()));
        let upload = self.store.put_multipart(&key).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut body = std::pin::pin!(body);
        let failure = loop {
            match body.next().await {
                None => break None,
                Some(Err(e)) => break Some(UploadError::CutOff(e.to_string())),
                Some(Ok(chunk)) => {
                    size += chunk.len() as u64;
                    if size > self.max_upload_bytes {
                        break Some(UploadError::TooLarge { limit: self.max_upload_bytes });
                    }
                    hasher.update(&chunk);
                    writer.put(chunk);
                    if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                        break Some(e.into());
                    }
                }
            }
        };
        if let Some(error) = failure {
            if let Err(e) = writer.abort().await {
                tracing::warn!(error = %e, key = %key, "could not abort a failed upload");
            }
            return Err(error);
        }
        writer.finish().await?;
        Ok(Staged { key, sha256: hex::encode(hasher.finalize()), size })
    }

    /// The content-addressed key of a merchant's blob.
    pub fn key_for(merchant_id: &str, sha256: &str) -> String {
        format!("m/{merchant_id}/{sha256}")
    }

    /// Moves a staged upload to its content-addressed key and returns that key. If the key
    /// already exists it holds the same bytes, so overwriting it is harmless.
    pub async fn keep(&self, staged: Staged, merchant_id: &str) -> Result<String, object_store::Error> {
        let key = Self::key_for(merchant_id, &staged.sha256);
        self.store.rename(&staged.key, &Path::from(key.as_str())).await?;
        Ok(key)
    }

    /// Whether the object at `key` is stored.
    pub async fn exists(&self, key: &str) -> Result<bool, object_store::Error> {
        match self.store.head(&Path::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Drops a staged upload (its content is already stored).
    pub async fn discard(&self, staged: Staged) {
        if let Err(e) = self.store.delete(&staged.key).await {
            tracing::warn!(error = %e, key = %staged.key, "could not delete a staged upload");
        }
    }

    /// Streams `range` of a blob of `size` bytes. Small files are read whole once and then
    /// served from memory.
    pub async fn read(&self, key: &str, size: u64, range: Range<u64>) -> std::io::Result<ByteStream> {
        if size <= SMALL_FILE {
            let whole = self.small_file(key, size).await?;
            let part = whole.slice(range.start as usize..(range.end.min(size)) as usize);
            return Ok(futures_util::stream::once(async move { Ok(part) }).boxed());
        }
        self.read_range(key, range).await
    }

    async fn small_file(&self, key: &str, size: u64) -> std::io::Result<Bytes> {
        if let Some(bytes) = self.small_files.lock().expect("cache lock").files.get(key) {
            return Ok(bytes.clone());
        }
        let mut whole = bytes::BytesMut::with_capacity(size as usize);
        let mut stream = self.read_range(key, 0..size).await?;
        while let Some(chunk) = stream.next().await {
            whole.extend_from_slice(&chunk?);
        }
        let whole = whole.freeze();
        let mut cache = self.small_files.lock().expect("cache lock");
        if cache.bytes + whole.len() > SMALL_FILES_BUDGET {
            cache.files.clear();
            cache.bytes = 0;
        }
        cache.bytes += whole.len();
        cache.files.insert(key.to_owned(), whole.clone());
        Ok(whole)
    }

    async fn read_range(&self, key: &str, range: Range<u64>) -> std::io::Result<ByteStream> {
        if let Some(root) = &self.local_root {
            return read_local(root.join(key), range).await;
        }
        if range.is_empty() {
            return Ok(futures_util::stream::empty().boxed());
        }
        let options = GetOptions { range: Some(GetRange::Bounded(range)), ..Default::default() };
        let result = self.store.get_opts(&Path::from(key), options).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => std::io::Error::new(std::io::ErrorKind::NotFound, e),
            e => std::io::Error::other(e),
        })?;
        Ok(result.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// Deletes a blob's object.
    pub async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        {
            let mut cache = self.small_files.lock().expect("cache lock");
            if let Some(bytes) = cache.files.remove(key) {
                cache.bytes -= bytes.len();
            }
        }
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether the store answers (a missing object is a fine answer), for `/readyz`.
    pub async fn check(&self) -> Result<(), object_store::Error> {
        match self.store.head(&Path::from("readyz-probe")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes staging objects left by a process that died mid-upload more than a day ago.
    pub async fn remove_stale_uploads(&self) -> Result<usize, object_store::Error> {
        let cutoff = crate::domain::now_millis() / 1000 - 86_400;
        let stale: Vec<Path> = self
            .store
            .list(Some(&Path::from("staging")))
            .try_filter(|meta| futures_util::future::ready(meta.last_modified.timestamp() < cutoff))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        for key in &stale {
            self.store.delete(key).await?;
        }
        Ok(stale.len())
    }

    /// Lists every key under `prefix` (tests and operators checking what is stored).
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, object_store::Error> {
        self.store.list(Some(&Path::from(prefix))).map_ok(|m| m.location.to_string()).try_collect().await
    }
}

/// How the S3 client retries a failed request: a few quick tries, then the error, so that a
/// store that is down is answered 503 within seconds (object_store's default retries for up to
/// three minutes, holding the client all that time).
fn store_retries() -> object_store::RetryConfig {
    let backoff = object_store::BackoffConfig {
        init_backoff: std::time::Duration::from_millis(100),
        max_backoff: std::time::Duration::from_secs(1),
        base: 2.0,
    };
    object_store::RetryConfig { backoff, max_retries: 3, retry_timeout: std::time::Duration::from_secs(10) }
}

/// Ranges up to this size are read in one go, in one blocking task: small files want one read.
const ONE_READ: u64 = 256 * 1024;

/// Streams part of a local file with reads sized to the client's pace (object_store's local
/// stream uses small ones).
async fn read_local(path: PathBuf, range: Range<u64>) -> std::io::Result<ByteStream> {
    if range.end - range.start <= ONE_READ {
        let bytes = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Seek};
            let mut file = std::fs::File::open(&path)?;
            file.seek(std::io::SeekFrom::Start(range.start))?;
            let mut buf = vec![0; (range.end - range.start) as usize];
            file.read_exact(&mut buf)?;
            Ok::<_, std::io::Error>(Bytes::from(buf))
        })
        .await
        .map_err(std::io::Error::other)??;
        return Ok(futures_util::stream::once(async move { Ok(bytes) }).boxed());
    }
    paced::stream(path, range).await
}
