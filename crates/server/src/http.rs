//! HTTP routes: operations endpoints, the meeting records API and the WebSocket endpoint.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::models::{MeetingDetail, MeetingList, NextPage, Refusals};
use crate::error::ApiError;
use crate::policy::RecordScope;
use crate::state::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    let (api, doc) = crate::api::router();
    // Rendered once: the document is fixed for the life of the process.
    let doc = Arc::new(doc.to_pretty_json().unwrap_or_default());
    let internal = match state.cluster.is_some() {
        true => crate::cluster::internal::routes(),
        false => Router::new(),
    };
    Router::new()
        .route("/ws", get(crate::ws::ws_handler))
        .merge(internal)
        .route(
            "/api/v1/openapi.json",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    doc.as_str().to_owned(),
                )
            }),
        )
        .merge(api)
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(crate::net::reserve::layer))
        .layer(axum::middleware::from_fn(crate::net::headers::layer))
        .with_state(state)
}

/// Health, readiness and metrics, for operators and load balancers.
pub fn ops_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// The meeting records.
pub fn records_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_meetings))
        .routes(routes!(get_meeting))
        .routes(routes!(crate::audit_api::audit))
}

/// Liveness: the process answers. Never touches the database, so a database outage does not get a
/// healthy process restarted.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = String, content_type = "text/plain", example = "ok\n")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database (and in a cluster, Redis) answers and the node is not draining.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = String, content_type = "text/plain", example = "ready\n"),
        (status = 503, body = String, content_type = "text/plain", description = "draining, or the database (or in a cluster, Redis) does not answer")))]
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    if let Some(c) = &state.cluster {
        match tokio::time::timeout(Duration::from_secs(2), c.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: Redis unreachable");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cluster Redis unreachable\n",
                )
                    .into_response();
            }
            Err(_) => {
                return (StatusCode::SERVICE_UNAVAILABLE, "cluster Redis timed out\n")
                    .into_response()
            }
        }
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

/// `/metrics` says how many people are in how many rooms: loopback only, unless a token is set.
#[utoipa::path(get, path = "/metrics", tag = "operations", security((), ("metrics_token" = [])),
    responses((status = 200, body = String, content_type = "text/plain", description = "Prometheus text format"),
        Refusals))]
async fn metrics(
    State(state): State<Arc<AppState>>,
    conn: Option<axum::Extension<crate::net::ConnInfo>>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = metrics_allowed(&state, conn.as_ref().map(|c| &c.0), &headers) {
        return ApiError::Server(e).into_response();
    }
    let mut text = state.metrics.render();
    crate::runtime_metrics::render(&mut text, &*state.store);
    if let Some(c) = &state.cluster {
        text.push_str(&c.render_metrics());
    }
    if let Some(s) = &state.spans {
        text.push_str(&s.render_metrics());
    }
    if let Some(r) = &state.recorder {
        text.push_str(&r.metrics.render());
    }
    if let Some(t) = &state.turn {
        text.push_str(&t.render_metrics());
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Chat messages and sessions in one page of a meeting's detail, unless the query asks for fewer.
pub const PAGE_DEFAULT: i64 = 200;
/// The most a query may ask for in one page.
pub const PAGE_MAX: i64 = 1000;

fn metrics_allowed(
    state: &AppState,
    conn: Option<&crate::net::ConnInfo>,
    headers: &HeaderMap,
) -> Result<(), crate::error::ServerError> {
    use convene_proto::ErrorCode;
    use subtle::ConstantTimeEq;
    let token = &state.config.server.metrics_token;
    if !token.is_empty() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        return if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            Ok(())
        } else {
            Err(crate::error::ServerError::client(
                ErrorCode::Unauthorized,
                "/metrics takes `Authorization: Bearer <server.metrics_token>`",
            ))
        };
    }
    // In-process requests carry no connection info; every network request does.
    let local = conn.is_none_or(|c| c.peer.is_none_or(|p| p.ip().is_loopback()));
    if local {
        Ok(())
    } else {
        Err(crate::error::ServerError::client(
            ErrorCode::Forbidden,
            "/metrics answers loopback only; set server.metrics_token to read it from elsewhere",
        ))
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MeetingsQuery {
    /// Only the meetings of this room.
    room: Option<String>,
    /// At most this many, newest first (1 to 500, default 50).
    limit: Option<i64>,
}

/// Meetings, newest first: a user's own (planned or attended); every meeting for an API key or an
/// administrator.
#[utoipa::path(get, path = "/api/v1/meetings", tag = "meetings", params(MeetingsQuery),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = MeetingList), Refusals))]
async fn list_meetings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<MeetingsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let caller = crate::auth::caller(&state, &headers)
        .await
        .map_err(ApiError::Server)?;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let room = q.room.map(|r| crate::validate::canonical_room_name(&r));
    let meetings = match crate::policy::records_scope(&caller) {
        RecordScope::All => state.store.meetings(room.as_deref(), limit).await?,
        RecordScope::Own(user) => {
            state
                .store
                .meetings_for_user(user, room.as_deref(), limit)
                .await?
        }
    };
    let meetings = meetings.iter().map(Into::into).collect();
    Ok(Json(MeetingList { meetings }).into_response())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MeetingQuery {
    /// Chat messages after this `seq` (the previous page's `next.chat_after`).
    chat_after: Option<i64>,
    /// 1 to 1000, default 200.
    chat_limit: Option<i64>,
    /// Sessions after this cursor (the previous page's `next.sessions_after`).
    sessions_after: Option<i64>,
    /// 1 to 1000, default 200.
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

/// One meeting with a page of its sessions and chat (the meetings a caller may read, as above).
#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "meetings", params(
        ("id" = String, Path, description = "the meeting's public id"), MeetingQuery),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = MeetingDetail), Refusals))]
async fn get_meeting(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<MeetingQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let caller = crate::auth::caller(&state, &headers)
        .await
        .map_err(ApiError::Server)?;
    let Path(id) =
        id.map_err(|e| ApiError::BadRequest(format!("meeting id: {}", e.body_text())))?;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let chat_limit = page_limit("chat_limit", q.chat_limit)?;
    let sessions_limit = page_limit("sessions_limit", q.sessions_limit)?;
    // Meetings are named by their unguessable public id; a meeting the caller may not read is "not
    // found" as well: its existence is not theirs to learn.
    let Some(meeting) = state.store.meeting_by_public_id(&id).await? else {
        return Err(ApiError::NotFound("no such meeting".into()));
    };
    let id = meeting.id;
    let readable = match crate::policy::records_scope(&caller) {
        RecordScope::All => true,
        RecordScope::Own(user) => state.store.user_may_read_meeting(user, id).await?,
    };
    if !readable {
        return Err(ApiError::NotFound("no such meeting".into()));
    }
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
    let files = state
        .store
        .files(id, crate::files::FILES_LISTED_MAX)
        .await?;
    let body = MeetingDetail {
        meeting: (&meeting).into(),
        sessions: sessions.iter().map(Into::into).collect(),
        chat: chat.iter().map(Into::into).collect(),
        files: files.iter().map(Into::into).collect(),
        next: NextPage {
            sessions_after: sessions_next,
            chat_after: chat_next,
        },
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn metrics_without_a_token_answer_loopback_only() {
        let mut config = crate::config::Config::default();
        config.database.url = "sqlite::memory:".into();
        let store = convene_store::connect(&config.database.url).await.unwrap();
        let state = AppState::new(
            Arc::new(config),
            Arc::new(store),
            Arc::new(crate::metrics::Metrics::default()),
            None,
            crate::rooms::resume::ResumeKey::new("k"),
        );
        let conn = |ip: &str| crate::net::ConnInfo {
            peer: Some(format!("{ip}:5000").parse().unwrap()),
            ..Default::default()
        };
        let h = HeaderMap::new();
        assert!(metrics_allowed(&state, Some(&conn("127.0.0.1")), &h).is_ok());
        assert!(metrics_allowed(&state, Some(&conn("[::1]")), &h).is_ok());
        let e = metrics_allowed(&state, Some(&conn("192.0.2.7")), &h).unwrap_err();
        assert_eq!(e.code(), convene_proto::ErrorCode::Forbidden);
    }
}
