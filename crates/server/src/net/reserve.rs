//! What a connection on the reserve may ask for: health, readiness and metrics (load balancers,
//! monitoring) and the REST API with an `Authorization` header (an operator's API key: ending a
//! room, removing a participant). Anything else, a meeting's `/ws` included, gets `server_busy`.
//! Every answer on the reserve closes its connection, so that the few reserve slots turn over.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use convene_proto::ErrorCode;

use super::admission::Slot;
use super::ConnInfo;
use crate::error::ServerError;

/// Paths any reserve connection may ask for.
const OPERATIONS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Seconds a refused client is asked to wait.
const RETRY_AFTER_SECS: &str = "5";

pub async fn layer(request: Request, next: Next) -> Response {
    let slot = request
        .extensions()
        .get::<ConnInfo>()
        .map(|c| c.slot)
        .unwrap_or_default();
    if slot == Slot::General {
        return next.run(request).await;
    }
    let mut response = if allowed(&request) {
        next.run(request).await
    } else {
        let mut r = ServerError::client(
            ErrorCode::ServerBusy,
            "the server holds as many connections as it may; try again shortly",
        )
        .into_response();
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
        r
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn allowed(request: &Request) -> bool {
    let path = request.uri().path();
    OPERATIONS.contains(&path)
        || (path.starts_with("/api/") && request.headers().contains_key(header::AUTHORIZATION))
}
