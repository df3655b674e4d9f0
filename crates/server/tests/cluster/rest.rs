//! The REST API through any node, the cluster's refusals, and a start without Redis.

use std::time::Duration;

use convene_client::{join_msg, Meeting, MeetingEvent, Signaling};

use super::{http, metrics, node_id, room, var, Env};

/// The REST API answers for a room from every node, and a node that does not run the room ends
/// its meeting for everyone.
pub async fn rest_works_from_any_node(
    env: &Env,
    name: &str,
    ids: &[String],
    owner: usize,
    meetings: &mut Vec<Meeting>,
) {
    let auth = [("Authorization", env.api_key.as_str())];
    for n in &env.nodes {
        let path = format!("/api/v1/rooms/{name}/participants");
        let r = http::request(*n, "GET", &path, &auth, None).await;
        assert_eq!(r.status, 200, "{n}: {:?}", r.body);
        let list = r.body["participants"].as_array().expect("participants");
        assert_eq!(list.len(), 3, "{n}: {:?}", r.body);
        let r = http::request(*n, "GET", "/api/v1/rooms", &auth, None).await;
        assert_eq!(r.status, 200, "{n}: {:?}", r.body);
        let listed = r.body["rooms"]
            .as_array()
            .expect("rooms")
            .iter()
            .any(|room| room["unique_name"] == name);
        assert!(listed, "{n} lists the room another node runs: {:?}", r.body);
    }
    let other = (owner + 1) % 3;
    let r = http::request(
        env.nodes[other],
        "POST",
        &format!("/api/v1/rooms/{name}"),
        &auth,
        Some(serde_json::json!({"status": "completed"})),
    )
    .await;
    assert_eq!(r.status, 200, "ended through {}: {:?}", ids[other], r.body);
    for m in meetings.iter_mut() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, m.next_event()).await {
                Ok(Some(MeetingEvent::Ended(_))) | Ok(None) => break,
                Ok(Some(_)) => {}
                Err(_) => panic!("the meeting did not end for {}", m.joined().participant_id),
            }
        }
    }
    meetings.clear();
}

/// Removing a participant over REST through a node the room does not run: the owner carries it out.
pub async fn a_host_power_through_a_node_that_does_not_run_the_room(env: &Env, owner: usize) {
    let name = room("rm");
    let owner_ws = |i: usize| format!("ws://{}/ws", env.nodes[i]);
    // The first join through the owner of the other room places this one anywhere; the second
    // joins wherever it runs.
    let mut stay = Signaling::connect(&owner_ws(owner)).await.expect("connect");
    stay.join(join_msg(&name, "Stay")).await.expect("join");
    let mut go = Signaling::connect(&owner_ws((owner + 1) % 3))
        .await
        .expect("connect");
    let target = go
        .join(join_msg(&name, "Go"))
        .await
        .expect("join")
        .participant_id;
    let run_by: String = sqlx::query_scalar("SELECT node_id FROM meetings WHERE room = $1")
        .bind(&name)
        .fetch_one(&env.db)
        .await
        .expect("the meeting's node");
    let mut through = None;
    for n in &env.nodes {
        if node_id(&metrics(*n).await) != run_by {
            through = Some(*n);
        }
    }
    let through = through.expect("a node that does not run the room");
    let r = http::request(
        through,
        "POST",
        &format!("/api/v1/rooms/{name}/participants/{target}"),
        &[("Authorization", env.api_key.as_str())],
        Some(serde_json::json!({"status": "disconnected"})),
    )
    .await;
    assert!(
        r.status == 200 || r.status == 204,
        "removed through {through}: {} {:?}",
        r.status,
        r.body
    );
    let closed = tokio::time::timeout(Duration::from_secs(10), go.closed())
        .await
        .expect("the removed participant's socket closes")
        .expect("a close frame");
    assert_eq!(
        closed.code,
        Some(convene_proto::close::REMOVED),
        "{closed:?}"
    );
    stay.close().await;
}

/// What reaches `/internal/cluster/...` from outside (here through the balancer) without a
/// signature of a node of this cluster is refused.
pub async fn internal_endpoints_refuse_what_no_node_signed(env: &Env) {
    let body = serde_json::json!({
        "room": "x", "actor": {"kind": "system"}, "op": {"op": "end"}, "tell": false
    });
    let forged = "node-x.1.00";
    for sig in [None, Some(forged)] {
        let headers: Vec<(&str, &str)> =
            sig.map(|s| ("x-convene-cluster", s)).into_iter().collect();
        let r = http::request(
            env.lb,
            "POST",
            "/internal/cluster/op",
            &headers,
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 403, "an unsigned room request: {:?}", r.body);
        // A recording's files, asked of the node that holds them as if another node had carried
        // the request.
        let carried = serde_json::json!({
            "meeting": 1, "recording": "x", "action": "manifest", "range": null
        });
        let r = http::request(
            env.lb,
            "POST",
            "/internal/cluster/recording",
            &headers,
            Some(carried),
        )
        .await;
        assert_eq!(r.status, 403, "an unsigned recording request: {:?}", r.body);
    }
    let mut raw = vec![
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        (
            "x-convene-relayed-from",
            r#"{"user":[1,"admin@example.org"],"peer":"127.0.0.1"}"#,
        ),
    ];
    let r = http::request(env.lb, "GET", "/internal/cluster/ws", &raw, None).await;
    assert_eq!(r.status, 403, "a relayed socket no node signed");
    raw.push(("x-convene-cluster", forged));
    let r = http::request(env.lb, "GET", "/internal/cluster/ws", &raw, None).await;
    assert_eq!(r.status, 403, "a forged signature");
}

/// A node that cannot reach its Redis at start-up stops with an error that says so.
pub fn an_unreachable_redis_stops_the_start_with_a_clear_error(env: &Env) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convene"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
        .arg(var("CONVENE_TEST_CLUSTER_DB"))
        .args([
            "--redis-url",
            "redis://127.0.0.1:1",
            "--set",
            "media.udp_port=0",
        ])
        .arg("--set")
        .arg(format!(
            "cluster.node_id_file={}",
            dir.path().join("id").display()
        ))
        .arg("--set")
        .arg(format!("files.dir={}", dir.path().join("files").display()))
        .output()
        .expect("run convene");
    assert!(!out.status.success(), "it must not run without its Redis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Redis at redis://127.0.0.1:1"), "{text}");
    let _ = env;
}
