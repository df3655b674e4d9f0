//! `POST /api/v1/files?name=...`: a participant shares a file. The body is the file's bytes, streamed
//! to the blob store chunk by chunk (hashed on the way, never held whole). Refused before a byte is
//! read when `Content-Length` says it is over the limit per file or the meeting's quota; while
//! streaming otherwise (a body without a length, or a lying one). An upload that fails leaves
//! nothing behind; the app restarts it from the beginning.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use convene_proto::{ErrorCode, RoomId};
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::blob::BlobUpload;
use super::models::FileView;
use super::preview::{self, PreviewError};
use super::token::FileClaims;
use super::{quota_exceeded, sniff, too_large, StoredFile};
use crate::api::models::Refusals;
use crate::error::{ApiError, ServerError};
use crate::rooms::{Actor, RoomAnswer, RoomOp};
use crate::state::AppState;

/// Bytes of a file's start kept to tell what it is and, for an image, its size in pixels (a JPEG's
/// size can follow a large EXIF block).
const HEAD_BYTES: usize = 256 * 1024;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct UploadQuery {
    /// The file's name; the server keeps only its last path part, without control characters,
    /// at most 200 characters.
    name: String,
}

/// Shares a file in the meeting the file token names (from `joined.file_access`), as the
/// participant it names, who must be in the meeting now with a role that may share (not a viewer).
#[utoipa::path(post, path = "/api/v1/files", tag = "files", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "the file's bytes"),
    security(("file_token" = [])),
    responses((status = 201, body = FileView), Refusals))]
pub(super) async fn upload(
    State(state): State<Arc<AppState>>,
    conn: Option<axum::Extension<crate::net::ConnInfo>>,
    headers: HeaderMap,
    q: Result<Query<UploadQuery>, QueryRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    // Like every cookie request that changes state: only from our own pages.
    crate::auth::origin::guard(&state, &headers, conn.as_ref().map(|c| &c.0))?;
    let claims = file_claims(&state, &headers)?;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let name = super::name::sanitize(&q.name);
    let (room, allowed) = admit(&state, &claims, content_length(&headers)).await?;
    let mut upload = state.blobs.create().await.map_err(io_failure)?;
    let received = match receive(&state, &mut upload, body, allowed).await {
        Ok(r) => r,
        Err(e) => {
            upload.abort().await;
            return Err(e.into());
        }
    };
    let blob_key = upload.commit().await.map_err(io_failure)?;
    let content_type = sniff::content_type(&received.head);
    let mut file = StoredFile {
        id: format!("f_{}", crate::rooms::participant::new_token()),
        name,
        content_type: content_type.to_owned(),
        size: received.size,
        sha256: received.sha256,
        blob_key,
        preview_key: None,
        width: received.dims.map(|d| d.0),
        height: received.dims.map(|d| d.1),
    };
    if let Err(e) = add_preview(&state, &mut file).await {
        discard(&state, &file).await;
        return Err(e.into());
    }
    let op = RoomOp::ShareFile {
        meeting: claims.meeting.0,
        file: file.clone(),
    };
    let by = Actor::Participant {
        id: claims.participant,
    };
    match state.plane.request(&room, by, op).await {
        Ok(RoomAnswer::File { file: shared }) => {
            let Some(record) = state.store.file(&shared.id).await? else {
                return Err(ServerError::Internal("a shared file's row vanished".into()).into());
            };
            Ok((StatusCode::CREATED, Json(FileView::from(&record))).into_response())
        }
        Ok(_) => Err(ServerError::Internal("unexpected answer to a shared file".into()).into()),
        Err(e) => {
            discard(&state, &file).await;
            Err(e.into())
        }
    }
}

/// The participant a request's file token names (`Authorization: Bearer`).
fn file_claims(state: &AppState, headers: &HeaderMap) -> Result<FileClaims, ServerError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let now = u64::try_from(crate::clock::now_ms() / 1000).unwrap_or(0);
    given
        .and_then(|t| super::token::verify(&state.resume_key, t.trim(), now))
        .ok_or_else(|| {
            ServerError::client(
                ErrorCode::Unauthorized,
                "an upload takes `Authorization: Bearer <file token>` (joined.file_access.token)",
            )
        })
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Checks what can be checked before the body is read: files are on, the meeting is live and the
/// participant may share in it now, and the announced length fits the limits. Returns the room
/// and the most bytes the body may have.
async fn admit(
    state: &Arc<AppState>,
    claims: &FileClaims,
    length: Option<u64>,
) -> Result<(RoomId, u64), ServerError> {
    let files = &state.config.files;
    if !files.enabled {
        return Err(ServerError::client(
            ErrorCode::Forbidden,
            "this server does not take files",
        ));
    }
    if length.is_some_and(|n| n > files.max_file_bytes) {
        return Err(too_large(files.max_file_bytes));
    }
    let meeting = state.store.meeting(claims.meeting).await?;
    let Some(meeting) = meeting.filter(|m| m.ended_at.is_none()) else {
        return Err(ServerError::client(
            ErrorCode::NotJoined,
            "that meeting has ended",
        ));
    };
    let room = RoomId(meeting.room);
    let by = Actor::Participant {
        id: claims.participant.clone(),
    };
    let op = RoomOp::MayShareFile {
        meeting: claims.meeting.0,
    };
    state.plane.request(&room, by, op).await?;
    let used = u64::try_from(state.store.file_bytes(claims.meeting).await?).unwrap_or(0);
    let left = files.max_meeting_bytes.saturating_sub(used);
    if length.unwrap_or(0) > left || left == 0 {
        return Err(quota_exceeded(files.max_meeting_bytes));
    }
    Ok((room, left.min(files.max_file_bytes)))
}

struct Received {
    size: u64,
    sha256: String,
    head: Vec<u8>,
    dims: Option<(u32, u32)>,
}

/// Streams the body into `upload`, at most `allowed` bytes; an image is refused as soon as its
/// header claims more pixels than the server decodes.
async fn receive(
    state: &AppState,
    upload: &mut Box<dyn BlobUpload>,
    body: Body,
    allowed: u64,
) -> Result<Received, ServerError> {
    let files = &state.config.files;
    let mut stream = body.into_data_stream();
    let mut hash = Sha256::new();
    let mut head = Vec::new();
    let mut dims = None;
    let mut size: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ServerError::client(
                ErrorCode::InvalidMessage,
                format!("the upload broke off: {e}"),
            )
        })?;
        size = size.saturating_add(chunk.len() as u64);
        if size > allowed {
            // Whichever limit was the nearer one is the one passed.
            return Err(if allowed < files.max_file_bytes {
                quota_exceeded(files.max_meeting_bytes)
            } else {
                too_large(files.max_file_bytes)
            });
        }
        if head.len() < HEAD_BYTES {
            let take = chunk.len().min(HEAD_BYTES - head.len());
            head.extend_from_slice(&chunk[..take]);
            if dims.is_none() && sniff::is_previewable_image(sniff::content_type(&head)) {
                dims = preview::dimensions(&head);
                if let Some((w, h)) = dims {
                    preview::check_pixels(w, h, files.image_max_pixels).map_err(image_refused)?;
                }
            }
        }
        hash.update(&chunk);
        upload.write(&chunk).await.map_err(io_failure)?;
    }
    let sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Received {
        size,
        sha256,
        head,
        dims,
    })
}

/// Makes an image's preview and stores it. An image too large to decode is refused; one that
/// cannot be decoded (or is too large to read whole) is kept without a preview.
async fn add_preview(state: &AppState, file: &mut StoredFile) -> Result<(), ServerError> {
    if !sniff::is_previewable_image(&file.content_type)
        || file.size > preview::PREVIEW_SOURCE_MAX_BYTES
    {
        return Ok(());
    }
    let Some(mut blob) = state.blobs.open(&file.blob_key).await.map_err(io_failure)? else {
        return Err(ServerError::Internal("a stored file vanished".into()));
    };
    let mut bytes = Vec::with_capacity(usize::try_from(blob.len).unwrap_or(0));
    tokio::io::AsyncReadExt::read_to_end(&mut blob.body, &mut bytes)
        .await
        .map_err(io_failure)?;
    let max = state.config.files.image_max_pixels;
    let made = tokio::task::spawn_blocking(move || preview::make(&bytes, max))
        .await
        .map_err(|e| ServerError::Internal(format!("preview: {e}")))?;
    let made = match made {
        Ok(p) => p,
        Err(PreviewError::Undecodable) => return Ok(()),
        Err(e) => return Err(image_refused(e)),
    };
    let mut up = state.blobs.create().await.map_err(io_failure)?;
    if let Err(e) = up.write(&made.bytes).await {
        up.abort().await;
        return Err(io_failure(e));
    }
    file.preview_key = Some(up.commit().await.map_err(io_failure)?);
    file.width = Some(made.width);
    file.height = Some(made.height);
    Ok(())
}

/// Deletes the blobs of a file that did not make it into the record.
async fn discard(state: &AppState, file: &StoredFile) {
    for key in std::iter::once(&file.blob_key).chain(&file.preview_key) {
        if let Err(e) = state.blobs.delete(key).await {
            tracing::warn!(error = %e, "could not delete the blob of a refused file");
        }
    }
}

fn image_refused(e: PreviewError) -> ServerError {
    let (w, h) = match e {
        PreviewError::TooLarge { width, height } => (width, height),
        PreviewError::Undecodable => (0, 0),
    };
    ServerError::client(
        ErrorCode::ImageTooLarge,
        format!("the image is {w}×{h} pixels, more than this server decodes"),
    )
}

fn io_failure(e: std::io::Error) -> ServerError {
    ServerError::Internal(format!("blob store: {e}"))
}
