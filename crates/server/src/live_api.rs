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
use tokio::sync::oneshot;
use utoipa::ToSchema;

use crate::api::models::{LiveParticipant, ParticipantList, Refusals, RoomEnded, RoomStatus};
use crate::auth::{caller, json_body, origin, Caller};
use crate::error::ServerError;
use crate::net::ConnInfo;
use crate::rooms::{RoomCmd, RoomHandle};
use crate::state::AppState;

type Answer = Result<Response, ServerError>;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomUpdate {
    /// `completed`: end the room's meeting for everyone in it.
    #[schema(example = "completed")]
    status: String,
}

/// The live room `name` if the caller may manage it; "not found" otherwise, so that callers learn
/// nothing of rooms that are not theirs.
async fn managed_room(
    state: &Arc<AppState>,
    who: &Caller,
    name: &str,
) -> Result<RoomHandle, ServerError> {
    let name = crate::validate::canonical_room_name(name);
    let not_found = || ServerError::client(ErrorCode::NotFound, "no such live room of yours");
    let planned = match who {
        Caller::User(u) if !u.is_admin => state.store.planned_room(&name).await?,
        _ => None,
    };
    if !crate::policy::may_manage_room(who, planned.as_ref()) {
        return Err(not_found());
    }
    state.rooms.get(&RoomId(name)).ok_or_else(not_found)
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
    let (reply, answer) = oneshot::channel();
    let gone = || ServerError::client(ErrorCode::NotFound, "the room has just ended");
    if !room.send(RoomCmd::Snapshot { reply }).await {
        return Err(gone());
    }
    let list = answer.await.map_err(|_| gone())?;
    let participants = list.iter().map(LiveParticipant::from).collect();
    Ok(Json(ParticipantList {
        room: room.id.0.clone(),
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
    if req.status != "completed" {
        return Err(ServerError::client(
            ErrorCode::InvalidMessage,
            "the one change of a live room is {\"status\": \"completed\"} (end it for everyone)",
        ));
    }
    let room = managed_room(&state, &who, &name).await?;
    let (done, ended) = oneshot::channel();
    if room.send(RoomCmd::End { done }).await {
        let _ = ended.await;
    }
    Ok(Json(RoomEnded {
        unique_name: room.id.0.clone(),
        status: RoomStatus::Completed,
    })
    .into_response())
}
