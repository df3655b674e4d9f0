//! Convene's meeting records: meetings, participant sessions, chat and moderation, behind the
//! [`Store`] trait.
//!
//! [`SqlStore`] is the one implementation. It runs over sqlx's `Any` driver, so the same SQL serves
//! SQLite (the single-node default) and PostgreSQL (clusters); only the schema files differ per dialect.
//!
//! ```no_run
//! # async fn demo() -> Result<(), convene_store::StoreError> {
//! use convene_store::Store;
//! let store = convene_store::connect("sqlite://data/convene.db").await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```

mod accounts;
mod apikeys;
mod blobs;
mod compositions;
mod files;
mod held;
mod migrate;
pub mod model;
mod moderation;
mod outbox;
mod planned;
mod purge;
mod recordings;
mod sql;
mod sqlite_memory;
pub mod traits;
mod url;
mod webhooks;

pub use compositions::{
    ComposedFile, CompositionId, CompositionOutcome, CompositionRecord, CompositionState,
    NewComposition,
};
pub use files::{FileInsert, FileRecord, NewFile};
pub use model::*;
pub use recordings::{NewRecording, RecordingEnd, RecordingRecord, RecordingRowState};
pub use sql::{connect, Backend, PoolConnections, PoolSettings, SqlStore};
pub use traits::{Result, Store};

/// Everything the store can fail with. Messages are meant for operators' logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused or failed a query, or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// Bringing the schema up to date failed (a script, or a shipped script that was changed); a
    /// failed script leaves the database at the previous version.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),

    /// The URL names a database this build cannot use. Holds only the scheme, so a password in the URL
    /// never reaches the logs.
    #[error(
        "unsupported database URL scheme {0:?}: expected sqlite:PATH, sqlite::memory: or postgres://..."
    )]
    UnsupportedUrl(String),

    /// The directory for a SQLite database file could not be created.
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The record an update refers to does not exist (for example, an unknown session id).
    #[error("{0} not found")]
    NotFound(&'static str),

    /// A write would break a uniqueness rule (for example, an email already taken).
    #[error("{0} already exists")]
    Conflict(&'static str),

    /// A stored value the code cannot interpret (for example, an unknown leave reason).
    #[error("unexpected data in the database: {0}")]
    Corrupt(String),

    /// Not tried: the database was found unreachable moments ago (the caller keeps track).
    #[error("the database was unreachable moments ago; not tried")]
    Unavailable,
}

impl StoreError {
    /// Whether the database could not be reached at all (no connection, or the connection broke),
    /// as opposed to refusing or failing one query.
    pub fn is_unreachable(&self) -> bool {
        match self {
            StoreError::Unavailable => true,
            StoreError::Database(e) => matches!(
                e,
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
            ),
            _ => false,
        }
    }
}
