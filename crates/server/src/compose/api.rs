//! `/api/v1/meetings/{id}/compositions`: ask for a composition (202: it is queued), follow it,
//! download it (HTTP ranges, so a player can seek), delete it. For the meeting's owner (the owner
//! of its room's plan), administrators and API keys; anyone else learns nothing ("not found").

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use convene_proto::ErrorCode;
use convene_store::{CompositionRecord, MeetingRecord, NewComposition};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::queue::{Deps, Job};
use super::source::{self, Lookup};
use crate::api::models::Refusals;
use crate::auth::{caller, origin, Caller};
use crate::error::{ApiError, ServerError};
use crate::net::ConnInfo;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, delete))
        .routes(routes!(download))
}

/// A composition and how far it has got.
#[derive(Serialize, ToSchema)]
pub struct CompositionView {
    pub id: String,
    /// The meeting's public id.
    pub meeting_id: String,
    /// The recording composed (its id).
    pub recording: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// 0 to 100.
    pub progress: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// Set once done: the file's name, size and length.
    pub file_name: Option<String>,
    pub bytes: Option<i64>,
    pub duration_ms: Option<i64>,
    /// Where to download it, once done.
    pub download: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl CompositionView {
    fn of(c: &CompositionRecord, meeting: &MeetingRecord) -> Self {
        let path = format!(
            "/api/v1/meetings/{}/compositions/{}",
            meeting.public_id, c.public_id
        );
        Self {
            id: c.public_id.clone(),
            meeting_id: meeting.public_id.clone(),
            recording: c.recording.clone(),
            state: c.state.as_str().into(),
            progress: c.progress,
            error: c.error.clone(),
            file_name: c.file.as_ref().map(|f| f.file_name.clone()),
            bytes: c.file.as_ref().map(|f| f.bytes),
            duration_ms: c.file.as_ref().map(|f| f.duration_ms),
            download: c.file.as_ref().map(|_| format!("{path}/file")),
            created_at: c.created_at,
            finished_at: c.finished_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CompositionList {
    pub compositions: Vec<CompositionView>,
}

fn not_found(what: &str) -> ServerError {
    ServerError::client(ErrorCode::NotFound, format!("no such {what}"))
}

/// The meeting, if the caller may compose it (API keys, administrators, its room's owner).
async fn owned_meeting(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    id: &str,
) -> Result<MeetingRecord, ServerError> {
    let who = caller(state, headers).await?;
    let meeting = state
        .store
        .meeting_by_public_id(id)
        .await?
        .ok_or_else(|| not_found("meeting of yours"))?;
    let allowed = match &who {
        Caller::ApiKey(_) => true,
        Caller::User(u) if u.is_admin => true,
        Caller::User(_) => {
            let planned = state.store.planned_room(&meeting.room).await?;
            crate::policy::may_manage_room(&who, planned.as_ref())
        }
    };
    if allowed {
        Ok(meeting)
    } else {
        Err(not_found("meeting of yours"))
    }
}

async fn composition_of(
    state: &AppState,
    meeting: &MeetingRecord,
    cid: &str,
) -> Result<CompositionRecord, ServerError> {
    match state.store.composition(cid).await? {
        Some(c) if c.meeting == meeting.id => Ok(c),
        _ => Err(not_found("composition")),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ComposeQuery {
    /// The recording to compose (its id); default: the meeting's newest finished one.
    recording: Option<String>,
}

/// Queues a composition of one of the meeting's finished recordings (202). 503 when ffmpeg is not
/// installed or the node's queue is full; 404 when the meeting has no such finished recording.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/compositions", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id"), ComposeQuery),
    security(("api_key" = []), ("session" = [])),
    responses((status = 202, body = CompositionView, description = "queued"), Refusals))]
async fn create(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path(id): Path<String>,
    q: Result<Query<ComposeQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    origin::guard(&state, &headers, conn.as_ref().map(|Extension(c)| c))?;
    let Query(q) = q.map_err(|e| ServerError::client(ErrorCode::InvalidMessage, e.body_text()))?;
    let meeting = owned_meeting(&state, &headers, &id).await?;
    let root = PathBuf::from(&state.config.recording.dir);
    let found = source::find(
        state.store.as_ref(),
        &root,
        meeting.id,
        q.recording.as_deref(),
    )
    .await?;
    let found = found.map_err(|e| match e {
        Lookup::None => {
            ServerError::client(ErrorCode::NotFound, "this meeting has no such recording")
        }
        Lookup::InProgress => ServerError::client(
            ErrorCode::NotFound,
            "this meeting's recording is still being made; compose it once it has stopped",
        ),
        Lookup::Failed => ServerError::client(
            ErrorCode::NotFound,
            "this recording failed; there is nothing to compose",
        ),
    })?;
    // In a cluster, the node with the recording's files composes it.
    if let Some((cluster, node)) = crate::cluster::recordings::holder(&state, &found.row).await? {
        let carried = crate::cluster::recordings::Carried {
            meeting: meeting.id.0,
            recording: found.public_id,
            action: crate::cluster::recordings::Action::Compose,
            range: None,
        };
        return crate::cluster::recordings::carry(&cluster, &node, &carried).await;
    }
    compose_here(&state, &meeting, found).await
}

/// Queues the composition of `found`, whose files are on this node's disk.
pub async fn compose_here(
    state: &Arc<AppState>,
    meeting: &MeetingRecord,
    found: source::Found,
) -> Result<Response, ServerError> {
    let config = &state.config.compose;
    // Said at the request, not found out later by a failed composition.
    super::runner::locate(&config.ffmpeg)
        .map_err(|e| ServerError::client(ErrorCode::ServerBusy, e.to_string()))?;
    let scratch = PathBuf::from(&state.config.files.dir).join("tmp");
    let min_free = state.config.recording.min_free_bytes();
    if !crate::recording::disk::has_room(&scratch, min_free) {
        return Err(ServerError::client(
            ErrorCode::ServerBusy,
            super::runner::DISK_FULL,
        ));
    }
    let permit = state.compose.reserve(|| Deps {
        store: state.store.clone(),
        blobs: state.blobs.clone(),
        config: state.config.compose.clone(),
        scratch,
        min_free,
    });
    let Some(permit) = permit else {
        return Err(ServerError::client(
            ErrorCode::ServerBusy,
            format!(
                "{} compositions are already waiting on this server; try again later",
                config.max_queued
            ),
        ));
    };
    let record = state
        .store
        .add_composition(&NewComposition {
            public_id: format!("c_{}", crate::rooms::participant::new_token()),
            meeting: meeting.id,
            recording: found.public_id,
            node_id: state.config.server.node_id.clone(),
            created_at: crate::clock::now_ms(),
        })
        .await?;
    permit.send(Job {
        id: record.id,
        public_id: record.public_id.clone(),
        dir: found.dir,
    });
    let view = CompositionView::of(&record, meeting);
    Ok((StatusCode::ACCEPTED, Json(view)).into_response())
}

/// The meeting's compositions, oldest first, with their state, progress, size and length.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/compositions", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = CompositionList), Refusals))]
async fn list(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let meeting = owned_meeting(&state, &headers, &id).await?;
    let rows = state
        .store
        .compositions(meeting.id, super::LISTED_MAX)
        .await?;
    let compositions = rows
        .iter()
        .map(|c| CompositionView::of(c, &meeting))
        .collect();
    Ok(Json(CompositionList { compositions }).into_response())
}

/// One composition.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/compositions/{cid}", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id"),
        ("cid" = String, Path, description = "the composition's id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = CompositionView), Refusals))]
async fn get_one(
    State(state): State<Arc<AppState>>,
    Path((id, cid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let meeting = owned_meeting(&state, &headers, &id).await?;
    let c = composition_of(&state, &meeting, &cid).await?;
    Ok(Json(CompositionView::of(&c, &meeting)).into_response())
}

/// Deletes a composition and its file; a running one is stopped.
#[utoipa::path(delete, path = "/api/v1/meetings/{id}/compositions/{cid}", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id"),
        ("cid" = String, Path, description = "the composition's id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 204, description = "deleted"), Refusals))]
async fn delete(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path((id, cid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    origin::guard(&state, &headers, conn.as_ref().map(|Extension(c)| c))?;
    let meeting = owned_meeting(&state, &headers, &id).await?;
    let gone = state
        .store
        .delete_composition(meeting.id, &cid)
        .await?
        .ok_or_else(|| not_found("composition"))?;
    if let Some(f) = &gone.file {
        if let Err(e) = state.blobs.delete(&f.blob_key).await {
            tracing::warn!(error = %e, composition = %cid, "could not delete the composition's file");
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The composed video (MP4), as an attachment; `Range: bytes=a-b` gives a part (206).
#[utoipa::path(get, path = "/api/v1/meetings/{id}/compositions/{cid}/file", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id"),
        ("cid" = String, Path, description = "the composition's id")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, body = Vec<u8>, content_type = "video/mp4"),
        (status = 206, body = Vec<u8>, content_type = "video/mp4", description = "the range asked for"),
        (status = 416, description = "a range outside the file"),
        Refusals))]
async fn download(
    State(state): State<Arc<AppState>>,
    Path((id, cid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let meeting = owned_meeting(&state, &headers, &id).await?;
    let c = composition_of(&state, &meeting, &cid).await?;
    let Some(file) = &c.file else {
        return Err(ServerError::client(
            ErrorCode::NotFound,
            format!("this composition is {}, not done", c.state.as_str()),
        )
        .into());
    };
    let disposition = crate::files::download::attachment(&file.file_name);
    crate::files::download::serve(&state, &file.blob_key, "video/mp4", disposition, &headers).await
}
