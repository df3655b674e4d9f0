//! Schema migrations through sqlx's migrator: ordered SQL files (migrations/sqlite and
//! migrations/postgres, one per version and database), each applied once in its own transaction and
//! recorded with its checksum in `_sqlx_migrations`.
//!
//! Several runners at once (nodes starting together): on PostgreSQL sqlx's migrator holds an
//! advisory lock while it works; SQLite has none, so there the whole run is one `BEGIN IMMEDIATE`
//! transaction. Either way a runner that waited sees what the first applied and applies nothing.
//!
//! Databases made before this used our own runner, which recorded versions in `schema_migrations`.
//! The first run of this build adopts them: under the same lock it records each of those versions in
//! `_sqlx_migrations` with the checksum of this build's script, so nothing runs again.
//! `schema_migrations` is left as it was and no longer written: a node of an older build that
//! restarts during a rolling upgrade still finds its migrations applied.
//!
//! The scripts are listed below rather than found by `sqlx::migrate!`: that macro needs sqlx's
//! `macros` feature, which builds both database drivers (and SQLite's C source) a second time for
//! the compiler; the list gives the same migrator, and a test keeps it equal to the folders.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection};

use crate::sql::Backend;
use crate::StoreError;

/// One version's script for each database.
struct Script {
    /// `<version>_<description>.sql`, the same in both folders.
    file: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! script {
    ($file:literal) => {
        Script {
            file: $file,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
        }
    };
}

/// Append only: never edit a migration that has shipped (the migrator refuses a changed checksum),
/// add the next version instead.
const SCRIPTS: &[Script] = &[
    script!("0001_init.sql"),
    script!("0002_server_secrets.sql"),
    script!("0003_accounts.sql"),
    script!("0004_planned_rooms.sql"),
    script!("0005_api_keys.sql"),
    script!("0006_session_identity.sql"),
    script!("0007_meeting_public_ids.sql"),
    script!("0008_moderation.sql"),
    script!("0009_meeting_files.sql"),
    script!("0010_webhooks.sql"),
    script!("0011_recordings.sql"),
    script!("0012_compositions.sql"),
    script!("0013_webhook_holders.sql"),
    script!("0014_recording_nodes.sql"),
    script!("0015_blobs.sql"),
    script!("0016_held_moderation.sql"),
];

/// The embedded scripts of one database, as sqlx's migrator takes them.
#[derive(Debug)]
struct Embedded(Backend);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move { migrations(self.0).map_err(Into::into) })
    }
}

fn migrations(backend: Backend) -> Result<Vec<Migration>, String> {
    SCRIPTS
        .iter()
        .map(|s| {
            // Named as sqlx's own folder source names them, so its tools read the table alike.
            let (version, rest) = s.file.split_once('_').ok_or(s.file)?;
            let version: i64 = version.parse().map_err(|_| s.file)?;
            let description = rest.trim_end_matches(".sql").replace('_', " ");
            let sql = match backend {
                Backend::Sqlite => s.sqlite,
                Backend::Postgres => s.postgres,
            };
            Ok(Migration::new(
                version,
                Cow::Owned(description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            ))
        })
        .collect::<Result<_, &str>>()
        .map_err(|file| format!("migration file {file} is not named <version>_<description>.sql"))
}

async fn migrator(backend: Backend) -> Result<Migrator, MigrateError> {
    let mut m = Migrator::new(Embedded(backend)).await?;
    // A newer build may have migrated this database. Additive migrations keep older builds working,
    // so that is worth a warning (below), not a refusal.
    m.set_ignore_missing(true);
    Ok(m)
}

/// Brings the schema up to date. Safe to run on every start and from several processes at once.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let migrator = migrator(backend).await?;
    match backend {
        Backend::Postgres => {
            let mut conn = pool.acquire().await?;
            // The advisory lock is the session's: should anything fail, close this connection
            // rather than hand it back to the pool still holding the lock.
            conn.close_on_drop();
            run_postgres(&mut conn, &migrator).await?;
        }
        Backend::Sqlite => {
            // One writer at a time: a second runner waits here, then finds everything applied.
            // The migrator's transactions nest inside as savepoints.
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            adopt_old_bookkeeping(&mut tx, backend, &migrator).await?;
            migrator.run_direct(&mut *tx).await?;
            tx.commit().await?;
        }
    }

    let current = current_version(pool).await?;
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    if current > known {
        tracing::warn!(current, known, "database schema is newer than this build");
    }
    Ok(())
}

async fn run_postgres(
    conn: &mut PoolConnection<Any>,
    migrator: &Migrator,
) -> Result<(), MigrateError> {
    // sqlx's lock (the migrator takes it again inside: PostgreSQL counts a session's locks), so
    // adopting an old database cannot race another runner either.
    conn.lock().await?;
    adopt_old_bookkeeping(conn, Backend::Postgres, migrator).await?;
    migrator.run_direct(&mut **conn).await?;
    conn.unlock().await?;
    Ok(())
}

/// Records the versions in an old runner's `schema_migrations` as applied, with this build's
/// checksums, when `_sqlx_migrations` has no record yet. Call under the migration lock.
async fn adopt_old_bookkeeping(
    conn: &mut AnyConnection,
    backend: Backend,
    migrator: &Migrator,
) -> Result<(), MigrateError> {
    conn.ensure_migrations_table().await?;
    let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await?;
    if recorded > 0 || !has_old_table(conn, backend).await? {
        return Ok(());
    }
    let old: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?;
    let mut tx = conn.begin().await?;
    for version in old {
        let Some(m) = migrator.iter().find(|m| m.version == version) else {
            // Only an older runner wrote this table, so every version in it is known; keep going
            // rather than refuse to start.
            tracing::warn!(version, "unknown version in schema_migrations, not adopted");
            continue;
        };
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, TRUE, $3, 0)",
        )
        .bind(m.version)
        .bind(m.description.to_string())
        .bind(m.checksum.to_vec())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::info!("adopted the migrations recorded in schema_migrations");
    Ok(())
}

/// Whether the old runner's `schema_migrations` table exists (in the current schema).
async fn has_old_table(conn: &mut AnyConnection, backend: Backend) -> Result<bool, sqlx::Error> {
    let sql = match backend {
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        }
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        }
    };
    let n: i64 = sqlx::query_scalar(sql).fetch_one(conn).await?;
    Ok(n > 0)
}

/// The highest applied migration version (0 before any).
pub(crate) async fn current_version(pool: &AnyPool) -> Result<i64, StoreError> {
    let v: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(pool)
            .await?;
    Ok(v.unwrap_or(0))
}

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of each folder is listed once, in order, and the list names no other file.
    #[test]
    fn the_list_is_the_folders() {
        for dir in ["sqlite", "postgres"] {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/").to_owned() + dir;
            let mut on_disk: Vec<String> = std::fs::read_dir(&path)
                .expect("the migrations folder")
                .map(|e| {
                    e.expect("an entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            on_disk.sort();
            let listed: Vec<&str> = SCRIPTS.iter().map(|s| s.file).collect();
            assert_eq!(on_disk, listed, "{dir}");
        }
        let versions: Vec<i64> = migrations(Backend::Sqlite)
            .expect("well named")
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(versions, (1..=SCRIPTS.len() as i64).collect::<Vec<_>>());
        let pg = migrations(Backend::Postgres).expect("well named");
        assert_eq!(pg[0].description, "init");
        assert_eq!(pg[6].description, "meeting public ids");
    }
}
