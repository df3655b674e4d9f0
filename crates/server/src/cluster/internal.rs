//! The endpoints other nodes call, each signed with the cluster key (auth.rs): a relayed
//! WebSocket (relay.rs is the other end) and a request to a room that runs here (remote.rs is the
//! other end). Mounted only in cluster mode.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::recordings::{Carried, PATH as RECORDING_PATH};
use super::relay::{RelayedFrom, FROM_HEADER, PATH as WS_PATH};
use super::remote::{OpRequest, RemoteAnswer, OP_PATH};
use super::{auth, Cluster};
use crate::clock::now_ms;
use crate::policy::Identity;
use crate::rooms::RoomPlane;
use crate::state::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(WS_PATH, get(relayed_ws))
        .route(OP_PATH, post(room_op))
        .route(RECORDING_PATH, post(recording_request))
        .route(super::span::PATH, get(span_link))
}

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "not signed by a node of this cluster\n",
    )
        .into_response()
}

/// The sending node, if the request carries a valid signature of `payload` for `path`.
fn verified(cluster: &Cluster, headers: &HeaderMap, path: &str, payload: &[u8]) -> Option<String> {
    let sig = headers.get(auth::HEADER)?.to_str().ok()?;
    cluster.key.verify(sig, now_ms(), path, payload)
}

async fn relayed_ws(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(cluster) = state.cluster.clone() else {
        return refused();
    };
    let from_json = headers
        .get(FROM_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if verified(&cluster, &headers, WS_PATH, from_json.as_bytes()).is_none() {
        return refused();
    }
    let Ok(from) = serde_json::from_str::<RelayedFrom>(from_json) else {
        return refused();
    };
    // The account was established by the ingress node from the session cookie; the account may
    // have been disabled since, which the owner checks as for its own connections.
    let actor = match from.user {
        Some((id, _)) => match state.store.user(convene_store::UserId(id)).await {
            Ok(Some(u)) if !u.disabled => Identity::User {
                id: u.id,
                email: u.email,
            },
            Ok(_) => Identity::Guest,
            Err(e) => return crate::error::ServerError::from(e).into_response(),
        },
        None => Identity::Guest,
    };
    crate::ws::serve_relayed(state, ws, actor, from.peer)
}

async fn room_op(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(cluster) = state.cluster.clone() else {
        return refused();
    };
    if verified(&cluster, &headers, OP_PATH, &body).is_none() {
        return refused();
    }
    let Ok(req) = serde_json::from_slice::<OpRequest>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a room request\n").into_response();
    };
    let answer = if req.tell {
        state.rooms.tell(&req.room, req.actor, req.op).await;
        RemoteAnswer::Ok(crate::rooms::RoomAnswer::Done)
    } else {
        match state.rooms.request(&req.room, req.actor, req.op).await {
            Ok(a) => RemoteAnswer::Ok(a),
            Err(e) => RemoteAnswer::Err {
                code: e.code(),
                message: e.public_message(),
            },
        }
    };
    Json(answer).into_response()
}

/// A request about a recording whose files are here, carried by the node it reached
/// (cluster/recordings.rs), which checked who asks.
async fn recording_request(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(cluster) = state.cluster.clone() else {
        return refused();
    };
    if verified(&cluster, &headers, RECORDING_PATH, &body).is_none() {
        return refused();
    }
    let Ok(carried) = serde_json::from_slice::<Carried>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a recording request\n").into_response();
    };
    let mut res = crate::recording::api::serve_carried(&state, carried).await;
    super::recordings::mark(&mut res);
    res
}

/// The media link of rooms spanning nodes, opened by a room's owner (cluster/span/link.rs).
async fn span_link(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let (Some(cluster), Some(spans)) = (state.cluster.clone(), state.spans.clone()) else {
        return refused();
    };
    let epoch = headers
        .get(super::span::EPOCH_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(node) = verified(&cluster, &headers, super::span::PATH, epoch.as_bytes()) else {
        return refused();
    };
    let Ok(epoch) = epoch.parse::<u64>() else {
        return (StatusCode::BAD_REQUEST, "no sealing epoch\n").into_response();
    };
    let (ours, run) = super::span::accept(spans, node, epoch);
    let mut res = ws
        .max_message_size(super::span::MAX_MESSAGE)
        .max_frame_size(super::span::MAX_MESSAGE)
        .on_upgrade(run);
    if let Ok(v) = ours.to_string().parse() {
        res.headers_mut().insert(super::span::EPOCH_HEADER, v);
    }
    res
}
