//! Three real `convene` nodes behind HAProxy, started by scripts/test-cluster.sh (which the README's
//! test command runs): the cases need those processes, so they are `#[ignore]`d in the workspace
//! run and that script runs them with `--run-ignored only`. One test function runs the cases in
//! order on processes started once (the last one kills a node).
//!
//! The script passes: CONVENE_TEST_CLUSTER_LB (the balancer), _NODES (the nodes' HTTP addresses),
//! _PIDS (their processes), _DB (the PostgreSQL URL of the run's schema) and _API_KEY (`id:secret`).

#[path = "support/http.rs"]
mod http;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use convene_client::{
    join_msg, JoinRequest, Layers, Meeting, MeetingEvent, MeetingOptions, PublishOptions,
    Reconnect, Signaling,
};
use convene_proto::{ClientMessage, MediaKind, ParticipantId, ServerMessage, TrackId};

struct Env {
    lb: SocketAddr,
    nodes: Vec<SocketAddr>,
    pids: Vec<u32>,
    db: sqlx::PgPool,
    api_key: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by scripts/test-cluster.sh"))
}

async fn env() -> Env {
    let addrs = |s: String| -> Vec<SocketAddr> {
        s.split(',')
            .map(|a| a.parse().expect("an address"))
            .collect()
    };
    let key = var("CONVENE_TEST_CLUSTER_API_KEY");
    Env {
        lb: var("CONVENE_TEST_CLUSTER_LB").parse().expect("LB address"),
        nodes: addrs(var("CONVENE_TEST_CLUSTER_NODES")),
        pids: var("CONVENE_TEST_CLUSTER_PIDS")
            .split(',')
            .map(|p| p.parse().expect("a pid"))
            .collect(),
        db: sqlx::PgPool::connect(&var("CONVENE_TEST_CLUSTER_DB"))
            .await
            .expect("the run's schema"),
        api_key: format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(key)
        ),
    }
}

/// One node's metrics, by name (first sample of each; labeled node info as `node=ID`).
async fn metrics(node: SocketAddr) -> HashMap<String, f64> {
    // support/http.rs parses JSON bodies; this one is text.
    let text = plain_get(node, "/metrics").await;
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("convene_cluster_node_info{node=\"") {
            if let Some((id, _)) = rest.split_once('"') {
                out.insert(format!("node={id}"), 1.0);
            }
            continue;
        }
        if let Some((name, value)) = line.rsplit_once(' ') {
            if let Ok(v) = value.parse() {
                out.entry(name.to_owned()).or_insert(v);
            }
        }
    }
    out
}

async fn plain_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

fn node_id(m: &HashMap<String, f64>) -> String {
    m.keys()
        .find_map(|k| k.strip_prefix("node=").map(str::to_owned))
        .expect("convene_cluster_node_info names the node")
}

fn get(m: &HashMap<String, f64>, name: &str) -> f64 {
    m.get(name).copied().unwrap_or(0.0)
}

fn light() -> PublishOptions {
    PublishOptions {
        layers: Layers::One,
        video_bitrate_bps: 150_000,
        frame_rate: 15,
        ..PublishOptions::default()
    }
}

fn room(tag: &str) -> String {
    format!("{tag}-{:08x}", rand::random::<u32>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the three nodes and HAProxy of scripts/test-cluster.sh"]
async fn cluster() {
    let env = env().await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for n in &env.nodes {
            ids.push(node_id(&metrics(*n).await));
        }
        ids
    };
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        3,
        "each node made up its own id: {ids:?}"
    );
    let (room_a, mut meetings, owner) = through_the_balancer(&env, &ids).await;
    chat_is_gapless_across_nodes(&mut meetings).await;
    concurrent_first_joins_make_one_meeting(&env).await;
    joins_through_a_relay_and_directly(&env, &ids).await;
    a_host_power_through_a_node_that_does_not_run_the_room(&env, owner).await;
    rest_works_from_any_node(&env, &room_a, &ids, owner, &mut meetings).await;
    internal_endpoints_refuse_what_no_node_signed(&env).await;
    an_unreachable_redis_stops_the_start_with_a_clear_error(&env);
    let drained = a_drained_nodes_people_resume_on_a_live_node(&env, &ids).await;
    a_lost_nodes_people_resume_on_a_live_node(&env, &ids, drained).await;
}

/// Three clients through the balancer land on three nodes, meet in one room and see each other's
/// video. Returns the room, the clients and the index of the room's node.
async fn through_the_balancer(env: &Env, ids: &[String]) -> (String, Vec<Meeting>, usize) {
    let before: Vec<_> =
        futures_util::future::join_all(env.nodes.iter().map(|n| metrics(*n))).await;
    let name = room("lb");
    let url = format!("ws://{}/ws", env.lb);
    let mut meetings = Vec::new();
    for who in ["Ada", "Bob", "Cyd"] {
        let options = MeetingOptions {
            publish: light(),
            ..MeetingOptions::default()
        };
        let m = Meeting::join(&url, JoinRequest::new(name.as_str(), who), options)
            .await
            .unwrap_or_else(|e| panic!("{who} joins through the balancer: {e}"));
        meetings.push(m);
    }
    let after: Vec<_> = futures_util::future::join_all(env.nodes.iter().map(|n| metrics(*n))).await;
    let delta = |i: usize, k: &str| get(&after[i], k) - get(&before[i], k);
    for (i, id) in ids.iter().enumerate() {
        // The owner's count includes the sockets relayed to it.
        assert_eq!(
            delta(i, "convene_websocket_connections") - delta(i, "convene_cluster_relays_in"),
            1.0,
            "round-robin put one client's socket on node {} ({id})",
            i + 1,
        );
    }
    let owner = (0..3)
        .find(|&i| delta(i, "convene_cluster_relays_in") == 2.0)
        .unwrap_or_else(|| panic!("one node runs the room and gets two relayed sockets"));
    let relayed_out: f64 = (0..3).map(|i| delta(i, "convene_cluster_relays_out")).sum();
    assert_eq!(
        relayed_out, 2.0,
        "the two other nodes relay their client's socket"
    );
    assert_eq!(delta(owner, "convene_cluster_relays_out"), 0.0);

    // Media goes straight to the owner's UDP port: everyone decodes everyone else's video.
    let pids: Vec<ParticipantId> = meetings
        .iter()
        .map(|m| m.joined().participant_id.clone())
        .collect();
    for (i, m) in meetings.iter().enumerate() {
        for (j, from) in pids.iter().enumerate() {
            if i != j {
                video_from(m, from, 10).await;
            }
        }
    }
    (name, meetings, owner)
}

async fn video_from(m: &Meeting, from: &ParticipantId, frames: u64) {
    for _ in 0..300 {
        let st = m.stats().await.expect("stats");
        if st
            .tracks_from(from)
            .any(|t| t.kind == MediaKind::Video && t.frames >= frames)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no video from {from} reached {}", m.joined().participant_id);
}

/// Chat sent by clients on three nodes reaches all of them, numbered 1, 2, 3, ... without gaps,
/// in one order.
async fn chat_is_gapless_across_nodes(meetings: &mut [Meeting]) {
    const EACH: usize = 5;
    for round in 0..EACH {
        for (i, m) in meetings.iter().enumerate() {
            let msg = ClientMessage::ChatSend {
                text: format!("m{i}-{round}"),
                client_msg_id: None,
            };
            m.send(msg).await.expect("chat");
        }
    }
    let total = EACH * meetings.len();
    let mut orders = Vec::new();
    for m in meetings.iter_mut() {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while got.len() < total {
            let e = tokio::time::timeout_at(deadline, m.next_event())
                .await
                .unwrap_or_else(|_| panic!("chat: {} of {total} arrived: {got:?}", got.len()))
                .expect("the meeting goes on");
            if let MeetingEvent::Message(ServerMessage::Chat { message }) = e {
                got.push((message.seq, message.text));
            }
        }
        let seqs: Vec<i64> = got.iter().map(|(s, _)| *s).collect();
        let first = seqs[0];
        assert_eq!(
            seqs,
            (first..first + total as i64).collect::<Vec<_>>(),
            "gapless and in order"
        );
        orders.push(got);
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "one order for all: {orders:?}"
    );
}

/// First joins of one room through three nodes at once: one meeting, with all three in it.
async fn concurrent_first_joins_make_one_meeting(env: &Env) {
    for _ in 0..5 {
        let name = room("race");
        let joins = env.nodes.iter().map(|n| {
            let (url, name) = (format!("ws://{n}/ws"), name.clone());
            async move {
                let mut s = Signaling::connect(&url).await.expect("connect");
                let j = s.join(join_msg(&name, "Racer")).await.expect("join");
                (s, j)
            }
        });
        let joined = futures_util::future::join_all(joins).await;
        for (_, j) in &joined {
            assert_eq!(j.room.0, name);
        }
        let meetings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meetings WHERE room = $1")
            .bind(&name)
            .fetch_one(&env.db)
            .await
            .expect("count meetings");
        assert_eq!(meetings, 1, "one meeting for room {name}, not one per node");
        let sessions: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM participant_sessions s JOIN meetings m ON m.id = s.meeting_id \
             WHERE m.room = $1",
        )
        .bind(&name)
        .fetch_one(&env.db)
        .await
        .expect("count sessions");
        assert_eq!(sessions, 3, "all three joined that meeting");
        for (s, _) in joined {
            s.close().await;
        }
    }
}

/// Joins of a running room through a node that relays them and directly on its node: each is
/// served by the room's node (one meeting); the times are printed for docs/architecture.md
/// (connect + `join` until `joined`, signaling only, one after another).
async fn joins_through_a_relay_and_directly(env: &Env, ids: &[String]) {
    const RUNS: usize = 40;
    let name = room("time");
    let mut host = Signaling::connect(&format!("ws://{}/ws", env.nodes[0]))
        .await
        .expect("connect");
    host.join(join_msg(&name, "Host")).await.expect("join");
    let run_by: String = sqlx::query_scalar("SELECT node_id FROM meetings WHERE room = $1")
        .bind(&name)
        .fetch_one(&env.db)
        .await
        .expect("the meeting's node");
    let owner = ids
        .iter()
        .position(|id| *id == run_by)
        .expect("one of ours");
    let relay = (owner + 1) % 3;
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for i in 0..RUNS * 2 {
        let (which, node) = if i % 2 == 0 { (0, relay) } else { (1, owner) };
        let started = std::time::Instant::now();
        let mut s = Signaling::connect(&format!("ws://{}/ws", env.nodes[node]))
            .await
            .expect("connect");
        let j = s.join(join_msg(&name, "Timed")).await.expect("join");
        times[which].push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(j.room.0, name);
        s.close().await;
    }
    let meetings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meetings WHERE room = $1")
        .bind(&name)
        .fetch_one(&env.db)
        .await
        .expect("count");
    assert_eq!(meetings, 1, "every join went to the room's one meeting");
    for (label, t) in ["through a relay", "directly on the room's node"]
        .iter()
        .zip(&mut times)
    {
        t.sort_by(f64::total_cmp);
        let pct = |p: f64| t[((t.len() - 1) as f64 * p).round() as usize];
        println!(
            "join time {label}: p50 {:.1} ms, p99 {:.1} ms ({} joins)",
            pct(0.5),
            pct(0.99),
            t.len()
        );
    }
    host.close().await;
}

/// The REST API answers for a room from every node, and a node that does not run the room ends
/// its meeting for everyone.
async fn rest_works_from_any_node(
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
async fn a_host_power_through_a_node_that_does_not_run_the_room(env: &Env, owner: usize) {
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
async fn internal_endpoints_refuse_what_no_node_signed(env: &Env) {
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
fn an_unreachable_redis_stops_the_start_with_a_clear_error(env: &Env) {
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

/// SIGTERM to a room's node: it drains (its people are told and its records closed) and leaves the
/// cluster; its people come back through the balancer on a live node as the same participants.
/// Returns the index of the drained node.
async fn a_drained_nodes_people_resume_on_a_live_node(env: &Env, ids: &[String]) -> usize {
    let name = room("drain");
    let url = format!("ws://{}/ws", env.lb);
    let options = || MeetingOptions {
        publish: PublishOptions::none(),
        reconnect: Some(Reconnect {
            max_delay: Duration::from_millis(500),
            ..Reconnect::default()
        }),
        ..MeetingOptions::default()
    };
    let mut a = Meeting::join(&url, JoinRequest::new(name.as_str(), "Ava"), options())
        .await
        .expect("join");
    let mut b = Meeting::join(&url, JoinRequest::new(name.as_str(), "Bo"), options())
        .await
        .expect("join");
    let (ia, ib) = (
        a.joined().participant_id.clone(),
        b.joined().participant_id.clone(),
    );
    let node: String = sqlx::query_scalar("SELECT node_id FROM meetings WHERE room = $1")
        .bind(&name)
        .fetch_one(&env.db)
        .await
        .expect("the meeting's node");
    let victim = ids
        .iter()
        .position(|id| *id == node)
        .expect("a node of ours");
    let pid = env.pids[victim].to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    for (m, me, other) in [(&mut a, &ia, &ib), (&mut b, &ib, &ia)] {
        let joined = back_as_themselves(m, me).await;
        assert!(joined.participants.iter().any(|p| &p.id == other));
    }
    let (now_on, ended): (String, Option<i64>) =
        sqlx::query_as("SELECT node_id, ended_at FROM meetings WHERE room = $1")
            .bind(&name)
            .fetch_one(&env.db)
            .await
            .expect("the one meeting");
    assert!(now_on != node && ended.is_none(), "reopened on {now_on}");
    // The drain deadline is 5 s.
    let mut exited = false;
    for _ in 0..100 {
        let alive = std::process::Command::new("kill")
            .args(["-0", &pid])
            .status()
            .expect("kill -0");
        if !alive.success() {
            exited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(exited, "the drained node exits");
    a.leave().await.expect("leave");
    b.leave().await.expect("leave");
    victim
}

/// Waits (15 s at most) until `m` is back in its meeting as `me`, having seen nobody leave;
/// returns the new `joined`.
async fn back_as_themselves(m: &mut Meeting, me: &ParticipantId) -> Box<convene_proto::Joined> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let e = tokio::time::timeout_at(deadline, m.next_event())
            .await
            .unwrap_or_else(|_| panic!("{me} is not back within 15 s: {seen:#?}"))
            .expect("the meeting goes on");
        if let MeetingEvent::Reconnected {
            participant_id,
            resumed,
        } = &e
        {
            assert_eq!((participant_id, *resumed), (me, true), "{seen:#?}");
            break;
        }
        if let MeetingEvent::Message(ServerMessage::ParticipantLeft { participant_id, .. }) = &e {
            panic!("{me} saw {participant_id} leave");
        }
        seen.push(e);
    }
    seen.iter()
        .rev()
        .find_map(|e| match e {
            MeetingEvent::Message(ServerMessage::Joined(j)) => Some(j.clone()),
            _ => None,
        })
        .expect("a new joined")
}

/// kill -9 of a room's node: its clients come back by themselves through the balancer, on a live
/// node, as the same participants (nobody sees anyone leave), with the chat and media flowing again;
/// a survivor closed the dead node's records at its last heartbeat, reason `node_lost`, once.
async fn a_lost_nodes_people_resume_on_a_live_node(env: &Env, ids: &[String], gone: usize) {
    let name = room("lost");
    let url = format!("ws://{}/ws", env.lb);
    let options = || MeetingOptions {
        publish: light(),
        reconnect: Some(Reconnect {
            max_delay: Duration::from_millis(500),
            ..Reconnect::default()
        }),
        ..MeetingOptions::default()
    };
    let mut a = Meeting::join(&url, JoinRequest::new(name.as_str(), "Ann"), options())
        .await
        .expect("join");
    let mut b = Meeting::join(&url, JoinRequest::new(name.as_str(), "Ben"), options())
        .await
        .expect("join");
    let (ia, ib) = (
        a.joined().participant_id.clone(),
        b.joined().participant_id.clone(),
    );
    video_from(&b, &ia, 10).await;
    a.send(ClientMessage::ChatSend {
        text: "before the crash".into(),
        client_msg_id: None,
    })
    .await
    .expect("chat");
    for m in [&mut a, &mut b] {
        loop {
            let e = tokio::time::timeout(Duration::from_secs(10), m.next_event())
                .await
                .expect("the chat arrives")
                .expect("the meeting goes on");
            if matches!(e, MeetingEvent::Message(ServerMessage::Chat { .. })) {
                break;
            }
        }
    }
    let node: String = sqlx::query_scalar("SELECT node_id FROM meetings WHERE room = $1")
        .bind(&name)
        .fetch_one(&env.db)
        .await
        .expect("the meeting's node");
    let victim = ids
        .iter()
        .position(|id| *id == node)
        .expect("a node of ours");
    assert_ne!(victim, gone, "the drained node took no new room");
    let old_tracks: Vec<TrackId> = b
        .stats()
        .await
        .expect("stats")
        .tracks_from(&ia)
        .map(|t| t.track_id.clone())
        .collect();
    let killed = std::process::Command::new("kill")
        .args(["-9", &env.pids[victim].to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let started = std::time::Instant::now();
    for (m, me, other) in [(&mut a, &ia, &ib), (&mut b, &ib, &ia)] {
        let joined = back_as_themselves(m, me).await;
        assert!(
            joined
                .chat_history
                .iter()
                .any(|c| c.text == "before the crash"),
            "the chat came back from the record"
        );
        assert!(
            joined.participants.iter().any(|p| &p.id == other),
            "the other is still listed"
        );
    }
    println!(
        "both clients resumed {:.1} s after kill -9",
        started.elapsed().as_secs_f64()
    );
    // Media again, on a new track of Ann's (the new node's).
    let mut again = false;
    for _ in 0..200 {
        let st = b.stats().await.expect("stats");
        if st.tracks_from(&ia).any(|t| {
            t.kind == MediaKind::Video && t.frames >= 10 && !old_tracks.contains(&t.track_id)
        }) {
            again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again, "Ann's video reaches Ben again after the move");
    let lost: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT s.participant_id, s.leave_reason FROM participant_sessions s \
         JOIN meetings m ON m.id = s.meeting_id WHERE m.room = $1 AND s.node_id = $2",
    )
    .bind(&name)
    .bind(&node)
    .fetch_all(&env.db)
    .await
    .expect("the dead node's sessions");
    assert_eq!(lost.len(), 2, "{lost:?}");
    assert!(
        lost.iter().all(|(_, r)| r.as_deref() == Some("node_lost")),
        "closed with node_lost: {lost:?}"
    );
    let (meetings, now_on, ended): (i64, String, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM meetings WHERE room = $1), node_id, ended_at \
         FROM meetings WHERE room = $1",
    )
    .bind(&name)
    .fetch_one(&env.db)
    .await
    .expect("the meeting");
    assert_eq!(meetings, 1, "the same meeting goes on");
    assert!(now_on != node && ended.is_none(), "reopened on {now_on}");
    a.leave().await.expect("leave");
    b.leave().await.expect("leave");
}
