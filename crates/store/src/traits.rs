//! The one interface the server uses for its records.

use async_trait::async_trait;

use crate::compositions::{CompositionId, CompositionOutcome, CompositionRecord, NewComposition};
use crate::files::{FileInsert, FileRecord, NewFile};
use crate::model::*;
use crate::recordings::{NewRecording, RecordingEnd, RecordingRecord, RecordingRowState};
use crate::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Meeting records. Every write is committed (durable) when the returned future resolves: the server
/// acknowledges or broadcasts only after that, which is what makes the record crash-consistent.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip to the database, for `/readyz`.
    async fn ping(&self) -> Result<()>;

    /// Connections the pool holds now (open and idle), for `/metrics`.
    fn connections(&self) -> crate::PoolConnections;

    /// Heap the database library holds inside this process (SQLite's page caches and prepared
    /// statements), for `/metrics`; `None` when the database lives in another process.
    fn memory_bytes(&self) -> Option<u64>;

    /// Gives back what the database library caches in this process, on connections no query is
    /// using: called when the node has gone idle. Nothing to do for PostgreSQL.
    async fn release_memory(&self) -> Result<()>;

    /// Creates a meeting; `started_at` is set to `created_at` (a room comes into being at its first join).
    /// With its `room_started` event.
    async fn create_meeting(&self, m: &NewMeeting) -> Result<MeetingId>;
    /// Sets `ended_at` (no-op if already ended).
    async fn end_meeting(&self, id: MeetingId, ended_at: Millis) -> Result<()>;
    /// Clears `ended_at` of an ended meeting, which `node_id` now hosts again (its people came back
    /// after a restart). False if the meeting is unknown or still open.
    async fn reopen_meeting(&self, id: MeetingId, node_id: &str, now: Millis) -> Result<bool>;
    async fn meeting(&self, id: MeetingId) -> Result<Option<MeetingRecord>>;
    /// By the id the API shows.
    async fn meeting_by_public_id(&self, public_id: &str) -> Result<Option<MeetingRecord>>;
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
    /// Records the sources a host muted the session on (a JSON array), so that a restore after a
    /// restart or a node's death brings the mute back. `StoreError::NotFound` if there is no such
    /// session.
    async fn set_session_host_muted(&self, id: SessionId, sources_json: &str) -> Result<()>;
    /// Records the meeting's settings a host changed (lock, lobby: JSON), for the same reason.
    /// `StoreError::NotFound` if there is no such meeting.
    async fn set_meeting_settings(&self, id: MeetingId, settings_json: &str) -> Result<()>;
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

    /// The secret stored under `name`; `fresh` is stored first when there is none. Every process on
    /// the database gets the same value, also when several ask at once.
    async fn secret(&self, name: &str, fresh: &str) -> Result<String>;

    /// Marks this node's open sessions and meetings as seen alive at `now`; returns rows touched.
    async fn heartbeat(&self, node_id: &str, now: Millis) -> Result<u64>;
    /// At start-up: closes the sessions and meetings `node_id` left open, reason `server_restart`. A
    /// session ends at the later of its last heartbeat and its last chat message, so the record never
    /// says someone left before the last thing they did; a meeting ends at its last session's end or
    /// its own last heartbeat, whichever is later.
    async fn recover(&self, node_id: &str) -> Result<Recovery>;
    /// In a cluster: closes the records a lost node (`node_id`, whose lease expired) left open, as
    /// [`Store::recover`] does but with reason `node_lost`, and only rows last seen at or before
    /// `seen_until` (the node's last heartbeat), so that a node restarting under the same id at the
    /// same moment keeps its new rows.
    async fn recover_lost(&self, node_id: &str, seen_until: Millis) -> Result<Recovery>;

    /// Creates an account. `StoreError::Conflict` if the email is taken.
    async fn create_user(&self, u: &NewUser) -> Result<UserId>;
    async fn user(&self, id: UserId) -> Result<Option<UserRecord>>;
    /// By normalised email.
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>>;
    async fn count_users(&self) -> Result<i64>;
    /// Sets the password hash and revokes every signed-in session of the account, in one
    /// transaction. `StoreError::NotFound` for an unknown user.
    async fn set_user_password(&self, id: UserId, hash: &str, now: Millis) -> Result<()>;
    /// Changes the admin and disabled flags that are given. `StoreError::NotFound` for an unknown user.
    async fn set_user_flags(
        &self,
        id: UserId,
        is_admin: Option<bool>,
        disabled: Option<bool>,
    ) -> Result<()>;

    async fn create_auth_session(&self, s: &NewAuthSession) -> Result<i64>;
    /// The live session with this token hash and its account: not revoked, not expired at `now`, the
    /// account not disabled. Marks it used at `now` (at most once a minute, to spare the database).
    async fn auth_session(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<(AuthSessionRecord, UserRecord)>>;
    /// Revokes one session (sign-out); false if there was no live one.
    async fn revoke_auth_session(&self, token_hash: &str, now: Millis) -> Result<bool>;

    /// Stores a planned room (its `id`, `created_at` and `updated_at` are taken from `r` as given,
    /// the id is then assigned). `StoreError::Conflict` if the name is taken. Returns the new id.
    async fn create_planned_room(&self, r: &PlannedRoom) -> Result<i64>;
    async fn planned_room(&self, name: &str) -> Result<Option<PlannedRoom>>;
    /// Replaces a planned room's settings and invitations (by id). `StoreError::NotFound` if absent.
    async fn update_planned_room(&self, r: &PlannedRoom) -> Result<()>;
    /// The rooms `owner` planned, newest first.
    async fn planned_rooms_of(&self, owner: UserId) -> Result<Vec<PlannedRoom>>;

    /// Meetings `user` may read, newest first: those they attended (signed in) and those of rooms
    /// they planned. `room` filters by room name.
    async fn meetings_for_user(
        &self,
        user: UserId,
        room: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MeetingRecord>>;
    /// Whether `user` attended `meeting` or planned its room.
    async fn user_may_read_meeting(&self, user: UserId, meeting: MeetingId) -> Result<bool>;

    async fn create_api_key(&self, k: &ApiKeyRecord) -> Result<()>;
    async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>>;
    /// All keys, revoked ones too, newest first.
    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>>;
    /// False if there is no live key of that id.
    async fn revoke_api_key(&self, id: &str, now: Millis) -> Result<bool>;

    /// Records that someone was removed from a meeting and may not come back. `StoreError::NotFound`
    /// if the meeting does not exist. Returns the ban's id.
    async fn add_ban(&self, b: &NewBan) -> Result<i64>;
    /// The bans of a meeting, oldest first.
    async fn bans(&self, meeting: MeetingId) -> Result<Vec<BanRecord>>;
    /// Appends a moderation action to the meeting's audit log. `StoreError::NotFound` if the meeting
    /// does not exist. Returns the entry's id.
    async fn record_moderation(&self, e: &NewAuditEntry) -> Result<i64>;
    /// The first `limit` entries of a meeting's audit log, oldest first.
    async fn moderation_log(&self, meeting: MeetingId, limit: i64) -> Result<Vec<AuditRecord>>;

    /// Appends an event of `meeting` to the webhook outbox (events of records — a meeting started
    /// or ended, a session opened or closed, a ban — are appended by the methods that write the
    /// record, in their transaction). `data` is the event's `data` object.
    async fn append_event(
        &self,
        meeting: MeetingId,
        kind: &str,
        data: serde_json::Value,
        at: Millis,
    ) -> Result<()>;
    /// Up to `limit` outbox events after row `after`, in order.
    async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRecord>>;
    async fn event(&self, row: i64) -> Result<Option<EventRecord>>;
    /// The outbox's last row (0 when empty): where a new endpoint starts.
    async fn last_event(&self) -> Result<i64>;

    /// Stores a webhook endpoint; one of the same id takes the new url, secret, events and
    /// `revoked_at`, and keeps its place in the outbox.
    async fn put_webhook(&self, w: &WebhookRecord) -> Result<()>;
    /// Every endpoint, revoked ones too, oldest first.
    async fn webhooks(&self) -> Result<Vec<WebhookRecord>>;
    async fn webhook(&self, id: &str) -> Result<Option<WebhookRecord>>;
    /// False if there is no live endpoint of that id.
    async fn revoke_webhook(&self, id: &str, now: Millis) -> Result<bool>;
    async fn set_webhook_progress(&self, id: &str, p: &WebhookProgress) -> Result<()>;
    /// Holds live endpoint `id` for `holder` until `until` if nobody else holds it at `now`;
    /// the endpoint as stored (its progress read under the hold), or None when another holds it.
    async fn hold_webhook(
        &self,
        id: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Option<WebhookRecord>>;
    /// Stores progress and extends the hold to `until`, only while `holder` still holds `id`;
    /// false when another took it over (the caller must stop delivering).
    async fn set_held_webhook_progress(
        &self,
        id: &str,
        holder: &str,
        p: &WebhookProgress,
        until: Millis,
    ) -> Result<bool>;
    async fn record_delivery(&self, d: &NewDelivery) -> Result<i64>;
    /// An endpoint's last `limit` deliveries, newest first.
    async fn deliveries(&self, endpoint: &str, limit: i64) -> Result<Vec<DeliveryRecord>>;
    async fn delivery(&self, id: i64) -> Result<Option<DeliveryRecord>>;

    /// Records a shared file whose bytes are stored, unless the meeting's files would then hold
    /// more than `quota` bytes (checked in the same transaction, so concurrent uploads cannot
    /// both pass). `StoreError::NotFound` if the meeting does not exist or the session is not one
    /// of its sessions.
    async fn add_file(&self, f: &NewFile, quota: i64) -> Result<FileInsert>;
    /// By the id the API and the protocol show.
    async fn file(&self, public_id: &str) -> Result<Option<FileRecord>>;
    /// The first `limit` files of a meeting, in the order they were shared.
    async fn files(&self, meeting: MeetingId, limit: i64) -> Result<Vec<FileRecord>>;
    /// The bytes a meeting's files hold.
    async fn file_bytes(&self, meeting: MeetingId) -> Result<i64>;
    /// Deletes one file of a meeting; returns it (so its blobs can go too), or None if the
    /// meeting has no such file.
    async fn delete_file(&self, meeting: MeetingId, public_id: &str) -> Result<Option<FileRecord>>;
    /// Deletes the files of meetings that ended before `meetings_ended_before` and the files shared
    /// before `shared_before`; returns them, so that their blobs can be deleted too.
    async fn expire_files(
        &self,
        meetings_ended_before: Millis,
        shared_before: Millis,
    ) -> Result<Vec<FileRecord>>;

    /// Records a recording that starts now. `StoreError::NotFound` if the meeting does not exist,
    /// `StoreError::Conflict` if the public id is taken. Returns its row id.
    async fn add_recording(&self, r: &NewRecording) -> Result<i64>;
    /// Sets how a recording ended. `StoreError::NotFound` if there is no such recording.
    async fn end_recording(&self, public_id: &str, end: &RecordingEnd) -> Result<()>;
    /// By the id the API shows.
    async fn recording(&self, public_id: &str) -> Result<Option<RecordingRecord>>;
    /// A meeting's recordings, oldest first.
    async fn recordings(&self, meeting: MeetingId) -> Result<Vec<RecordingRecord>>;
    /// The recordings of the meetings `purge_meetings_ended_before(before)` would delete, oldest
    /// first (their folders go before their rows).
    async fn recordings_of_meetings_ended_before(
        &self,
        before: Millis,
    ) -> Result<Vec<RecordingRecord>>;
    /// Every recording in `state`, oldest first (at start-up: those a crash left `recording`).
    async fn recordings_in_state(&self, state: RecordingRowState) -> Result<Vec<RecordingRecord>>;
    /// Deletes one recording of a meeting; returns it (so its files can go too), or None.
    async fn delete_recording(
        &self,
        meeting: MeetingId,
        public_id: &str,
    ) -> Result<Option<RecordingRecord>>;
    /// Deletes the recordings (not in progress) started before `before`; returns them, so that
    /// their files can be deleted too. With a `holder` (a node of a cluster), only those that node
    /// holds (and those made before recordings knew their node): another node's files are its own
    /// to delete, with their rows.
    async fn expire_recordings(
        &self,
        before: Millis,
        holder: Option<&str>,
    ) -> Result<Vec<RecordingRecord>>;
    /// Records a composition asked for, queued. `StoreError::Database` if the meeting does not exist.
    async fn add_composition(&self, c: &NewComposition) -> Result<CompositionRecord>;
    /// By the id the API shows.
    async fn composition(&self, public_id: &str) -> Result<Option<CompositionRecord>>;
    /// The first `limit` compositions of a meeting, oldest first.
    async fn compositions(&self, meeting: MeetingId, limit: i64) -> Result<Vec<CompositionRecord>>;
    /// Marks an unfinished composition running at `progress` (0-100); false if it is finished or
    /// gone (deleted while it ran).
    async fn composition_progress(&self, id: CompositionId, progress: i64) -> Result<bool>;
    /// Ends an unfinished composition; false if it is finished or gone.
    async fn finish_composition(
        &self,
        id: CompositionId,
        outcome: &CompositionOutcome,
        now: Millis,
    ) -> Result<bool>;
    /// Deletes one composition of a meeting; returns it (so its blob can go too), or None.
    async fn delete_composition(
        &self,
        meeting: MeetingId,
        public_id: &str,
    ) -> Result<Option<CompositionRecord>>;
    /// Deletes the compositions of meetings that ended before `before`; returns them, so that
    /// their files can be deleted too (before the meetings' records are purged).
    async fn expire_compositions(&self, before: Millis) -> Result<Vec<CompositionRecord>>;
    /// At start-up: fails the compositions this node left queued or running. Returns how many.
    async fn fail_unfinished_compositions(
        &self,
        node_id: &str,
        reason: &str,
        now: Millis,
    ) -> Result<u64>;

    /// Blobs in the database (a cluster's shared files; a single node keeps them in a directory).
    /// Starts blob `key` (unique, the caller's), not yet seen by `blob_size`.
    async fn create_blob(&self, key: &str, now: Millis) -> Result<()>;
    /// Stores chunk `seq` of an uncommitted blob.
    async fn put_blob_chunk(&self, key: &str, seq: i64, data: &[u8]) -> Result<()>;
    /// Makes blob `key` of `size` bytes seen. False when there is no such uncommitted blob.
    async fn commit_blob(&self, key: &str, size: i64) -> Result<bool>;
    /// A committed blob's size; None if there is none by that key.
    async fn blob_size(&self, key: &str) -> Result<Option<i64>>;
    /// Chunk `seq` of blob `key`; None if there is none.
    async fn blob_chunk(&self, key: &str, seq: i64) -> Result<Option<Vec<u8>>>;
    /// Deletes a blob with its chunks (nothing to do if it is not there).
    async fn delete_blob(&self, key: &str) -> Result<()>;
    /// Deletes the blobs started before `before` and never committed (uploads cut by a crash);
    /// how many went.
    async fn delete_uncommitted_blobs(&self, before: Millis) -> Result<u64>;

    /// Deletes the meetings that ended before `before`, with their sessions, chat, bans,
    /// moderation log, file and recording rows, in one transaction. Returns how many meetings went.
    /// With a `holder` (a node of a cluster), a meeting that still has a recording held by another
    /// node stays until that node has deleted it (its files are on that node's disk).
    async fn purge_meetings_ended_before(
        &self,
        before: Millis,
        holder: Option<&str>,
    ) -> Result<u64>;
}
