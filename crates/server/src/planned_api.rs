//! `/api/v1/rooms`: a signed-in user makes rooms ahead of time and says who may enter them
//! (docs/protocol.md, *Who may enter*). The join path asks `policy` with what is stored here.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use convene_proto::ErrorCode;
use convene_store::{Access, PlannedRoom, UserRecord};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::models::{Refusals, Room, RoomList, RoomStatus};
use crate::auth::{caller, json_body, normalize_email, origin, password, signed_in, Caller};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::net::ConnInfo;
use crate::state::AppState;

const MAX_BODY: usize = 64 * 1024;
const MAX_TITLE_CHARS: usize = 200;
const MAX_INVITED: usize = 500;
/// A day: Twilio's `emptyRoomTimeout` is in minutes too.
const MAX_EMPTY_MINUTES: u32 = 1440;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, crate::live_api::update))
        .routes(routes!(crate::live_api::participants))
        .routes(routes!(crate::moderation_api::update_participant))
        .routes(routes!(crate::moderation_api::mute_participant))
        .routes(routes!(crate::moderation_api::lobby))
        .routes(routes!(crate::moderation_api::decide))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// The settings a request may give; what it leaves out keeps its value (or default, when creating).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// At most 200 characters; the room's name when absent.
    title: Option<String>,
    /// The room's name (its link); when creating only. Unguessable (100 random bits) when absent.
    unique_name: Option<String>,
    /// `link` (anyone with the link), `accounts` (any signed-in user) or `invited`.
    #[schema(value_type = Option<crate::api::models::AccessView>)]
    access: Option<String>,
    /// A string sets the password, `null` removes it, absent keeps it.
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<String>)]
    password: Option<Option<String>>,
    /// 1 to the server's `rooms.max_participants`; `null` for the server's.
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<u32>, minimum = 1)]
    max_participants: Option<Option<u32>>,
    /// Milliseconds since the Unix epoch.
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<i64>)]
    starts_at: Option<Option<i64>>,
    /// Emails of the people an `invited` room admits (besides its owner).
    invited: Option<Vec<String>>,
    /// Emails of the co-hosts: they moderate with the owner, skip the lobby, and may enter an
    /// `invited` room.
    co_hosts: Option<Vec<String>>,
    /// Newcomers wait in the lobby until a host or co-host admits them.
    lobby: Option<bool>,
    /// Record every meeting of the room from its start (Twilio's `recordParticipantsOnConnect`).
    record_on_connect: Option<bool>,
    /// Minutes the room stays open once empty (1 to 1440); `null` for the server's default.
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1440)]
    empty_room_timeout: Option<Option<u32>>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only rooms with a meeting running now (`in-progress`) or without (`completed`).
    status: Option<RoomStatus>,
}

/// Tells `"x": null` (Some(None)) from a missing field (None).
fn some_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

type Answer = Result<Response, ServerError>;

/// Makes a room ahead of time, owned by the signed-in user.
#[utoipa::path(post, path = "/api/v1/rooms", tag = "rooms", request_body = Settings,
    security(("session" = [])),
    responses((status = 201, body = Room),
        (status = 409, body = crate::api::models::ErrorBody, description = "`room_name_taken`"), Refusals))]
async fn create(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let owner = owner_of_request(&state, &headers, Some(&conn)).await?;
    let s: Settings = json_body(&body)?;
    if state.config.limits.rooms_per_hour_per_account > 0 {
        if let Some(wait) = state
            .plan_limiter
            .plan(owner.id.0, std::time::Instant::now())
        {
            return Err(ServerError::client(
                ErrorCode::RateLimited,
                format!(
                    "you planned many rooms in the last hour; try again in {} min",
                    wait.as_secs() / 60 + 1
                ),
            ));
        }
    }
    let name = match &s.unique_name {
        Some(n) => {
            crate::validate::room_name(n, state.config.limits.room_name_max_chars as usize)?.0
        }
        None => unguessable_name(),
    };
    let now = now_ms();
    let mut room = PlannedRoom {
        id: 0,
        name,
        owner: owner.id,
        title: String::new(),
        access: Access::Link,
        password_hash: None,
        max_participants: None,
        starts_at: None,
        created_at: now,
        updated_at: now,
        invited: Vec::new(),
        lobby: false,
        empty_room_timeout_secs: None,
        co_hosts: Vec::new(),
        record_on_connect: false,
    };
    apply(&state, &mut room, s).await?;
    if room.title.is_empty() {
        room.title = room.name.clone();
    }
    room.id = match state.store.create_planned_room(&room).await {
        Ok(id) => id,
        Err(convene_store::StoreError::Conflict(_)) => {
            return Err(ServerError::client(
                ErrorCode::RoomNameTaken,
                "a room with this name exists already; choose another or leave it out",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let status = live_status(&state, &room.name).await;
    Ok((StatusCode::CREATED, Json(Room::planned(&room, status))).into_response())
}

/// Changes a room's settings (its owner); what the body leaves out keeps its value.
#[utoipa::path(patch, path = "/api/v1/rooms/{name}", tag = "rooms", request_body = Settings,
    params(("name" = String, Path, description = "the room's name")), security(("session" = [])),
    responses((status = 200, body = Room), Refusals))]
async fn update(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let user = owner_of_request(&state, &headers, Some(&conn)).await?;
    let mut room = owned(&state, &user, &name).await?;
    let s: Settings = json_body(&body)?;
    if s.unique_name.is_some() {
        return Err(ServerError::client(
            ErrorCode::InvalidMessage,
            "a room's name is its link and does not change; make a new room instead",
        ));
    }
    apply(&state, &mut room, s).await?;
    room.updated_at = now_ms();
    state.store.update_planned_room(&room).await?;
    Ok(Json(Room::planned(&room, live_status(&state, &room.name).await)).into_response())
}

/// One of the signed-in user's rooms.
#[utoipa::path(get, path = "/api/v1/rooms/{name}", tag = "rooms",
    params(("name" = String, Path, description = "the room's name")), security(("session" = [])),
    responses((status = 200, body = Room), Refusals))]
async fn show(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let user = owner_of_request(&state, &headers, None).await?;
    let room = owned(&state, &user, &name).await?;
    Ok(Json(Room::planned(&room, live_status(&state, &room.name).await)).into_response())
}

/// A user's rooms; for an API key or an administrator, also every room live on this server.
#[utoipa::path(get, path = "/api/v1/rooms", tag = "rooms", params(ListQuery),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = RoomList), Refusals))]
async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Answer {
    let who = caller(&state, &headers).await?;
    let Query(q) = q.map_err(|e| ServerError::client(ErrorCode::InvalidMessage, e.body_text()))?;
    let mut rooms = Vec::new();
    if let Some(user) = who.user() {
        for r in state.store.planned_rooms_of(user.id).await? {
            rooms.push(Room::planned(&r, live_status(&state, &r.name).await));
        }
    }
    if who.is_admin() || matches!(who, Caller::ApiKey(_)) {
        for id in state.plane.live().await {
            if rooms.iter().any(|r| r.unique_name == id.0) {
                continue;
            }
            rooms.push(match state.store.planned_room(&id.0).await? {
                Some(p) => Room::planned(&p, RoomStatus::InProgress),
                None => Room::ad_hoc(&id.0),
            });
        }
    }
    rooms.retain(|r| q.status.is_none_or(|s| s == r.status));
    Ok(Json(RoomList { rooms }).into_response())
}

/// Whether a meeting is running in room `name` now (in a cluster: on any node).
async fn live_status(state: &AppState, name: &str) -> RoomStatus {
    let id = convene_proto::RoomId(name.to_owned());
    if state.plane.is_live(&id).await {
        RoomStatus::InProgress
    } else {
        RoomStatus::Completed
    }
}

/// Changes `room` as `s` says, checking every value.
async fn apply(state: &AppState, room: &mut PlannedRoom, s: Settings) -> Result<(), ServerError> {
    let bad = |m: String| ServerError::client(ErrorCode::InvalidMessage, m);
    if let Some(t) = s.title {
        let t = t.trim().to_owned();
        if t.chars().count() > MAX_TITLE_CHARS || t.chars().any(char::is_control) {
            return Err(bad(format!(
                "a title is at most {MAX_TITLE_CHARS} characters, without control characters"
            )));
        }
        room.title = t;
    }
    if let Some(a) = s.access {
        room.access = Access::parse(&a)
            .ok_or_else(|| bad(format!("access is link, accounts or invited, not {a:?}")))?;
    }
    if let Some(p) = s.password {
        room.password_hash = match p {
            Some(p) => {
                password::check_policy(&p, 4)?;
                Some(password::hash_off_runtime(p).await?)
            }
            None => None,
        };
    }
    if let Some(m) = s.max_participants {
        let server_max = state.config.rooms.max_participants;
        if m.is_some_and(|m| m == 0 || m > server_max) {
            return Err(bad(format!("max_participants is 1 to {server_max}")));
        }
        room.max_participants = m.map(i64::from);
    }
    if let Some(t) = s.starts_at {
        room.starts_at = t;
    }
    if let Some(list) = s.invited {
        room.invited = emails("invited", &list)?;
    }
    if let Some(list) = s.co_hosts {
        room.co_hosts = emails("co_hosts", &list)?;
    }
    if let Some(lobby) = s.lobby {
        room.lobby = lobby;
    }
    if let Some(record) = s.record_on_connect {
        room.record_on_connect = record;
    }
    if let Some(t) = s.empty_room_timeout {
        room.empty_room_timeout_secs = match t {
            None => None,
            Some(m @ 1..=MAX_EMPTY_MINUTES) => Some(i64::from(m) * 60),
            Some(m) => {
                return Err(bad(format!(
                    "empty_room_timeout is 1 to {MAX_EMPTY_MINUTES} minutes, not {m}"
                )))
            }
        };
    }
    Ok(())
}

/// A list of emails, each normalised, at most [`MAX_INVITED`].
fn emails(field: &str, list: &[String]) -> Result<Vec<String>, ServerError> {
    let bad = |m: String| ServerError::client(ErrorCode::InvalidMessage, m);
    if list.len() > MAX_INVITED {
        return Err(bad(format!("at most {MAX_INVITED} emails in {field}")));
    }
    list.iter()
        .map(|e| normalize_email(e).ok_or_else(|| bad(format!("{e:?} is not an email address"))))
        .collect()
}

/// The signed-in user of the request (401 otherwise); for a change (`change` holds the
/// connection), from our own pages only.
async fn owner_of_request(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    change: Option<&Option<Extension<ConnInfo>>>,
) -> Result<UserRecord, ServerError> {
    if let Some(conn) = change {
        origin::guard(state, headers, conn.as_ref().map(|Extension(c)| c))?;
    }
    signed_in(state, headers)
        .await?
        .ok_or_else(|| ServerError::client(ErrorCode::Unauthorized, "sign in first"))
}

/// The room if `user` owns it; a room of someone else is "not found", so names are not probed.
async fn owned(
    state: &AppState,
    user: &UserRecord,
    name: &str,
) -> Result<PlannedRoom, ServerError> {
    let name = crate::validate::canonical_room_name(name);
    match state.store.planned_room(&name).await? {
        Some(r) if r.owner == user.id => Ok(r),
        _ => Err(ServerError::client(
            ErrorCode::NotFound,
            "no such room of yours",
        )),
    }
}

/// 100 random bits in four groups of five base-32 characters, e.g. `k3v9q-2mxa7-bdrt4-wp8cn`:
/// unguessable, and still a readable link.
pub fn unguessable_name() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..4)
        .map(|_| {
            (0..5)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}
