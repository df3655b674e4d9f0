//! Candidates, ICE timeout and leaving.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use convene_media::{Event, Sfu, SfuConfig};

use super::sim::World;

#[test]
fn announces_udp_and_passive_tcp_candidates_for_every_ip() {
    let ips: Vec<IpAddr> = vec![
        "203.0.113.7".parse().unwrap(),
        "2001:db8::7".parse().unwrap(),
    ];
    let config = SfuConfig {
        public_ips: ips,
        udp_port: 3478,
        tcp_port: Some(443),
        ..SfuConfig::default()
    };
    let sfu = Sfu::new(config, Instant::now()).unwrap();
    let c = sfu.local_candidates();
    assert_eq!(c.len(), 4, "{c:?}");
    assert_eq!(
        c.iter()
            .filter(|c| c.contains(" udp ") || c.contains(" UDP "))
            .count(),
        2,
        "{c:?}"
    );
    let tcp: Vec<_> = c.iter().filter(|c| c.contains("tcptype passive")).collect();
    assert_eq!(tcp.len(), 2, "{c:?}");
    assert!(tcp.iter().all(|c| c.contains(" 443 ")));
}

#[test]
fn ice_timeout_disconnects_and_leaving_unpublishes() {
    let mut w = World::new(9);
    w.join("alice", true, true);
    w.join("bob", true, false);
    w.run_for(Duration::from_secs(2));
    assert!(w.clients[1].video_from(0).len() > 20);

    // Alice's network dies.
    let addr = w.clients[0].addr;
    let link = w.net.links.get_mut(&addr).unwrap();
    link.up.loss = 1.0;
    link.down.loss = 1.0;
    let cut = w.now;
    w.run_for(Duration::from_secs(40));
    let disconnected = w.events_since(cut).any(
        |e| matches!(e, Event::Disconnected { participant } if participant.as_str() == "alice"),
    );
    assert!(disconnected, "ICE timeout reported");

    // The server removes her: her tracks are unpublished and bob's m-lines are stopped.
    let left = w.now;
    let alice = w.clients[0].id.clone();
    w.sfu.remove_participant(&alice, w.now).unwrap();
    w.run_for(Duration::from_secs(1));
    let unpublished = w
        .events_since(left)
        .filter(|e| matches!(e, Event::TrackUnpublished { .. }))
        .count();
    assert_eq!(unpublished, 2);
    let reoffer = w.events_since(left).any(|e| {
        matches!(e, Event::SendOffer { participant, sdp, tracks }
            if participant.as_str() == "bob" && tracks.is_empty() && sdp.contains("m=video 0 "))
    });
    assert!(reoffer, "bob offered the stopped m-lines");
    assert!(w.sfu.remove_participant(&alice, w.now).is_err());
}
