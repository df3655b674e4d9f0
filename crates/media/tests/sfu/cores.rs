//! One room spread over two cores (as a server spreads a large room over its worker threads):
//! frames relayed between the cores arrive intact, layer choice and hiding work across the link,
//! the publisher hears about layers only when no core wants them, and leaving ends the tracks.
//! Each test runs twice: with the messages between the cores moved in memory (as between the
//! worker threads of one server), and through their byte encoding (as between nodes).

use std::time::Duration;

use convene_media::Event;
use convene_proto::ParticipantId;

use super::sim::World;

/// The world of a test, its cores linked in memory or `over_wire`.
fn world(seed: u64, over_wire: bool) -> World {
    let mut w = World::new(seed);
    w.relay_over_wire = over_wire;
    w
}

#[test]
fn a_room_on_two_cores_exchanges_media_intact() {
    exchanges_media_intact(false);
}

#[test]
fn a_room_on_two_cores_exchanges_media_intact_over_the_wire() {
    exchanges_media_intact(true);
}

fn exchanges_media_intact(over_wire: bool) {
    let mut w = world(11, over_wire);
    let second = w.add_core();
    w.join_on(0, "alice", true, true);
    w.join_on(second, "bob", true, true);
    w.join_on(0, "carol", true, true);
    w.join_on(second, "dave", true, true);
    w.run_for(Duration::from_secs(6));
    w.assert_everyone_receives_everyone_intact();

    // Each core relayed its publishers' frames once to the other, which fanned them out.
    let (a, b) = (w.sfu.stats(), w.more_cores[0].stats());
    assert!(
        a.relay_packets_out > 300 && b.relay_packets_out > 300,
        "{a:?} {b:?}"
    );
    assert_eq!(a.relay_packets_out, b.relay_packets_in);
    assert_eq!(b.relay_packets_out, a.relay_packets_in);
    // A frame crosses once per core, not once per subscriber: core 1 got fewer frames over
    // the link than it forwarded of them to its two subscribers.
    assert!(b.relay_packets_in * 3 / 2 < b.packets_forwarded, "{b:?}");
    // Tracks are announced once, by the publisher's core.
    let published = w
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::TrackPublished { .. }))
        .count();
    assert_eq!(published, 8, "4 audio + 4 video, each announced once");
    // Every message crossed as bytes (and decoded: the harness insists), or none did.
    assert_eq!(w.wire_bytes > 0, over_wire);
}

#[test]
fn layers_and_hiding_work_across_cores() {
    layers_and_hiding(false);
}

#[test]
fn layers_and_hiding_work_across_cores_over_the_wire() {
    layers_and_hiding(true);
}

fn layers_and_hiding(over_wire: bool) {
    let mut w = world(12, over_wire);
    let second = w.add_core();
    w.join_on(0, "alice", true, true);
    w.join_on(second, "bob", true, false);
    w.run_for(Duration::from_secs(3));
    let track = w.video_track_of("alice");
    let bob = ParticipantId::new("bob");
    assert!(w.clients[1].video_from(0).len() > 30, "bob sees alice");
    let unused_reports = |w: &World, from| -> Vec<Vec<String>> {
        w.events_since(from)
            .filter_map(|e| match e {
                Event::LayersUnused {
                    participant, rids, ..
                } if participant.as_str() == "alice" => Some(rids.clone()),
                _ => None,
            })
            .collect()
    };

    // A thumbnail on the other core: bob moves to the lowest layer (at a keyframe), and alice's
    // core, whose only subscriber is remote, tells her the two upper layers are unused.
    let t = w.now;
    let now = w.now;
    w.core(second)
        .set_video_constraint(&bob, &track, Some((320, 180)), now)
        .unwrap();
    w.run_for(Duration::from_secs(2));
    let late: Vec<_> = w.clients[1]
        .video_from(0)
        .into_iter()
        .filter(|v| v.0 >= t + Duration::from_millis(700))
        .collect();
    assert!(late.len() > 20 && late.iter().all(|v| v.1 == 0), "{late:?}");
    let reports = unused_reports(&w, t);
    assert_eq!(reports.last().map(Vec::len), Some(2), "{reports:?}");

    // Hidden on the other core: nothing more is relayed, and every layer is unused.
    let now = w.now;
    w.core(second)
        .set_video_constraint(&bob, &track, None, now)
        .unwrap();
    w.run_for(Duration::from_millis(500));
    let hidden_at = w.clients[1].video_from(0).len();
    let relayed = w.sfu.stats().relay_packets_out;
    w.run_for(Duration::from_secs(2));
    assert_eq!(
        w.clients[1].video_from(0).len(),
        hidden_at,
        "nothing while hidden"
    );
    // Audio still crosses: 2 s of 50 frames/s, and no video frames.
    let more = w.sfu.stats().relay_packets_out - relayed;
    assert!((90..=110).contains(&more), "only audio relayed: {more}");
    assert_eq!(unused_reports(&w, w.start).last().map(Vec::len), Some(3));

    // Shown large again: video resumes on a keyframe, above the lowest layer.
    let t = w.now;
    let now = w.now;
    w.core(second)
        .set_video_constraint(&bob, &track, Some((1280, 720)), now)
        .unwrap();
    w.run_for(Duration::from_secs(2));
    let resumed: Vec<_> = w.clients[1]
        .video_from(0)
        .into_iter()
        .filter(|v| v.0 >= t)
        .collect();
    assert!(resumed.len() > 20 && resumed[0].3, "resumed at a keyframe");
    assert!(
        resumed.iter().any(|v| v.1 > 0),
        "a higher layer for a large tile"
    );
}

#[test]
fn leaving_ends_tracks_on_the_other_core() {
    leaving_ends_tracks(false);
}

#[test]
fn leaving_ends_tracks_on_the_other_core_over_the_wire() {
    leaving_ends_tracks(true);
}

fn leaving_ends_tracks(over_wire: bool) {
    let mut w = world(13, over_wire);
    let second = w.add_core();
    w.join_on(0, "alice", true, true);
    w.join_on(second, "bob", true, true);
    w.run_for(Duration::from_secs(3));
    assert!(w.clients[0].audio_from(1).len() > 50, "alice hears bob");

    // Bob, the last participant of core 1, leaves: alice's m-lines for him are stopped by a new
    // offer, and nothing more of his arrives.
    w.leave("bob");
    w.run_for(Duration::from_millis(500));
    let offered_after: Vec<usize> = w
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::SendOffer {
                participant,
                tracks,
                ..
            } if participant.as_str() == "alice" => Some(
                tracks
                    .iter()
                    .filter(|t| t.publisher.as_str() == "bob")
                    .count(),
            ),
            _ => None,
        })
        .collect();
    assert_eq!(offered_after.last(), Some(&0), "{offered_after:?}");
    let heard = w.clients[0].audio_from(1).len();
    w.run_for(Duration::from_secs(1));
    assert_eq!(w.clients[0].audio_from(1).len(), heard);

    // Carol joins core 1 afresh: the cores link again and media flows both ways.
    w.join_on(second, "carol", true, true);
    w.run_for(Duration::from_secs(3));
    assert!(w.clients[0].audio_from(2).len() > 50, "alice hears carol");
    assert!(w.clients[1].audio_from(0).len() > 50, "carol hears alice");
    assert!(w.clients[1].video_from(0).len() > 20, "carol sees alice");
}
