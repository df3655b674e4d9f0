//! A few participants against an in-process server for a few seconds: every frame sent arrives,
//! and the report's figures agree with each other and with what was sent.

use convene_loadtest::{run, Options, Receive, RtpPath, Sockets};
use convene_server::{Config, Listeners};

/// Subscribers share a shard's socket and take in RTP on the lean path (our own SRTP and
/// feedback): every frame arrives, and the server takes the feedback (it has a bandwidth
/// estimate for every participant, which only transport-wide feedback gives it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_meeting_loses_nothing_and_adds_up() {
    let r = meeting(Receive::Packets, Sockets::Shared, RtpPath::Lean).await;
    assert_eq!(r.load.sockets, "shared");
    assert_eq!(r.load.rtp_path, Some(RtpPath::Lean));
    let lean = r.tool.lean.expect("lean counts");
    assert_eq!(lean.sessions, 2, "both subscribers took the lean path");
    assert_eq!((lean.srtp_failures, lean.unknown_ssrc), (0, 0), "{lean:?}");
    // 3 s window + settle + drain: feedback every 50 ms, reports every second, each.
    assert!(lean.twcc_feedback_sent >= 2 * 40, "{lean:?}");
    assert!(lean.receiver_reports_sent >= 2 * 3, "{lean:?}");
}

/// The same with str0m taking in every packet, as before the lean path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_holds_when_str0m_takes_in_the_packets() {
    let r = meeting(Receive::Packets, Sockets::Shared, RtpPath::Str0m).await;
    assert_eq!(r.load.rtp_path, Some(RtpPath::Str0m));
    assert!(r.tool.lean.is_none());
}

/// Subscribers with a socket and task each count the same as those sharing a shard's socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_holds_with_a_socket_per_subscriber() {
    let r = meeting(Receive::Packets, Sockets::Own, RtpPath::Lean).await;
    assert_eq!(r.load.sockets, "own");
    assert!(r.tool.lean.is_none(), "own sockets are str0m's");
}

/// The same checks when subscribers reassemble frames with str0m, as publishers always do: both
/// ways of receiving must count the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_holds_when_subscribers_receive_frames() {
    let r = meeting(Receive::Frames, Sockets::Shared, RtpPath::Lean).await;
    assert_eq!(r.load.sockets, "own", "frame mode never shares sockets");
}

async fn meeting(
    receive: Receive,
    sockets: Sockets,
    rtp_path: RtpPath,
) -> convene_loadtest::report::Report {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.database.url = format!("sqlite://{}", dir.path().join("c.db").display());
    config.media.udp_port = 0;
    let listeners = Listeners::bind(&config).await.expect("bind");
    let addr = listeners.http.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(convene_server::run(config, listeners, async {
        let _ = stopped.await;
    }));

    let o = Options {
        url: format!("ws://{addr}/ws"),
        publishers: 3,
        subscribers: 2,
        // One layer, so each receiver gets every frame a publisher writes.
        layers: convene_client::Layers::One,
        video_bitrate: 200_000,
        fps: 15,
        ramp: 0.0,
        settle: 0.5,
        duration: 3.0,
        drain: 1.0,
        quiet: true,
        connect_timeout: 10.0,
        receive,
        sockets,
        rtp_path,
        ..Options::default()
    };
    let r = run(o).await.expect("run");
    eprintln!("{}", convene_loadtest::table::table(&r));

    assert_eq!(r.participants.connected, 5, "{:?}", r.failure_examples);
    assert!(r.failures.is_empty(), "{:?}", r.failure_examples);
    assert_eq!(r.join_ms.samples, 5);
    assert!(r.join_ms.p50 <= r.join_ms.p99 && r.join_ms.p99 <= r.join_ms.max);

    // Exact loss accounting: nothing lost, corrupted or misattributed.
    assert!(r.loss.frames_expected > 0);
    // Frames a publisher skipped because the machine stalled it (>200 ms late) leave a gap in its
    // sequence numbers that each of its 4 receivers counts as lost; nothing else may be missing.
    let skipped = r.tool.frames_skipped;
    assert!(
        r.loss.frames_lost <= 4 * skipped,
        "{:?}, skipped {skipped}",
        r.loss
    );
    assert_eq!((r.loss.corrupt, r.loss.foreign), (0, 0));

    // Every frame a publisher writes goes to the 4 others; only frames written before a receiver
    // was subscribed (the first few hundred ms) are not received.
    let t = &r.totals;
    assert!(t.frames_sent > 0 && t.packets_sent > 0);
    let fanout = 4 * t.frames_sent;
    assert!(t.frames_received <= fanout, "{t:?}");
    assert!(t.frames_received as f64 >= 0.8 * fanout as f64, "{t:?}");

    // In the window: 3 publishers x (50 audio + 15 video) frames/s, 4 receivers each.
    let sent = r.sent.frames_per_sec;
    if skipped == 0 {
        assert!(
            (sent - 3.0 * 65.0).abs() < 0.15 * 195.0,
            "sent {sent} frames/s"
        );
    }
    let ratio = r.received.frames_per_sec / sent;
    assert!((ratio - 4.0).abs() < 0.4, "received/sent = {ratio}");
    // Every frame received in the window has a delay sample.
    let frames = (r.received.frames_per_sec * r.window_secs).round() as u64;
    assert_eq!(r.delay.samples, frames);
    let (p50, p99, max) = (
        r.delay.p50_us.expect("p50"),
        r.delay.p99_us.expect("p99"),
        r.delay.max_us.expect("max"),
    );
    // Loopback, but a shared CI machine can stall a process for a second: only sanity here.
    assert!(p50 <= p99 && p99 <= max && max < 5_000_000, "{:?}", r.delay);
    // The server counted what it forwarded (its metrics are published once a second).
    assert!(r.server.forwarded_packets_per_sec.unwrap_or(0.0) > 0.0);
    // Every participant's feedback reached the server's bandwidth estimation.
    assert_eq!(
        r.server.bandwidth_estimates,
        Some(5.0),
        "participants with a bandwidth estimate"
    );
    assert!(r.received.packets_per_sec >= r.received.frames_per_sec);
    assert!(r.tool.cpu_secs.is_some());
    assert!(r.tool.cpu_us_per_packet.is_some_and(|us| us > 0.0));
    // Kernel drop counters, in the window and since before the first join (which covers it).
    let (window, run) = (
        r.tool.host_udp_rcvbuf_drops,
        r.tool.host_udp_rcvbuf_drops_since_start,
    );
    assert!(
        window.zip(run).is_some_and(|(w, a)| w <= a),
        "{window:?} {run:?}"
    );

    let _ = stop.send(());
    let _ = server.await;
    r
}
