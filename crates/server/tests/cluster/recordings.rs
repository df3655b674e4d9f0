//! A recording's files are on the disk of the node that recorded it; its manifest, files,
//! compositions and deletion are served through every node (cluster/recordings.rs).

use std::time::Duration;

use convene_client::{JoinRequest, Meeting, MeetingOptions};

use super::{binary_http, http, light, room, Env};

/// Status, headers and body bytes of one GET.
async fn raw_get(
    addr: std::net::SocketAddr,
    path: &str,
    extra: &[(&str, &str)],
) -> (u16, binary_http::Reply, Vec<u8>) {
    let mut r = binary_http::send(addr, "GET", path, extra, b"").await;
    let body = std::mem::take(&mut r.body);
    (r.status, r, body)
}

/// A meeting recorded on its node: every node serves the manifest and a byte range of a track
/// file as the holder does; a composition asked through another node is made on the holder; a
/// deletion through another node deletes it there.
pub async fn recordings_are_served_through_every_node(env: &Env, ids: &[String]) {
    let name = room("rec");
    let options = MeetingOptions {
        publish: light(),
        ..MeetingOptions::default()
    };
    let url = format!("ws://{}/ws", env.nodes[0]);
    let m = Meeting::join(&url, JoinRequest::new(name.as_str(), "Rae"), options)
        .await
        .expect("join");
    let (public, node): (String, String) =
        sqlx::query_as("SELECT public_id, node_id FROM meetings WHERE room = $1")
            .bind(&name)
            .fetch_one(&env.db)
            .await
            .expect("the meeting");
    let holder = ids
        .iter()
        .position(|id| *id == node)
        .expect("a node of ours");
    let other = (holder + 1) % ids.len();
    let auth = [("Authorization", env.api_key.as_str())];
    let at = |i: usize| env.nodes[i];
    let recording = format!("/api/v1/meetings/{public}/recording");
    let r = http::request(at(holder), "POST", &recording, &auth, None).await;
    assert_eq!(r.status, 204, "recording starts: {:?}", r.body);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = http::request(at(holder), "DELETE", &recording, &auth, None).await;
    assert_eq!(r.status, 204, "recording stops: {:?}", r.body);
    let mut row: Option<(String, String, Option<String>)> = None;
    for _ in 0..100 {
        row = sqlx::query_as(
            "SELECT r.public_id, r.state, r.node_id FROM recordings r \
             JOIN meetings m ON m.id = r.meeting_id WHERE m.room = $1",
        )
        .bind(&name)
        .fetch_optional(&env.db)
        .await
        .expect("the recording");
        if row.as_ref().is_some_and(|r| r.1 == "complete") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (rid, state, on) = row.expect("a recording row");
    assert_eq!(state, "complete");
    assert_eq!(on.as_deref(), Some(node.as_str()), "the row names its node");
    m.leave().await.expect("leave");

    let base = format!("/api/v1/meetings/{public}/recordings/{rid}");
    let key = env.api_key.as_str();
    let (status, _, manifest) = raw_get(
        at(holder),
        &format!("{base}/manifest"),
        &[("Authorization", key)],
    )
    .await;
    assert_eq!(status, 200);
    let parsed: serde_json::Value = serde_json::from_slice(&manifest).expect("JSON");
    let file = parsed["tracks"][0]["file"]
        .as_str()
        .expect("a track file")
        .to_owned();
    let range = [("Authorization", key), ("Range", "bytes=0-99")];
    let (_, _, want) = raw_get(at(holder), &format!("{base}/files/{file}"), &range).await;
    for i in (0..ids.len()).filter(|i| *i != holder) {
        let (status, _, body) = raw_get(
            at(i),
            &format!("{base}/manifest"),
            &[("Authorization", key)],
        )
        .await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "the manifest through {}: {text}", ids[i]);
        assert!(
            body == manifest,
            "the same manifest through {}: {text}",
            ids[i]
        );
        let (status, h, body) = raw_get(at(i), &format!("{base}/files/{file}"), &range).await;
        assert_eq!(status, 206, "a range of {file} through {}", ids[i]);
        assert_eq!(
            h.header("content-range")
                .map(|r| r.starts_with("bytes 0-99/")),
            Some(true)
        );
        assert_eq!(body, want, "the same bytes through {}", ids[i]);
        // Without the key, the node it reached refuses: nothing is carried for a stranger.
        let (status, _, _) = raw_get(at(i), &format!("{base}/manifest"), &[]).await;
        assert_eq!(status, 401);
    }

    // A composition asked through another node is made where the files are.
    let compositions = format!("/api/v1/meetings/{public}/compositions");
    let r = http::request(at(other), "POST", &compositions, &auth, None).await;
    assert_eq!(
        r.status, 202,
        "composition through {}: {:?}",
        ids[other], r.body
    );
    let cid = r.body["id"].as_str().expect("its id").to_owned();
    let composed_on: String =
        sqlx::query_scalar("SELECT node_id FROM compositions WHERE public_id = $1")
            .bind(&cid)
            .fetch_one(&env.db)
            .await
            .expect("the composition");
    assert_eq!(composed_on, node, "composed on the node with the files");
    let mut done = serde_json::Value::Null;
    for _ in 0..600 {
        let r = http::request(
            at(other),
            "GET",
            &format!("{compositions}/{cid}"),
            &auth,
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        if r.body["state"] != "queued" && r.body["state"] != "running" {
            done = r.body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done["state"], "done", "{done:?}");

    // Deleted through another node: gone from the holder too.
    let r = http::request(at(other), "DELETE", &base, &auth, None).await;
    assert_eq!(
        r.status, 204,
        "deleted through {}: {:?}",
        ids[other], r.body
    );
    let (status, _, _) = raw_get(
        at(holder),
        &format!("{base}/manifest"),
        &[("Authorization", key)],
    )
    .await;
    assert_eq!(status, 404, "the holder has it no more");
}
