//! Live rooms over REST, as Twilio's users know them: who is in a room now
//! (`GET /api/v1/rooms/{name}/participants`) and ending a room for everyone
//! (`POST /api/v1/rooms/{name}` with `{"status": "completed"}`). For API keys, administrators, and
//! the owner of a planned room.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use convene_proto::{ErrorCode, RoomId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::models::{LiveParticipant, ParticipantList, Refusals, RoomEnded, RoomStatus};
use crate::auth::{caller, json_body, origin, Caller};
use crate::error::ServerError;
use crate::net::ConnInfo;
use crate::rooms::{Actor, RoomAnswer, RoomOp};
use crate::state::AppState;

type Answer = Result<Response, ServerError>;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomUpdate {
    /// `completed`: end the room's meeting for everyone in it.
    #[schema(example = "completed")]
    status: Option<String>,
    /// Lock or unlock the meeting (a locked meeting admits nobody new).
    locked: Option<bool>,
    /// Turn the lobby on or off for newcomers.
    lobby: Option<bool>,
}

/// The live room `name` if the caller may manage it; "not found" otherwise, so that callers learn
/// nothing of rooms that are not theirs.
pub(crate) async fn managed_room(
    state: &Arc<AppState>,
    who: &Caller,
    name: &str,
) -> Result<RoomId, ServerError> {
    let name = crate::validate::canonical_room_name(name);
    let not_found = || ServerError::client(ErrorCode::NotFound, "no such live room of yours");
    let planned = match who {
        Caller::User(u) if !u.is_admin => state.store.planned_room(&name).await?,
        _ => None,
    };
    if !crate::policy::may_manage_room(who, planned.as_ref()) {
        return Err(not_found());
    }
    let id = RoomId(name);
    if state.plane.is_live(&id).await {
        Ok(id)
    } else {
        Err(not_found())
    }
}

/// Who is in a live room now (an API key, an administrator, or the room's owner).
#[utoipa::path(get, path = "/api/v1/rooms/{name}/participants", tag = "rooms",
    params(("name" = String, Path, description = "the room's name")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = ParticipantList), Refusals))]
pub async fn participants(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let who = caller(&state, &headers).await?;
    let room = managed_room(&state, &who, &name).await?;
    let list = match state
        .plane
        .request(&room, actor(&who), RoomOp::Snapshot)
        .await?
    {
        RoomAnswer::Participants { list } => list,
        _ => Vec::new(),
    };
    let participants = list.iter().map(LiveParticipant::from).collect();
    Ok(Json(ParticipantList {
        room: room.0.clone(),
        participants,
    })
    .into_response())
}

/// `{"status": "completed"}` ends the room's meeting for everyone in it (an API key, an
/// administrator, or the room's owner).
#[utoipa::path(post, path = "/api/v1/rooms/{name}", tag = "rooms", request_body = RoomUpdate,
    params(("name" = String, Path, description = "the room's name")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = RoomEnded), Refusals))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    origin::guard(&state, &headers, conn.as_ref().map(|Extension(c)| c))?;
    let who = caller(&state, &headers).await?;
    let req: RoomUpdate = json_body(&body)?;
    let end = match req.status.as_deref() {
        None => false,
        Some("completed") => true,
        Some(_) => {
            return Err(ServerError::client(
                ErrorCode::InvalidMessage,
                "a live room's status can only become \"completed\" (ended for everyone)",
            ))
        }
    };
    if !end && req.locked.is_none() && req.lobby.is_none() {
        return Err(ServerError::client(
            ErrorCode::InvalidMessage,
            "give status, locked or lobby",
        ));
    }
    let room = managed_room(&state, &who, &name).await?;
    let by = actor(&who);
    if end {
        state.plane.request(&room, by, RoomOp::End).await?;
        return Ok(Json(RoomEnded {
            unique_name: room.0.clone(),
            status: RoomStatus::Completed,
            locked: None,
            lobby: None,
        })
        .into_response());
    }
    let mut settings = None;
    let ops = [
        req.locked.map(|locked| RoomOp::SetLocked { locked }),
        req.lobby.map(|enabled| RoomOp::SetLobby { enabled }),
    ];
    for op in ops.into_iter().flatten() {
        if let RoomAnswer::Settings { settings: s } =
            state.plane.request(&room, by.clone(), op).await?
        {
            settings = Some(s);
        }
    }
    Ok(Json(RoomEnded {
        unique_name: room.0.clone(),
        status: RoomStatus::InProgress,
        locked: settings.map(|s| s.locked),
        lobby: settings.map(|s| s.lobby),
    })
    .into_response())
}

/// The room plane's name for a REST caller.
pub(crate) fn actor(who: &Caller) -> Actor {
    match who {
        Caller::User(u) => Actor::User { id: u.id.0 },
        Caller::ApiKey(id) => Actor::ApiKey { id: id.clone() },
    }
}
