//! Three real `convene` nodes behind HAProxy, started by scripts/test-cluster.sh (which the README's
//! test command runs): the cases need those processes, so they are `#[ignore]`d in the workspace
//! run and that script runs them with `--run-ignored only`. One test function runs the cases in
//! order on processes started once (the last two stop nodes: SIGTERM, then kill -9).
//!
//! The script passes: CONVENE_TEST_CLUSTER_LB (the balancer), _NODES (the nodes' HTTP addresses),
//! _PIDS (their processes), _DB (the PostgreSQL URL of the run's schema), _API_KEY (`id:secret`)
//! _REDIS_PID and _REDIS_URL (the run's own redis-server: one case stops it for a while, one
//! reads its command counts).

#[path = "../support/binary_http.rs"]
mod binary_http;
mod costs;
mod files;
#[path = "../support/http.rs"]
mod http;
mod moves;
mod outage;
mod recordings;
mod rest;
mod span;
mod unique;

use costs::*;
use files::*;
use moves::*;
use outage::*;
use recordings::*;
use rest::*;
use span::*;
use unique::*;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use convene_client::{
    join_msg, JoinRequest, Layers, Meeting, MeetingEvent, MeetingOptions, PublishOptions, Signaling,
};
use convene_proto::{ClientMessage, MediaKind, ParticipantId, ServerMessage};

struct Env {
    lb: SocketAddr,
    nodes: Vec<SocketAddr>,
    pids: Vec<u32>,
    db: sqlx::PgPool,
    api_key: String,
    redis_pid: u32,
    /// Two more nodes, a cluster of their own taking two media sessions each (span.rs).
    span_nodes: Vec<SocketAddr>,
    span_pids: Vec<u32>,
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
        redis_pid: var("CONVENE_TEST_CLUSTER_REDIS_PID")
            .parse()
            .expect("a pid"),
        span_nodes: addrs(var("CONVENE_TEST_CLUSTER_SPAN_NODES")),
        span_pids: var("CONVENE_TEST_CLUSTER_SPAN_PIDS")
            .split(',')
            .map(|p| p.parse().expect("a pid"))
            .collect(),
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
    plain_status(addr, path).await.1
}

/// A GET's status and body (text).
async fn plain_status(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
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
    a_room_larger_than_one_node_spans_two(&env).await;
    a_host_power_through_a_node_that_does_not_run_the_room(&env, owner).await;
    rest_works_from_any_node(&env, &room_a, &ids, owner, &mut meetings).await;
    internal_endpoints_refuse_what_no_node_signed(&env).await;
    recordings_are_served_through_every_node(&env, &ids).await;
    files_are_shared_through_every_node(&env, &ids).await;
    sign_in_failures_count_across_nodes(&env).await;
    a_redis_outage_leaves_meetings_running(&env, &ids).await;
    redis_costs(&env, &ids).await;
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
