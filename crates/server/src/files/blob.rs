//! Where the bytes of shared files live: a small blob-store trait, and its one implementation, a
//! directory (under the data directory by default). Keys are made here, random, and never come from
//! a request, so no name a client chooses reaches the file system. A blob is written under a
//! temporary name and renamed into place when complete, so a half-written upload is never served.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncSeek, AsyncWriteExt};

/// A stored blob opened for reading: its length and its bytes, seekable (for range requests).
pub struct BlobReader {
    pub len: u64,
    pub body: Pin<Box<dyn AsyncReadSeek>>,
}

pub trait AsyncReadSeek: AsyncRead + AsyncSeek + Send {}
impl<T: AsyncRead + AsyncSeek + Send> AsyncReadSeek for T {}

/// A blob being written. Dropping it without `commit` leaves nothing behind (the temporary file
/// is removed on `abort`, and on the next start otherwise).
pub trait BlobUpload: Send {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>>;
    /// Makes the blob durable under a new key, which it returns.
    fn commit(self: Box<Self>) -> BoxFuture<'static, io::Result<String>>;
    fn abort(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// The blob store. Shared files use it today; recordings will too.
pub trait BlobStore: Send + Sync {
    fn create(&self) -> BoxFuture<'_, io::Result<Box<dyn BlobUpload>>>;
    /// None if there is no such blob.
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<BlobReader>>>;
    /// Deleting a blob that is not there is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>>;
}

/// Blobs as files in a directory: `blobs/<first two characters>/<key>`, written in `tmp/`.
pub struct DirBlobStore {
    root: PathBuf,
}

impl DirBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Removes temporary files an earlier process left (uploads cut by a crash).
    pub async fn clear_temporary(&self) -> io::Result<()> {
        match tokio::fs::remove_dir_all(self.root.join("tmp")).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn path_of(&self, key: &str) -> Option<PathBuf> {
        // Keys are ours (hex); anything else names no blob, whatever it holds.
        let ours = key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit());
        ours.then(|| self.root.join("blobs").join(&key[..2]).join(key))
    }
}

struct DirUpload {
    tmp: PathBuf,
    file: tokio::fs::File,
    root: PathBuf,
}

impl BlobUpload for DirUpload {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move { self.file.write_all(chunk).await })
    }

    fn commit(self: Box<Self>) -> BoxFuture<'static, io::Result<String>> {
        Box::pin(async move {
            let DirUpload {
                tmp,
                mut file,
                root,
            } = *self;
            file.flush().await?;
            file.sync_all().await?;
            drop(file);
            let key = crate::rooms::participant::new_token();
            let dir = root.join("blobs").join(&key[..2]);
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::rename(&tmp, dir.join(&key)).await?;
            Ok(key)
        })
    }

    fn abort(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            drop(self.file);
            let _ = tokio::fs::remove_file(&self.tmp).await;
        })
    }
}

impl BlobStore for DirBlobStore {
    fn create(&self) -> BoxFuture<'_, io::Result<Box<dyn BlobUpload>>> {
        Box::pin(async move {
            let dir = self.root.join("tmp");
            tokio::fs::create_dir_all(&dir).await?;
            let tmp = dir.join(crate::rooms::participant::new_token());
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .await?;
            Ok(Box::new(DirUpload {
                tmp,
                file,
                root: self.root.clone(),
            }) as Box<dyn BlobUpload>)
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<BlobReader>>> {
        Box::pin(async move {
            let Some(path) = self.path_of(key) else {
                return Ok(None);
            };
            match tokio::fs::File::open(&path).await {
                Ok(f) => {
                    let len = f.metadata().await?.len();
                    Ok(Some(BlobReader {
                        len,
                        body: Box::pin(f),
                    }))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let Some(path) = self.path_of(key) else {
                return Ok(());
            };
            match tokio::fs::remove_file(&path).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn a_blob_is_seen_only_once_committed_and_goes_when_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirBlobStore::new(dir.path());
        let mut up = store.create().await.unwrap();
        up.write(b"hello ").await.unwrap();
        up.write(b"world").await.unwrap();
        let key = up.commit().await.unwrap();
        let mut r = store.open(&key).await.unwrap().expect("stored");
        assert_eq!(r.len, 11);
        let mut text = String::new();
        r.body.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "hello world");
        store.delete(&key).await.unwrap();
        assert!(store.open(&key).await.unwrap().is_none());
        store.delete(&key).await.expect("deleting twice is fine");

        let mut cut = store.create().await.unwrap();
        cut.write(b"half").await.unwrap();
        cut.abort().await;
        let left = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
        assert_eq!(left, 0, "an aborted upload leaves nothing");
        for bad in ["../../etc/passwd", "", "zz", &"g".repeat(32)] {
            assert!(store.open(bad).await.unwrap().is_none(), "{bad}");
        }
    }
}
