//! Reading a local file for a download, each read sized to how fast the client takes the bytes.
//!
//! A fast client gets large reads (what makes file serving fast); a slow one gets small ones, so
//! a thousand slow readers do not each hold a large chunk that leaves their socket a few
//! kilobytes at a time. Reads go straight into the buffer that is sent (no second copy, and no
//! buffer kept between reads, unlike `tokio::fs::File`).

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::time::{Duration, Instant};

use super::ByteStream;

/// The largest read, for clients that keep up.
pub const MAX_CHUNK: usize = 128 * 1024;
/// The smallest read, for slow clients.
pub const MIN_CHUNK: usize = 16 * 1024;
/// The client's pace is measured over windows at least this long.
const WINDOW: Duration = Duration::from_millis(100);
/// A read holds about this much of the client's time (`rate / CHUNK_PER_SECOND` bytes).
const CHUNK_PER_SECOND: u64 = 32;

/// The size of the next read, from the pace of the client.
#[derive(Debug)]
pub struct Pace {
    chunk: usize,
    window_start: Instant,
    window_bytes: u64,
}

impl Pace {
    /// A fresh download starts between the two sizes, until its first window is measured.
    pub fn new(now: Instant) -> Pace {
        Pace { chunk: MAX_CHUNK / 2, window_start: now, window_bytes: 0 }
    }

    /// The size of the read asked for at `now` (the client has taken what it was given).
    pub fn next_chunk(&mut self, now: Instant) -> usize {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed >= WINDOW {
            let per_second = self.window_bytes.saturating_mul(1000) / (elapsed.as_millis().max(1) as u64);
            let wanted = usize::try_from(per_second / CHUNK_PER_SECOND).unwrap_or(MAX_CHUNK);
            self.chunk = wanted.next_power_of_two().clamp(MIN_CHUNK, MAX_CHUNK);
            self.window_start = now;
            self.window_bytes = 0;
        }
        self.chunk
    }

    /// `n` bytes went to the client.
    pub fn sent(&mut self, n: usize) {
        self.window_bytes += n as u64;
    }
}

/// Streams `range` of the file at `path`.
pub async fn stream(path: PathBuf, range: Range<u64>) -> std::io::Result<ByteStream> {
    let start = range.start;
    let file = tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path)?;
        if start > 0 {
            file.seek(SeekFrom::Start(start))?;
        }
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(std::io::Error::other)??;
    let state = Some((file, range.end - range.start, Pace::new(Instant::now())));
    let stream = futures_util::stream::unfold(state, |state| async move {
        let (file, left, mut pace) = state?;
        if left == 0 {
            return None;
        }
        let want = (pace.next_chunk(Instant::now()) as u64).min(left);
        match read_chunk(file, want).await {
            Ok((file, bytes)) if !bytes.is_empty() => {
                pace.sent(bytes.len());
                let left = left - bytes.len() as u64;
                Some((Ok(bytes), Some((file, left, pace))))
            }
            // The file is shorter than its record says: end with an error, not a short body.
            Ok(_) => Some((Err(std::io::ErrorKind::UnexpectedEof.into()), None)),
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(stream.boxed())
}

/// Reads up to `want` bytes (fewer only at the end of the file) in a blocking task.
async fn read_chunk(file: std::fs::File, want: u64) -> std::io::Result<(std::fs::File, Bytes)> {
    tokio::task::spawn_blocking(move || {
        let mut buf = Vec::with_capacity(want as usize);
        let mut limited = file.take(want);
        limited.read_to_end(&mut buf)?;
        Ok((limited.into_inner(), Bytes::from(buf)))
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_client_gets_large_reads_and_a_slow_one_small_reads() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0);
        assert_eq!(pace.next_chunk(t0), MAX_CHUNK / 2);
        pace.sent(64 * 1024 * 1024);
        assert_eq!(pace.next_chunk(t0 + Duration::from_millis(100)), MAX_CHUNK);
        // 64 KiB/s: the smallest reads.
        pace.sent(6 * 1024);
        assert_eq!(pace.next_chunk(t0 + Duration::from_millis(200)), MIN_CHUNK);
        // 2 MiB/s: 64 KiB reads.
        pace.sent(200 * 1024);
        assert_eq!(pace.next_chunk(t0 + Duration::from_millis(300)), 64 * 1024);
        // Within a window the size holds.
        assert_eq!(pace.next_chunk(t0 + Duration::from_millis(350)), 64 * 1024);
    }
}
