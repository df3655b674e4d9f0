//! Webhooks: what happened in meetings, told to other systems in order and without losing a word.
//! Events are written to the store's outbox in the transaction of the record each describes
//! (crates/store/src/outbox.rs), or by the room's writer for events without a record (a track
//! published, someone waiting in the lobby). A worker (`worker.rs`) takes each live endpoint through
//! the outbox in order, signs each delivery (`sign.rs`), sends it to a checked address
//! (`target.rs`, `client.rs`), and retries with backoff for `webhooks.retry_hours`; its place in the
//! outbox is stored, so a restart resumes where it stopped. docs/webhooks.md is the receiver's guide.

pub mod api;
pub mod client;
pub mod sign;
pub mod target;
mod worker;

pub use worker::{deliver, run, sync_config_endpoints};

/// Every event kind the server sends.
pub const EVENT_KINDS: &[&str] = &[
    "room_started",
    "room_finished",
    "participant_joined",
    "participant_left",
    "participant_removed",
    "track_published",
    "track_unpublished",
    "lobby_waiting",
    "file_shared",
    "recording_started",
    "recording_stopped",
    "recording_ready",
];

pub fn is_event_kind(k: &str) -> bool {
    EVENT_KINDS.contains(&k)
}

/// The id of an endpoint from the configuration file: stable across restarts (from its URL), so
/// it keeps its place in the outbox.
pub fn config_endpoint_id(url: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("cfg_{hex}")
}

/// A fresh secret for an endpoint made through the API.
pub fn new_secret() -> String {
    format!("whsec_{}", crate::rooms::participant::new_token())
}
