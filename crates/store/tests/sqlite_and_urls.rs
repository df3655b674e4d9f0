//! Checks that are not per-backend: URL handling, SQLite's pragmas and in-memory mode, and that a
//! committed write survives the process being SIGKILLed.

mod common;

use common::{meeting, say, session};
use convene_store::*;

#[tokio::test]
async fn unsupported_url_is_rejected_without_leaking_secrets() {
    for url in ["mysql://root:hunter2@db/convene", "convene.db", "http://x"] {
        match convene_store::connect(url).await {
            Err(e @ StoreError::UnsupportedUrl(_)) => {
                assert!(!e.to_string().contains("hunter2"), "{e}");
            }
            other => panic!("{url}: expected UnsupportedUrl, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn sqlite_memory_url_keeps_one_database() {
    let store = convene_store::connect("sqlite::memory:")
        .await
        .expect("connect");
    let m = store
        .create_meeting(&meeting("mem", "n1", 1_000))
        .await
        .expect("create");
    // Several round trips, possibly on different pool checkouts: still the same database.
    for _ in 0..3 {
        assert!(store.meeting(m).await.expect("get").is_some());
    }
}

#[tokio::test]
async fn sqlite_connections_use_durable_pragmas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.db");
    let store = convene_store::connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("connect");
    assert!(path.exists());
    assert_eq!(store.backend(), Backend::Sqlite);
    let pool = store.pool();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(pool)
        .await
        .expect("synchronous");
    assert_eq!(sync, 2, "synchronous=FULL");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .expect("foreign_keys");
    assert_eq!(fk, 1);
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await
        .expect("busy_timeout");
    assert_eq!(busy, 5_000);
}

/// Child half of `sqlite_commit_survives_sigkill`: does nothing unless that test started it.
#[tokio::test]
async fn sigkill_child_writer() {
    let Ok(url) = std::env::var("CONVENE_STORE_CHILD_DB") else {
        return;
    };
    let store = convene_store::connect(&url).await.expect("child connect");
    let m = store
        .create_meeting(&meeting("crash", "n1", 1_000))
        .await
        .expect("child create");
    let s = store
        .open_session(&session(m, "p", "Pat", "n1", 1_000))
        .await
        .expect("child session");
    say(&store, m, s, "acknowledged", 1_001).await;
    println!("COMMITTED {}", m.0);
    // Wait to be killed; the parent gives up long before this ends.
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
}

#[tokio::test]
async fn sqlite_commit_survives_sigkill() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let exe = std::env::current_exe().expect("test binary");
    let mut child = std::process::Command::new(exe)
        .args([
            "sigkill_child_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CONVENE_STORE_CHILD_DB", &url)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let committed = std::io::BufReader::new(stdout)
        .lines()
        .map_while(|l| l.ok())
        // libtest may print "test sigkill_child_writer ... " on the same line first.
        .find_map(|l| {
            l.split_once("COMMITTED ")
                .map(|(_, id)| id.trim().to_owned())
        })
        .expect("child reported a commit");
    child.kill().expect("SIGKILL child"); // Child::kill is SIGKILL on Unix.
    child.wait().expect("reap child");

    let m = MeetingId(committed.parse().expect("meeting id"));
    let store = convene_store::connect(&url).await.expect("reopen");
    assert_eq!(
        store.meeting(m).await.expect("get").expect("meeting").room,
        "crash"
    );
    let history = store.chat_history(m, 10).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].text, "acknowledged");
}

/// SQLite's page caches fill as rows are read, and `release_memory` (run when the node goes idle)
/// gives them back. Without it the cache stays at what the reads filled.
#[tokio::test]
async fn sqlite_caches_are_given_back_when_released() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cache.db");
    let store = convene_store::connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("connect");
    let m = store
        .create_meeting(&meeting("cache", "n1", 1_000))
        .await
        .expect("create");
    let s = store
        .open_session(&session(m, "p", "Pat", "n1", 1_000))
        .await
        .expect("session");
    // ~1.2 MiB of chat: more than a fresh connection caches, less than its 2 MiB cache holds.
    let text = "x".repeat(4_000);
    for i in 0..300 {
        store
            .append_chat(&NewChatMessage {
                meeting: m,
                session: s,
                text: text.clone(),
                sent_at: 2_000 + i,
            })
            .await
            .expect("append");
    }
    assert_eq!(store.chat_history(m, 300).await.expect("read").len(), 300);
    let full = store.memory_bytes().expect("SQLite reports its memory");
    store.release_memory().await.expect("release");
    let after = store.memory_bytes().expect("SQLite reports its memory");
    assert!(
        full > 1_000_000 && after + 800_000 < full,
        "the caches were not given back: {full} bytes before, {after} after"
    );
    // Nothing written is lost: the rows are read back from the file.
    assert_eq!(store.chat_history(m, 300).await.expect("read").len(), 300);
}
