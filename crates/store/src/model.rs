//! Plain records the store reads and writes. Times are milliseconds since the Unix epoch (UTC), which both
//! SQLite and PostgreSQL hold exactly as BIGINT.

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeetingId(pub i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// Why a participant session ended. Stored as its `as_str()` text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaveReason {
    /// The participant left on purpose.
    Left,
    /// The connection dropped and the participant did not resume within the window.
    Disconnected,
    /// The server shut down gracefully (drain).
    ServerShutdown,
    /// Closed at start-up: the previous process died with the session open.
    ServerRestart,
    /// A host removed the participant.
    Removed,
    /// The host ended the meeting for everyone.
    MeetingEnded,
    /// Closed by another node of the cluster: this session's node stopped renewing its lease
    /// (killed, or cut off) and never came back to close it.
    NodeLost,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::Disconnected => "disconnected",
            LeaveReason::ServerShutdown => "server_shutdown",
            LeaveReason::ServerRestart => "server_restart",
            LeaveReason::Removed => "removed",
            LeaveReason::MeetingEnded => "meeting_ended",
            LeaveReason::NodeLost => "node_lost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "left" => LeaveReason::Left,
            "disconnected" => LeaveReason::Disconnected,
            "server_shutdown" => LeaveReason::ServerShutdown,
            "server_restart" => LeaveReason::ServerRestart,
            "removed" => LeaveReason::Removed,
            "meeting_ended" => LeaveReason::MeetingEnded,
            "node_lost" => LeaveReason::NodeLost,
            _ => return None,
        })
    }
}

/// A meeting is one lifetime of a room: from the first join until the room ends.
#[derive(Clone, Debug)]
pub struct NewMeeting {
    pub room: String,
    /// Display name of whoever created it (the first to join), or a user's name later.
    pub creator: Option<String>,
    pub created_at: Millis,
    pub max_participants: i64,
    /// Room settings as a JSON object (locked, lobby, ...), opaque to the store.
    pub settings_json: String,
    /// The node that hosts the meeting; crash recovery closes only its own node's records.
    pub node_id: String,
    /// How the API names the meeting: unguessable (the caller makes it random), unique.
    pub public_id: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MeetingRecord {
    pub id: MeetingId,
    pub room: String,
    pub creator: Option<String>,
    pub created_at: Millis,
    pub started_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub max_participants: i64,
    pub settings_json: String,
    pub node_id: String,
    pub last_seen_at: Millis,
    pub public_id: String,
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub meeting: MeetingId,
    /// The server-assigned participant id (string, kept across a resume).
    pub participant_id: String,
    pub display_name: String,
    pub user: Option<UserId>,
    /// `host`, `participant`, ... as text.
    pub role: String,
    pub joined_at: Millis,
    pub node_id: String,
    /// The identity (`sub`) of the access token it joined with, if any.
    pub identity: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub meeting: MeetingId,
    pub participant_id: String,
    pub display_name: String,
    pub user: Option<UserId>,
    pub role: String,
    pub joined_at: Millis,
    pub left_at: Option<Millis>,
    pub leave_reason: Option<LeaveReason>,
    pub last_seen_at: Millis,
    pub identity: Option<String>,
    /// The sources a host muted it on, a JSON array (`["microphone"]`); `[]` for none.
    pub host_muted: String,
}

#[derive(Clone, Debug)]
pub struct NewChatMessage {
    pub meeting: MeetingId,
    pub session: SessionId,
    pub text: String,
    pub sent_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChatRecord {
    pub id: i64,
    pub meeting: MeetingId,
    pub session: SessionId,
    /// Joined from the sender's session, so history shows who wrote it.
    pub participant_id: String,
    pub display_name: String,
    pub text: String,
    pub sent_at: Millis,
    /// 1, 2, 3, ... within a meeting, with no gaps.
    pub seq: i64,
}

/// What start-up recovery closed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    pub sessions_closed: u64,
    pub meetings_closed: u64,
}

/// A new account. `email` is already normalised (trimmed, lower-cased); `password_hash` is a PHC string.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    /// None for an account that cannot sign in with a password.
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: Millis,
}

/// A signed-in browser; the store keeps only the hash of its token.
#[derive(Clone, Debug)]
pub struct NewAuthSession {
    pub user: UserId,
    pub token_hash: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuthSessionRecord {
    pub id: i64,
    pub user: UserId,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub last_used_at: Millis,
}

/// Who may enter a planned room (the owner always may).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone with the link, signed in or not.
    Link,
    /// Any signed-in user.
    Accounts,
    /// The owner and the invited emails only.
    Invited,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Link => "link",
            Access::Accounts => "accounts",
            Access::Invited => "invited",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "link" => Access::Link,
            "accounts" => Access::Accounts,
            "invited" => Access::Invited,
            _ => return None,
        })
    }
}

/// A room made ahead of time by a signed-in user, with who may enter it.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRoom {
    pub id: i64,
    /// The room's canonical name (its link).
    pub name: String,
    pub owner: UserId,
    pub title: String,
    pub access: Access,
    /// Argon2id PHC string of the room's password, if it has one.
    pub password_hash: Option<String>,
    pub max_participants: Option<i64>,
    pub starts_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Normalised emails, sorted.
    pub invited: Vec<String>,
    /// Whether people wait in a lobby until a host admits them.
    pub lobby: bool,
    /// How long the room stays open once empty; None: the server's default.
    pub empty_room_timeout_secs: Option<i64>,
    /// Who hosts the room beside its owner: normalised emails, sorted, once each.
    pub co_hosts: Vec<String>,
    /// Whether its meetings are recorded from their start.
    pub record_on_connect: bool,
}

/// A key a program uses for the REST API.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKeyRecord {
    /// Public, e.g. `ck_k3v9q2mxa7bdrt4w`.
    pub id: String,
    /// Argon2id PHC string of the secret.
    pub secret_hash: String,
    pub name: String,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// Someone removed from a meeting, who may not come back to it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewBan {
    pub meeting: MeetingId,
    /// The participant id they had when removed.
    pub participant_id: String,
    /// Their account, if they were signed in.
    pub user: Option<UserId>,
    /// The identity (`sub`) of the access token they joined with, if any.
    pub identity: Option<String>,
    pub display_name: String,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BanRecord {
    pub id: i64,
    pub meeting: MeetingId,
    pub participant_id: String,
    pub user: Option<UserId>,
    pub identity: Option<String>,
    pub display_name: String,
    pub created_at: Millis,
}

/// One moderation action (mute, remove, lock, ...), for the meeting's audit log.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEntry {
    pub meeting: MeetingId,
    pub at: Millis,
    /// `participant`, `user`, `api_key` or `system`.
    pub actor_kind: String,
    /// A participant id, a user id as text, or an API key id.
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    /// `mute`, `remove`, `lock`, ...
    pub action: String,
    /// The participant acted on, if any.
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    /// What else the action carries: the source muted, the new role, ...
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub meeting: MeetingId,
    pub at: Millis,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub detail: Option<String>,
}

/// One event of the webhook outbox, with its meeting's names.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    /// Its place in the outbox (endpoints' cursors count in these).
    pub row: i64,
    /// Public and unique: receivers deduplicate by it.
    pub event_id: String,
    pub meeting: MeetingId,
    pub meeting_public_id: String,
    pub room: String,
    /// 1, 2, 3, ... within the meeting.
    pub seq: i64,
    pub kind: String,
    /// The event's `data`, JSON.
    pub payload: String,
    pub created_at: Millis,
}

/// Where events go.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookRecord {
    /// `wh_...` (made through the API) or `cfg_...` (from the configuration file).
    pub id: String,
    pub url: String,
    pub secret: String,
    /// Event kinds it wants; empty: every kind.
    pub events: Vec<String>,
    pub from_config: bool,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
    pub progress: WebhookProgress,
}

/// An endpoint's place in the outbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookProgress {
    /// The last event row it is done with (delivered, or given up on).
    pub cursor: i64,
    /// Failed attempts at the next event.
    pub attempts: i64,
    pub next_attempt_at: Millis,
    /// When the next event first failed (the retry window counts from there).
    pub first_failed_at: Option<Millis>,
}

/// One attempt to deliver an event.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDelivery {
    pub endpoint: String,
    pub event_row: i64,
    pub at: Millis,
    pub attempt: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub ok: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub event_id: String,
    pub kind: String,
    pub delivery: NewDelivery,
}
