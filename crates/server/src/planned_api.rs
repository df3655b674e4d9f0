//! `/api/v1/rooms`: a signed-in user makes rooms ahead of time and says who may enter them
//! (docs/protocol.md, *Who may enter*). The join path asks `policy` with what is stored here.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use convene_proto::ErrorCode;
use convene_store::{Access, PlannedRoom, UserRecord};
use serde::Deserialize;

use crate::auth::{json_body, normalize_email, origin, password, signed_in};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::net::ConnInfo;
use crate::state::AppState;

const MAX_BODY: usize = 64 * 1024;
const MAX_TITLE_CHARS: usize = 200;
const MAX_INVITED: usize = 500;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/rooms", get(list).post(create))
        .route(
            "/api/v1/rooms/{name}",
            get(show).patch(update).post(crate::live_api::update),
        )
        .route(
            "/api/v1/rooms/{name}/participants",
            get(crate::live_api::participants),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// The settings a request may give; what it leaves out keeps its value (or default, when creating).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Settings {
    title: Option<String>,
    unique_name: Option<String>,
    access: Option<String>,
    /// A string sets the password, `null` removes it, absent keeps it.
    #[serde(default, deserialize_with = "some_or_null")]
    password: Option<Option<String>>,
    #[serde(default, deserialize_with = "some_or_null")]
    max_participants: Option<Option<u32>>,
    #[serde(default, deserialize_with = "some_or_null")]
    starts_at: Option<Option<i64>>,
    invited: Option<Vec<String>>,
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
    Ok((StatusCode::CREATED, Json(room_json(&room))).into_response())
}

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
    Ok(Json(room_json(&room)).into_response())
}

async fn show(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let user = owner_of_request(&state, &headers, None).await?;
    let room = owned(&state, &user, &name).await?;
    Ok(Json(room_json(&room)).into_response())
}

async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Answer {
    let user = owner_of_request(&state, &headers, None).await?;
    let rooms = state.store.planned_rooms_of(user.id).await?;
    let list: Vec<serde_json::Value> = rooms.iter().map(room_json).collect();
    Ok(Json(serde_json::json!({ "rooms": list })).into_response())
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
        if list.len() > MAX_INVITED {
            return Err(bad(format!("at most {MAX_INVITED} invited emails")));
        }
        room.invited = list
            .iter()
            .map(|e| {
                normalize_email(e).ok_or_else(|| bad(format!("{e:?} is not an email address")))
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(())
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

fn room_json(r: &PlannedRoom) -> serde_json::Value {
    serde_json::json!({
        "unique_name": r.name,
        "title": r.title,
        "access": r.access.as_str(),
        "has_password": r.password_hash.is_some(),
        "max_participants": r.max_participants,
        "starts_at": r.starts_at,
        "invited": r.invited,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
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
