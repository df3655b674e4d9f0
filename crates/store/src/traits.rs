//! The one interface the server uses for its records.

use async_trait::async_trait;

use crate::model::*;
use crate::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Meeting records. Every write is committed (durable) when the returned future resolves: the server
/// acknowledges or broadcasts only after that, which is what makes the record crash-consistent.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip to the database, for `/readyz`.
    async fn ping(&self) -> Result<()>;

    /// Creates a meeting; `started_at` is set to `created_at` (a room comes into being at its first join).
    async fn create_meeting(&self, m: &NewMeeting) -> Result<MeetingId>;
    /// Sets `ended_at` (no-op if already ended).
    async fn end_meeting(&self, id: MeetingId, ended_at: Millis) -> Result<()>;
    async fn meeting(&self, id: MeetingId) -> Result<Option<MeetingRecord>>;
    /// Newest first; `room` filters by room name when given.
    async fn meetings(&self, room: Option<&str>, limit: i64) -> Result<Vec<MeetingRecord>>;

    async fn open_session(&self, s: &NewSession) -> Result<SessionId>;
    /// Sets `left_at` and the reason (no-op if already closed).
    async fn close_session(
        &self,
        id: SessionId,
        left_at: Millis,
        reason: LeaveReason,
    ) -> Result<()>;
    /// `StoreError::NotFound` if there is no such session (closed sessions are still updated).
    async fn set_session_role(&self, id: SessionId, role: &str) -> Result<()>;
    /// `StoreError::NotFound` if there is no such session.
    async fn set_session_display_name(&self, id: SessionId, name: &str) -> Result<()>;
    /// All sessions of a meeting, in join order.
    async fn sessions(&self, meeting: MeetingId) -> Result<Vec<SessionRecord>>;
    /// Up to `limit` sessions of a meeting whose id is above `after`, in id (= join) order: one page
    /// of a meeting's sessions, the last one's id being the cursor of the next page.
    async fn sessions_page(
        &self,
        meeting: MeetingId,
        after: SessionId,
        limit: i64,
    ) -> Result<Vec<SessionRecord>>;

    /// Stores a chat message and assigns the next sequence number of its meeting (1, 2, ... without gaps,
    /// also under concurrent writers). `StoreError::NotFound` if the meeting does not exist or the session
    /// is not one of its sessions.
    async fn append_chat(&self, msg: &NewChatMessage) -> Result<ChatRecord>;
    /// The last `limit` messages of a meeting, oldest first.
    async fn chat_history(&self, meeting: MeetingId, limit: i64) -> Result<Vec<ChatRecord>>;
    /// Up to `limit` messages of a meeting whose `seq` is above `after`, oldest first.
    async fn chat_page(
        &self,
        meeting: MeetingId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ChatRecord>>;

    /// Marks this node's open sessions and meetings as seen alive at `now`; returns rows touched.
    async fn heartbeat(&self, node_id: &str, now: Millis) -> Result<u64>;
    /// At start-up: closes the sessions and meetings `node_id` left open (left_at / ended_at = last seen
    /// alive, reason `server_restart`).
    async fn recover(&self, node_id: &str) -> Result<Recovery>;
}
