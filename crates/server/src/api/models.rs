//! What the REST API answers with: typed views of the records, so that the handlers and the OpenAPI
//! document (generated from these types) say the same thing.

use convene_store::{
    ApiKeyRecord, ChatRecord, MeetingRecord, PlannedRoom, SessionRecord, UserRecord,
};
use serde::Serialize;
use utoipa::ToSchema;

/// Every refusal and failure: a stable `code` (docs/protocol.md, *Error codes*) and a sentence.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "unauthorized")]
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub is_admin: bool,
    /// Milliseconds since the Unix epoch (as every `*_at` here).
    pub created_at: i64,
}

impl From<&UserRecord> for User {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id.0,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            is_admin: u.is_admin,
            created_at: u.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserReply {
    pub user: User,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKey {
    /// Public, e.g. `ck_k3v9q2mxa7bdrt4w`: the user name of HTTP Basic.
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl From<&ApiKeyRecord> for ApiKey {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            id: k.id.clone(),
            name: k.name.clone(),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key with its secret: shown this once, stored only hashed.
#[derive(Serialize, ToSchema)]
pub struct NewApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKey>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenReply {
    /// A JWT (HS256) for `join.access_token`.
    pub token: String,
    pub room: String,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Whether a meeting is running in the room now.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RoomStatus {
    InProgress,
    Completed,
}

#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessView {
    Link,
    Accounts,
    Invited,
}

impl From<convene_store::Access> for AccessView {
    fn from(a: convene_store::Access) -> Self {
        match a {
            convene_store::Access::Link => AccessView::Link,
            convene_store::Access::Accounts => AccessView::Accounts,
            convene_store::Access::Invited => AccessView::Invited,
        }
    }
}

/// A room made ahead of time (or, for API keys and administrators, a room opened by its link,
/// which has only a name, `link` access and a status).
#[derive(Serialize, ToSchema)]
pub struct Room {
    /// The room's name: its link is `/r/{unique_name}`.
    pub unique_name: String,
    pub status: RoomStatus,
    pub title: String,
    pub access: AccessView,
    pub has_password: bool,
    pub max_participants: Option<i64>,
    pub starts_at: Option<i64>,
    /// Emails invited to an `invited` room.
    pub invited: Vec<String>,
    /// Emails of its co-hosts.
    pub co_hosts: Vec<String>,
    /// Newcomers wait in the lobby.
    pub lobby: bool,
    /// Its meetings are recorded from their start.
    pub record_on_connect: bool,
    /// Minutes it stays open once empty; absent: the server's default.
    pub empty_room_timeout: Option<i64>,
    /// Absent for a room opened by its link.
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
}

impl Room {
    pub fn planned(r: &PlannedRoom, status: RoomStatus) -> Self {
        Self {
            unique_name: r.name.clone(),
            status,
            title: r.title.clone(),
            access: r.access.into(),
            has_password: r.password_hash.is_some(),
            max_participants: r.max_participants,
            starts_at: r.starts_at,
            invited: r.invited.clone(),
            co_hosts: r.co_hosts.clone(),
            lobby: r.lobby,
            record_on_connect: r.record_on_connect,
            empty_room_timeout: r.empty_room_timeout_secs.map(|s| s / 60),
            created_at: Some(r.created_at),
            updated_at: Some(r.updated_at),
        }
    }

    /// A live room that was opened by its link, not planned.
    pub fn ad_hoc(name: &str) -> Self {
        Self {
            unique_name: name.to_owned(),
            status: RoomStatus::InProgress,
            title: name.to_owned(),
            access: AccessView::Link,
            has_password: false,
            max_participants: None,
            starts_at: None,
            invited: Vec::new(),
            co_hosts: Vec::new(),
            lobby: false,
            record_on_connect: false,
            empty_room_timeout: None,
            created_at: None,
            updated_at: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RoomList {
    pub rooms: Vec<Room>,
}

/// A live room after a change: ended, or its lock and lobby now.
#[derive(Serialize, ToSchema)]
pub struct RoomEnded {
    pub unique_name: String,
    pub status: RoomStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lobby: Option<bool>,
}

/// Someone in a live room now.
#[derive(Serialize, ToSchema)]
pub struct LiveParticipant {
    pub id: String,
    pub display_name: String,
    #[schema(example = "host")]
    pub role: String,
    pub mic_muted: bool,
    pub camera_muted: bool,
    pub hand_raised: bool,
    pub screen_sharing: bool,
    pub joined_at: i64,
    /// Sources a host muted (`microphone`, `camera`, `screen`).
    pub host_muted: Vec<String>,
}

impl From<&convene_proto::ParticipantInfo> for LiveParticipant {
    fn from(p: &convene_proto::ParticipantInfo) -> Self {
        Self {
            id: p.id.0.clone(),
            display_name: p.display_name.clone(),
            role: p.role.as_str().to_owned(),
            mic_muted: p.mic_muted,
            camera_muted: p.camera_muted,
            hand_raised: p.hand_raised,
            screen_sharing: p.screen_sharing,
            joined_at: p.joined_at,
            host_muted: p
                .host_muted
                .iter()
                .filter_map(|s| serde_json::to_value(s).ok())
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ParticipantList {
    pub room: String,
    pub participants: Vec<LiveParticipant>,
}

/// One meeting: a room's run from its first join to its last leave.
#[derive(Serialize, ToSchema)]
pub struct Meeting {
    /// Unguessable public id.
    pub id: String,
    pub room: String,
    pub creator: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub max_participants: i64,
    pub node_id: String,
}

impl From<&MeetingRecord> for Meeting {
    fn from(m: &MeetingRecord) -> Self {
        Self {
            id: m.public_id.clone(),
            room: m.room.clone(),
            creator: m.creator.clone(),
            created_at: m.created_at,
            started_at: m.started_at,
            ended_at: m.ended_at,
            max_participants: m.max_participants,
            node_id: m.node_id.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MeetingList {
    pub meetings: Vec<Meeting>,
}

/// One stay of one participant in a meeting.
#[derive(Serialize, ToSchema)]
pub struct Session {
    pub participant_id: String,
    pub display_name: String,
    /// The account, when the participant was signed in.
    pub user_id: Option<i64>,
    /// The access token's `sub`, when joined with one.
    pub identity: Option<String>,
    pub role: String,
    pub joined_at: i64,
    pub left_at: Option<i64>,
    #[schema(example = "left")]
    pub leave_reason: Option<String>,
}

impl From<&SessionRecord> for Session {
    fn from(s: &SessionRecord) -> Self {
        Self {
            participant_id: s.participant_id.clone(),
            display_name: s.display_name.clone(),
            user_id: s.user.map(|u| u.0),
            identity: s.identity.clone(),
            role: s.role.clone(),
            joined_at: s.joined_at,
            left_at: s.left_at,
            leave_reason: s.leave_reason.map(|r| r.as_str().to_owned()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChatLine {
    /// 1, 2, 3, ... within the meeting.
    pub seq: i64,
    pub from: String,
    pub from_name: String,
    pub text: String,
    pub sent_at: i64,
}

impl From<&ChatRecord> for ChatLine {
    fn from(c: &ChatRecord) -> Self {
        Self {
            seq: c.seq,
            from: c.participant_id.clone(),
            from_name: c.display_name.clone(),
            text: c.text.clone(),
            sent_at: c.sent_at,
        }
    }
}

/// Where the next page starts (`null`: nothing more).
#[derive(Serialize, ToSchema)]
pub struct NextPage {
    pub sessions_after: Option<i64>,
    pub chat_after: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct MeetingDetail {
    #[serde(flatten)]
    pub meeting: Meeting,
    pub sessions: Vec<Session>,
    pub chat: Vec<ChatLine>,
    /// Its shared files, in the order shared (at most 1000).
    pub files: Vec<crate::files::models::FileView>,
    pub next: NextPage,
}

/// The refusals and failures any operation may answer with (each with [`ErrorBody`]).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only described: the handlers answer through `ApiError`.
pub enum Refusals {
    /// A malformed request: body, query or path (`invalid_message`, `bad_request`, ...).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No credentials, or bad ones (`unauthorized`, `invalid_credentials`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The caller may not do this, or a cookie request from another origin (`forbidden`).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such thing, or not the caller's to see (`not_found`).
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The body is larger than the operation takes.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Too many requests (`rate_limited`); `Retry-After` may say when to try again.
    #[response(status = 429)]
    RateLimited(ErrorBody),
    /// Our failure; details stay in the server's log (`internal_error`).
    #[response(status = 500)]
    Internal(ErrorBody),
    /// The database is unreachable or the server is draining (`storage_error`, `server_draining`).
    #[response(status = 503)]
    Unavailable(ErrorBody),
}
