//! Candidates, ICE timeout and leaving.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use convene_media::{Event, Sfu, SfuConfig};
use convene_proto::ParticipantId;

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
    // ICE notices within seconds; the tracks end after the 30 s grace.
    w.run_for(Duration::from_secs(60));
    let disconnected = w.events_since(cut).any(
        |e| matches!(e, Event::Disconnected { participant } if participant.as_str() == "alice"),
    );
    assert!(disconnected, "ICE timeout reported");

    // Past the grace period the core ends her tracks by itself: bob is told and re-offered.
    let unpublished = w
        .events_since(cut)
        .filter(|e| matches!(e, Event::TrackUnpublished { participant, .. } if participant.as_str() == "alice"))
        .count();
    assert_eq!(
        unpublished, 2,
        "both of alice's tracks ended after the grace period"
    );
    let reoffer = w.events_since(cut).any(|e| {
        matches!(e, Event::SendOffer { participant, sdp, tracks }
            if participant.as_str() == "bob" && tracks.is_empty() && sdp.contains("m=video 0 "))
    });
    assert!(reoffer, "bob offered the stopped m-lines");
    assert!(
        w.events_since(cut).any(
            |e| matches!(e, Event::SessionReset { participant } if participant.as_str() == "alice")
        ),
        "alice is told to start a new peer connection"
    );
    // She is still a participant (a fresh session waits for her next offer) until the server
    // removes her.
    let alice = w.clients[0].id.clone();
    w.sfu.remove_participant(&alice, w.now).unwrap();
    assert!(w.sfu.remove_participant(&alice, w.now).is_err());
}

#[test]
fn a_short_outage_within_the_grace_period_keeps_the_tracks() {
    let mut w = World::with_config(11, |c| c.disconnect_grace = Duration::from_secs(600));
    w.join("alice", true, true);
    w.join("bob", true, false);
    w.run_for(Duration::from_secs(2));
    let addr = w.clients[0].addr;
    let link = w.net.links.get_mut(&addr).unwrap();
    link.up.loss = 1.0;
    link.down.loss = 1.0;
    let cut = w.now;
    w.run_for(Duration::from_secs(40));
    assert!(w
        .events_since(cut)
        .any(|e| matches!(e, Event::Disconnected { .. })));
    assert!(
        !w.events_since(cut)
            .any(|e| matches!(e, Event::TrackUnpublished { .. })),
        "nothing unpublished within the grace period"
    );
}

#[test]
fn a_new_peer_connection_replaces_the_media_session() {
    use super::client::TestClient;
    use std::net::SocketAddr;
    let mut w = World::new(12);
    w.join("alice", true, true);
    w.join("bob", true, false);
    w.run_for(Duration::from_secs(2));
    let before = w.clients[1].video_from(0).len();
    assert!(before > 20);

    // Alice reloads her page: a new peer connection (new DTLS fingerprint, new address) offers for
    // the same participant.
    let addr = SocketAddr::from(([10, 1, 0, 99], 6000));
    w.net.links.insert(
        addr,
        super::sim::Link {
            up: super::sim::Path::new(Duration::from_millis(10)),
            down: super::sim::Path::new(Duration::from_millis(10)),
        },
    );
    let id = w.clients[0].id.clone();
    let mut fresh = TestClient::new(0, id.clone(), addr, true, true, w.now);
    let (offer, sources) = fresh.make_offer();
    let switch = w.now;
    let answer = w
        .sfu
        .handle_offer(&id, &offer, &sources, w.now)
        .expect("fresh offer accepted");
    fresh.accept_answer(&answer);
    w.clients[0] = fresh;
    w.run_for(Duration::from_secs(3));
    let after: Vec<_> = w.clients[1]
        .video_from(0)
        .into_iter()
        .filter(|(t, ..)| *t > switch)
        .collect();
    assert!(
        after.len() > 20,
        "bob receives the new connection's video: {}",
        after.len()
    );
    assert!(after[0].3, "starting at a keyframe");
    let republished = w
        .events_since(switch)
        .filter(|e| matches!(e, Event::TrackPublished { participant, .. } if participant.as_str() == "alice"))
        .count();
    assert_eq!(republished, 2);
}

/// A joined participant gets its peer connection at its first offer, not at join: until then it
/// costs no media session (docs/benchmarks.md, idle connections).
#[test]
fn the_media_session_is_made_at_the_first_offer() {
    let mut w = World::new(7);
    w.join("alice", true, false);
    assert_eq!(w.sfu.stats().media_sessions, 1);
    let (room, now) = (w.room.clone(), w.now);
    let lurker = ParticipantId::new("lurker");
    w.sfu
        .add_participant(room, lurker.clone(), now)
        .expect("add");
    assert_eq!(
        w.sfu.stats().media_sessions,
        1,
        "no session before an offer"
    );
    w.run_for(Duration::from_secs(1));
    w.sfu.remove_participant(&lurker, w.now).expect("remove");
    assert_eq!(w.sfu.stats().media_sessions, 1);
}
