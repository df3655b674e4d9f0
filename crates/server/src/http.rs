//! HTTP routes: operations endpoints, the meeting records API and the WebSocket endpoint.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::error::ServerError;
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

#[derive(Deserialize)]
struct MeetingsQuery {
    room: Option<String>,
    limit: Option<i64>,
}

async fn list_meetings(
    State(state): State<Arc<AppState>>,
    Query(q): Query<MeetingsQuery>,
) -> Result<Response, HttpError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let room = q.room.map(|r| r.to_ascii_lowercase());
    let meetings = state.store.meetings(room.as_deref(), limit).await?;
    let list: Vec<serde_json::Value> = meetings.iter().map(crate::records::meeting_json).collect();
    Ok(Json(serde_json::json!({ "meetings": list })).into_response())
}

async fn get_meeting(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
) -> Result<Response, HttpError> {
    let id = convene_store::MeetingId(id);
    let Some(meeting) = state.store.meeting(id).await? else {
        return Ok((
            StatusCode::NOT_FOUND,
            Json(error_body("not_found", "no such meeting")),
        )
            .into_response());
    };
    let sessions = state.store.sessions(id).await?;
    let chat = state.store.chat_history(id, i64::MAX).await?;
    Ok(Json(crate::records::meeting_detail_json(
        &meeting, &sessions, &chat,
    ))
    .into_response())
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(error_body("not_found", "no such route")),
    )
        .into_response()
}

fn error_body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "code": code, "message": message } })
}

/// Errors of HTTP handlers, mapped through the one table in `error.rs`.
pub struct HttpError(ServerError);

impl From<convene_store::StoreError> for HttpError {
    fn from(e: convene_store::StoreError) -> Self {
        HttpError(ServerError::Storage(e))
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if let ServerError::Storage(e) = &self.0 {
            tracing::warn!(error = %e, "records API failed");
        }
        let body = error_body(self.0.code().as_str(), &self.0.public_message());
        (self.0.http_status(), Json(body)).into_response()
    }
}
