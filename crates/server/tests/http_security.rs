//! Security headers on pages, files and API answers; `/ws` only for pages of allowed origins.

mod common;
#[path = "support/raw_ws.rs"]
mod raw_ws;

use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The response head of a GET, lower-cased.
async fn head(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn pages_files_and_api_answers_carry_security_headers() {
    let s = TestServer::start().await;
    for path in [
        "/",
        "/r/some-room",
        "/app/main.js",
        "/example/",
        "/sdk/convene.js",
        "/api/v1/meetings",
        "/api/v1/nope",
        "/healthz",
    ] {
        let h = head(s.addr, path).await;
        for needle in [
            "x-content-type-options: nosniff",
            "x-frame-options: deny",
            "referrer-policy: no-referrer",
            "content-security-policy: default-src 'self'; script-src 'self';",
            "frame-ancestors 'none'",
            "connect-src 'self' ws: wss:",
        ] {
            assert!(h.contains(needle), "{path} lacks `{needle}`:\n{h}");
        }
        // Plain HTTP: no HSTS.
        assert!(!h.contains("strict-transport-security"), "{path}:\n{h}");
    }
    // No inline script anywhere; inline styles only on the example page.
    let app = head(s.addr, "/").await;
    assert!(app.contains("style-src 'self';"), "{app}");
    assert!(!app.contains("unsafe"), "{app}");
    let example = head(s.addr, "/example/").await;
    assert!(
        example.contains("style-src 'self' 'unsafe-inline'"),
        "{example}"
    );
    assert!(!example.contains("script-src 'self' 'unsafe"), "{example}");
}

/// The status code of a WebSocket handshake with these extra header lines, and the body.
async fn upgrade(addr: std::net::SocketAddr, extra: &str) -> (u16, String) {
    let (mut s, head) = raw_ws::handshake(addr, extra).await;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut body = String::new();
    if status != 101 {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut buf))
            .await
            .map(|r| r.unwrap_or(0))
            .unwrap_or(0);
        body = String::from_utf8_lossy(&buf[..n]).into_owned();
    }
    (status, body)
}

#[tokio::test]
async fn websocket_origin_is_checked() {
    let s = TestServer::with(|c| {
        c.server.public_origins = vec!["https://Meet.Example.org:443".into()];
    })
    .await;
    // The handshake's Host is the server's address.
    let own = format!("Origin: http://{}\r\n", s.addr);
    assert_eq!(upgrade(s.addr, &own).await.0, 101, "same origin");
    assert_eq!(upgrade(s.addr, "").await.0, 101, "no Origin: not a browser");
    let configured = "Origin: https://meet.example.org\r\n";
    assert_eq!(upgrade(s.addr, configured).await.0, 101, "configured");
    for foreign in [
        "Origin: http://evil.example\r\n".to_owned(),
        format!("Origin: https://{}\r\n", s.addr),
        format!("Origin: http://{}.evil.example\r\n", s.addr.ip()),
        "Origin: null\r\n".to_owned(),
    ] {
        let (status, body) = upgrade(s.addr, &foreign).await;
        assert_eq!(status, 403, "{foreign}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON error body");
        assert_eq!(v["error"]["code"], "forbidden", "{body}");
    }
}

#[tokio::test]
async fn a_bad_public_origin_is_refused_at_start() {
    let mut c = convene_server::Config::default();
    c.server.public_origins = vec!["meet.example.org/path".into()];
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("server.public_origins"), "{e}");
}
