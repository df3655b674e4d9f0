//! Security headers on every response, and the redirect of plain HTTP to HTTPS on a TLS port.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ConnInfo;
use crate::error::ApiError;

/// The app loads only its own scripts, styles and images (no inline code), talks to its own
/// server; `ws:`/`wss:` because Safari before 15.4 does not count a same-host WebSocket as
/// 'self'. No plugins, no `<base>`, and no page may frame it (clickjacking).
pub const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// The SDK example keeps its few styles inline in its page, so that it stays one readable file.
pub const EXAMPLE_CSP: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self'; connect-src 'self' ws: wss:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One year, the value HSTS preload lists ask for.
const HSTS: &str = "max-age=31536000";

/// Paths still served over plain HTTP on a TLS port: probes and scrapers that do not need a
/// secure context, and may not trust the certificate.
const PLAIN_OK: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

pub async fn layer(request: Request, next: Next) -> Response {
    let conn = request
        .extensions()
        .get::<ConnInfo>()
        .copied()
        .unwrap_or_default();
    let example = request.uri().path().starts_with("/example/");
    // The cluster's own endpoints are signed (cluster/auth.rs); nodes call each other in plain HTTP.
    let plain_ok = PLAIN_OK.contains(&request.uri().path())
        || request.uri().path().starts_with("/internal/cluster/");
    let mut response = if conn.plain_on_tls_port && !plain_ok {
        redirect_to_https(&request)
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    let csp = if example { EXAMPLE_CSP } else { APP_CSP };
    // A handler may set a stricter policy of its own (a shared file's: files/download.rs).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if conn.tls && conn.hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

/// 308 to the same host and path over HTTPS (the same port: it serves both).
fn redirect_to_https(request: &Request) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| super::origin::normalize(&format!("https://{h}")).is_some());
    let Some(host) = host else {
        return ApiError::BadRequest(
            "plain HTTP here redirects to HTTPS, which needs a valid Host header".into(),
        )
        .into_response();
    };
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    match format!("https://{host}{path}").parse::<Uri>() {
        Ok(uri) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, uri.to_string())],
        )
            .into_response(),
        Err(_) => {
            ApiError::BadRequest("cannot redirect this request to HTTPS".into()).into_response()
        }
    }
}
