//! The browser app, embedded at build time (see build.rs). `/` and `/r/<room>` serve the app's page;
//! `/app/`, `/sdk/` and `/example/` serve their files.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

mod files {
    include!(concat!(env!("OUT_DIR"), "/web_files.rs"));
}

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(app_page))
        .route("/r/{room}", get(app_page))
        .route("/example/", get(|| async { file("/example/index.html") }))
        .route(
            "/app/{*path}",
            get(|Path(p): Path<String>| async move { file(&format!("/app/{p}")) }),
        )
        .route(
            "/sdk/{*path}",
            get(|Path(p): Path<String>| async move { file(&format!("/sdk/{p}")) }),
        )
        .route(
            "/example/{*path}",
            get(|Path(p): Path<String>| async move { file(&format!("/example/{p}")) }),
        )
}

async fn app_page() -> Response {
    file("/app/index.html")
}

pub fn lookup(path: &str) -> Option<(&'static [u8], &'static str)> {
    files::FILES
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, bytes, ctype)| (*bytes, *ctype))
}

fn file(path: &str) -> Response {
    match lookup(path) {
        Some((bytes, ctype)) => (
            [
                (header::CONTENT_TYPE, ctype),
                // Embedded files change only with the binary; revalidate so an upgrade shows at once.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        None => crate::error::ApiError::NotFound("no such file".into()).into_response(),
    }
}
