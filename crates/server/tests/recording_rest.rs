//! Recordings over REST: the meeting's owner, an administrator and an API key list a recording
//! with its tracks, download a track file whole and by range (206 with the right bytes, 416
//! outside it), read its manifest, and delete it; others get 401 (no credentials) or 404; REST
//! starts and stops a live meeting's recording; the page before joining learns whether it runs.

mod common;
#[path = "support/http.rs"]
mod http;

use std::time::Duration;

use common::TestServer;
use convene_client::{join_msg, Layers, MediaConfig, MediaSession, PublishOptions, Signaling};
use convene_proto::ServerMessage;
use convene_store::Store;
use http::request;

/// A meeting of the owner's planned room `room` with one publisher, recorded for `secs` through
/// REST; returns the meeting's public id and the publisher (kept alive by the caller).
async fn recorded_meeting(s: &TestServer, owner: &str, room: &str) -> (String, MediaSession) {
    let made = request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", owner)],
        Some(serde_json::json!({ "unique_name": room })),
    )
    .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let mut sig = Signaling::connect(&s.ws_url()).await.unwrap();
    let joined = sig.join(join_msg(room, "Pub")).await.unwrap();
    let config = MediaConfig {
        publish: PublishOptions {
            layers: Layers::One,
            video_bitrate_bps: 200_000,
            width: 320,
            height: 240,
            ..PublishOptions::default()
        },
        ..MediaConfig::default()
    };
    let mut media = MediaSession::start(sig, joined.participant_id, config)
        .await
        .unwrap();
    let store = s.store().await;
    let meeting = store.meetings(Some(room), 1).await.unwrap().remove(0);
    let path = format!("/api/v1/meetings/{}/recording", meeting.public_id);
    let r = request(s.addr, "POST", &path, &[("Cookie", owner)], None).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    media
        .recv_until(|m| matches!(m, ServerMessage::RecordingStarted { .. }).then_some(()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = request(s.addr, "DELETE", &path, &[("Cookie", owner)], None).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    media
        .recv_until(|m| matches!(m, ServerMessage::RecordingStopped { .. }).then_some(()))
        .await
        .unwrap();
    (meeting.public_id, media)
}

/// The meeting's recordings once the first one is complete.
async fn complete_list(s: &TestServer, auth: (&str, &str), meeting: &str) -> serde_json::Value {
    let path = format!("/api/v1/meetings/{meeting}/recordings");
    for _ in 0..100 {
        let r = request(s.addr, "GET", &path, &[auth], None).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        if r.body["recordings"][0]["state"] == "complete" {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the recording never completed");
}

/// A GET whose body is kept as bytes (the JSON helper reads text).
async fn get_bytes(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let hs = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, hs, raw[split + 4..].to_vec())
}

fn header<'a>(hs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    hs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_admins_and_keys_list_download_and_delete_others_may_not() {
    let s = TestServer::start().await;
    let admin = http::signed_up(s.addr, "admin@example.org").await;
    let store = s.store().await;
    let admin_id = store
        .user_by_email("admin@example.org")
        .await
        .unwrap()
        .expect("admin")
        .id;
    store
        .set_user_flags(admin_id, Some(true), None)
        .await
        .unwrap();
    let owner = http::signed_up(s.addr, "owner@example.org").await;
    let stranger = http::signed_up(s.addr, "other@example.org").await;
    let (meeting, media) = recorded_meeting(&s, &owner, "vault").await;

    // The page before joining learns it is not recorded now (it stopped).
    let r = request(s.addr, "GET", "/api/v1/rooms/vault/recording", &[], None).await;
    assert_eq!(
        (r.status, &r.body["recording"]),
        (200, &serde_json::json!(false))
    );

    let key = s.api_auth().await;
    let list = complete_list(&s, ("Cookie", &owner), &meeting).await;
    for auth in [("Cookie", admin.as_str()), ("Authorization", key.as_str())] {
        let again = complete_list(&s, auth, &meeting).await;
        assert_eq!(again["recordings"][0]["id"], list["recordings"][0]["id"]);
    }
    let rec = &list["recordings"][0];
    let tracks = rec["tracks"].as_array().expect("tracks");
    assert_eq!(tracks.len(), 2, "{rec}");
    let total: u64 = tracks.iter().map(|t| t["bytes"].as_u64().unwrap()).sum();
    assert_eq!(rec["bytes"].as_u64(), Some(total));
    assert!(rec["duration_ms"].as_i64().unwrap() >= 2_500);
    let video = tracks.iter().find(|t| t["codec"] == "vp8").expect("video");
    assert_eq!(video["source"], "camera");
    assert_eq!(video["participant_name"], "Pub");
    let url = video["download_url"].as_str().unwrap().to_owned();
    let size = video["bytes"].as_u64().unwrap();

    // Outsiders: no credentials 401, someone else's meeting 404.
    let path = format!("/api/v1/meetings/{meeting}/recordings");
    let r = request(s.addr, "GET", &path, &[], None).await;
    assert_eq!(r.status, 401);
    let r = request(s.addr, "GET", &path, &[("Cookie", &stranger)], None).await;
    assert_eq!(r.status, 404);
    let (status, _, _) = get_bytes(s.addr, &url, &[("Cookie", &stranger)]).await;
    assert_eq!(status, 404);
    let (status, _, _) = get_bytes(s.addr, &url, &[]).await;
    assert_eq!(status, 401);

    // The whole file, then a range of it: the same bytes.
    let (status, hs, whole) = get_bytes(s.addr, &url, &[("Authorization", &key)]).await;
    assert_eq!(status, 200);
    assert_eq!(whole.len() as u64, size);
    assert_eq!(header(&hs, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&hs, "content-type"), Some("video/webm"));
    let (status, hs, part) = get_bytes(
        s.addr,
        &url,
        &[("Authorization", &key), ("Range", "bytes=100-199")],
    )
    .await;
    assert_eq!(status, 206);
    assert_eq!(part, whole[100..200]);
    assert_eq!(
        header(&hs, "content-range"),
        Some(format!("bytes 100-199/{size}").as_str())
    );
    let far = format!("bytes={size}-");
    let (status, _, _) = get_bytes(s.addr, &url, &[("Authorization", &key), ("Range", &far)]).await;
    assert_eq!(status, 416);
    // A name the manifest does not list is not served, whatever it is.
    let bad = url.replace("/files/", "/files/..%2Fmanifest.json");
    let (status, _, _) = get_bytes(s.addr, &bad, &[("Authorization", &key)]).await;
    assert_eq!(status, 404);
    // The manifest, as written.
    let rid = rec["id"].as_str().unwrap();
    let m = request(
        s.addr,
        "GET",
        &format!("{path}/{rid}/manifest"),
        &[("Cookie", &owner)],
        None,
    )
    .await;
    assert_eq!(m.status, 200);
    assert_eq!(m.body["state"], "complete");

    // Deleting: not by a stranger; by the owner, files and row.
    let one = format!("{path}/{rid}");
    let r = request(s.addr, "DELETE", &one, &[("Cookie", &stranger)], None).await;
    assert_eq!(r.status, 404);
    let r = request(s.addr, "DELETE", &one, &[("Cookie", &owner)], None).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let r = request(s.addr, "GET", &path, &[("Cookie", &owner)], None).await;
    assert_eq!(r.body["recordings"].as_array().map(Vec::len), Some(0));
    let folder = std::path::Path::new(&s.config.recording.dir).join(rid);
    assert!(!folder.exists(), "the files are gone");
    let (status, _, _) = get_bytes(s.addr, &url, &[("Authorization", &key)]).await;
    assert_eq!(status, 404);
    drop(media);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_before_joining_learns_a_meeting_is_recorded() {
    let s = TestServer::start().await;
    let (mut host, _) = s.join("Live-Tape", "Ada").await;
    let r = request(
        s.addr,
        "GET",
        "/api/v1/rooms/live-tape/recording",
        &[],
        None,
    )
    .await;
    assert_eq!(r.body["recording"], false);
    host.send(&convene_proto::ClientMessage::StartRecording)
        .await
        .unwrap();
    host.recv_until(|m| matches!(m, ServerMessage::RecordingStarted { .. }).then_some(()))
        .await
        .unwrap();
    let r = request(
        s.addr,
        "GET",
        "/api/v1/rooms/Live-Tape/recording",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (r.status, &r.body["recording"]),
        (200, &serde_json::json!(true))
    );
    // The REST start of a meeting nobody may manage from outside is refused (401 without a key).
    let store = s.store().await;
    let m = store
        .meetings(Some("live-tape"), 1)
        .await
        .unwrap()
        .remove(0);
    let path = format!("/api/v1/meetings/{}/recording", m.public_id);
    let r = request(s.addr, "POST", &path, &[], None).await;
    assert_eq!(r.status, 401);
    // An API key stops it.
    let key = s.api_auth().await;
    let r = request(s.addr, "DELETE", &path, &[("Authorization", &key)], None).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let reason = host
        .recv_until(|m| match m {
            ServerMessage::RecordingStopped { reason } => Some(*reason),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(reason, convene_proto::RecordingStopReason::Stopped);
}
