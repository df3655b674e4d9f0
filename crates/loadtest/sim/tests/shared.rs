//! A session in a shard against an in-process server: media flows, and `counters` (what the load
//! tool asks every participant for each second) agrees with the full stats, as for a session with
//! its own socket (crates/server/tests/media.rs).

use std::time::Duration;

use convene_client::{join_msg, MediaConfig, MediaSession, PublishOptions, Signaling};
use convene_server::{Config, Listeners};
use convene_sim::{RtpPath, SharedUdp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_agree_with_the_full_stats_in_a_shard() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.database.url = format!("sqlite://{}", dir.path().join("c.db").display());
    config.media.udp_port = 0;
    let listeners = Listeners::bind(&config).await.expect("bind");
    let ws_url = format!("ws://{}/ws", listeners.http.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(convene_server::run(config, listeners, async {
        let _ = stopped.await;
    }));

    let mut sig = Signaling::connect(&ws_url).await.unwrap();
    let joined = sig.join(join_msg("media-counters", "Ada")).await.unwrap();
    let config = MediaConfig {
        publish: PublishOptions::default(),
        ..MediaConfig::default()
    };
    let publisher = MediaSession::start(sig, joined.participant_id, config)
        .await
        .unwrap();
    let shared = SharedUdp::new(1, RtpPath::Lean).unwrap();
    let mut sig = Signaling::connect(&ws_url).await.unwrap();
    sig.join(join_msg("media-counters", "Cy")).await.unwrap();
    let m = shared.start(sig, None, 1024).await.unwrap();
    let name = "shard";
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
    let _ = m.stop().await;
    let _ = publisher.stop().await;
    let _ = stop.send(());
    let _ = server.await;
}
