//! `/api/v1/keys`: an administrator makes, lists and revokes API keys (also `convene apikey ...`).
//! `/api/v1/tokens`: an API key (or an administrator) makes access tokens (also `convene token`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use convene_proto::ErrorCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{apikeys, caller, origin};
use crate::api::models::{ApiKey, ApiKeyList, NewApiKey, Refusals, TokenReply};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::net::ConnInfo;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
        .routes(routes!(make_token))
}

#[derive(Deserialize, ToSchema)]
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
#[utoipa::path(post, path = "/api/v1/tokens", tag = "access tokens", request_body = TokenRequest,
    security(("api_key" = []), ("session" = [])),
    responses((status = 201, body = TokenReply), Refusals))]
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
        Json(TokenReply {
            token,
            room: claims.room,
            expires_at: claims.exp,
        }),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
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

/// Every API key, revoked ones included (never their secrets).
#[utoipa::path(get, path = "/api/v1/keys", tag = "api keys", security(("session" = [])),
    responses((status = 200, body = ApiKeyList), Refusals))]
async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Answer {
    admin(&state, &headers, None).await?;
    let keys = state
        .store
        .api_keys()
        .await?
        .iter()
        .map(ApiKey::from)
        .collect();
    Ok(Json(ApiKeyList { keys }).into_response())
}

/// Makes an API key; its secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/keys", tag = "api keys", request_body = NewKey,
    security(("session" = [])),
    responses((status = 201, body = NewApiKey), Refusals))]
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
    let body = NewApiKey {
        key: ApiKey::from(&key.record),
        secret: key.secret,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "api keys",
    params(("id" = String, Path, description = "the key's public id")),
    security(("session" = [])),
    responses((status = 204, description = "revoked"), Refusals))]
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
