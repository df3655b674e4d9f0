//! Files shared in meetings: uploaded over HTTP (streamed to the blob store, never held whole),
//! recorded by the room (rooms/files.rs), announced with `file_shared`, downloaded by the people who
//! were in the meeting, its owner, administrators and API keys. docs/protocol.md, *Files*.

pub mod blob;
pub mod db_blob;
pub mod download;
pub mod models;
pub mod name;
pub mod preview;
pub mod sniff;
pub mod token;
mod upload;

use std::sync::Arc;

use convene_proto::ErrorCode;
use convene_store::FileRecord;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ServerError;
use crate::state::AppState;

/// The most files one meeting's record lists (`GET /api/v1/meetings/{id}`).
pub const FILES_LISTED_MAX: i64 = 1000;

/// A file whose bytes (and preview) are in the blob store, on its way into the meeting's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub blob_key: String,
    pub preview_key: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(upload::upload))
        .routes(routes!(download::download))
        .routes(routes!(download::preview))
}

pub fn too_large(max: u64) -> ServerError {
    ServerError::client(
        ErrorCode::FileTooLarge,
        format!("the file is larger than this server takes ({max} bytes)"),
    )
}

pub fn quota_exceeded(max: u64) -> ServerError {
    ServerError::client(
        ErrorCode::FileQuotaExceeded,
        format!("this meeting's files would hold more than its quota ({max} bytes)"),
    )
}

/// Deletes a file's bytes and preview, off the caller's task (its row is gone already: a failure
/// leaves an unreferenced blob, logged, never a row without its bytes).
pub fn delete_blobs(state: Arc<AppState>, file: FileRecord) {
    tokio::spawn(async move {
        for key in std::iter::once(file.blob_key).chain(file.preview_key) {
            if let Err(e) = state.blobs.delete(&key).await {
                tracing::warn!(error = %e, key, "could not delete a shared file's blob");
            }
        }
    });
}

/// Deletes the files past their retention and those of meetings about to be purged, rows first,
/// then their blobs. Called by the records' retention (records.rs) before meetings are purged.
pub async fn expire(
    state: &Arc<AppState>,
    meetings_ended_before: i64,
    shared_before: i64,
) -> Result<usize, convene_store::StoreError> {
    let gone = state
        .store
        .expire_files(meetings_ended_before, shared_before)
        .await?;
    let n = gone.len();
    for file in gone {
        for key in std::iter::once(file.blob_key).chain(file.preview_key) {
            if let Err(e) = state.blobs.delete(&key).await {
                tracing::warn!(error = %e, key, "could not delete an expired file's blob");
            }
        }
    }
    Ok(n)
}
