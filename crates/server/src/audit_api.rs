//! `GET /api/v1/meetings/{id}/audit`: the moderation actions of a meeting (who did what to whom,
//! when), for the owner of its room, administrators and API keys.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use convene_proto::ErrorCode;
use convene_store::AuditRecord;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::models::Refusals;
use crate::auth::{caller, Caller};
use crate::error::ServerError;
use crate::state::AppState;

/// The most entries one answer carries: a meeting with more moderation than this is rare, and
/// the oldest are the ones kept.
const MAX_ENTRIES: i64 = 1000;

/// One moderation action.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    /// When, ms since the Unix epoch.
    pub at: i64,
    /// `participant`, `user`, `api_key` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    /// `mute`, `mute_all`, `allow_unmute`, `lower_hand`, `remove`, `set_role`, `transfer_host`,
    /// `lock`, `unlock`, `lobby_on`, `lobby_off`, `admit`, `deny`, `end`, `start_recording` or
    /// `stop_recording`.
    pub action: String,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    /// The source muted, the role given.
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
}

impl From<AuditRecord> for AuditEntry {
    fn from(r: AuditRecord) -> Self {
        Self {
            at: r.at,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            action: r.action,
            target_id: r.target_id,
            target_name: r.target_name,
            detail: r.detail,
        }
    }
}

/// A meeting's moderation log, oldest first.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/audit", tag = "meetings",
    params(("id" = String, Path, description = "the meeting's public id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = AuditList), Refusals))]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let who = caller(&state, &headers).await?;
    let not_found = || ServerError::client(ErrorCode::NotFound, "no such meeting of yours");
    let Some(meeting) = state.store.meeting_by_public_id(&id).await? else {
        return Err(not_found());
    };
    let allowed = match &who {
        Caller::ApiKey(_) => true,
        Caller::User(u) if u.is_admin => true,
        Caller::User(_) => {
            let planned = state.store.planned_room(&meeting.room).await?;
            crate::policy::may_manage_room(&who, planned.as_ref())
        }
    };
    if !allowed {
        return Err(not_found());
    }
    let entries = state.store.moderation_log(meeting.id, MAX_ENTRIES).await?;
    let entries = entries.into_iter().map(Into::into).collect();
    Ok(Json(AuditList { entries }).into_response())
}
