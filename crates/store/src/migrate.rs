//! A small embedded migration runner: ordered SQL files, each applied once in its own transaction and
//! recorded in `schema_migrations`.

use sqlx::{AnyPool, Executor};

use crate::sql::{begin_write, Backend};
use crate::StoreError;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Append only: never edit a migration that has shipped, add the next version instead.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "server_secrets",
        sqlite: include_str!("../migrations/sqlite/0002_server_secrets.sql"),
        postgres: include_str!("../migrations/postgres/0002_server_secrets.sql"),
    },
    Migration {
        version: 3,
        name: "accounts",
        sqlite: include_str!("../migrations/sqlite/0003_accounts.sql"),
        postgres: include_str!("../migrations/postgres/0003_accounts.sql"),
    },
    Migration {
        version: 4,
        name: "planned_rooms",
        sqlite: include_str!("../migrations/sqlite/0004_planned_rooms.sql"),
        postgres: include_str!("../migrations/postgres/0004_planned_rooms.sql"),
    },
    Migration {
        version: 5,
        name: "api_keys",
        sqlite: include_str!("../migrations/sqlite/0005_api_keys.sql"),
        postgres: include_str!("../migrations/postgres/0005_api_keys.sql"),
    },
    Migration {
        version: 6,
        name: "session_identity",
        sqlite: include_str!("../migrations/sqlite/0006_session_identity.sql"),
        postgres: include_str!("../migrations/postgres/0006_session_identity.sql"),
    },
    Migration {
        version: 7,
        name: "meeting_public_ids",
        sqlite: include_str!("../migrations/sqlite/0007_meeting_public_ids.sql"),
        postgres: include_str!("../migrations/postgres/0007_meeting_public_ids.sql"),
    },
    Migration {
        version: 8,
        name: "moderation",
        sqlite: include_str!("../migrations/sqlite/0008_moderation.sql"),
        postgres: include_str!("../migrations/postgres/0008_moderation.sql"),
    },
    Migration {
        version: 9,
        name: "meeting_files",
        sqlite: include_str!("../migrations/sqlite/0009_meeting_files.sql"),
        postgres: include_str!("../migrations/postgres/0009_meeting_files.sql"),
    },
    Migration {
        version: 10,
        name: "webhooks",
        sqlite: include_str!("../migrations/sqlite/0010_webhooks.sql"),
        postgres: include_str!("../migrations/postgres/0010_webhooks.sql"),
    },
    Migration {
        version: 11,
        name: "recordings",
        sqlite: include_str!("../migrations/sqlite/0011_recordings.sql"),
        postgres: include_str!("../migrations/postgres/0011_recordings.sql"),
    },
    Migration {
        version: 12,
        name: "compositions",
        sqlite: include_str!("../migrations/sqlite/0012_compositions.sql"),
        postgres: include_str!("../migrations/postgres/0012_compositions.sql"),
    },
];

/// Key of the PostgreSQL advisory lock that serialises migrations across processes ("convmigr").
const PG_MIGRATION_LOCK: i64 = 0x636f_6e76_6d69_6772;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version BIGINT PRIMARY KEY, \
     applied_at BIGINT NOT NULL)";

/// Brings the schema up to date. Safe to run on every start and from several processes at once:
/// PostgreSQL serialises runners with a transaction-scoped advisory lock, SQLite with `BEGIN IMMEDIATE`;
/// either way a runner that waited re-checks what is applied before doing anything.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    for m in MIGRATIONS {
        let mut tx = begin_write(pool, backend).await?;
        if backend == Backend::Postgres {
            // Taken before touching any table, so even creating schema_migrations cannot race.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(CREATE_TABLE).execute(&mut *tx).await?;
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await?;
        if applied.is_some() {
            tx.rollback().await?;
            continue;
        }

        let script = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        // A bare &str runs without parameters (PostgreSQL's simple protocol), so the script may hold
        // several statements. (Not `sqlx::raw_sql`: its future is not provably Send, which would make
        // `connect` unusable from spawned tasks.)
        tx.execute(script)
            .await
            .map_err(|source| StoreError::Migration {
                version: m.version,
                source,
            })?;
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(m.version)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied database migration"
        );
    }

    let current = current_version(pool).await?;
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if current > known {
        // A newer build migrated this database. Additive migrations keep older builds working, so
        // this is worth a warning, not a refusal.
        tracing::warn!(current, known, "database schema is newer than this build");
    }
    Ok(())
}

/// The highest applied migration version (0 before any).
pub(crate) async fn current_version(pool: &AnyPool) -> Result<i64, StoreError> {
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0))
}

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
