//! Shared test harness: where a test's database lives (temp SQLite file or a private PostgreSQL schema)
//! and small record builders.
// Each test crate uses a different subset.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use convene_store::*;
use sqlx::AnyPool;

pub const PG_ENV: &str = "CONVENE_TEST_POSTGRES_URL";

/// A test's database. `connect` may be called any number of times, giving independent pools on the
/// same data (a restart, or a second server process).
pub struct Db {
    pub url: String,
    /// Keeps the SQLite file's directory alive for the test's duration.
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    pub async fn connect(&self) -> SqlStore {
        convene_store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.url))
    }
}

pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    // A nested, not yet existing directory: connect must create it.
    let path = dir.path().join("data").join("convene.db");
    let url = format!("sqlite://{}", path.display());
    test(Db {
        url,
        _dir: Some(dir),
    })
    .await;
}

pub async fn on_postgres<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(base) = std::env::var(PG_ENV) else {
        // Outside CI a developer may lack PostgreSQL; in CI a missing URL is a broken setup, and a
        // test that passes without running would hide it.
        assert!(
            std::env::var_os("CI").is_none(),
            "{PG_ENV} is not set in CI: postgres::{name} cannot run"
        );
        eprintln!("SKIPPED: {PG_ENV} not set, postgres::{name} did not run");
        return;
    };
    sqlx::any::install_default_drivers();
    let schema = unique_schema();
    let admin = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");

    // Prove the URL really scopes connections to the schema, or the tests would share tables.
    let probe = AnyPool::connect(&url)
        .await
        .expect("connect with search_path");
    let current: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(&probe)
        .await
        .expect("current_schema");
    probe.close().await;
    assert_eq!(current, schema);

    // Run in a task so a failing test still drops its schema before the panic propagates.
    let outcome = tokio::spawn(test(Db { url, _dir: None })).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .expect("drop schema");
    admin.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn unique_schema() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "t_{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn meeting(room: &str, node: &str, at: Millis) -> NewMeeting {
    NewMeeting {
        room: room.into(),
        creator: Some("Ada".into()),
        created_at: at,
        max_participants: 50,
        settings_json: r#"{"locked":false}"#.into(),
        node_id: node.into(),
        public_id: next_public_id(),
    }
}

/// A fresh public id for each meeting a test makes (unique within the process).
pub fn next_public_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!(
        "pub-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn session(m: MeetingId, pid: &str, name: &str, node: &str, at: Millis) -> NewSession {
    NewSession {
        meeting: m,
        participant_id: pid.into(),
        display_name: name.into(),
        user: None,
        role: "participant".into(),
        joined_at: at,
        node_id: node.into(),
        identity: None,
    }
}

pub async fn say(
    store: &SqlStore,
    m: MeetingId,
    s: SessionId,
    text: &str,
    at: Millis,
) -> ChatRecord {
    store
        .append_chat(&NewChatMessage {
            meeting: m,
            session: s,
            text: text.into(),
            sent_at: at,
        })
        .await
        .expect("append_chat")
}

pub async fn session_by_id(store: &SqlStore, m: MeetingId, id: SessionId) -> SessionRecord {
    store
        .sessions(m)
        .await
        .expect("sessions")
        .into_iter()
        .find(|s| s.id == id)
        .expect("session present")
}
