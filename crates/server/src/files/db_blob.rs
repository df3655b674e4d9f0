//! Blobs in the database, for a cluster: a file shared through one node is downloaded through any
//! other (the load balancer picks the node of each request), and outlives the node that took it.
//! A single node keeps its blobs in a directory (blob.rs), which is faster and needs no database
//! space. A blob is stored in chunks of `CHUNK` bytes (the last one shorter), so that a range
//! request reads only the chunks it covers and an upload holds at most one chunk in memory.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use convene_store::Store;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};

use super::blob::{BlobReader, BlobStore, BlobUpload};

/// Bytes per stored chunk: small enough to hold one per upload and per download in memory, large
/// enough that a 100 MiB file is a hundred rows.
pub const CHUNK: usize = 1 << 20;

/// How old an uncommitted blob must be before it is swept: another node's upload may be under
/// way, and none takes a day.
pub const UNFINISHED_AFTER_MS: i64 = 86_400_000;

/// At start and then hourly: deletes the uploads a crash of any node cut off (an upload that fails
/// otherwise is aborted at once), once they are a day old.
pub async fn sweep_unfinished_loop(
    store: Arc<dyn Store>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let before = crate::clock::now_ms().saturating_sub(UNFINISHED_AFTER_MS);
        match store.delete_uncommitted_blobs(before).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(uploads = n, "cleared uploads that a crash cut off"),
            Err(e) => tracing::warn!(error = %e, "could not clear unfinished uploads; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

pub struct DbBlobStore {
    store: Arc<dyn Store>,
}

impl DbBlobStore {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

struct DbUpload {
    store: Arc<dyn Store>,
    key: String,
    /// Bytes not yet stored: less than one chunk between writes.
    pending: Vec<u8>,
    next_seq: i64,
    size: u64,
}

impl DbUpload {
    async fn store_chunk(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.store
            .put_blob_chunk(&self.key, self.next_seq, chunk)
            .await
            .map_err(io::Error::other)?;
        self.next_seq += 1;
        Ok(())
    }
}

impl BlobUpload for DbUpload {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            self.size += chunk.len() as u64;
            self.pending.extend_from_slice(chunk);
            while self.pending.len() >= CHUNK {
                let rest = self.pending.split_off(CHUNK);
                let full = std::mem::replace(&mut self.pending, rest);
                self.store_chunk(&full).await?;
            }
            Ok(())
        })
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, io::Result<String>> {
        Box::pin(async move {
            if !self.pending.is_empty() {
                let last = std::mem::take(&mut self.pending);
                self.store_chunk(&last).await?;
            }
            let size = i64::try_from(self.size).map_err(io::Error::other)?;
            let committed = self
                .store
                .commit_blob(&self.key, size)
                .await
                .map_err(io::Error::other)?;
            if !committed {
                return Err(io::Error::other(
                    "the upload was removed before it finished",
                ));
            }
            Ok(self.key)
        })
    }

    fn abort(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if let Err(e) = self.store.delete_blob(&self.key).await {
                tracing::warn!(error = %e, "could not delete a cut upload; a later start will");
            }
        })
    }
}

impl BlobStore for DbBlobStore {
    fn create(&self) -> BoxFuture<'_, io::Result<Box<dyn BlobUpload>>> {
        Box::pin(async move {
            let key = crate::rooms::participant::new_token();
            self.store
                .create_blob(&key, crate::clock::now_ms())
                .await
                .map_err(io::Error::other)?;
            Ok(Box::new(DbUpload {
                store: self.store.clone(),
                key,
                pending: Vec::new(),
                next_seq: 0,
                size: 0,
            }) as Box<dyn BlobUpload>)
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<BlobReader>>> {
        Box::pin(async move {
            let size = self.store.blob_size(key).await.map_err(io::Error::other)?;
            Ok(size.map(|size| {
                let len = u64::try_from(size).unwrap_or(0);
                BlobReader {
                    len,
                    body: Box::pin(DbReader {
                        store: self.store.clone(),
                        key: key.to_owned(),
                        len,
                        pos: 0,
                        chunk: None,
                        fetching: None,
                    }),
                }
            }))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move { self.store.delete_blob(key).await.map_err(io::Error::other) })
    }
}

type Fetch = BoxFuture<'static, io::Result<Vec<u8>>>;

/// A committed blob, read chunk by chunk as the reader gets to it (one chunk held at a time).
struct DbReader {
    store: Arc<dyn Store>,
    key: String,
    len: u64,
    pos: u64,
    /// The chunk last read, by number.
    chunk: Option<(u64, Vec<u8>)>,
    /// The chunk being fetched, by number.
    fetching: Option<(u64, Fetch)>,
}

/// Reads chunk `seq` of blob `key`.
fn fetch(store: Arc<dyn Store>, key: String, seq: u64) -> Fetch {
    Box::pin(async move {
        let seq = i64::try_from(seq).map_err(io::Error::other)?;
        match store.blob_chunk(&key, seq).await {
            Ok(Some(data)) => Ok(data),
            Ok(None) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a chunk of the blob is missing (deleted while read?)",
            )),
            Err(e) => Err(io::Error::other(e)),
        }
    })
}

impl AsyncRead for DbReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos >= this.len || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let seq = this.pos / CHUNK as u64;
        loop {
            if let Some((at, data)) = &this.chunk {
                if *at == seq {
                    // Within the chunk: pos is below len, and each stored chunk but the last is whole.
                    let off = (this.pos - seq * CHUNK as u64) as usize;
                    let left_in_blob = (this.len - this.pos) as usize;
                    let available = data.len().saturating_sub(off).min(left_in_blob);
                    if available == 0 {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the blob is shorter than its recorded size",
                        )));
                    }
                    let n = available.min(buf.remaining());
                    buf.put_slice(&data[off..off + n]);
                    this.pos += n as u64;
                    return Poll::Ready(Ok(()));
                }
            }
            if matches!(&this.fetching, Some((at, _)) if *at != seq) {
                // A seek moved away from the chunk under way.
                this.fetching = None;
            }
            let (store, key) = (&this.store, &this.key);
            let (_, fut) = this
                .fetching
                .get_or_insert_with(|| (seq, fetch(store.clone(), key.clone(), seq)));
            match fut.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => {
                    this.fetching = None;
                    this.chunk = Some((seq, result?));
                }
            }
        }
    }
}

impl AsyncSeek for DbReader {
    fn start_seek(self: Pin<&mut Self>, to: io::SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        let target = match to {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::End(d) => this.len.checked_add_signed(d),
            io::SeekFrom::Current(d) => this.pos.checked_add_signed(d),
        };
        this.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Poll::Ready(Ok(self.pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncSeekExt};

    async fn sqlite_store(dir: &std::path::Path) -> Arc<dyn Store> {
        let url = format!("sqlite://{}", dir.join("db.sqlite").display());
        Arc::new(convene_store::connect(&url).await.expect("store"))
    }

    /// Bytes that differ at every offset, so a read from the wrong place shows.
    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn a_blob_over_several_chunks_reads_back_whole_and_by_range() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DbBlobStore::new(sqlite_store(dir.path()).await);
        let want = pattern(2 * CHUNK + 12_345);
        let mut up = blobs.create().await.unwrap();
        // Writes of an odd size, so chunk edges fall inside them.
        for piece in want.chunks(65_537) {
            up.write(piece).await.unwrap();
        }
        let key = up.commit().await.unwrap();

        let mut r = blobs.open(&key).await.unwrap().expect("committed");
        assert_eq!(r.len, want.len() as u64);
        let mut got = Vec::new();
        r.body.read_to_end(&mut got).await.unwrap();
        assert!(got == want, "the whole blob reads back");

        // A range across a chunk edge, as a download with `Range` reads it.
        let from = CHUNK as u64 - 10;
        r.body.seek(io::SeekFrom::Start(from)).await.unwrap();
        let mut part = vec![0u8; 30];
        r.body.read_exact(&mut part).await.unwrap();
        assert_eq!(part, want[from as usize..from as usize + 30]);
        r.body.seek(io::SeekFrom::End(-5)).await.unwrap();
        let mut tail = Vec::new();
        r.body.read_to_end(&mut tail).await.unwrap();
        assert_eq!(tail, want[want.len() - 5..]);
        assert!(r
            .body
            .seek(io::SeekFrom::Current(-1_000_000_000))
            .await
            .is_err());

        blobs.delete(&key).await.unwrap();
        assert!(blobs.open(&key).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_unfinished_upload_is_never_seen_and_an_aborted_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(dir.path()).await;
        let blobs = DbBlobStore::new(store.clone());
        let mut up = blobs.create().await.unwrap();
        up.write(&pattern(CHUNK + 1)).await.unwrap();
        // Its key is not known outside until commit; none is seen under any other.
        assert!(blobs
            .open("00000000000000000000000000000000")
            .await
            .unwrap()
            .is_none());
        up.abort().await;
        let swept = store.delete_uncommitted_blobs(i64::MAX).await.unwrap();
        assert_eq!(swept, 0, "the abort removed it already");

        let empty = blobs.create().await.unwrap().commit().await.unwrap();
        let mut r = blobs
            .open(&empty)
            .await
            .unwrap()
            .expect("an empty blob is a blob");
        let mut got = Vec::new();
        r.body.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty());
    }

    #[tokio::test]
    async fn a_blob_deleted_while_read_is_an_error_not_a_short_file() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DbBlobStore::new(sqlite_store(dir.path()).await);
        let mut up = blobs.create().await.unwrap();
        up.write(&pattern(CHUNK + 100)).await.unwrap();
        let key = up.commit().await.unwrap();
        let mut r = blobs.open(&key).await.unwrap().expect("committed");
        let mut first = vec![0u8; 10];
        r.body.read_exact(&mut first).await.unwrap();
        blobs.delete(&key).await.unwrap();
        let mut rest = Vec::new();
        let err = r.body.read_to_end(&mut rest).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
