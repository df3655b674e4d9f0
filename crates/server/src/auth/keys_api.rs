//! `/api/v1/keys`: an administrator makes, lists and revokes API keys (also `convene apikey ...`).
//! `/api/v1/tokens`: an API key (or an administrator) makes access tokens (also `convene token`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use convene_proto::ErrorCode;
use convene_store::ApiKeyRecord;
use serde::Deserialize;

use super::{apikeys, caller, origin};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::net::ConnInfo;
use crate::state::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/keys", get(list).post(create))
        .route("/api/v1/keys/{id}", delete(revoke))
        .route("/api/v1/tokens", axum::routing::post(make_token))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    room: String,
    identity: String,
    name: Option<String>,
    ttl_secs: Option<u64>,
    #[serde(default)]
    grants: super::tokens::Grants,
    kid: Option<String>,
}

/// Makes an access token: for programs (an API key), or an administrator.
async fn make_token(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    origin::guard(&state, &headers, conn.as_ref().map(|Extension(c)| c))?;
    let who = caller(&state, &headers).await?;
    if !(who.is_admin() || matches!(who, super::Caller::ApiKey(_))) {
        return Err(ServerError::client(
            ErrorCode::Forbidden,
            "access tokens are made with an API key or by an administrator",
        ));
    }
    let req: TokenRequest = super::json_body(&body)?;
    let (token, claims) = super::tokens::make(
        &state.config,
        &req.room,
        &req.identity,
        req.name,
        req.ttl_secs,
        req.grants,
        req.kid.as_deref(),
    )?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "token": token, "room": claims.room, "expires_at": claims.exp })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
}

type Answer = Result<Response, ServerError>;

async fn admin(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    change: Option<&Option<Extension<ConnInfo>>>,
) -> Result<(), ServerError> {
    if let Some(conn) = change {
        origin::guard(state, headers, conn.as_ref().map(|Extension(c)| c))?;
    }
    if caller(state, headers).await?.is_admin() {
        Ok(())
    } else {
        Err(ServerError::client(
            ErrorCode::Forbidden,
            "only an administrator manages API keys",
        ))
    }
}

async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Answer {
    admin(&state, &headers, None).await?;
    let keys: Vec<serde_json::Value> = state.store.api_keys().await?.iter().map(key_json).collect();
    Ok(Json(serde_json::json!({ "keys": keys })).into_response())
}

async fn create(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    admin(&state, &headers, Some(&conn)).await?;
    let req: NewKey = serde_json::from_slice(&body).map_err(|e| {
        ServerError::client(
            ErrorCode::InvalidMessage,
            format!("invalid request body: {e}"),
        )
    })?;
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ServerError::client(
            ErrorCode::InvalidMessage,
            "a key's name is 1 to 100 characters",
        ));
    }
    let key = tokio::task::spawn_blocking(move || apikeys::generate(&name, now_ms()))
        .await
        .map_err(|e| ServerError::Internal(format!("key generation: {e}")))??;
    state.store.create_api_key(&key.record).await?;
    let mut body = key_json(&key.record);
    body["secret"] = serde_json::Value::String(key.secret);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    admin(&state, &headers, Some(&conn)).await?;
    if !state.store.revoke_api_key(&id, now_ms()).await? {
        return Err(ServerError::client(
            ErrorCode::NotFound,
            "no live key of that id",
        ));
    }
    state.api_keys.forget(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn key_json(k: &ApiKeyRecord) -> serde_json::Value {
    serde_json::json!({
        "id": k.id,
        "name": k.name,
        "created_at": k.created_at,
        "revoked_at": k.revoked_at,
    })
}
