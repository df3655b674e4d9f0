//! The embedded web files: content types, strong ETags and `304 Not Modified`, gzip when accepted, and
//! the bytes of this checkout's web/ folder (never a stale embed).

mod common;

use std::io::Read;
use std::net::SocketAddr;

use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Answer {
    status: u16,
    /// Lower-cased names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A GET with extra header lines on a fresh connection; the body as the server sent it.
async fn get(addr: SocketAddr, path: &str, extra: &[(&str, &str)]) -> Answer {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn on_disk(relative: &str) -> Vec<u8> {
    let path = format!("{}/../../web/{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn a_file_has_its_type_and_a_strong_etag_and_revalidates_to_304() {
    let s = TestServer::start().await;
    let a = get(s.addr, "/app/main.js", &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(a.header("cache-control"), Some("no-cache"));
    assert_eq!(a.header("vary"), Some("accept-encoding"));
    assert_eq!(a.header("content-encoding"), None);
    // This checkout's file, byte for byte.
    assert_eq!(a.body, on_disk("app/main.js"));
    let etag = a.header("etag").expect("an ETag").to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");

    let again = get(s.addr, "/app/main.js", &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    // Another file's tag, or an old one, gets the file.
    let css = get(s.addr, "/app/style.css", &[]).await;
    let other = css.header("etag").expect("an ETag");
    assert_ne!(other, etag);
    let stale = get(s.addr, "/app/main.js", &[("If-None-Match", other)]).await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, on_disk("app/main.js"));

    // The app's pages are its index.html.
    let page = get(s.addr, "/r/some-room", &[]).await;
    assert_eq!(page.body, on_disk("app/index.html"));
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}

#[tokio::test]
async fn gzip_is_served_to_clients_that_accept_it() {
    let s = TestServer::start().await;
    let a = get(
        s.addr,
        "/sdk/convene.js",
        &[("Accept-Encoding", "gzip, br")],
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-encoding"), Some("gzip"));
    assert_eq!(a.header("vary"), Some("accept-encoding"));
    let original = on_disk("sdk/convene.js");
    assert!(a.body.len() < original.len(), "{}", a.body.len());
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(a.body.as_slice())
        .read_to_end(&mut unpacked)
        .expect("a gzip body");
    assert_eq!(unpacked, original);

    // Another representation, another strong tag; either revalidates.
    let plain = get(s.addr, "/sdk/convene.js", &[]).await;
    let (gz_tag, plain_tag) = (a.header("etag").unwrap(), plain.header("etag").unwrap());
    assert_ne!(gz_tag, plain_tag);
    for tag in [gz_tag, plain_tag] {
        let headers = [("Accept-Encoding", "gzip"), ("If-None-Match", tag)];
        assert_eq!(get(s.addr, "/sdk/convene.js", &headers).await.status, 304);
    }

    // Refused gzip (q=0) gets the plain bytes.
    let refused = get(
        s.addr,
        "/sdk/convene.js",
        &[("Accept-Encoding", "gzip;q=0")],
    )
    .await;
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.body, original);
}

#[tokio::test]
async fn an_unknown_file_is_404() {
    let s = TestServer::start().await;
    for path in ["/app/nope.js", "/sdk/", "/example/missing.html"] {
        let a = get(s.addr, path, &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(a.status, 404, "{path}");
        assert_eq!(a.header("etag"), None, "{path}");
    }
}
