//! Connection limits on the HTTP port, counted at accept before a byte is read: per address, in
//! total, and a reserve beyond the total that serves health, metrics and admin only. Clients on
//! other loopback addresses (127.0.0.2 ...) are other people: the tests turn the loopback
//! exemption off. Issue 26 §4: one address holding ~1,100 half-sent requests must not stop
//! `/healthz` or a new meeting join for anyone else.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::TestServer;
use convene_client::{join_msg, ClientError, Signaling};
use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an IP")
}

async fn connect_from(addr: SocketAddr, from: IpAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(from, 0)).expect("bind");
    socket.connect(addr).await.expect("connect")
}

/// A request head that never ends (a slowloris).
async fn half_sent(addr: SocketAddr, from: IpAddr) -> TcpStream {
    let mut c = connect_from(addr, from).await;
    // Refused connections may be reset before this is written: that is what is tested later.
    let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
    c
}

/// True when the server closes `c` within `wait`.
async fn closed(mut c: TcpStream, wait: Duration) -> (bool, TcpStream) {
    let mut sink = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, c.read(&mut sink)).await {
            Err(_) => return (false, c),
            Ok(Ok(0)) | Ok(Err(_)) => return (true, c),
            Ok(Ok(_)) => {}
        }
    }
}

/// A GET from `from` on a fresh connection: the response head and body, lower-cased head; an
/// empty string when the connection was closed without an answer.
async fn get_from(addr: SocketAddr, from: IpAddr, path: &str, extra: &str) -> String {
    let mut c = connect_from(addr, from).await;
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n");
    if c.write_all(req.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).to_lowercase()
}

/// Lets the connections the test server's start made (its readiness checks) end on the server's
/// side too: a client sees the end of a response a moment before the server counts it closed.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn join_from(s: &TestServer, from: IpAddr, room: &str) -> Result<Signaling, ClientError> {
    let mut c = Signaling::connect_from(&s.ws_url(), from).await?;
    c.join(join_msg(room, "Someone")).await?;
    Ok(c)
}

/// The HTTP status of a refused WebSocket handshake.
fn refused_status(e: &ClientError) -> Option<u16> {
    match e {
        ClientError::WebSocket(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            Some(r.status().as_u16())
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_with_1100_half_sent_requests_does_not_stop_anyone_else() {
    let s = TestServer::with(|c| {
        c.limits.exempt_loopback = false;
        c.connections.max_total = 200;
        c.connections.max_per_address = 50;
        c.connections.reserve = 4;
        c.server.http_header_timeout_secs = 5;
    })
    .await;
    settle().await;
    let flooder = ip("127.0.0.1");
    let started = Instant::now();
    let mut flood = Vec::new();
    for _ in 0..1100 {
        flood.push(half_sent(s.addr, flooder).await);
    }
    // Refused connections are closed at once; the admitted ones wait for their header timeout.
    let checked = join_all(
        flood
            .into_iter()
            .map(|c| closed(c, Duration::from_millis(700))),
    )
    .await;
    let held: Vec<TcpStream> = checked
        .into_iter()
        .filter_map(|(closed, c)| (!closed).then_some(c))
        .collect();
    assert_eq!(held.len(), 50, "one address holds max_per_address, no more");

    let other = ip("127.0.0.2");
    let health = get_from(s.addr, other, "/healthz", "").await;
    assert!(health.starts_with("http/1.1 200"), "{health}");
    let joined = join_from(&s, other, "busy-server").await;
    assert!(joined.is_ok(), "another client joins: {:?}", joined.err());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "checked while the flood still held its connections ({:?})",
        started.elapsed()
    );

    // The half-sent requests time out, and the flooder's address may connect again.
    let ended = join_all(held.into_iter().map(|c| closed(c, Duration::from_secs(6)))).await;
    assert!(ended.iter().all(|(closed, _)| *closed), "header timeout");
    let again = join_from(&s, flooder, "busy-server").await;
    assert!(again.is_ok(), "slots freed: {:?}", again.err());
    let metrics = get_from(s.addr, other, "/metrics", "").await;
    assert!(
        metrics.contains("convene_tcp_connections_refused_total{reason=\"per_address\"} 1050"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_total_the_reserve_serves_operations_only_and_then_nothing() {
    let s = TestServer::with(|c| {
        c.limits.exempt_loopback = false;
        c.connections.max_total = 6;
        c.connections.max_per_address = 3;
        c.connections.reserve = 2;
        c.server.http_header_timeout_secs = 10;
    })
    .await;
    let auth = s.api_auth().await;
    settle().await;
    // Six addresses' worth of general capacity, taken by two addresses at three each.
    let mut general = Vec::new();
    for from in ["127.0.0.3", "127.0.0.4"] {
        for _ in 0..3 {
            general.push(half_sent(s.addr, ip(from)).await);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let newcomer = ip("127.0.0.5");
    let health = get_from(s.addr, newcomer, "/healthz", "").await;
    assert!(health.starts_with("http/1.1 200"), "reserve: {health}");
    assert!(health.contains("connection: close"), "{health}");
    let ready = get_from(s.addr, newcomer, "/readyz", "").await;
    assert!(ready.starts_with("http/1.1 200"), "{ready}");
    let admin = get_from(
        s.addr,
        newcomer,
        "/api/v1/meetings",
        &format!("Authorization: {auth}\r\n"),
    )
    .await;
    assert!(admin.starts_with("http/1.1 200"), "admin: {admin}");
    let app = get_from(s.addr, newcomer, "/api/v1/meetings", "").await;
    assert!(app.starts_with("http/1.1 503"), "{app}");
    assert!(
        app.contains("server_busy") && app.contains("retry-after: 5"),
        "{app}"
    );
    let page = get_from(s.addr, newcomer, "/", "").await;
    assert!(page.starts_with("http/1.1 503"), "{page}");
    let join = join_from(&s, newcomer, "full").await.err();
    assert_eq!(
        join.as_ref().and_then(refused_status),
        Some(503),
        "{join:?}"
    );

    // Two half-sent requests take the reserve (once the refused join's connection has ended on
    // the server's side too); the next connection is closed at once.
    settle().await;
    let r1 = half_sent(s.addr, ip("127.0.0.6")).await;
    let r2 = half_sent(s.addr, ip("127.0.0.7")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (closed_at_once, _) = closed(
        connect_from(s.addr, ip("127.0.0.8")).await,
        Duration::from_secs(2),
    )
    .await;
    assert!(closed_at_once, "no capacity left: closed at accept");
    assert_eq!(get_from(s.addr, ip("127.0.0.8"), "/healthz", "").await, "");

    // Capacity comes back when connections end.
    drop((r1, r2));
    general.truncate(3);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let joined = join_from(&s, newcomer, "full").await;
    assert!(joined.is_ok(), "{:?}", joined.err());
    let metrics = get_from(s.addr, newcomer, "/metrics", "").await;
    for series in [
        "convene_tcp_connections{slot=\"general\"} 5",
        "convene_tcp_connections_limit{slot=\"general\"} 6",
        "convene_tcp_connections_limit{slot=\"reserve\"} 2",
    ] {
        assert!(metrics.contains(series), "{series} in {metrics}");
    }
    assert!(
        !metrics.contains("convene_tcp_connections_refused_total{reason=\"full\"} 0"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_holds_its_connection_for_its_whole_life() {
    let s = TestServer::with(|c| {
        c.connections.max_total = 2;
        c.connections.reserve = 1;
    })
    .await;
    settle().await;
    let (a, _) = s.join("pair", "Ada").await;
    let (b, _) = s.join("pair", "Bo").await;
    settle().await;
    // Both upgraded connections still count: a third join lands on the reserve and is refused.
    let third = Signaling::connect(&s.ws_url()).await.err();
    assert_eq!(
        third.as_ref().and_then(refused_status),
        Some(503),
        "{third:?}"
    );
    let (status, _) = s.get("/healthz").await;
    assert_eq!(status, 200, "the reserve answers health checks");
    drop(a);
    drop(b);
    let mut joined = None;
    for _ in 0..50 {
        if let Ok(c) = Signaling::connect(&s.ws_url()).await {
            joined = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut c = joined.expect("closed WebSockets give their connections back");
    c.join(join_msg("pair", "Cy")).await.expect("joined");
}
