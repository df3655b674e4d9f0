//! The media plane through real sockets on loopback: Rust clients publish synthetic VP8 simulcast and
//! Opus through the running server and receive each other's frames intact.

mod common;

use std::time::Duration;

use common::TestServer;
use convene_client::{
    join_msg, ClientError, MediaConfig, MediaSession, MediaStats, PublishOptions, Signaling,
    Transport,
};
use convene_proto::{ErrorCode, MediaKind, ParticipantId};

async fn start(
    s: &TestServer,
    room: &str,
    name: &str,
    transport: Transport,
) -> (MediaSession, ParticipantId) {
    let mut sig = Signaling::connect(&s.ws_url()).await.unwrap();
    let joined = sig.join(join_msg(room, name)).await.unwrap();
    let config = MediaConfig {
        transport,
        publish: PublishOptions::default(),
        ..MediaConfig::default()
    };
    let me = joined.participant_id.clone();
    let session = MediaSession::start(sig, me.clone(), config).await.unwrap();
    (session, me)
}

/// Frames received from `from`, by kind: (audio, video).
fn frames_from(stats: &MediaStats, from: &ParticipantId) -> (u64, u64) {
    let mut audio = 0;
    let mut video = 0;
    for t in stats.tracks.iter().filter(|t| &t.participant_id == from) {
        match t.kind {
            MediaKind::Audio => audio += t.frames,
            MediaKind::Video => video += t.frames,
        }
    }
    (audio, video)
}

/// Waits until every session has received at least `audio` and `video` frames from every other.
async fn until_everyone_hears_everyone(
    sessions: &[(MediaSession, ParticipantId)],
    audio: u64,
    video: u64,
) -> Vec<MediaStats> {
    for _ in 0..150 {
        let mut all = Vec::new();
        let mut done = true;
        for (s, me) in sessions {
            let st = s.stats().await.unwrap();
            for (_, other) in sessions.iter().filter(|(_, o)| o != me) {
                let (a, v) = frames_from(&st, other);
                done &= a >= audio && v >= video;
            }
            all.push(st);
        }
        if done {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut report = String::new();
    for (s, me) in sessions {
        let st = s.stats().await.unwrap();
        report.push_str(&format!(
            "{me}: connected={} tracks={:?}\n",
            st.connected,
            st.tracks
                .iter()
                .map(|t| (&t.participant_id, t.kind, t.frames))
                .collect::<Vec<_>>()
        ));
    }
    panic!("media did not reach everyone within 15 s:\n{report}");
}

fn assert_intact(stats: &MediaStats, me: &ParticipantId) {
    for t in &stats.tracks {
        assert_ne!(&t.participant_id, me, "nobody receives their own media");
        assert_eq!(
            t.corrupt, 0,
            "frames arrive intact (payload checked byte for byte): {t:?}"
        );
        assert_eq!(
            t.foreign, 0,
            "frames come from the publisher the track says: {t:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_clients_exchange_audio_and_simulcast_video() {
    let s = TestServer::start().await;
    let mut sessions = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        sessions.push(start(&s, "media-three", name, Transport::Udp).await);
    }
    let stats = until_everyone_hears_everyone(&sessions, 25, 10).await;
    for ((_, me), st) in sessions.iter().zip(&stats) {
        assert_intact(st, me);
        // Two others, each with one audio and one video track.
        let others: std::collections::HashSet<_> =
            st.tracks.iter().map(|t| t.participant_id.clone()).collect();
        assert_eq!(others.len(), 2, "{me} receives from both others");
    }
    let forwarded = s
        .metric_reaches("convene_media_forwarded_packets_total", 100.0)
        .await;
    assert!(forwarded >= 100.0, "forwarded frames counted: {forwarded}");
    for (m, _) in sessions {
        let _ = m.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_tcp_carries_media_when_udp_is_not_used() {
    let s = TestServer::start().await;
    let a = start(&s, "media-tcp", "Ada", Transport::Tcp).await;
    let b = start(&s, "media-tcp", "Bob", Transport::Tcp).await;
    let sessions = vec![a, b];
    let stats = until_everyone_hears_everyone(&sessions, 25, 10).await;
    for ((_, me), st) in sessions.iter().zip(&stats) {
        assert_intact(st, me);
        assert!(
            st.remote_addr.is_some_and(|r| r.port() == s.addr.port()),
            "media flows over the HTTP port: {:?}",
            st.remote_addr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_restart_keeps_the_session() {
    let s = TestServer::start().await;
    let sessions = vec![
        start(&s, "media-restart", "Ada", Transport::Udp).await,
        start(&s, "media-restart", "Bob", Transport::Udp).await,
    ];
    let before = until_everyone_hears_everyone(&sessions, 10, 5).await;
    sessions[0].0.restart_ice().await.unwrap();
    // Wait for the restart to complete, then for media to keep flowing beyond what it was.
    let mut restarted = false;
    for _ in 0..100 {
        let st = sessions[0].0.stats().await.unwrap();
        if st.ice_restarts >= 1 && st.connected {
            restarted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(restarted, "ICE restart completed");
    let (_, bob) = &sessions[1];
    let (_, ada) = &sessions[0];
    let (a0, v0) = frames_from(&before[0], bob);
    let (b_a0, b_v0) = frames_from(&before[1], ada);
    // Wait past what each of them had received (Bob's count of Ada may be ahead of Ada's of Bob).
    let after =
        until_everyone_hears_everyone(&sessions, a0.max(b_a0) + 25, v0.max(b_v0) + 10).await;
    let (b_a1, b_v1) = frames_from(&after[1], ada);
    assert!(
        b_a1 >= b_a0 + 25 && b_v1 >= b_v0 + 10,
        "Bob keeps receiving Ada after her restart"
    );
    assert_eq!(
        s.metric("convene_participants").await,
        2.0,
        "same two participants, no rejoin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_spread_over_several_workers_all_work() {
    let s = TestServer::with(|c| c.media.workers = 3).await;
    let mut rooms = Vec::new();
    for r in 0..3 {
        let room = format!("shard-{r}");
        let a = start(&s, &room, "Ada", Transport::Udp).await;
        let b = start(&s, &room, "Bob", Transport::Udp).await;
        rooms.push(vec![a, b]);
    }
    for sessions in &rooms {
        let stats = until_everyone_hears_everyone(sessions, 20, 8).await;
        for ((_, me), st) in sessions.iter().zip(&stats) {
            assert_intact(st, me);
        }
    }
}

/// UDP sockets bound to `port` on 127.0.0.1, by /proc/net/udp (a duplicated descriptor is one
/// socket there; a socket per worker is one line each).
fn udp_sockets_on(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/udp").expect("/proc/net/udp");
    let want = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|l| l.split_whitespace().nth(1) == Some(want.as_str()))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_media_worker_reads_its_own_socket_on_the_one_port() {
    // One socket read by all workers split a participant's datagrams between them, and they
    // came out reordered; with a socket each (SO_REUSEPORT) the kernel keeps a sender on one.
    let s = TestServer::with(|c| c.media.workers = 3).await;
    let port = s.udp_addr.expect("media on").port();
    let mut n = 0;
    for _ in 0..50 {
        n = udp_sockets_on(port);
        if n == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(n, 3, "one socket per worker on port {port}");
    // And media flows through them.
    let a = start(&s, "own-sockets", "Ada", Transport::Udp).await;
    let b = start(&s, "own-sockets", "Bob", Transport::Udp).await;
    let sessions = vec![a, b];
    let stats = until_everyone_hears_everyone(&sessions, 20, 8).await;
    for ((_, me), st) in sessions.iter().zip(&stats) {
        assert_intact(st, me);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_room_spans_every_worker() {
    // Spread from the second participant on: four participants over three workers.
    let s = TestServer::with(|c| {
        c.media.workers = 3;
        c.media.room_spread_threshold = 1;
    })
    .await;
    let mut sessions = Vec::new();
    for name in ["Ada", "Bob", "Cy", "Dee"] {
        sessions.push(start(&s, "one-big-room", name, Transport::Udp).await);
    }
    let stats = until_everyone_hears_everyone(&sessions, 25, 10).await;
    for ((_, me), st) in sessions.iter().zip(&stats) {
        assert_intact(st, me);
    }
    for w in 0..3 {
        let name = format!("convene_media_worker_participants{{worker=\"{w}\"}}");
        // Media metrics are published once a second: wait for them.
        let held = s.metric_reaches(&name, 1.0).await;
        assert!(held >= 1.0, "worker {w} holds a participant");
    }
    let relayed = s
        .metric_reaches("convene_media_relayed_packets_in_total", 100.0)
        .await;
    assert!(
        relayed >= 100.0,
        "frames crossed between workers: {relayed}"
    );
    // Someone leaves: the others keep receiving each other.
    let (gone, _) = sessions.remove(1);
    let _ = gone.stop().await;
    let before = until_everyone_hears_everyone(&sessions, 0, 0).await;
    let (_, cy) = &sessions[1];
    let (a0, v0) = frames_from(&before[0], cy);
    let after = until_everyone_hears_everyone(&sessions, a0 + 25, v0 + 10).await;
    for ((_, me), st) in sessions.iter().zip(&after) {
        assert_intact(st, me);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gso_sends_arrive_intact() {
    let s = TestServer::with(|c| c.media.gso = true).await;
    let mut sessions = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        sessions.push(start(&s, "media-gso", name, Transport::Udp).await);
    }
    let stats = until_everyone_hears_everyone(&sessions, 50, 20).await;
    for ((_, me), st) in sessions.iter().zip(&stats) {
        assert_intact(st, me);
    }
    // Everything went through the batching sender. (How many datagrams it could coalesce depends
    // on str0m's pacer, which spreads a frame's packets out: docs/benchmarks-history.md has the figures;
    // batch.rs's unit test checks that coalesced runs arrive intact.)
    let calls = s
        .metric_reaches("convene_media_batch_send_calls_total", 100.0)
        .await;
    assert!(calls >= 100.0, "sent through the batch sender: {calls}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_microphone_is_not_forwarded() {
    let s = TestServer::start().await;
    let sessions = vec![
        start(&s, "media-mute", "Ada", Transport::Udp).await,
        start(&s, "media-mute", "Bob", Transport::Udp).await,
    ];
    until_everyone_hears_everyone(&sessions, 10, 5).await;
    let ada = sessions[0].1.clone();
    sessions[0]
        .0
        .send(convene_proto::ClientMessage::SetMuted {
            mic: Some(true),
            camera: None,
        })
        .await
        .unwrap();
    // Let frames in flight arrive, then watch a second: no audio from Ada, video still flows.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (a0, v0) = frames_from(&sessions[1].0.stats().await.unwrap(), &ada);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (a1, v1) = frames_from(&sessions[1].0.stats().await.unwrap(), &ada);
    assert_eq!(a1, a0, "no audio forwarded while muted");
    assert!(v1 > v0 + 5, "video still forwarded: {v0} -> {v1}");
    assert!(
        s.metric_reaches("convene_media_packets_muted_total", 10.0)
            .await
            >= 10.0
    );
    sessions[0]
        .0
        .send(convene_proto::ClientMessage::SetMuted {
            mic: Some(false),
            camera: None,
        })
        .await
        .unwrap();
    let after = until_everyone_hears_everyone(&sessions, a1 + 20, 0).await;
    assert!(
        frames_from(&after[1], &ada).0 >= a1 + 20,
        "audio resumes after unmute"
    );
}

/// Two participants exchanging media on worker 0, once it reports itself busy (at least 0.001).
async fn two_on_a_busy_worker(s: &TestServer, room: &str) -> Vec<(MediaSession, ParticipantId)> {
    let sessions = vec![
        start(s, room, "Ada", Transport::Udp).await,
        start(s, room, "Bob", Transport::Udp).await,
    ];
    until_everyone_hears_everyone(&sessions, 25, 10).await;
    let busy = s
        .metric_reaches("convene_media_worker_busy_ratio{worker=\"0\"}", 0.001)
        .await;
    assert!(busy >= 0.001, "the worker reports its load: {busy}");
    sessions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_worker_refuses_joins_with_server_busy() {
    // A limit any activity crosses: two participants' media keep the one worker "saturated".
    let s = TestServer::with(|c| {
        c.media.workers = 1;
        c.media.max_worker_busy = 0.001;
    })
    .await;
    let sessions = two_on_a_busy_worker(&s, "busy").await;
    // Neither the same room nor a new one has a worker to go to: refused at once, not timed out.
    for room in ["busy", "elsewhere"] {
        let mut c = s.client().await;
        match c.join(join_msg(room, "Cy")).await {
            Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::ServerBusy),
            other => panic!("expected server_busy for {room}, got {other:?}"),
        }
    }
    assert_eq!(s.metric("convene_joins_refused_busy_total").await, 2.0);
    // Those already in keep their media.
    let before = until_everyone_hears_everyone(&sessions, 0, 0).await;
    let (a0, v0) = frames_from(&before[0], &sessions[1].1);
    until_everyone_hears_everyone(&sessions, a0 + 25, v0 + 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_its_media_sessions_at_the_bound_refuses_joins_with_server_busy() {
    let s = TestServer::with(|c| c.media.max_sessions = 2).await;
    let sessions = vec![
        start(&s, "bound", "Ada", Transport::Udp).await,
        start(&s, "bound", "Bob", Transport::Udp).await,
    ];
    // A single node has nowhere else to put a third session, in this room or another.
    for room in ["bound", "elsewhere"] {
        let mut c = s.client().await;
        match c.join(join_msg(room, "Cy")).await {
            Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::ServerBusy),
            other => panic!("expected server_busy for {room}, got {other:?}"),
        }
    }
    assert_eq!(s.metric("convene_joins_refused_busy_total").await, 2.0);
    // Those in keep their media.
    until_everyone_hears_everyone(&sessions, 25, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_control_off_admits_a_busy_worker() {
    let s = TestServer::with(|c| {
        c.media.workers = 1;
        c.media.max_worker_busy = 0.0;
    })
    .await;
    let _sessions = two_on_a_busy_worker(&s, "busy-off").await;
    let mut c = s.client().await;
    c.join(join_msg("busy-off", "Cy"))
        .await
        .expect("no load limit: admitted");
}

/// `counters` (what a load generator asks every participant for each second) gives the same
/// packet counts as the full stats. (The same for a session in one of the load tool's shards:
/// crates/loadtest/sim/tests/shared.rs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_agree_with_the_full_stats() {
    let s = TestServer::start().await;
    let (publisher, _) = start(&s, "media-counters", "Ada", Transport::Udp).await;
    let (own, _) = start(&s, "media-counters", "Bob", Transport::Udp).await;
    {
        let (name, m) = ("own socket", &own);
        let mut received = 0;
        for _ in 0..150 {
            received = m.stats().await.unwrap().net.packets_in;
            if received >= 100 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(received >= 100, "{name}: media flows ({received} packets)");
        // Counters never go back, so each lies between the stats taken around it.
        let before = m.stats().await.unwrap().net;
        let c = m.counters().await.unwrap();
        let after = m.stats().await.unwrap().net;
        for (what, b, c, a) in [
            ("in", before.packets_in, c.packets_in, after.packets_in),
            ("out", before.packets_out, c.packets_out, after.packets_out),
            ("bytes in", before.bytes_in, c.bytes_in, after.bytes_in),
        ] {
            assert!(b <= c && c <= a, "{name} {what}: {b} <= {c} <= {a}");
        }
        assert!(c.packets_out > 0, "{name}: feedback counted");
    }
    for m in [publisher, own] {
        let _ = m.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routes_to_participants_who_left_are_forgotten() {
    // With several workers, each datagram is routed by its source address, learned from the
    // participant's STUN checks. The addresses used to stay after their participants left: one
    // map entry per participant ever, for the node's lifetime.
    let s = TestServer::with(|c| c.media.workers = 3).await;
    let mut sessions = Vec::new();
    for r in 0..3 {
        let room = format!("routes-{r}");
        sessions.push(start(&s, &room, "Ada", Transport::Udp).await);
        sessions.push(start(&s, &room, "Bob", Transport::Udp).await);
    }
    for pair in sessions.chunks(2) {
        until_everyone_hears_everyone(pair, 5, 2).await;
    }
    let held = s
        .metric_reaches("convene_media_routes{kind=\"address\"}", 6.0)
        .await;
    assert!(held >= 6.0, "each participant's address is routed: {held}");
    for (m, _) in sessions {
        let mut sig = m.stop().await.expect("media stops");
        sig.send(&convene_proto::ClientMessage::Leave)
            .await
            .expect("leave sent");
        sig.close().await;
    }
    let mut left = (f64::MAX, f64::MAX);
    for _ in 0..50 {
        left = (
            s.metric("convene_media_routes{kind=\"address\"}").await,
            s.metric("convene_media_routes{kind=\"ufrag\"}").await,
        );
        if left == (0.0, 0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, (0.0, 0.0), "(addresses, ufrags) still routed");
}
