//! [`SqlStore`]: the [`Store`] over sqlx's `Any` driver, one body of SQL for SQLite and PostgreSQL.
//!
//! Portability rules followed here: `$n` placeholders (sqlx binds them by number on SQLite too), only
//! BIGINT/TEXT values (i64, String, Option of them), `RETURNING` instead of last-insert-id, and no
//! dialect functions (`COALESCE` of a sub-select stands in for `GREATEST`/`MAX(a, b)`).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

use crate::compositions::{CompositionId, CompositionOutcome, CompositionRecord, NewComposition};
use crate::files::{FileInsert, FileRecord, NewFile};
use crate::model::*;
use crate::recordings::{NewRecording, RecordingEnd, RecordingRecord, RecordingRowState};
use crate::traits::{Result, Store};
use crate::url::Target;
use crate::{migrate, StoreError};

/// Which database a [`SqlStore`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store over a connection pool. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

/// Applied to every SQLite connection. WAL lets readers run beside the one writer; `synchronous=FULL`
/// fsyncs the WAL at each commit, so a committed row survives SIGKILL and power loss; `busy_timeout`
/// makes a second writer wait instead of failing at once.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON;";

/// SQLite runs one writer at a time anyway; a few connections serve concurrent reads.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
const POSTGRES_MAX_CONNECTIONS: u32 = 10;

/// How often `append_chat` retries after losing a race for a sequence number.
const CHAT_APPEND_ATTEMPTS: u32 = 5;

const MEETING_COLUMNS: &str = "id, room, creator, created_at, started_at, ended_at, \
     max_participants, settings_json, node_id, last_seen_at, public_id";
/// Meetings (`m`) user `$1` may read: attended, or of a room they planned.
const READABLE: &str = "EXISTS (SELECT 1 FROM participant_sessions s \
     WHERE s.meeting_id = m.id AND s.user_id = $1) \
     OR EXISTS (SELECT 1 FROM planned_rooms p WHERE p.name = m.room AND p.owner_id = $1)";
const SESSION_COLUMNS: &str = "id, meeting_id, participant_id, display_name, user_id, role, \
     joined_at, left_at, leave_reason, last_seen_at, identity, host_muted";

/// Connects to `url` and brings the schema up to date. See [`SqlStore::connect`].
pub async fn connect(url: &str) -> Result<SqlStore> {
    SqlStore::connect(url).await
}

/// How the pool behaves when the database is slow or gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    /// PostgreSQL: how long a query waits for a connection (a free one, or a new one while the
    /// server refuses them) before it fails with [`StoreError::Database`]. Short enough that a
    /// request during an outage is refused while its client still waits, rather than queued
    /// behind the outage. SQLite's file needs no connecting; its writers wait `busy_timeout`.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Connections a pool holds now (for `/metrics` and the soak script).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolConnections {
    /// Open connections, in use or idle.
    pub open: u32,
    pub idle: u32,
}

impl SqlStore {
    /// Connects to `sqlite://PATH`, `sqlite:PATH` (file and parent directory created if missing),
    /// `sqlite::memory:`, or `postgres://` / `postgresql://`, then applies pending migrations.
    /// Any other scheme is [`StoreError::UnsupportedUrl`].
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PoolSettings::default()).await
    }

    /// [`SqlStore::connect`] with pool settings other than the defaults.
    pub async fn connect_with(url: &str, settings: PoolSettings) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (pool, backend) = match crate::url::parse(url)? {
            Target::Sqlite { url, in_memory } => {
                let options = AnyPoolOptions::new().after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(SQLITE_PRAGMAS).await?;
                        Ok(())
                    })
                });
                let options = if in_memory {
                    // Every new connection to `:memory:` is a new, empty database: keep exactly one.
                    options
                        .max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    options.max_connections(SQLITE_MAX_CONNECTIONS)
                };
                (options.connect(&url).await?, Backend::Sqlite)
            }
            Target::Postgres { url } => {
                let pool = AnyPoolOptions::new()
                    .max_connections(POSTGRES_MAX_CONNECTIONS)
                    .acquire_timeout(settings.acquire_timeout)
                    .connect(&url)
                    .await?;
                (pool, Backend::Postgres)
            }
        };
        migrate::run(&pool, backend).await?;
        Ok(SqlStore { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The underlying pool, for diagnostics and tests; the server should go through [`Store`].
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The highest applied schema migration.
    pub async fn schema_version(&self) -> Result<i64> {
        migrate::current_version(&self.pool).await
    }

    /// Waits for checked-out connections to return, then closes the pool (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn try_append_chat(&self, msg: &NewChatMessage) -> Result<ChatRecord> {
        let mut tx = begin_write(&self.pool, self.backend).await?;
        // Touching the meeting row locks it until commit, so on PostgreSQL concurrent appenders to one
        // meeting queue here rather than collide on UNIQUE(meeting_id, seq); SQLite's BEGIN IMMEDIATE
        // already serialises writers. It also proves the meeting exists.
        let touched = sqlx::query("UPDATE meetings SET last_seen_at = last_seen_at WHERE id = $1")
            .bind(msg.meeting.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if touched == 0 {
            return Err(StoreError::NotFound("meeting"));
        }
        let sender = sqlx::query(
            "SELECT participant_id, display_name FROM participant_sessions \
             WHERE id = $1 AND meeting_id = $2",
        )
        .bind(msg.session.0)
        .bind(msg.meeting.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("session in this meeting"))?;
        let inserted = sqlx::query(
            "INSERT INTO chat_messages (meeting_id, session_id, text, sent_at, seq) \
             SELECT $1, $2, $3, $4, COALESCE(MAX(seq), 0) + 1 FROM chat_messages WHERE meeting_id = $1 \
             RETURNING id, seq",
        )
        .bind(msg.meeting.0)
        .bind(msg.session.0)
        .bind(msg.text.as_str())
        .bind(msg.sent_at)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ChatRecord {
            id: inserted.try_get("id")?,
            meeting: msg.meeting,
            session: msg.session,
            participant_id: sender.try_get("participant_id")?,
            display_name: sender.try_get("display_name")?,
            text: msg.text.clone(),
            sent_at: msg.sent_at,
            seq: inserted.try_get("seq")?,
        })
    }
}

/// Starts a transaction that will write. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`):
/// a deferred transaction that reads first and writes later can fail with SQLITE_BUSY without waiting.
pub(crate) async fn begin_write(
    pool: &AnyPool,
    backend: Backend,
) -> Result<Transaction<'static, Any>> {
    Ok(match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    })
}

/// A lost race worth retrying: a duplicate chat seq, or PostgreSQL aborting us for a conflict
/// (serialization failure 40001 / deadlock 40P01, possible if the server runs above READ COMMITTED).
fn is_retryable(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    db.kind() == sqlx::error::ErrorKind::UniqueViolation
        || matches!(db.code().as_deref(), Some("40001" | "40P01"))
}

fn meeting_from_row(row: &AnyRow) -> Result<MeetingRecord> {
    Ok(MeetingRecord {
        id: MeetingId(row.try_get("id")?),
        room: row.try_get("room")?,
        creator: row.try_get("creator")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        max_participants: row.try_get("max_participants")?,
        settings_json: row.try_get("settings_json")?,
        node_id: row.try_get("node_id")?,
        last_seen_at: row.try_get("last_seen_at")?,
        public_id: row.try_get("public_id")?,
    })
}

fn session_from_row(row: &AnyRow) -> Result<SessionRecord> {
    let leave_reason = match row.try_get::<Option<String>, _>("leave_reason")? {
        None => None,
        Some(text) => Some(
            LeaveReason::parse(&text)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown leave reason {text:?}")))?,
        ),
    };
    Ok(SessionRecord {
        id: SessionId(row.try_get("id")?),
        meeting: MeetingId(row.try_get("meeting_id")?),
        participant_id: row.try_get("participant_id")?,
        display_name: row.try_get("display_name")?,
        user: row.try_get::<Option<i64>, _>("user_id")?.map(UserId),
        role: row.try_get("role")?,
        joined_at: row.try_get("joined_at")?,
        left_at: row.try_get("left_at")?,
        leave_reason,
        last_seen_at: row.try_get("last_seen_at")?,
        identity: row.try_get("identity")?,
        host_muted: row.try_get("host_muted")?,
    })
}

fn chat_from_row(row: &AnyRow) -> Result<ChatRecord> {
    Ok(ChatRecord {
        id: row.try_get("id")?,
        meeting: MeetingId(row.try_get("meeting_id")?),
        session: SessionId(row.try_get("session_id")?),
        participant_id: row.try_get("participant_id")?,
        display_name: row.try_get("display_name")?,
        text: row.try_get("text")?,
        sent_at: row.try_get("sent_at")?,
        seq: row.try_get("seq")?,
    })
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn connections(&self) -> PoolConnections {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolConnections {
            open: self.pool.size(),
            idle,
        }
    }

    fn memory_bytes(&self) -> Option<u64> {
        match self.backend {
            Backend::Sqlite => Some(crate::sqlite_memory::in_use()),
            Backend::Postgres => None,
        }
    }

    async fn release_memory(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => crate::sqlite_memory::release(&self.pool).await,
            Backend::Postgres => Ok(()),
        }
    }

    async fn create_meeting(&self, m: &NewMeeting) -> Result<MeetingId> {
        self.insert_meeting(m).await
    }

    async fn end_meeting(&self, id: MeetingId, ended_at: Millis) -> Result<()> {
        self.finish_meeting(id, ended_at).await
    }

    async fn reopen_meeting(&self, id: MeetingId, node_id: &str, now: Millis) -> Result<bool> {
        self.reopen_meeting_row(id, node_id, now).await
    }

    async fn meeting_by_public_id(&self, public_id: &str) -> Result<Option<MeetingRecord>> {
        let sql = format!("SELECT {MEETING_COLUMNS} FROM meetings WHERE public_id = $1");
        let row = sqlx::query(&sql)
            .bind(public_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(meeting_from_row).transpose()
    }

    async fn meeting(&self, id: MeetingId) -> Result<Option<MeetingRecord>> {
        let sql = format!("SELECT {MEETING_COLUMNS} FROM meetings WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(meeting_from_row).transpose()
    }

    async fn meetings(&self, room: Option<&str>, limit: i64) -> Result<Vec<MeetingRecord>> {
        // PostgreSQL rejects a negative LIMIT; treat it as "none".
        let limit = limit.max(0);
        let rows = match room {
            Some(room) => {
                let sql = format!(
                    "SELECT {MEETING_COLUMNS} FROM meetings WHERE room = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                );
                sqlx::query(&sql)
                    .bind(room)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {MEETING_COLUMNS} FROM meetings ORDER BY created_at DESC, id DESC LIMIT $1"
                );
                sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(meeting_from_row).collect()
    }

    async fn open_session(&self, s: &NewSession) -> Result<SessionId> {
        self.insert_session(s).await
    }

    async fn close_session(
        &self,
        id: SessionId,
        left_at: Millis,
        reason: LeaveReason,
    ) -> Result<()> {
        self.finish_session(id, left_at, reason).await
    }

    async fn set_session_host_muted(&self, id: SessionId, sources_json: &str) -> Result<()> {
        self.update_session_host_muted(id, sources_json).await
    }

    async fn set_meeting_settings(&self, id: MeetingId, settings_json: &str) -> Result<()> {
        self.update_meeting_settings(id, settings_json).await
    }

    async fn set_session_role(&self, id: SessionId, role: &str) -> Result<()> {
        let n = sqlx::query("UPDATE participant_sessions SET role = $2 WHERE id = $1")
            .bind(id.0)
            .bind(role)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("session"));
        }
        Ok(())
    }

    async fn set_session_display_name(&self, id: SessionId, name: &str) -> Result<()> {
        let n = sqlx::query("UPDATE participant_sessions SET display_name = $2 WHERE id = $1")
            .bind(id.0)
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("session"));
        }
        Ok(())
    }

    async fn sessions(&self, meeting: MeetingId) -> Result<Vec<SessionRecord>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM participant_sessions WHERE meeting_id = $1 \
             ORDER BY joined_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(meeting.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(session_from_row).collect()
    }

    async fn sessions_page(
        &self,
        meeting: MeetingId,
        after: SessionId,
        limit: i64,
    ) -> Result<Vec<SessionRecord>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM participant_sessions WHERE meeting_id = $1 AND id > $2 \
             ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(meeting.0)
            .bind(after.0)
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(session_from_row).collect()
    }

    async fn append_chat(&self, msg: &NewChatMessage) -> Result<ChatRecord> {
        let mut attempt = 1;
        loop {
            match self.try_append_chat(msg).await {
                // The meeting-row lock normally prevents this; the UNIQUE constraint is the backstop.
                Err(StoreError::Database(e))
                    if is_retryable(&e) && attempt < CHAT_APPEND_ATTEMPTS =>
                {
                    tracing::debug!(meeting = msg.meeting.0, attempt, "chat seq taken, retrying");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn chat_history(&self, meeting: MeetingId, limit: i64) -> Result<Vec<ChatRecord>> {
        let rows = sqlx::query(
            "SELECT c.id, c.meeting_id, c.session_id, s.participant_id, s.display_name, \
             c.text, c.sent_at, c.seq \
             FROM chat_messages c JOIN participant_sessions s ON s.id = c.session_id \
             WHERE c.meeting_id = $1 ORDER BY c.seq DESC LIMIT $2",
        )
        .bind(meeting.0)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        // Fetched newest first so LIMIT keeps the latest; callers want reading order.
        rows.iter().rev().map(chat_from_row).collect()
    }

    async fn secret(&self, name: &str, fresh: &str) -> Result<String> {
        // Insert-if-absent, then read: whoever inserted first, everyone reads the same row.
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .bind(crate::migrate::now_millis())
        .execute(&self.pool)
        .await?;
        let value: String = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(value)
    }

    async fn create_user(&self, u: &NewUser) -> Result<UserId> {
        self.create_user_row(u).await
    }

    async fn user(&self, id: UserId) -> Result<Option<UserRecord>> {
        self.user_row(id).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        self.user_row_by_email(email).await
    }

    async fn count_users(&self) -> Result<i64> {
        self.count_user_rows().await
    }

    async fn set_user_password(&self, id: UserId, hash: &str, now: Millis) -> Result<()> {
        self.set_password_and_revoke(id, hash, now).await
    }

    async fn set_user_flags(
        &self,
        id: UserId,
        is_admin: Option<bool>,
        disabled: Option<bool>,
    ) -> Result<()> {
        self.set_flags(id, is_admin, disabled).await
    }

    async fn create_auth_session(&self, s: &NewAuthSession) -> Result<i64> {
        self.insert_auth_session(s).await
    }

    async fn auth_session(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<(AuthSessionRecord, UserRecord)>> {
        self.live_auth_session(token_hash, now).await
    }

    async fn revoke_auth_session(&self, token_hash: &str, now: Millis) -> Result<bool> {
        self.revoke_session_row(token_hash, now).await
    }

    async fn create_planned_room(&self, r: &PlannedRoom) -> Result<i64> {
        self.insert_planned_room(r).await
    }

    async fn planned_room(&self, name: &str) -> Result<Option<PlannedRoom>> {
        self.planned_room_by_name(name).await
    }

    async fn update_planned_room(&self, r: &PlannedRoom) -> Result<()> {
        self.replace_planned_room(r).await
    }

    async fn planned_rooms_of(&self, owner: UserId) -> Result<Vec<PlannedRoom>> {
        self.planned_rooms_by_owner(owner).await
    }

    async fn chat_page(
        &self,
        meeting: MeetingId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ChatRecord>> {
        let rows = sqlx::query(
            "SELECT c.id, c.meeting_id, c.session_id, s.participant_id, s.display_name, \
             c.text, c.sent_at, c.seq \
             FROM chat_messages c JOIN participant_sessions s ON s.id = c.session_id \
             WHERE c.meeting_id = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3",
        )
        .bind(meeting.0)
        .bind(after)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(chat_from_row).collect()
    }

    async fn meetings_for_user(
        &self,
        user: UserId,
        room: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MeetingRecord>> {
        let sql = format!(
            "SELECT {MEETING_COLUMNS} FROM meetings m WHERE ({READABLE}) \
             AND ($2 IS NULL OR m.room = $2) \
             ORDER BY m.created_at DESC, m.id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(user.0)
            .bind(room)
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(meeting_from_row).collect()
    }

    async fn user_may_read_meeting(&self, user: UserId, meeting: MeetingId) -> Result<bool> {
        let sql = format!("SELECT COUNT(*) FROM meetings m WHERE m.id = $2 AND ({READABLE})");
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(user.0)
            .bind(meeting.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn create_api_key(&self, k: &ApiKeyRecord) -> Result<()> {
        self.insert_api_key(k).await
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
        self.api_key_by_id(id).await
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        self.all_api_keys().await
    }

    async fn revoke_api_key(&self, id: &str, now: Millis) -> Result<bool> {
        self.revoke_key_row(id, now).await
    }

    async fn add_ban(&self, b: &NewBan) -> Result<i64> {
        self.insert_ban(b).await
    }

    async fn bans(&self, meeting: MeetingId) -> Result<Vec<BanRecord>> {
        self.bans_of(meeting).await
    }

    async fn record_moderation(&self, e: &NewAuditEntry) -> Result<i64> {
        self.insert_audit(e).await
    }

    async fn moderation_log(&self, meeting: MeetingId, limit: i64) -> Result<Vec<AuditRecord>> {
        self.audit_of(meeting, limit).await
    }

    async fn append_event(
        &self,
        meeting: MeetingId,
        kind: &str,
        data: serde_json::Value,
        at: Millis,
    ) -> Result<()> {
        self.append_event_row(meeting, kind, data, at).await
    }

    async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRecord>> {
        self.events_after_row(after, limit).await
    }

    async fn event(&self, row: i64) -> Result<Option<EventRecord>> {
        self.event_row(row).await
    }

    async fn last_event(&self) -> Result<i64> {
        self.last_event_row().await
    }

    async fn put_webhook(&self, w: &WebhookRecord) -> Result<()> {
        self.put_webhook_row(w).await
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRecord>> {
        self.webhook_rows().await
    }

    async fn webhook(&self, id: &str) -> Result<Option<WebhookRecord>> {
        self.webhook_row(id).await
    }

    async fn revoke_webhook(&self, id: &str, now: Millis) -> Result<bool> {
        self.revoke_webhook_row(id, now).await
    }

    async fn set_webhook_progress(&self, id: &str, p: &WebhookProgress) -> Result<()> {
        self.set_webhook_progress_row(id, p).await
    }

    async fn hold_webhook(
        &self,
        id: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Option<WebhookRecord>> {
        self.hold_webhook_row(id, holder, now, until).await
    }

    async fn set_held_webhook_progress(
        &self,
        id: &str,
        holder: &str,
        p: &WebhookProgress,
        until: Millis,
    ) -> Result<bool> {
        self.set_held_webhook_progress_row(id, holder, p, until)
            .await
    }

    async fn record_delivery(&self, d: &NewDelivery) -> Result<i64> {
        self.insert_delivery(d).await
    }

    async fn deliveries(&self, endpoint: &str, limit: i64) -> Result<Vec<DeliveryRecord>> {
        self.delivery_rows(endpoint, limit).await
    }

    async fn delivery(&self, id: i64) -> Result<Option<DeliveryRecord>> {
        self.delivery_row(id).await
    }

    async fn add_file(&self, f: &NewFile, quota: i64) -> Result<FileInsert> {
        self.insert_file(f, quota).await
    }

    async fn file(&self, public_id: &str) -> Result<Option<FileRecord>> {
        self.file_by_public_id(public_id).await
    }

    async fn files(&self, meeting: MeetingId, limit: i64) -> Result<Vec<FileRecord>> {
        self.files_of(meeting, limit).await
    }

    async fn file_bytes(&self, meeting: MeetingId) -> Result<i64> {
        self.bytes_of(meeting).await
    }

    async fn delete_file(&self, meeting: MeetingId, public_id: &str) -> Result<Option<FileRecord>> {
        self.remove_file(meeting, public_id).await
    }

    async fn expire_files(
        &self,
        meetings_ended_before: Millis,
        shared_before: Millis,
    ) -> Result<Vec<FileRecord>> {
        self.expire_files_before(meetings_ended_before, shared_before)
            .await
    }

    async fn add_recording(&self, r: &NewRecording) -> Result<i64> {
        self.insert_recording(r).await
    }

    async fn end_recording(&self, public_id: &str, end: &RecordingEnd) -> Result<()> {
        self.end_recording_row(public_id, end).await
    }

    async fn recording(&self, public_id: &str) -> Result<Option<RecordingRecord>> {
        self.recording_by_public_id(public_id).await
    }

    async fn recordings(&self, meeting: MeetingId) -> Result<Vec<RecordingRecord>> {
        self.recordings_of(meeting).await
    }

    async fn recordings_in_state(&self, state: RecordingRowState) -> Result<Vec<RecordingRecord>> {
        self.recordings_in_state_rows(state).await
    }

    async fn delete_recording(
        &self,
        meeting: MeetingId,
        public_id: &str,
    ) -> Result<Option<RecordingRecord>> {
        self.remove_recording(meeting, public_id).await
    }

    async fn recordings_of_meetings_ended_before(
        &self,
        before: Millis,
    ) -> Result<Vec<RecordingRecord>> {
        self.recordings_of_ended_meetings(before).await
    }

    async fn expire_recordings(
        &self,
        before: Millis,
        holder: Option<&str>,
    ) -> Result<Vec<RecordingRecord>> {
        self.expire_recordings_before(before, holder).await
    }

    async fn add_composition(&self, c: &NewComposition) -> Result<CompositionRecord> {
        self.insert_composition(c).await
    }

    async fn composition(&self, public_id: &str) -> Result<Option<CompositionRecord>> {
        self.composition_by_public_id(public_id).await
    }

    async fn compositions(&self, meeting: MeetingId, limit: i64) -> Result<Vec<CompositionRecord>> {
        self.compositions_of(meeting, limit).await
    }

    async fn composition_progress(&self, id: CompositionId, progress: i64) -> Result<bool> {
        self.set_composition_progress(id, progress).await
    }

    async fn finish_composition(
        &self,
        id: CompositionId,
        outcome: &CompositionOutcome,
        now: Millis,
    ) -> Result<bool> {
        self.finish_composition_row(id, outcome, now).await
    }

    async fn delete_composition(
        &self,
        meeting: MeetingId,
        public_id: &str,
    ) -> Result<Option<CompositionRecord>> {
        self.remove_composition(meeting, public_id).await
    }

    async fn expire_compositions(&self, before: Millis) -> Result<Vec<CompositionRecord>> {
        self.expire_compositions_of_meetings_ended_before(before)
            .await
    }

    async fn fail_unfinished_compositions(
        &self,
        node_id: &str,
        reason: &str,
        now: Millis,
    ) -> Result<u64> {
        self.fail_unfinished_compositions_of(node_id, reason, now)
            .await
    }

    async fn create_blob(&self, key: &str, now: Millis) -> Result<()> {
        self.insert_blob(key, now).await
    }

    async fn put_blob_chunk(&self, key: &str, seq: i64, data: &[u8]) -> Result<()> {
        self.insert_blob_chunk(key, seq, data).await
    }

    async fn commit_blob(&self, key: &str, size: i64) -> Result<bool> {
        self.commit_blob_row(key, size).await
    }

    async fn blob_size(&self, key: &str) -> Result<Option<i64>> {
        self.committed_blob_size(key).await
    }

    async fn blob_chunk(&self, key: &str, seq: i64) -> Result<Option<Vec<u8>>> {
        self.blob_chunk_data(key, seq).await
    }

    async fn delete_blob(&self, key: &str) -> Result<()> {
        self.remove_blob(key).await
    }

    async fn delete_uncommitted_blobs(&self, before: Millis) -> Result<u64> {
        self.remove_uncommitted_blobs(before).await
    }

    async fn purge_meetings_ended_before(
        &self,
        before: Millis,
        holder: Option<&str>,
    ) -> Result<u64> {
        self.purge_meetings(before, holder).await
    }

    async fn heartbeat(&self, node_id: &str, now: Millis) -> Result<u64> {
        let mut tx = begin_write(&self.pool, self.backend).await?;
        // Never move last_seen_at backwards (clock step): recovery must not end a row before it was seen.
        let sessions = sqlx::query(
            "UPDATE participant_sessions \
             SET last_seen_at = CASE WHEN last_seen_at > $2 THEN last_seen_at ELSE $2 END \
             WHERE node_id = $1 AND left_at IS NULL",
        )
        .bind(node_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let meetings = sqlx::query(
            "UPDATE meetings \
             SET last_seen_at = CASE WHEN last_seen_at > $2 THEN last_seen_at ELSE $2 END \
             WHERE node_id = $1 AND ended_at IS NULL",
        )
        .bind(node_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(sessions + meetings)
    }

    async fn recover(&self, node_id: &str) -> Result<Recovery> {
        self.close_left_open(node_id, LeaveReason::ServerRestart, i64::MAX)
            .await
    }

    async fn recover_lost(&self, node_id: &str, seen_until: Millis) -> Result<Recovery> {
        self.close_left_open(node_id, LeaveReason::NodeLost, seen_until)
            .await
    }
}

impl SqlStore {
    /// Closes `node_id`'s open sessions and meetings last seen at or before `seen_until`, with
    /// `reason` on the sessions.
    async fn close_left_open(
        &self,
        node_id: &str,
        reason: LeaveReason,
        seen_until: Millis,
    ) -> Result<Recovery> {
        let mut tx = begin_write(&self.pool, self.backend).await?;
        // Which rows this closes, to write their events after.
        let open_sessions: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM participant_sessions \
             WHERE node_id = $1 AND left_at IS NULL AND last_seen_at <= $2",
        )
        .bind(node_id)
        .bind(seen_until)
        .fetch_all(&mut *tx)
        .await?;
        let open_meetings: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM meetings WHERE node_id = $1 AND ended_at IS NULL AND last_seen_at <= $2",
        )
        .bind(node_id)
        .bind(seen_until)
        .fetch_all(&mut *tx)
        .await?;
        let sessions_closed = sqlx::query(
            "UPDATE participant_sessions SET left_at = COALESCE(\
                 (SELECT MAX(c.sent_at) FROM chat_messages c \
                  WHERE c.session_id = participant_sessions.id \
                  AND c.sent_at > participant_sessions.last_seen_at), \
                 last_seen_at), leave_reason = $2 \
             WHERE node_id = $1 AND left_at IS NULL AND last_seen_at <= $3",
        )
        .bind(node_id)
        .bind(reason.as_str())
        .bind(seen_until)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // ended_at = the later of the meeting's last heartbeat and its last session's end, written
        // portably: the sub-select yields a left_at only when it is later than last_seen_at.
        let meetings_closed = sqlx::query(
            "UPDATE meetings SET ended_at = COALESCE(\
                 (SELECT MAX(s.left_at) FROM participant_sessions s \
                  WHERE s.meeting_id = meetings.id AND s.left_at > meetings.last_seen_at), \
                 last_seen_at) \
             WHERE node_id = $1 AND ended_at IS NULL AND last_seen_at <= $2",
        )
        .bind(node_id)
        .bind(seen_until)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        crate::outbox::recovered_events(&mut tx, &open_sessions, &open_meetings).await?;
        tx.commit().await?;
        if sessions_closed + meetings_closed > 0 {
            tracing::info!(
                node_id,
                reason = reason.as_str(),
                sessions_closed,
                meetings_closed,
                "closed records left open by a previous run"
            );
        }
        Ok(Recovery {
            sessions_closed,
            meetings_closed,
        })
    }
}

/// Compile-time guard: the server awaits these inside spawned tasks, so their futures must be Send
/// (some sqlx helpers, e.g. `raw_sql`, silently break that).
#[cfg(test)]
#[allow(dead_code)]
fn inherent_futures_are_send(s: &SqlStore) {
    fn is_send<T: Send>(_: T) {}
    is_send(SqlStore::connect("sqlite::memory:"));
    is_send(connect("sqlite::memory:"));
    is_send(s.schema_version());
    is_send(s.close());
}
