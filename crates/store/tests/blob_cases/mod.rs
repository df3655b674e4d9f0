//! Blobs in the database (a cluster's shared files): written in chunks, seen only once committed,
//! deleted whole; uploads cut by a crash swept by age.

use convene_store::*;

use crate::common::*;

pub async fn blobs_are_seen_once_committed_and_go_whole(db: Db) {
    let s = db.connect().await;
    s.create_blob("k1", 1_000).await.expect("create");
    s.put_blob_chunk("k1", 0, b"hello ").await.expect("chunk 0");
    s.put_blob_chunk("k1", 1, &[0u8, 255, 7])
        .await
        .expect("chunk 1");
    assert_eq!(
        s.blob_size("k1").await.expect("size"),
        None,
        "not yet committed"
    );
    assert!(s.commit_blob("k1", 9).await.expect("commit"));
    assert!(
        !s.commit_blob("k1", 9).await.expect("again"),
        "committed once"
    );
    assert!(!s.commit_blob("nope", 1).await.expect("unknown"));
    assert_eq!(s.blob_size("k1").await.expect("size"), Some(9));
    assert_eq!(
        s.blob_chunk("k1", 1).await.expect("read").as_deref(),
        Some(&[0u8, 255, 7][..]),
        "binary bytes come back as written"
    );
    assert_eq!(s.blob_chunk("k1", 2).await.expect("read"), None);
    // A chunk number is taken once.
    assert!(s.put_blob_chunk("k1", 0, b"x").await.is_err());

    // A cut upload (never committed) goes by age; a committed blob never does.
    s.create_blob("cut", 1_000).await.expect("create");
    s.put_blob_chunk("cut", 0, b"half").await.expect("chunk");
    s.create_blob("fresh", 5_000).await.expect("create");
    assert_eq!(s.delete_uncommitted_blobs(2_000).await.expect("sweep"), 1);
    assert_eq!(s.blob_chunk("cut", 0).await.expect("read"), None);
    assert!(s
        .commit_blob("fresh", 0)
        .await
        .expect("an upload under way stays"));
    assert_eq!(s.blob_size("k1").await.expect("size"), Some(9));

    s.delete_blob("k1").await.expect("delete");
    assert_eq!(s.blob_size("k1").await.expect("size"), None);
    assert_eq!(
        s.blob_chunk("k1", 0).await.expect("read"),
        None,
        "with its chunks"
    );
    s.delete_blob("k1").await.expect("deleting twice is fine");
}
