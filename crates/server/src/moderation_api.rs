//! Host powers over REST, for operators and integrations (an API key, an administrator, or the
//! room's owner), in the shape Twilio's users know: `POST .../participants/{id}` with
//! `{"status": "disconnected"}` removes someone. Each goes through the room plane like a host's own
//! request, so the room applies it and writes the audit log.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use convene_proto::{ParticipantId, Source};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::models::Refusals;
use crate::auth::{caller, json_body, origin};
use crate::error::ServerError;
use crate::live_api::{actor, managed_room};
use crate::net::ConnInfo;
use crate::rooms::{RoomAnswer, RoomOp, RoomPlane};
use crate::state::AppState;

type Answer = Result<Response, ServerError>;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantUpdate {
    status: NewStatus,
}

/// `disconnected`: remove the participant; they cannot come back to this meeting.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NewStatus {
    Disconnected,
}

#[derive(Serialize, ToSchema)]
pub struct ParticipantRemoved {
    pub id: String,
    #[schema(example = "disconnected")]
    pub status: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MuteRequest {
    source: MuteSource,
}

/// What a host mute silences (`screen` with its audio).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MuteSource {
    Microphone,
    Camera,
    Screen,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LobbyDecision {
    action: Decision,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Admit,
    Deny,
}

/// Someone waiting in a room's lobby.
#[derive(Serialize, ToSchema)]
pub struct Waiting {
    pub participant_id: String,
    pub display_name: String,
    pub signed_in: bool,
    pub since: i64,
}

#[derive(Serialize, ToSchema)]
pub struct LobbyList {
    pub room: String,
    pub waiting: Vec<Waiting>,
}

async fn ask(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    conn: Option<&Extension<ConnInfo>>,
    name: &str,
    op: RoomOp,
) -> Result<RoomAnswer, ServerError> {
    origin::guard(state, headers, conn.map(|Extension(c)| c))?;
    let who = caller(state, headers).await?;
    let room = managed_room(state, &who, name).await?;
    state.plane.request(&room, actor(&who), op).await
}

/// Removes a participant from a live room, as a host would.
#[utoipa::path(post, path = "/api/v1/rooms/{name}/participants/{id}", tag = "rooms",
    request_body = ParticipantUpdate,
    params(("name" = String, Path, description = "the room's name"),
        ("id" = String, Path, description = "the participant's id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = ParticipantRemoved), Refusals))]
pub async fn update_participant(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let ParticipantUpdate {
        status: NewStatus::Disconnected,
    } = json_body(&body)?;
    let target = ParticipantId(id.clone());
    ask(
        &state,
        &headers,
        conn.as_ref(),
        &name,
        RoomOp::Remove { target },
    )
    .await?;
    Ok(Json(ParticipantRemoved {
        id,
        status: "disconnected".into(),
    })
    .into_response())
}

/// Mutes one source of a participant, as a host would: they cannot unmute it until allowed.
#[utoipa::path(post, path = "/api/v1/rooms/{name}/participants/{id}/mute", tag = "rooms",
    request_body = MuteRequest,
    params(("name" = String, Path, description = "the room's name"),
        ("id" = String, Path, description = "the participant's id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 204, description = "muted"), Refusals))]
pub async fn mute_participant(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let req: MuteRequest = json_body(&body)?;
    let source = match req.source {
        MuteSource::Microphone => Source::Microphone,
        MuteSource::Camera => Source::Camera,
        MuteSource::Screen => Source::Screen,
    };
    let target = ParticipantId(id);
    let op = RoomOp::Mute { target, source };
    ask(&state, &headers, conn.as_ref(), &name, op).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Who waits in a live room's lobby.
#[utoipa::path(get, path = "/api/v1/rooms/{name}/lobby", tag = "rooms",
    params(("name" = String, Path, description = "the room's name")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = LobbyList), Refusals))]
pub async fn lobby(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let who = caller(&state, &headers).await?;
    let room = managed_room(&state, &who, &name).await?;
    let waiting = match state
        .rooms
        .request(&room, actor(&who), RoomOp::LobbySnapshot)
        .await?
    {
        RoomAnswer::Lobby { waiting } => waiting,
        _ => Vec::new(),
    };
    let waiting = waiting
        .into_iter()
        .map(|w| Waiting {
            participant_id: w.participant_id.0,
            display_name: w.display_name,
            signed_in: w.signed_in,
            since: w.since,
        })
        .collect();
    Ok(Json(LobbyList {
        room: room.0.clone(),
        waiting,
    })
    .into_response())
}

/// Admits or turns away someone waiting in the lobby.
#[utoipa::path(post, path = "/api/v1/rooms/{name}/lobby/{id}", tag = "rooms",
    request_body = LobbyDecision,
    params(("name" = String, Path, description = "the room's name"),
        ("id" = String, Path, description = "the waiting person's id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 204, description = "done"), Refusals))]
pub async fn decide(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let req: LobbyDecision = json_body(&body)?;
    let target = ParticipantId(id);
    let op = match req.action {
        Decision::Admit => RoomOp::Admit { target },
        Decision::Deny => RoomOp::Deny { target },
    };
    ask(&state, &headers, conn.as_ref(), &name, op).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
