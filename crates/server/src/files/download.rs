//! `GET /api/v1/files/{id}` and `/preview`: a shared file for the people who were in its meeting
//! (their file token, `?token=`), the accounts that may read the meeting's record (attended it
//! signed in, or own its room), administrators and API keys. Served as an attachment, with
//! `nosniff` and a policy that runs nothing, so that an uploaded HTML or SVG never runs as our
//! origin; single byte ranges work (a long video, a resumed download).

use std::io::SeekFrom;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use convene_proto::ErrorCode;
use convene_store::FileRecord;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use utoipa::IntoParams;

use crate::api::models::Refusals;
use crate::error::{ApiError, ServerError};
use crate::policy::RecordScope;
use crate::state::AppState;

/// Nothing in a served file may run, load or be framed; `sandbox` also gives it a unique origin
/// should a browser render it anyway.
pub const FILE_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DownloadQuery {
    /// A file token of the meeting (`joined.file_access.token`); without it, an API key or a
    /// session cookie that may read the meeting's record.
    token: Option<String>,
}

/// A shared file's bytes, as an attachment; `Range: bytes=a-b` gives a part (206).
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files",
    params(("id" = String, Path, description = "the file's id"), DownloadQuery),
    security(("file_token" = []), ("api_key" = []), ("session" = [])),
    responses(
        (status = 200, body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 206, body = Vec<u8>, content_type = "application/octet-stream", description = "the range asked for"),
        (status = 416, description = "a range outside the file"),
        Refusals))]
pub(super) async fn download(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let file = readable_file(&state, &headers, id, q).await?;
    let disposition = attachment(&file.name);
    let served = super::sniff::served_as(&file.content_type).to_owned();
    serve(&state, &file.blob_key, &served, disposition, &headers).await
}

/// A small PNG of a shared image, made by the server.
#[utoipa::path(get, path = "/api/v1/files/{id}/preview", tag = "files",
    params(("id" = String, Path, description = "the file's id"), DownloadQuery),
    security(("file_token" = []), ("api_key" = []), ("session" = [])),
    responses((status = 200, body = Vec<u8>, content_type = "image/png"), Refusals))]
pub(super) async fn preview(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let file = readable_file(&state, &headers, id, q).await?;
    let Some(key) = &file.preview_key else {
        return Err(ApiError::NotFound("this file has no preview".into()));
    };
    let disposition = HeaderValue::from_static("inline; filename=\"preview.png\"");
    serve(&state, key, "image/png", disposition, &HeaderMap::new()).await
}

/// The file, if the caller may have it; `not_found` otherwise (its existence is not theirs to
/// learn either).
async fn readable_file(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<FileRecord, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::BadRequest(format!("file id: {}", e.body_text())))?;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let not_found = || ApiError::NotFound("no such file".into());
    let meeting_of_token = match q.token {
        Some(t) => {
            let now = u64::try_from(crate::clock::now_ms() / 1000).unwrap_or(0);
            let claims = super::token::verify(&state.resume_key, &t, now).ok_or_else(|| {
                ServerError::client(ErrorCode::InvalidToken, "the file token is not valid")
            })?;
            Some(claims.meeting)
        }
        None => None,
    };
    // Without a token, the caller is known before anything is looked up.
    let caller = match meeting_of_token {
        Some(_) => None,
        None => Some(crate::auth::caller(state, headers).await?),
    };
    let file = state.store.file(&id).await?.ok_or_else(not_found)?;
    let allowed = match (meeting_of_token, &caller) {
        (Some(m), _) => m == file.meeting,
        (None, Some(c)) => match crate::policy::records_scope(c) {
            RecordScope::All => true,
            RecordScope::Own(user) => {
                state
                    .store
                    .user_may_read_meeting(user, file.meeting)
                    .await?
            }
        },
        (None, None) => false,
    };
    if allowed {
        Ok(file)
    } else {
        Err(not_found())
    }
}

/// `attachment` with the name: an ASCII fallback and the exact name in UTF-8 (RFC 6266).
pub fn attachment(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Streams blob `key`, whole or the one range asked for.
pub(crate) async fn serve(
    state: &AppState,
    key: &str,
    content_type: &str,
    disposition: HeaderValue,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let io =
        |e: std::io::Error| ApiError::Server(ServerError::Internal(format!("blob store: {e}")));
    let Some(blob) = state.blobs.open(key).await.map_err(io)? else {
        return Err(ApiError::NotFound("the file's bytes are gone".into()));
    };
    serve_reader(blob, content_type, disposition, headers).await
}

/// Streams `blob`, whole or the one range `headers` ask for (`Range: bytes=a-b`: 206, a range
/// outside it: 416), as an attachment nothing in may run.
pub async fn serve_reader(
    mut blob: super::blob::BlobReader,
    content_type: &str,
    disposition: HeaderValue,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let io =
        |e: std::io::Error| ApiError::Server(ServerError::Internal(format!("blob store: {e}")));
    let len = blob.len;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|r| parse_range(r, len));
    let (status, start, count) = match range {
        None | Some(Range::Ignored) => (StatusCode::OK, 0, len),
        Some(Range::Bytes(a, b)) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        Some(Range::Unsatisfiable) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    blob.body.seek(SeekFrom::Start(start)).await.map_err(io)?;
    let stream = tokio_util::io::ReaderStream::new(blob.body.take(count));
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set(h, header::CONTENT_TYPE, content_type.to_owned());
    set(h, header::CONTENT_LENGTH, count.to_string());
    if status == StatusCode::PARTIAL_CONTENT {
        set(
            h,
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{len}", start + count - 1),
        );
    }
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FILE_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(response)
}

#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// First and last byte, inclusive.
    Bytes(u64, u64),
    Unsatisfiable,
    /// Several ranges or another unit: the whole file is served (RFC 9110 allows it).
    Ignored,
}

fn parse_range(value: &str, len: u64) -> Range {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Range::Ignored;
    };
    if spec.contains(',') {
        return Range::Ignored;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Range::Ignored;
    };
    let (a, b) = (a.trim(), b.trim());
    let parsed = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) if a <= b => Some((a, b.min(len.saturating_sub(1)))),
        (Ok(a), Err(_)) if b.is_empty() => Some((a, len.saturating_sub(1))),
        (Err(_), Ok(n)) if a.is_empty() && n > 0 => {
            Some((len.saturating_sub(n), len.saturating_sub(1)))
        }
        _ => return Range::Ignored,
    };
    match parsed {
        Some((a, b)) if len > 0 && a < len && a <= b => Range::Bytes(a, b),
        _ => Range::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-9", 100), Range::Bytes(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), Range::Bytes(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), Range::Bytes(90, 99));
        assert_eq!(parse_range("bytes=-500", 100), Range::Bytes(0, 99));
        assert_eq!(parse_range("bytes=50-500", 100), Range::Bytes(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-0", 0), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Range::Ignored);
        assert_eq!(parse_range("items=0-1", 100), Range::Ignored);
        assert_eq!(parse_range("bytes=9-2", 100), Range::Ignored);
        assert_eq!(parse_range("bytes=x-y", 100), Range::Ignored);
    }

    #[test]
    fn the_attachment_names_the_file_safely() {
        let v = attachment("a \"b\"\r\n.html");
        let s = v.to_str().unwrap();
        assert!(
            s.starts_with("attachment; filename=\"a _b___.html\""),
            "{s}"
        );
        let v = attachment("été.pdf");
        assert!(v
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''%C3%A9t%C3%A9.pdf"));
    }
}
