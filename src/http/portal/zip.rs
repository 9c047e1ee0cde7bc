//! `GET /portal/{merchant}/zip/{order}?e=…&s=…` (and `/d/{token}/zip`, through [`archive`]):
//! every file of an order's latest releases as one ZIP, streamed
//! as it is made: no temporary file, never a whole file in memory, files stored as they are
//! (no recompression: they are mostly compressed already, and storing costs no CPU).
//!
//! async_zip writes each entry with a data descriptor (the CRC is known only at the end of a
//! file) and a zip64 extra field, so files over 4 GiB and archives over 4 GiB work. The writer
//! runs in its own task into a bounded pipe whose other end is the response body, so a slow
//! client slows the reading of the store down instead of filling memory.

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTime, ZipDateTimeBuilder, ZipEntryBuilder};
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use futures_util::{AsyncWriteExt, StreamExt};

use super::open_signed;
use crate::blobs::Blobs;
use crate::db::orders::{OrderDetail, OrderFile};
use crate::db::releases;
use crate::domain::{Millis, PortalTarget, archive_names, now_millis};
use crate::download_log::DownloadEvent;
use crate::http::order_links::client_of;
use crate::http::ranged::content_disposition;
use crate::http::{PageError, PageResult};
use crate::orders::versions::latest_only;
use crate::state::AppState;

/// Bytes in flight between the ZIP writer and the client.
const PIPE: usize = 256 * 1024;

/// `GET /portal/{merchant}/zip/{order}`
#[tracing::instrument(skip_all, fields(merchant_id = tracing::field::Empty, order_id = tracing::field::Empty))]
pub async fn download_all(
    State(state): State<AppState>,
    Path((slug, order_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    request: Request,
) -> PageResult {
    let (merchant, found) = open_signed(&state, &slug, &order_id, PortalTarget::Zip, query.as_deref()).await?;
    // Each item's latest release only: earlier ones are downloaded one by one.
    let owned = releases::owned_by(&state.db, &[found.order.id.as_str()]).await.map_err(PageError::internal)?;
    let detail = latest_only(&found, &owned);
    if detail.files.is_empty() {
        return Err(PageError::LinkNotFound);
    }
    if request.method() != Method::HEAD {
        // Nothing is read or logged to answer a HEAD.
        for event in archive_events(&detail, client_of(&request), false) {
            state.downloads.record(event).await;
        }
    }
    Ok(archive(&state.blobs, &merchant.slug, &detail, request.method() == Method::HEAD))
}

/// The "download all" answer for an order of shop `slug`: the ZIP of all its files, streamed
/// ([`stream_zip`]), or its headers only for a HEAD. Shared by the portal and the email link.
pub(crate) fn archive(blobs: &Blobs, slug: &str, detail: &OrderDetail, head: bool) -> Response {
    let reference = detail.order.id.rsplit('-').next().unwrap_or(&detail.order.id).to_uppercase();
    let filename = format!("{slug}-order-{reference}.zip");
    let mut response = if head {
        Response::new(Body::empty())
    } else {
        let names = archive_names(&detail.files.iter().map(|f| f.display_name.as_str()).collect::<Vec<_>>());
        let entries: Vec<(String, OrderFile)> = names.into_iter().zip(detail.files.iter().cloned()).collect();
        let modified = zip_date(detail.order.created_at);
        Response::new(Body::from_stream(stream_zip(blobs.clone(), entries, modified)))
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    headers.insert(header::CONTENT_DISPOSITION, content_disposition(&filename));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The download log's entries for one "download all" of `detail` by `(ip, user_agent)`: one
/// per file, whole. `counted` when it counts as a download of each file (the email link);
/// its count is then still to be written unless the order is capped (counted already).
pub(crate) fn archive_events(
    detail: &OrderDetail,
    (ip, user_agent): (String, String),
    counted: bool,
) -> Vec<DownloadEvent> {
    let increment = counted && detail.order.max_downloads_per_file.is_none();
    detail
        .files
        .iter()
        .map(|file| DownloadEvent {
            order_id: detail.order.id.clone(),
            file_position: Some(file.position),
            item_position: Some(file.item_position),
            at: now_millis(),
            ip: ip.clone(),
            user_agent: user_agent.clone(),
            status: 200,
            range_start: None,
            bytes_requested: file.size,
            counted,
            increment,
            release_number: file.release_number,
        })
        .collect()
}

/// The ZIP of `entries` (name in the archive, file) as a byte stream. A failure part-way ends
/// the stream with an error, so the client sees a broken download rather than a short ZIP.
pub fn stream_zip(
    blobs: Blobs,
    entries: Vec<(String, OrderFile)>,
    modified: ZipDateTime,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    let (writer, reader) = tokio::io::duplex(PIPE);
    let task = tokio::spawn(write_zip(blobs, entries, modified, writer));
    let end = futures_util::stream::once(async move {
        match task.await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "a ZIP download stopped part-way");
                Some(Err(e))
            }
            Err(e) => Some(Err(std::io::Error::other(e))),
        }
    })
    .filter_map(std::future::ready);
    tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024).chain(end)
}

async fn write_zip(
    blobs: Blobs,
    entries: Vec<(String, OrderFile)>,
    modified: ZipDateTime,
    out: tokio::io::DuplexStream,
) -> std::io::Result<()> {
    let zip_error = |e: async_zip::error::ZipError| std::io::Error::other(e);
    let mut zip = ZipFileWriter::with_tokio(out);
    for (name, file) in entries {
        let entry = ZipEntryBuilder::new(name.into(), Compression::Stored)
            .last_modification_date(modified)
            .unix_permissions(0o100644);
        let mut entry_writer = zip.write_entry_stream(entry).await.map_err(zip_error)?;
        let size = file.size as u64;
        let mut bytes = blobs.read(&file.storage_key, size, 0..size).await?;
        while let Some(chunk) = bytes.next().await {
            entry_writer.write_all(&chunk?).await?;
        }
        entry_writer.close().await.map_err(zip_error)?;
    }
    // Dropping the pipe's write end (returned by close) ends the response body.
    zip.close().await.map_err(zip_error)?;
    Ok(())
}

/// The order's payment time as a ZIP timestamp (UTC; ZIP has no time zone).
fn zip_date(at: Millis) -> ZipDateTime {
    let t = time::OffsetDateTime::from_unix_timestamp(at / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    ZipDateTimeBuilder::new()
        .year(t.year())
        .month(u8::from(t.month()) as u32)
        .day(t.day() as u32)
        .hour(t.hour() as u32)
        .minute(t.minute() as u32)
        .second(t.second() as u32)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, StorageBackend};

    /// Builds a ZIP of two small files (one with a clashing, unsafe name) through the real
    /// writer and checks it with Python's zipfile: contents, CRCs, names and zip64 records.
    #[tokio::test]
    async fn python_reads_the_streamed_zip_with_zip64_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
        config.storage.backend = StorageBackend::Local;
        let blobs = Blobs::from_config(&config).unwrap();
        let mut entries = Vec::new();
        let names = archive_names(&["guide.pdf", "../guide.pdf", "notes.txt"]);
        for (i, (name, body)) in names.into_iter().zip(["first", "second file", ""]).enumerate() {
            let staged = blobs
                .stage(futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(body))]))
                .await
                .unwrap();
            let sha = staged.sha256.clone();
            let key = blobs.keep(staged, "m").await.unwrap();
            let file = OrderFile {
                position: i as i64 + 1,
                item_position: 1,
                blob_id: String::new(),
                display_name: name.clone(),
                size: body.len() as i64,
                content_type: "text/plain".into(),
                sha256: sha,
                storage_key: key,
                download_count: 0,
                release_number: Some(1),
            };
            entries.push((name, file));
        }
        let mut zip = Vec::new();
        let mut stream = Box::pin(stream_zip(blobs, entries, zip_date(1_800_000_000_000)));
        while let Some(chunk) = stream.next().await {
            zip.extend_from_slice(&chunk.unwrap());
        }
        let path = dir.path().join("all.zip");
        std::fs::write(&path, &zip).unwrap();
        let check = "import sys, zipfile\n\
            z = zipfile.ZipFile(sys.argv[1])\n\
            assert z.testzip() is None\n\
            print([(i.filename, z.read(i).decode(), i.compress_type, i.date_time[0]) for i in z.infolist()])\n";
        let out = std::process::Command::new("python3").arg("-c").arg(check).arg(&path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let listed = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            listed.trim(),
            "[('guide.pdf', 'first', 0, 2027), ('guide (2).pdf', 'second file', 0, 2027), ('notes.txt', '', 0, 2027)]"
        );
        // Zip64 end of central directory record and locator, and a zip64 extra field (0x0001).
        let has = |needle: &[u8]| zip.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"PK\x06\x06") && has(b"PK\x06\x07"), "zip64 end records");
        assert!(has(&[0x01, 0x00, 0x18, 0x00]) || has(&[0x01, 0x00, 0x10, 0x00]), "zip64 extra fields");
    }
}
