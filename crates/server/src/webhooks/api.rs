//! `/api/v1/webhooks`: endpoints made, listed and revoked through REST (administrators and API
//! keys), their last deliveries, and redelivering one.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use convene_proto::ErrorCode;
use convene_store::{DeliveryRecord, NewDelivery, WebhookProgress, WebhookRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::models::Refusals;
use crate::auth::{caller, json_body, origin, Caller};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::net::ConnInfo;
use crate::state::AppState;

type Answer = Result<Response, ServerError>;

/// Endpoints an API caller may make at most (live ones).
const MAX_ENDPOINTS: usize = 100;
/// Deliveries the list shows.
const DELIVERIES_SHOWN: i64 = 50;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// `https://...` (or `http://...`); a public address unless the server allows private ones.
    url: String,
    /// Event kinds to send; absent or empty: every kind.
    #[serde(default)]
    events: Vec<String>,
}

/// A webhook endpoint (its secret is shown once, when it is made).
#[derive(Serialize, ToSchema)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// Made by the configuration file (revoked by removing it there).
    pub from_config: bool,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// Failed attempts at the next event, and when the next try is (ms since the epoch; 0: now).
    pub attempts: i64,
    pub next_attempt_at: i64,
}

#[derive(Serialize, ToSchema)]
pub struct EndpointList {
    pub endpoints: Vec<Endpoint>,
}

#[derive(Serialize, ToSchema)]
pub struct NewEndpointReply {
    pub endpoint: Endpoint,
    /// Signs every delivery (see docs/webhooks.md); shown this once.
    pub secret: String,
}

/// One delivery attempt.
#[derive(Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub event_id: String,
    pub event: String,
    pub at: i64,
    pub attempt: i64,
    /// The receiver's HTTP status; absent when no answer came.
    pub status: Option<i64>,
    pub error: Option<String>,
    pub ok: bool,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

impl From<&WebhookRecord> for Endpoint {
    fn from(w: &WebhookRecord) -> Self {
        Self {
            id: w.id.clone(),
            url: w.url.clone(),
            events: w.events.clone(),
            from_config: w.from_config,
            created_at: w.created_at,
            revoked_at: w.revoked_at,
            attempts: w.progress.attempts,
            next_attempt_at: w.progress.next_attempt_at,
        }
    }
}

impl From<&DeliveryRecord> for Delivery {
    fn from(d: &DeliveryRecord) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id.clone(),
            event: d.kind.clone(),
            at: d.delivery.at,
            attempt: d.delivery.attempt,
            status: d.delivery.status,
            error: d.delivery.error.clone(),
            ok: d.delivery.ok,
        }
    }
}

/// Administrators and API keys only; for others, webhooks do not exist.
async fn operator(state: &Arc<AppState>, headers: &HeaderMap) -> Result<Caller, ServerError> {
    let who = caller(state, headers).await?;
    if who.is_admin() || matches!(who, Caller::ApiKey(_)) {
        Ok(who)
    } else {
        Err(ServerError::client(
            ErrorCode::Forbidden,
            "webhooks are managed by administrators and API keys",
        ))
    }
}

async fn live_endpoint(state: &AppState, id: &str) -> Result<WebhookRecord, ServerError> {
    match state.store.webhook(id).await? {
        Some(w) => Ok(w),
        None => Err(ServerError::client(
            ErrorCode::NotFound,
            "no such webhook endpoint",
        )),
    }
}

/// Every endpoint, revoked ones too.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = EndpointList), Refusals))]
async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Answer {
    operator(&state, &headers).await?;
    let endpoints = state
        .store
        .webhooks()
        .await?
        .iter()
        .map(Into::into)
        .collect();
    Ok(Json(EndpointList { endpoints }).into_response())
}

/// Makes an endpoint; it gets the events that happen from now on.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewEndpoint,
    security(("api_key" = []), ("session" = [])),
    responses((status = 201, body = NewEndpointReply), Refusals))]
async fn create(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    origin::guard(&state, &headers, conn.as_ref().map(|Extension(c)| c))?;
    operator(&state, &headers).await?;
    let req: NewEndpoint = json_body(&body)?;
    let bad = |m: String| ServerError::client(ErrorCode::InvalidMessage, m);
    let target = super::target::parse_url(&req.url).map_err(|e| bad(e.to_string()))?;
    if let Some(k) = req.events.iter().find(|k| !super::is_event_kind(k)) {
        return Err(bad(format!(
            "{k:?} is not an event; events are {:?}",
            super::EVENT_KINDS
        )));
    }
    match super::target::resolve(&target, state.config.webhooks.allow_private).await {
        Ok(_) => {}
        Err(e @ super::target::TargetError::Private { .. }) => {
            return Err(ServerError::client(ErrorCode::Forbidden, e.to_string()))
        }
        Err(e) => return Err(bad(e.to_string())),
    }
    let all = state.store.webhooks().await?;
    if all.iter().filter(|w| w.revoked_at.is_none()).count() >= MAX_ENDPOINTS {
        return Err(bad(format!("at most {MAX_ENDPOINTS} live endpoints")));
    }
    let record = WebhookRecord {
        id: format!("wh_{}", &crate::rooms::participant::new_token()[..16]),
        url: req.url,
        secret: super::new_secret(),
        events: req.events,
        from_config: false,
        created_at: now_ms(),
        revoked_at: None,
        progress: WebhookProgress {
            cursor: state.store.last_event().await?,
            ..Default::default()
        },
    };
    state.store.put_webhook(&record).await?;
    let reply = NewEndpointReply {
        endpoint: (&record).into(),
        secret: record.secret.clone(),
    };
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

/// Stops an endpoint made through the API.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "the endpoint's id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 204, description = "revoked"), Refusals))]
async fn revoke(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    origin::guard(&state, &headers, conn.as_ref().map(|Extension(c)| c))?;
    operator(&state, &headers).await?;
    let w = live_endpoint(&state, &id).await?;
    if w.from_config {
        return Err(ServerError::client(
            ErrorCode::Forbidden,
            "this endpoint comes from the configuration file: remove it there",
        ));
    }
    if !state.store.revoke_webhook(&id, now_ms()).await? {
        return Err(ServerError::client(
            ErrorCode::NotFound,
            "no such live webhook endpoint",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An endpoint's last deliveries, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "the endpoint's id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = DeliveryList), Refusals))]
async fn deliveries(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    operator(&state, &headers).await?;
    live_endpoint(&state, &id).await?;
    let list = state.store.deliveries(&id, DELIVERIES_SHOWN).await?;
    let deliveries = list.iter().map(Into::into).collect();
    Ok(Json(DeliveryList { deliveries }).into_response())
}

/// Sends a delivered (or failed) event again, now; answers how it went.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver",
    tag = "webhooks",
    params(("id" = String, Path, description = "the endpoint's id"),
        ("delivery" = String, Path, description = "a delivery's id")),
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, body = Delivery), Refusals))]
async fn redeliver(
    State(state): State<Arc<AppState>>,
    conn: Option<Extension<ConnInfo>>,
    Path((id, delivery)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    origin::guard(&state, &headers, conn.as_ref().map(|Extension(c)| c))?;
    operator(&state, &headers).await?;
    let w = live_endpoint(&state, &id).await?;
    let not_found =
        || ServerError::client(ErrorCode::NotFound, "no such delivery of this endpoint");
    // Taken as text: an id that is not a number names no delivery (and gets the JSON refusal).
    let delivery: i64 = delivery.parse().map_err(|_| not_found())?;
    let old = state
        .store
        .delivery(delivery)
        .await?
        .ok_or_else(not_found)?;
    if old.delivery.endpoint != w.id {
        return Err(not_found());
    }
    let ev = state
        .store
        .event(old.delivery.event_row)
        .await?
        .ok_or_else(not_found)?;
    let outcome = super::deliver(&state, &w, &ev).await;
    let ok = matches!(outcome, Ok(200..=299));
    let (status, error) = match &outcome {
        Ok(s) => (Some(i64::from(*s)), (!ok).then(|| format!("answered {s}"))),
        Err(e) => (None, Some(e.clone())),
    };
    let d = NewDelivery {
        endpoint: w.id.clone(),
        event_row: ev.row,
        at: now_ms(),
        attempt: old.delivery.attempt + 1,
        status,
        error,
        ok,
    };
    let new_id = state.store.record_delivery(&d).await?;
    let record = DeliveryRecord {
        id: new_id,
        event_id: ev.event_id.clone(),
        kind: ev.kind.clone(),
        delivery: d,
    };
    Ok(Json(Delivery::from(&record)).into_response())
}
