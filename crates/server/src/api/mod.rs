//! The REST API as one router whose OpenAPI document is generated from its handlers
//! (`GET /api/v1/openapi.json`). The handlers live with their parts (auth, rooms, records); this
//! module gathers them and describes what they share (errors, credentials).

pub mod doc;
pub mod models;

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every documented route, and the document that describes them.
pub fn router() -> (axum::Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(doc::base())
        .merge(crate::http::ops_routes())
        .merge(crate::http::records_routes())
        .merge(crate::auth::routes())
        .merge(crate::planned_api::routes())
        .merge(crate::webhooks::api::routes())
        .merge(crate::files::routes())
        .merge(crate::recording::routes())
        .merge(crate::compose::routes())
        .split_for_parts()
}
