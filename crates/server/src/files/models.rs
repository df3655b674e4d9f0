//! Shared files as the REST API shows them.

use convene_store::FileRecord;
use serde::Serialize;
use utoipa::ToSchema;

/// A file shared in a meeting.
#[derive(Serialize, ToSchema)]
pub struct FileView {
    /// Unguessable: `GET /api/v1/files/{id}` downloads it.
    pub id: String,
    /// Sanitised by the server.
    pub name: String,
    pub size: i64,
    /// Sniffed from the bytes.
    #[schema(example = "image/png")]
    pub content_type: String,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// The participant who shared it, and their display name then.
    pub from: String,
    pub from_name: String,
    pub shared_at: i64,
    /// Whether `GET /api/v1/files/{id}/preview` has a small PNG of it.
    pub preview: bool,
    pub width: Option<i64>,
    pub height: Option<i64>,
}

impl From<&FileRecord> for FileView {
    fn from(f: &FileRecord) -> Self {
        Self {
            id: f.public_id.clone(),
            name: f.name.clone(),
            size: f.size,
            content_type: f.content_type.clone(),
            sha256: f.sha256.clone(),
            from: f.participant_id.clone(),
            from_name: f.display_name.clone(),
            shared_at: f.created_at,
            preview: f.preview_key.is_some(),
            width: f.width,
            height: f.height,
        }
    }
}
