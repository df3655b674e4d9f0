//! Health, readiness, metrics, drain, config example.

mod common;

use std::time::Duration;

use common::{chat, TestServer};
use convene_proto::ServerMessage;
use convene_store::{LeaveReason, Store};

#[tokio::test]
async fn health_ready_and_metrics() {
    let s = TestServer::start().await;
    assert_eq!(s.get("/healthz").await, (200, "ok\n".into()));
    assert_eq!(s.get("/readyz").await.0, 200);
    let (mut a, _) = s.join("ops", "Ada").await;
    a.send(&chat("hi")).await.unwrap();
    a.recv_until(|m| matches!(m, ServerMessage::Chat { .. }).then_some(()))
        .await
        .unwrap();
    let (status, body) = s.get("/metrics").await;
    assert_eq!(status, 200);
    for needle in [
        "convene_rooms 1",
        "convene_participants 1",
        "convene_websocket_connections 1",
        "convene_messages_in_total{type=\"join\"} 1",
        "convene_messages_in_total{type=\"chat_send\"} 1",
        "convene_messages_out_total{type=\"chat\"} 1",
        "convene_messages_out_total{type=\"joined\"} 1",
        "# TYPE convene_errors_total counter",
        "convene_database_connections{state=\"idle\"} ",
        "convene_database_connections{state=\"in_use\"} ",
        "process_threads ",
    ] {
        assert!(body.contains(needle), "metrics lack `{needle}`:\n{body}");
    }
    // The server's own tasks at least: its listener, the room, Ada's connection.
    assert!(s.metric("convene_runtime_alive_tasks ").await >= 3.0);
    // The chat message was written through the pool, which keeps its connection.
    let pool = s
        .metric("convene_database_connections{state=\"idle\"} ")
        .await
        + s.metric("convene_database_connections{state=\"in_use\"} ")
            .await;
    assert!(pool >= 1.0, "{pool}");
    assert_eq!(s.get("/nope").await.0, 404);
}

/// The media sockets get the kernel buffers configured (reported doubled), and keep the
/// system's default when asked for 0.
#[tokio::test]
async fn media_sockets_get_the_configured_buffers() {
    let s = TestServer::with(|c| c.media.socket_buffer_bytes = 1 << 20).await;
    let (_, body) = s.get("/metrics").await;
    let value = |dir: &str| -> f64 {
        let needle = format!("convene_media_udp_buffer_bytes{{direction=\"{dir}\"}} ");
        let line = body.lines().find(|l| l.starts_with(&needle));
        let line = line.unwrap_or_else(|| panic!("no {needle}in\n{body}"));
        line[needle.len()..].parse().expect("a number")
    };
    // The kernel grants up to its cap (`net.core.rmem_max` / `wmem_max`) and reports twice what it
    // granted. A stock kernel caps at ~208 KiB, under the 1 MiB asked for: there the socket must
    // hold exactly twice the cap, which an unset buffer (the default, ~208 KiB) does not.
    for (dir, sysctl) in [("receive", "rmem_max"), ("send", "wmem_max")] {
        let requested = 1u64 << 20;
        let want = match kernel_cap(sysctl) {
            Some(cap) if cap < requested => {
                eprintln!(
                    "net.core.{sysctl} is {cap}, under the {requested} asked for: \
                     expecting the capped buffer, {}",
                    2 * cap
                );
                2 * cap
            }
            _ => 2 * requested,
        };
        assert_eq!(value(dir), want as f64, "{dir}: {body}");
    }

    let plain = TestServer::with(|c| c.media.socket_buffer_bytes = 0).await;
    let (_, body) = plain.get("/metrics").await;
    assert!(!body.contains("convene_media_udp_buffer_bytes"), "{body}");
}

/// The kernel's cap on a socket buffer (`/proc/sys/net/core/NAME`); None where there is none to read.
fn kernel_cap(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/sys/net/core/{name}")).ok()?;
    text.trim().parse().ok()
}

#[tokio::test]
async fn records_api_lists_meetings_with_sessions_and_chat() {
    let s = TestServer::start().await;
    let (mut a, ja) = s.join("api-room", "Ada").await;
    a.send(&chat("for the record")).await.unwrap();
    a.recv_until(|m| matches!(m, ServerMessage::Chat { .. }).then_some(()))
        .await
        .unwrap();
    let (status, body) = s.get_api("/api/v1/meetings?room=API-room").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = v["meetings"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = s.get_api(&format!("/api/v1/meetings/{id}")).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["sessions"][0]["participant_id"],
        ja.participant_id.0.as_str()
    );
    assert_eq!(v["chat"][0]["text"], "for the record");
    assert_eq!(s.get_api("/api/v1/meetings/999999").await.0, 404);
}

#[tokio::test]
async fn drain_tells_everyone_closes_records_and_refuses_joins() {
    let s = TestServer::start().await;
    let (mut a, _) = s.join("drain", "Ada").await;
    let (mut b, _) = s.join("drain", "Bob").await;
    let db = s.db_url.clone();
    let mut s = s;
    let stopping = tokio::spawn(async move {
        let r = s.stop().await;
        (r, s)
    });
    for c in [&mut a, &mut b] {
        common::expect_shutdown(c).await;
    }
    let (result, _keep_db) = tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("drain within the deadline")
        .unwrap();
    result.expect("clean drain");
    let store = convene_store::connect(&db).await.unwrap();
    let m = &store.meetings(Some("drain"), 1).await.unwrap()[0];
    assert!(m.ended_at.is_some());
    for sess in store.sessions(m.id).await.unwrap() {
        assert_eq!(sess.leave_reason, Some(LeaveReason::ServerShutdown));
        assert!(sess.left_at.is_some());
    }
}

/// The media threads end with the server: its UDP port is free again once `run` has returned. A
/// worker left running would hold its socket, and race the process's exit (see media/threads.rs).
#[tokio::test]
async fn a_stopped_server_has_ended_its_media_threads() {
    let mut s = TestServer::start().await;
    let udp = s.udp_addr.expect("media is on");
    // A participant, so that a worker has made a media session (a DTLS key) before the stop.
    let (a, _) = s.join("media-threads", "Ada").await;
    drop(a);
    assert!(
        std::net::UdpSocket::bind(udp).is_err(),
        "the workers hold the port while they run"
    );
    s.stop().await.expect("clean drain");
    std::net::UdpSocket::bind(udp).expect("the media port is free once run has returned");
}

#[tokio::test]
async fn a_draining_server_refuses_joins_and_is_not_ready() {
    let s = TestServer::start().await;
    let addr = s.addr;
    let ws_url = s.ws_url();
    // This client never reads, so it never answers the close: the drain waits for it a little while,
    // which is the window in which we look at the draining server.
    let (_deaf, _) = s.join("slow-drain", "Ada").await;
    let mut s = s;
    let stopping = tokio::spawn(async move { s.stop().await });
    let mut ready = 0;
    for _ in 0..100 {
        ready = common::http_get(addr, "/readyz").await.0;
        if ready == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(ready, 503, "readyz while draining");
    // A join during the drain is never accepted: it is refused, or the connection is closed with the
    // others once the rooms have drained, whichever comes first.
    let mut late = convene_client::Signaling::connect(&ws_url).await.unwrap();
    match late
        .join(convene_client::join_msg("slow-drain", "Bob"))
        .await
    {
        Err(convene_client::ClientError::Refused { code, .. }) => {
            assert_eq!(code, convene_proto::ErrorCode::ServerDraining)
        }
        Err(convene_client::ClientError::Closed(c)) => assert_eq!(c.code, Some(1001)),
        other => panic!("expected server_draining or a 1001 close, got {other:?}"),
    }
    assert_eq!(
        common::http_get(addr, "/healthz").await.0,
        200,
        "still alive while draining"
    );
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("drain ends even with a deaf client")
        .unwrap()
        .expect("clean drain");
}

#[test]
fn docs_config_example_matches_config_default() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/config.example.toml"
    );
    let docs = std::fs::read_to_string(path).expect("docs/config.example.toml exists");
    assert_eq!(
        docs,
        convene_server::config::DEFAULT_TEMPLATE,
        "docs/config.example.toml differs from `convene config default`; regenerate it with \
         `cargo run -- config default > docs/config.example.toml`"
    );
}

/// Every API error has the same JSON shape: `{"error": {"code", "message"}}`.
async fn api_error(s: &TestServer, path: &str) -> (u16, String) {
    let (status, body) = s.get_api(path).await;
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: not JSON: {body}"));
    let code = v["error"]["code"].as_str().unwrap_or_default().to_owned();
    assert!(v["error"]["message"].is_string(), "{path}: {body}");
    (status, code)
}

#[tokio::test]
async fn records_api_errors_are_json() {
    let s = TestServer::start().await;
    for (path, status, code) in [
        ("/api/v1/meetings/abc", 404, "not_found"),
        ("/api/v1/meetings/99999999999999999999", 404, "not_found"),
        ("/api/v1/meetings?limit=abc", 400, "bad_request"),
        ("/api/v1/meetings?lmit=5", 400, "bad_request"),
        ("/api/v1/meetings/1?chat_limit=x", 400, "bad_request"),
        ("/api/v1/meetings/1?chat_limit=0", 400, "bad_request"),
        ("/api/v1/meetings/1?chat_limit=1001", 400, "bad_request"),
        ("/api/v1/meetings/1?sessions_limit=1001", 400, "bad_request"),
        ("/api/v1/meetings/1", 404, "not_found"),
        ("/api/v1/nope", 404, "not_found"),
        ("/api/v2/meetings", 404, "not_found"),
        ("/api/v1/meetings/1/sessions", 404, "not_found"),
    ] {
        assert_eq!(
            api_error(&s, path).await,
            (status, code.to_owned()),
            "{path}"
        );
    }
    // A method the route does not take.
    let mut c = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    c.write_all(b"DELETE /api/v1/meetings HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = String::new();
    c.read_to_string(&mut buf).await.unwrap();
    assert!(buf.starts_with("HTTP/1.1 405"), "{buf}");
    assert!(buf.contains("\"code\":\"method_not_allowed\""), "{buf}");
}

#[tokio::test]
async fn meeting_chat_and_sessions_come_in_pages() {
    let s = TestServer::with(|c| {
        c.limits.messages_per_sec = 10_000;
        c.limits.messages_burst = 10_000;
    })
    .await;
    let (mut a, _) = s.join("pages", "Ada").await;
    let (_b, _) = s.join("pages", "Bob").await;
    let (_c, _) = s.join("pages", "Cy").await;
    for i in 1..=205 {
        a.send(&chat(&format!("m{i}"))).await.unwrap();
    }
    // Wait until the last one is acknowledged (stored).
    a.recv_until(|m| match m {
        ServerMessage::Chat { message } if message.text == "m205" => Some(()),
        _ => None,
    })
    .await
    .unwrap();
    let (_, body) = s.get_api("/api/v1/meetings?room=pages").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = v["meetings"][0]["id"].as_str().unwrap().to_owned();
    let get = |q: String| {
        let s = &s;
        let id = &id;
        async move {
            let (status, body) = s.get_api(&format!("/api/v1/meetings/{id}{q}")).await;
            assert_eq!(status, 200, "{body}");
            serde_json::from_str::<serde_json::Value>(&body).unwrap()
        }
    };
    let texts = |v: &serde_json::Value| -> Vec<String> {
        v["chat"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    };
    // Default: 200 messages, oldest first, and where the next page starts.
    let first = get(String::new()).await;
    let t = texts(&first);
    assert_eq!(t.len(), 200);
    assert_eq!((t[0].as_str(), t[199].as_str()), ("m1", "m200"));
    assert_eq!(first["next"]["chat_after"], 200);
    assert_eq!(first["sessions"].as_array().unwrap().len(), 3);
    assert!(first["next"]["sessions_after"].is_null());
    let rest = get("?chat_after=200".into()).await;
    assert_eq!(texts(&rest), ["m201", "m202", "m203", "m204", "m205"]);
    assert!(rest["next"]["chat_after"].is_null());
    // Small pages, following the cursors.
    let page = get("?chat_limit=2&chat_after=3".into()).await;
    assert_eq!(texts(&page), ["m4", "m5"]);
    assert_eq!(page["next"]["chat_after"], 5);
    let mut names = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(format!("?sessions_limit=1{cursor}")).await;
        let sessions = page["sessions"].as_array().unwrap();
        assert!(sessions.len() <= 1);
        names.extend(
            sessions
                .iter()
                .map(|s| s["display_name"].as_str().unwrap().to_owned()),
        );
        match page["next"]["sessions_after"].as_i64() {
            Some(after) => cursor = format!("&sessions_after={after}"),
            None => break,
        }
    }
    assert_eq!(names, ["Ada", "Bob", "Cy"]);
    // The most one page may hold.
    assert_eq!(
        get("?chat_limit=1000".into()).await["chat"]
            .as_array()
            .unwrap()
            .len(),
        205
    );
}

#[tokio::test]
async fn records_past_their_retention_are_deleted_at_start() {
    let mut s = TestServer::start().await;
    let (a, _) = s.join("kept-a-while", "Ada").await;
    a.close().await;
    s.stop().await.expect("drained");
    // The meeting ended two days ago, as far as the record knows.
    let store = s.store().await;
    let m = store
        .meetings(Some("kept-a-while"), 1)
        .await
        .unwrap()
        .remove(0);
    let two_days_ago = m.ended_at.unwrap() - 2 * 86_400_000;
    sqlx::query("UPDATE meetings SET ended_at = $1 WHERE id = $2")
        .bind(two_days_ago)
        .bind(m.id.0)
        .execute(store.pool())
        .await
        .unwrap();
    // Kept with no retention set; gone once records are kept for a day.
    let again = s.start_again().await;
    assert!(store.meeting(m.id).await.unwrap().is_some());
    drop(again);
    let third = s.start_again_with(|c| c.database.retention_days = 1).await;
    for _ in 0..50 {
        if store.meeting(m.id).await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(store.meeting(m.id).await.unwrap().is_none(), "deleted");
    assert!(store.sessions(m.id).await.unwrap().is_empty());
    drop(third);
}
