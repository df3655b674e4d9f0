//! The browser app, embedded at build time (see build.rs). `/` and `/r/<room>` serve the app's page;
//! `/app/`, `/sdk/` and `/example/` serve their files.
//!
//! Each file has a strong ETag (a hash of its bytes) and, for text, a gzip copy made at build time.
//! Browsers revalidate on every use (`no-cache`, so an upgrade shows at once) and get `304 Not
//! Modified` while their copy is current.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file.
#[derive(Debug)]
pub struct WebFile {
    /// The URL path it is served at.
    pub path: &'static str,
    pub body: &'static [u8],
    /// The same bytes gzip-compressed, when that is smaller.
    pub gzip: Option<&'static [u8]>,
    pub content_type: &'static str,
    /// Strong validator of `body` (quoted, as sent).
    pub etag: &'static str,
    /// Strong validator of `gzip`: another encoding is another representation.
    pub gzip_etag: &'static str,
}

mod files {
    use super::WebFile;
    include!(concat!(env!("OUT_DIR"), "/web_files.rs"));
}

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(app_page))
        .route("/r/{room}", get(app_page))
        .route(
            "/example/",
            get(|h: HeaderMap| async move { file("/example/index.html", &h) }),
        )
        .route(
            "/app/{*path}",
            get(|Path(p): Path<String>, h: HeaderMap| async move { file(&format!("/app/{p}"), &h) }),
        )
        .route(
            "/sdk/{*path}",
            get(|Path(p): Path<String>, h: HeaderMap| async move { file(&format!("/sdk/{p}"), &h) }),
        )
        .route(
            "/example/{*path}",
            get(|Path(p): Path<String>, h: HeaderMap| async move {
                file(&format!("/example/{p}"), &h)
            }),
        )
}

async fn app_page(headers: HeaderMap) -> Response {
    file("/app/index.html", &headers)
}

/// The embedded file served at `path`.
pub fn lookup(path: &str) -> Option<&'static WebFile> {
    files::FILES.iter().find(|f| f.path == path)
}

fn file(path: &str, request: &HeaderMap) -> Response {
    let Some(f) = lookup(path) else {
        return crate::error::ApiError::NotFound("no such file".into()).into_response();
    };
    let gzip = f.gzip.filter(|_| accepts_gzip(request));
    let etag = if gzip.is_some() { f.gzip_etag } else { f.etag };
    let mut response = if not_modified(request, f) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = gzip.unwrap_or(f.body).into_response();
        if gzip.is_some() {
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(f.content_type),
    );
    h.insert(header::ETAG, HeaderValue::from_static(etag));
    // Embedded files change only with the binary; revalidate so an upgrade shows at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if f.gzip.is_some() {
        // Caches must not hand the gzip copy to a client that did not ask for it.
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// Whether the request's `If-None-Match` names the current version of `f`, in either encoding
/// (both tags name the same bytes). Compared weakly, as RFC 9110 says for this header.
fn not_modified(request: &HeaderMap, f: &WebFile) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| {
            let t = t.strip_prefix("W/").unwrap_or(t);
            t == "*" || t == f.etag || t == f.gzip_etag
        })
}

/// Whether `Accept-Encoding` allows gzip: named (or `*`) without `q=0`.
fn accepts_gzip(request: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for item in request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let allowed = parts.all(|p| !is_zero_quality(p));
        match coding.as_str() {
            "gzip" | "x-gzip" => gzip = Some(allowed),
            "*" => any = Some(allowed),
            _ => {}
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// Whether a parameter is `q=0` (also `q=0.0`, `q=0.000`).
fn is_zero_quality(param: &str) -> bool {
    let Some((k, v)) = param.split_once('=') else {
        return false;
    };
    k.trim().eq_ignore_ascii_case("q") && v.trim().parse::<f32>().is_ok_and(|q| q == 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let ae = |v| accepts_gzip(&with(header::ACCEPT_ENCODING, v));
        assert!(ae("gzip, deflate, br"));
        assert!(ae("br;q=1.0, GZIP;q=0.5"));
        assert!(ae("*"));
        assert!(!ae("gzip;q=0"));
        assert!(!ae("gzip;q=0.000, *"));
        assert!(!ae("*;q=0"));
        assert!(!ae("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    /// Cargo decides by modification times whether build.rs runs again; should a target folder
    /// ever hold another checkout's embed, this says so instead of the browser tests going wrong.
    #[test]
    fn every_embedded_file_is_this_checkouts() {
        let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
        for f in files::FILES {
            let on_disk = std::fs::read(web.join(&f.path[1..])).expect("an embedded file exists");
            assert!(
                on_disk == f.body,
                "{} differs from web/ (stale build?)",
                f.path
            );
        }
        assert!(lookup("/sdk/convene.js").is_some() && lookup("/example/index.html").is_some());
    }

    #[test]
    fn text_has_a_smaller_gzip_copy_and_each_encoding_a_tag_of_its_own() {
        let main = lookup("/app/main.js").expect("main.js is embedded");
        assert!(main.gzip.is_some_and(|g| g.len() < main.body.len()));
        for f in files::FILES {
            assert!(
                f.etag.starts_with('"') && f.etag.ends_with('"'),
                "{}",
                f.etag
            );
            assert_ne!(f.etag, f.gzip_etag);
        }
    }
}
