//! Recordings over REST (issue 23 §5): list a meeting's recordings with their tracks, download a
//! track file (with byte ranges, so a player can seek) or the manifest, delete a recording; start
//! and stop the recording of a live meeting. For the meeting's owner (the owner of its planned
//! room), administrators and API keys; others learn nothing (`not_found`). A page before joining
//! asks `GET /api/v1/rooms/{name}/recording` whether the meeting is being recorded.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use convene_proto::{ErrorCode, RecordingStopReason, RoomId};
use convene_record::{Manifest, TrackEntry};
use convene_store::{MeetingId, MeetingRecord, RecordingRecord, RecordingRowState};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::models::Refusals;
use crate::auth::{caller, origin, Caller};
use crate::cluster::recordings::{self, Action, Carried};
use crate::error::{ApiError, ServerError};
use crate::net::ConnInfo;
use crate::rooms::RoomOp;
use crate::state::AppState;

/// A gap in a track: no media from `start_ms` to `end_ms` (meeting clock).
#[derive(Serialize, ToSchema)]
pub struct GapView {
    pub start_ms: u64,
    pub end_ms: u64,
    /// `muted`, `paused`, `dropped` (the server could not keep up) or `lost` (packets lost on
    /// the way in).
    pub reason: String,
}

/// One track's file.
#[derive(Serialize, ToSchema)]
pub struct TrackView {
    pub file: String,
    pub participant_id: String,
    pub participant_name: String,
    /// `microphone`, `camera`, `screen` or `screen_audio`.
    pub source: String,
    /// `opus`, `vp8`, `vp9`, `av1` or `h264`.
    pub codec: String,
    /// `recording`, `ended`, `failed` or `cut` (by an interruption).
    pub state: String,
    /// Its first and last frame, ms since the meeting started.
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub gaps: Vec<GapView>,
    pub frames: u64,
    /// The file's size, bytes.
    pub bytes: u64,
    pub download_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecordingView {
    pub id: String,
    /// `recording`, `complete`, `interrupted` or `failed`.
    pub state: String,
    /// ms since the Unix epoch.
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    /// The files' bytes (while recording: so far).
    pub bytes: i64,
    /// Who started it; absent for the server (record on connect) and the REST API.
    pub started_by: Option<String>,
    pub manifest_url: String,
    pub tracks: Vec<TrackView>,
}

#[derive(Serialize, ToSchema)]
pub struct RecordingList {
    pub recordings: Vec<RecordingView>,
}

/// Whether a room's meeting is being recorded now, for the page before joining.
#[derive(Serialize, ToSchema)]
pub struct RoomRecording {
    pub recording: bool,
}

/// A meeting's recordings, oldest first, each with its tracks.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/recordings", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = RecordingList), Refusals))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let meeting = owned_meeting(&state, &headers, &id).await?;
    let root = root(&state)?;
    let rows = state.store.recordings(meeting.id).await?;
    // Manifests and file sizes are read off the runtime's threads.
    let recordings = tokio::task::spawn_blocking(move || {
        rows.into_iter()
            .map(|r| {
                let manifest = super::retention::folder(&root, &r.dir)
                    .and_then(|dir| Manifest::load(&dir).ok());
                view(&root, &meeting, r, manifest)
            })
            .collect()
    })
    .await
    .map_err(|e| ServerError::Internal(format!("listing recordings: {e}")))?;
    Ok(Json(RecordingList { recordings }).into_response())
}

/// A recording's manifest (JSON, as written beside its files).
#[utoipa::path(get, path = "/api/v1/meetings/{id}/recordings/{rid}/manifest", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id"),
        ("rid" = String, Path, description = "the recording's id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, content_type = "application/json", body = Object), Refusals))]
pub async fn manifest(
    State(state): State<Arc<AppState>>,
    Path((id, rid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (meeting, rec, dir) = owned_recording(&state, &headers, &id, &rid).await?;
    if let Some(res) = carry_if_elsewhere(&state, &meeting, &rec, Action::Manifest, None).await? {
        return Ok(res);
    }
    local_manifest(&rec, &dir).await
}

async fn local_manifest(
    rec: &RecordingRecord,
    dir: &std::path::Path,
) -> Result<Response, ApiError> {
    let bytes = tokio::fs::read(dir.join(convene_record::MANIFEST_FILE))
        .await
        .map_err(|_| ApiError::NotFound("the recording's manifest is gone".into()))?;
    tracing::debug!(recording = %rec.public_id, "manifest read");
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response())
}

/// One track file of a recording; `Range: bytes=a-b` gives a part (206).
#[utoipa::path(get, path = "/api/v1/meetings/{id}/recordings/{rid}/files/{name}", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id"),
        ("rid" = String, Path, description = "the recording's id"),
        ("name" = String, Path, description = "the file's name, as the manifest lists it")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, body = Vec<u8>, content_type = "video/webm"),
        (status = 206, body = Vec<u8>, content_type = "video/webm", description = "the range asked for"),
        (status = 416, description = "a range outside the file"),
        Refusals))]
pub async fn file(
    State(state): State<Arc<AppState>>,
    Path((id, rid, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (meeting, rec, dir) = owned_recording(&state, &headers, &id, &rid).await?;
    let range = headers
        .get(header::RANGE)
        .and_then(|r| r.to_str().ok())
        .map(str::to_owned);
    let action = Action::File { name: name.clone() };
    if let Some(res) = carry_if_elsewhere(&state, &meeting, &rec, action, range).await? {
        return Ok(res);
    }
    local_file(&dir, &name, &headers).await
}

/// One of the recording's files from this node's disk; `headers` may ask for a range.
async fn local_file(
    dir: &std::path::Path,
    name: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let dir = dir.to_path_buf();
    let gone = || ApiError::NotFound("no such file in this recording".into());
    let manifest_dir = dir.clone();
    let m = tokio::task::spawn_blocking(move || Manifest::load(&manifest_dir).ok())
        .await
        .ok()
        .flatten()
        .ok_or_else(gone)?;
    // Only a name the manifest lists: nothing a request says reaches the file system.
    let entry = m.tracks.iter().find(|t| t.file == name).ok_or_else(gone)?;
    let f = tokio::fs::File::open(dir.join(&entry.file))
        .await
        .map_err(|_| gone())?;
    let len = f.metadata().await.map_err(|_| gone())?.len();
    let blob = crate::files::blob::BlobReader {
        len,
        body: Box::pin(f),
    };
    let content_type = match entry.codec.container() {
        convene_record::Container::WebM => "video/webm",
        convene_record::Container::Matroska => "video/x-matroska",
    };
    let disposition = crate::files::download::attachment(&entry.file);
    crate::files::download::serve_reader(blob, content_type, disposition, headers).await
}

/// Deletes a recording, files and record; one that is running must be stopped first.
#[utoipa::path(delete, path = "/api/v1/meetings/{id}/recordings/{rid}", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id"),
        ("rid" = String, Path, description = "the recording's id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 204, description = "deleted"), Refusals))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path((id, rid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    origin::guard(&state, &headers, conn.as_ref().map(|Extension(c)| c))?;
    let (meeting, rec, _) = owned_recording(&state, &headers, &id, &rid).await?;
    if let Some(res) = carry_if_elsewhere(&state, &meeting, &rec, Action::Delete, None).await? {
        return Ok(res);
    }
    local_delete(&state, &meeting, &rec).await
}

/// Deletes a recording whose files are on this node's disk.
async fn local_delete(
    state: &AppState,
    meeting: &MeetingRecord,
    rec: &RecordingRecord,
) -> Result<Response, ApiError> {
    let rid = rec.public_id.as_str();
    let running = state
        .recorder
        .as_ref()
        .is_some_and(|r| r.is_active(&rec.public_id));
    if running || rec.state == RecordingRowState::Recording {
        return Err(ApiError::BadRequest(
            "the recording is running: stop it first".into(),
        ));
    }
    if let Some(r) = state.store.delete_recording(meeting.id, rid).await? {
        super::retention::delete_folder(&root(state)?, &r.dir).await;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Starts recording a meeting in progress (as a host would; `by_name` is absent).
#[utoipa::path(post, path = "/api/v1/meetings/{id}/recording", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 204, description = "recording (also when it was already)"), Refusals))]
pub async fn start(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    live_request(&state, &headers, conn.as_ref(), &id, RoomOp::StartRecording).await
}

/// Stops recording a meeting in progress.
#[utoipa::path(delete, path = "/api/v1/meetings/{id}/recording", tag = "recordings",
    params(("id" = String, Path, description = "the meeting's public id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 204, description = "not recording (also when it was not)"), Refusals))]
pub async fn stop(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let op = RoomOp::StopRecording {
        reason: RecordingStopReason::Stopped,
    };
    live_request(&state, &headers, conn.as_ref(), &id, op).await
}

/// Whether the meeting in room `name` is being recorded now: everyone who may come in may know
/// it before they do (false for a room that is not live).
#[utoipa::path(get, path = "/api/v1/rooms/{name}/recording", tag = "rooms",
    params(("name" = String, Path, description = "the room's name")),
    responses((status = 200, body = RoomRecording), Refusals))]
pub async fn room_recording(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ServerError> {
    let room = RoomId(crate::validate::canonical_room_name(&name));
    let recording = state
        .recorder
        .as_ref()
        .is_some_and(|r| r.active_rooms().contains(&room));
    Ok(Json(RoomRecording { recording }).into_response())
}

async fn live_request(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    conn: Option<&Extension<ConnInfo>>,
    id: &str,
    op: RoomOp,
) -> Result<Response, ServerError> {
    origin::guard(state, headers, conn.map(|Extension(c)| c))?;
    let who = caller(state, headers).await?;
    let meeting = meeting_of(state, &who, id).await?;
    let room = RoomId(meeting.room.clone());
    if meeting.ended_at.is_some() || !state.plane.is_live(&room).await {
        return Err(ServerError::client(
            ErrorCode::NotFound,
            "the meeting is not in progress",
        ));
    }
    state
        .plane
        .request(&room, crate::live_api::actor(&who), op)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The meeting `id` if the caller owns it (or is an administrator or an API key).
async fn owned_meeting(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    id: &str,
) -> Result<MeetingRecord, ServerError> {
    let who = caller(state, headers).await?;
    meeting_of(state, &who, id).await
}

async fn meeting_of(
    state: &Arc<AppState>,
    who: &Caller,
    id: &str,
) -> Result<MeetingRecord, ServerError> {
    let not_found = || ServerError::client(ErrorCode::NotFound, "no such meeting of yours");
    let meeting = state
        .store
        .meeting_by_public_id(id)
        .await?
        .ok_or_else(not_found)?;
    let planned = match who {
        Caller::User(u) if !u.is_admin => state.store.planned_room(&meeting.room).await?,
        _ => None,
    };
    if crate::policy::may_manage_room(who, planned.as_ref()) {
        Ok(meeting)
    } else {
        Err(not_found())
    }
}

/// In a cluster, a request about a recording whose files are on another node is answered by
/// that node (cluster/recordings.rs); None: they are here.
async fn carry_if_elsewhere(
    state: &AppState,
    meeting: &MeetingRecord,
    rec: &RecordingRecord,
    action: Action,
    range: Option<String>,
) -> Result<Option<Response>, ServerError> {
    let Some((cluster, node)) = recordings::holder(state, rec).await? else {
        return Ok(None);
    };
    let carried = Carried {
        meeting: meeting.id.0,
        recording: rec.public_id.clone(),
        action,
        range,
    };
    recordings::carry(&cluster, &node, &carried).await.map(Some)
}

/// Serves a request another node carried here (cluster/internal.rs checked its signature; the
/// node that took it checked who asks).
pub async fn serve_carried(state: &Arc<AppState>, c: Carried) -> Response {
    let served = async {
        let not_found = || ApiError::NotFound("no such recording".into());
        let meeting = state
            .store
            .meeting(MeetingId(c.meeting))
            .await?
            .ok_or_else(not_found)?;
        let rec = state
            .store
            .recording(&c.recording)
            .await?
            .filter(|r| r.meeting == meeting.id)
            .ok_or_else(not_found)?;
        let dir = super::retention::folder(&root(state)?, &rec.dir).ok_or_else(not_found)?;
        match c.action {
            Action::Manifest => local_manifest(&rec, &dir).await,
            Action::File { name } => {
                let mut headers = HeaderMap::new();
                if let Some(range) = c.range.and_then(|r| HeaderValue::from_str(&r).ok()) {
                    headers.insert(header::RANGE, range);
                }
                local_file(&dir, &name, &headers).await
            }
            Action::Delete => local_delete(state, &meeting, &rec).await,
            Action::Compose => {
                let found = crate::compose::source::Found {
                    public_id: rec.public_id.clone(),
                    dir,
                    row: rec,
                };
                crate::compose::api::compose_here(state, &meeting, found)
                    .await
                    .map_err(ApiError::from)
            }
        }
    };
    served.await.unwrap_or_else(IntoResponse::into_response)
}

async fn owned_recording(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    id: &str,
    rid: &str,
) -> Result<(MeetingRecord, RecordingRecord, std::path::PathBuf), ApiError> {
    let meeting = owned_meeting(state, headers, id).await?;
    let not_found = || ApiError::NotFound("no such recording".into());
    let rec = state.store.recording(rid).await?.ok_or_else(not_found)?;
    if rec.meeting != meeting.id {
        return Err(not_found());
    }
    let dir = super::retention::folder(&root(state)?, &rec.dir).ok_or_else(not_found)?;
    Ok((meeting, rec, dir))
}

fn root(state: &AppState) -> Result<std::path::PathBuf, ServerError> {
    Ok(std::path::PathBuf::from(&state.config.recording.dir))
}

fn view(
    root: &std::path::Path,
    meeting: &MeetingRecord,
    r: RecordingRecord,
    manifest: Option<Manifest>,
) -> RecordingView {
    let base = format!(
        "/api/v1/meetings/{}/recordings/{}",
        meeting.public_id, r.public_id
    );
    let dir = super::retention::folder(root, &r.dir);
    let tracks: Vec<TrackView> = manifest
        .map(|m| {
            m.tracks
                .iter()
                .map(|t| track_view(dir.as_deref(), &base, t))
                .collect()
        })
        .unwrap_or_default();
    let bytes = match r.state {
        RecordingRowState::Recording => tracks.iter().map(|t| t.bytes as i64).sum(),
        _ => r.bytes,
    };
    RecordingView {
        id: r.public_id,
        state: r.state.as_str().into(),
        started_at: r.started_at,
        ended_at: r.ended_at,
        duration_ms: r.duration_ms,
        bytes,
        started_by: r.started_by,
        manifest_url: format!("{base}/manifest"),
        tracks,
    }
}

fn track_view(dir: Option<&std::path::Path>, base: &str, t: &TrackEntry) -> TrackView {
    TrackView {
        file: t.file.clone(),
        participant_id: t.participant.0.clone(),
        participant_name: t.participant_name.clone(),
        source: word(&t.source),
        codec: word(&t.codec),
        state: word(&t.state),
        start_ms: t.start.map(|m| m.0),
        end_ms: t.end.map(|m| m.0),
        gaps: t
            .gaps
            .iter()
            .map(|g| GapView {
                start_ms: g.start.0,
                end_ms: g.end.0,
                reason: word(&g.reason),
            })
            .collect(),
        frames: t.frames,
        bytes: dir
            .and_then(|d| std::fs::metadata(d.join(&t.file)).ok())
            .map_or(0, |m| m.len()),
        download_url: format!("{base}/files/{}", t.file),
    }
}

/// The wire word of an enum the manifest writes as a string.
fn word<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}
