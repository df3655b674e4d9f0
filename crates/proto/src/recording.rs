//! Shapes of recording (docs/protocol.md, *Recording*).

use serde::{Deserialize, Serialize};

/// A meeting being recorded, as everyone in it is told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingStatus {
    /// When the recording started, ms since the Unix epoch.
    pub since: i64,
    /// Who started it; absent when the meeting records on connect, or the REST API started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_name: Option<String>,
}

/// Who may start and stop recording, as a joiner is told in `joined.record_power`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordPower {
    /// Nobody here: this server does not record (or an older server did not say).
    #[default]
    None,
    /// While your role is host or co-host (it may change during the meeting).
    Moderator,
    /// Always: your access token carries the `record` grant, whatever your role.
    Grant,
}

/// Why a recording stopped, in `recording_stopped`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingStopReason {
    /// A host (or the REST API) stopped it.
    Stopped,
    /// The server's disk fell under its free-space threshold.
    DiskFull,
    /// The server could not write the recording.
    Failed,
}
