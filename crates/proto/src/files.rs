//! Files shared in a meeting (docs/protocol.md, *Files*): uploaded and downloaded over HTTP, announced
//! here.

use serde::{Deserialize, Serialize};

use crate::ids::ParticipantId;

/// A file shared in the meeting, as everyone sees it in the chat and in the files list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedFile {
    /// Unguessable; names the file in `GET /api/v1/files/{id}`.
    pub id: String,
    /// Sanitised by the server: no path, no control characters, at most 200 characters.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Sniffed by the server from the bytes (the client's word is not taken).
    pub content_type: String,
    pub from: ParticipantId,
    pub from_name: String,
    /// Server time, ms since the Unix epoch.
    pub shared_at: i64,
    /// Whether `GET /api/v1/files/{id}/preview` has a small image of it (images only).
    pub preview: bool,
    /// An image's size in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// What a participant needs to share and fetch the meeting's files, in `joined`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAccess {
    /// Bound to this meeting and participant: `Authorization: Bearer` of an upload, `?token=` of a
    /// download. A new `joined` brings a new one.
    pub token: String,
    /// The largest file the server takes, in bytes.
    pub max_file_bytes: u64,
    /// The most all of the meeting's files may hold, in bytes.
    pub max_meeting_bytes: u64,
}
