//! Small objects written and read whole (shop logos), through the same store as the files, so
//! they work on local disk and S3 alike.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use super::Blobs;

impl Blobs {
    /// Stores `bytes` at `key` in one request. Keys are content addresses, so writing the same
    /// key again writes the same bytes.
    pub async fn put_small(&self, key: &str, bytes: Bytes) -> Result<(), object_store::Error> {
        self.store.put(&Path::from(key), PutPayload::from_bytes(bytes)).await.map(|_| ())
    }

    /// The whole object at `key`, or `None` when there is none.
    pub async fn get_small(&self, key: &str) -> Result<Option<Bytes>, object_store::Error> {
        match self.store.get(&Path::from(key)).await {
            Ok(found) => found.bytes().await.map(Some),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
