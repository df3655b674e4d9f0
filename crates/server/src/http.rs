//! HTTP routes: operations endpoints, the meeting records API and the WebSocket endpoint.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/ws", get(crate::ws::ws_handler))
        .route("/api/v1/meetings", get(list_meetings))
        .route("/api/v1/meetings/{id}", get(get_meeting))
        .merge(crate::auth::routes())
        .merge(crate::planned_api::routes())
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(crate::net::headers::layer))
        .with_state(state)
}

/// Liveness: the process answers. Never touches the database, so a database outage does not get a
/// healthy process restarted.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers and the node is not draining.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out\n").into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Chat messages and sessions in one page of a meeting's detail, unless the query asks for fewer.
pub const PAGE_DEFAULT: i64 = 200;
/// The most a query may ask for in one page.
pub const PAGE_MAX: i64 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeetingsQuery {
    room: Option<String>,
    limit: Option<i64>,
}

async fn list_meetings(
    State(state): State<Arc<AppState>>,
    q: Result<Query<MeetingsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let room = q.room.map(|r| r.to_ascii_lowercase());
    let meetings = state.store.meetings(room.as_deref(), limit).await?;
    let list: Vec<serde_json::Value> = meetings.iter().map(crate::records::meeting_json).collect();
    Ok(Json(serde_json::json!({ "meetings": list })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeetingQuery {
    chat_after: Option<i64>,
    chat_limit: Option<i64>,
    sessions_after: Option<i64>,
    sessions_limit: Option<i64>,
}

fn page_limit(name: &str, value: Option<i64>) -> Result<i64, ApiError> {
    match value.unwrap_or(PAGE_DEFAULT) {
        n @ 1..=PAGE_MAX => Ok(n),
        n => Err(ApiError::BadRequest(format!(
            "{name} must be between 1 and {PAGE_MAX}, not {n}"
        ))),
    }
}

async fn get_meeting(
    State(state): State<Arc<AppState>>,
    id: Result<Path<i64>, PathRejection>,
    q: Result<Query<MeetingQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(id) =
        id.map_err(|e| ApiError::BadRequest(format!("meeting id: {}", e.body_text())))?;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let chat_limit = page_limit("chat_limit", q.chat_limit)?;
    let sessions_limit = page_limit("sessions_limit", q.sessions_limit)?;
    let id = convene_store::MeetingId(id);
    let Some(meeting) = state.store.meeting(id).await? else {
        return Err(ApiError::NotFound("no such meeting".into()));
    };
    // One more than the page holds tells whether there is a next page.
    let after = convene_store::SessionId(q.sessions_after.unwrap_or(0));
    let mut sessions = state
        .store
        .sessions_page(id, after, sessions_limit + 1)
        .await?;
    let sessions_next = more(&mut sessions, sessions_limit).map(|s| s.id.0);
    let mut chat = state
        .store
        .chat_page(id, q.chat_after.unwrap_or(0), chat_limit + 1)
        .await?;
    let chat_next = more(&mut chat, chat_limit).map(|c| c.seq);
    let mut body = crate::records::meeting_detail_json(&meeting, &sessions, &chat);
    body["next"] = serde_json::json!({ "sessions_after": sessions_next, "chat_after": chat_next });
    Ok(Json(body).into_response())
}

/// Cuts `items` to `limit`; when there was more, the last item kept (its key is the next cursor).
fn more<T>(items: &mut Vec<T>, limit: i64) -> Option<&T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        items.truncate(limit);
        items.last()
    } else {
        None
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
