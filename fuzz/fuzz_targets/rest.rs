//! The REST API as the server serves it: the whole router (`http::router`) on an in-memory SQLite
//! store, so that each request goes through the same query and path extraction, JSON body
//! parsing, validation, policy and handler as over the network. Routes come from the server's own
//! OpenAPI document, so new ones are fuzzed as they are added. An input picks a route and method,
//! a caller (none, an API key, a signed-in administrator, a malformed key), path parameters, a
//! query string, an extra header and a body. State persists between inputs (a room made by one is
//! there for the next), as on a server.
//!
//! Checked: no request makes the server fail with 500 (a bad request is the client's error), and
//! no panic. `POST /api/v1/webhooks` is left out: it resolves the endpoint's host name, and a
//! fuzzer must not send DNS queries; its URL parser (`webhooks::target::parse_url`) is fuzzed here
//! instead (inputs that start with 0xff).
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use convene_fuzz::bytes::Bytes;
use convene_server::net::conn_info::ConnInfo;
use convene_server::state::AppState;
use convene_server::Config;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const HOST: &str = "convene.test";
const WEBHOOKS: &str = "/api/v1/webhooks";

struct Api {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    routes: Vec<(Method, String)>,
    api_key: String,
    cookie: String,
    _dir: tempfile::TempDir,
}

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let (app, api_key, cookie) = rt.block_on(setup(dir.path()));
        let routes = rt.block_on(routes(&app));
        assert!(!routes.is_empty(), "the OpenAPI document lists the routes");
        Api {
            rt,
            app,
            routes,
            api_key,
            cookie,
            _dir: dir,
        }
    })
}

async fn setup(dir: &std::path::Path) -> (axum::Router, String, String) {
    use convene_store::Store;
    let mut config = Config::default();
    config.database.url = "sqlite::memory:".into();
    config.files.dir = dir.join("files").display().to_string();
    config.recording.dir = dir.join("recordings").display().to_string();
    // Limits on how often are not what this target is about: keep them out of the way.
    config.limits.rooms_per_hour_per_account = u32::MAX;
    config.limits.joins_per_minute_per_address = u32::MAX;
    let store = convene_store::connect(&config.database.url)
        .await
        .expect("store");
    let key = convene_server::auth::apikeys::generate("fuzz", 0).expect("key");
    store.create_api_key(&key.record).await.expect("key stored");
    let api_key = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", key.record.id, key.secret))
    );
    let now = convene_server::clock::now_ms();
    let user = store
        .create_user(&convene_store::NewUser {
            email: "admin@convene.test".into(),
            display_name: "Admin".into(),
            password_hash: "unused".into(),
            is_admin: true,
            created_at: now,
        })
        .await
        .expect("user");
    let token = convene_server::auth::token::new_token();
    store
        .create_auth_session(&convene_store::NewAuthSession {
            user,
            token_hash: convene_server::auth::token::token_hash(&token),
            created_at: now,
            expires_at: now + 365 * 24 * 3600 * 1000,
        })
        .await
        .expect("session");
    let cookie = format!("{}={token}", convene_server::auth::token::COOKIE);
    let resume = convene_server::rooms::resume::ResumeKey::new("fuzz resume key");
    let state = AppState::new(
        Arc::new(config),
        Arc::new(store),
        Arc::new(convene_server::metrics::Metrics::default()),
        None,
        resume,
    );
    (convene_server::http::router(Arc::new(state)), api_key, cookie)
}

/// (method, path template) of every operation in the server's OpenAPI document.
async fn routes(app: &axum::Router) -> Vec<(Method, String)> {
    let req = Request::get("/api/v1/openapi.json")
        .header(header::HOST, HOST)
        .body(Body::empty())
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("answer");
    let body = res.into_body().collect().await.expect("body").to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).expect("OpenAPI JSON");
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in ["get", "put", "post", "delete", "patch"] {
            if item.get(m).is_some() && !(m == "post" && path == WEBHOOKS) {
                out.push((m.to_uppercase().parse().expect("method"), path.clone()));
            }
        }
    }
    out
}

/// Percent-encodes what may not stand in a URI; `keep` are bytes left as they are.
fn encode(raw: &[u8], keep: &[u8]) -> String {
    let mut s = String::new();
    for &c in raw {
        if c.is_ascii_alphanumeric() || b"-._~%".contains(&c) || keep.contains(&c) {
            s.push(c as char);
        } else {
            s.push_str(&format!("%{c:02X}"));
        }
    }
    s
}

fn build(a: &Api, b: &mut Bytes) -> Option<Request<Body>> {
    let (method, template) = a.routes[usize::from(b.u8()) % a.routes.len()].clone();
    let flags = b.u8();
    let method = if flags & 0x80 != 0 {
        [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH][usize::from(flags) % 5].clone()
    } else {
        method
    };
    let mut path = String::new();
    for (i, part) in template.split('{').enumerate() {
        if i == 0 {
            path.push_str(part);
            continue;
        }
        let (_, after) = part.split_once('}')?;
        path.push_str(&encode(b.until(b'\n'), b""));
        path.push_str(after);
    }
    let query = encode(b.until(b'\n'), b"=&+");
    if !query.is_empty() {
        path = format!("{path}?{query}");
    }
    let extra = String::from_utf8_lossy(b.until(b'\n')).into_owned();
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST);
    req = match flags & 3 {
        0 => req,
        1 => req.header(header::AUTHORIZATION, &a.api_key),
        2 => req
            .header(header::COOKIE, &a.cookie)
            .header(header::ORIGIN, format!("http://{HOST}")),
        _ => req.header(header::AUTHORIZATION, format!("Basic {extra}")),
    };
    if flags & 4 != 0 {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    if let Some((name, value)) = extra.split_once(':') {
        if flags & 8 != 0 {
            req = req.header(name.trim(), value.trim());
        }
    }
    let mut req = req.body(Body::from(b.rest().to_vec())).ok()?;
    req.extensions_mut().insert(ConnInfo {
        peer: Some("192.0.2.1:50000".parse().expect("address")),
        ..ConnInfo::default()
    });
    Some(req)
}

fuzz_target!(|data: &[u8]| {
    let a = api();
    let mut b = Bytes::new(data);
    if data.first() == Some(&0xff) {
        // The webhook URL parser in place of the webhook route (see above).
        b.u8();
        let url = String::from_utf8_lossy(b.rest()).into_owned();
        let _ = convene_server::webhooks::target::parse_url(&url);
        return;
    }
    let Some(req) = build(a, &mut b) else {
        return;
    };
    let what = format!("{} {}", req.method(), req.uri());
    a.rt.block_on(async {
        let res = a.app.clone().oneshot(req).await.expect("the router is infallible");
        let status = res.status();
        let body = res.into_body().collect().await.map(|c| c.to_bytes());
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{what}: {:?}",
            body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned())
        );
    });
});
