//! Tests 3-5: hide/show (video constraints), dominant speaker, server mute.

use std::time::Duration;

use convene_media::{Event, TrackSource};

use super::sim::World;

#[test]
fn hidden_video_stops_and_resumes_at_keyframe() {
    let mut w = World::new(3);
    w.join("alice", true, true);
    w.join("bob", true, false);
    w.run_for(Duration::from_secs(3));
    let track = w.video_track_of("alice");
    let bob = w.clients[1].id.clone();
    assert!(w.clients[1].video_from(0).len() > 30, "bob sees alice");

    // Hide: after in-flight frames drain, nothing more arrives.
    w.sfu
        .set_video_constraint(&bob, &track, None, w.now)
        .unwrap();
    w.run_for(Duration::from_millis(300));
    let hidden_at = w.clients[1].video_from(0).len();
    w.run_for(Duration::from_secs(3));
    assert_eq!(
        w.clients[1].video_from(0).len(),
        hidden_at,
        "nothing while hidden"
    );
    // ...while audio keeps flowing.
    let audio_before = w.clients[1].audio_from(0).len();
    w.run_for(Duration::from_secs(1));
    assert!(w.clients[1].audio_from(0).len() > audio_before + 40);
    let unused = w
        .events
        .iter()
        .any(|(_, e)| matches!(e, Event::LayersUnused { rids, .. } if rids.len() == 3));
    assert!(unused, "publisher told all layers are unused");

    // Show at thumbnail size: resumes with a keyframe, on the lowest layer.
    let shown_at = w.now;
    w.sfu
        .set_video_constraint(&bob, &track, Some((320, 180)), w.now)
        .unwrap();
    w.run_for(Duration::from_secs(2));
    let resumed: Vec<_> = w.clients[1]
        .video_from(0)
        .into_iter()
        .filter(|v| v.0 >= shown_at)
        .collect();
    assert!(resumed.len() > 30, "video resumed: {}", resumed.len());
    assert!(resumed[0].3, "first frame after showing is a keyframe");
    assert!(
        resumed.iter().all(|v| v.1 == 0),
        "thumbnail gets the lowest layer"
    );

    // Show large: moves up (bandwidth permitting: initial estimate 1 Mbit/s allows "m").
    let large_at = w.now;
    w.sfu
        .set_video_constraint(&bob, &track, Some((1280, 720)), w.now)
        .unwrap();
    w.run_for(Duration::from_secs(2));
    let large: Vec<_> = w.clients[1]
        .video_from(0)
        .into_iter()
        .filter(|v| v.0 >= large_at)
        .collect();
    assert!(
        large.iter().any(|v| v.1 > 0),
        "larger display gets a higher layer"
    );
    for pair in large.windows(2) {
        if pair[1].1 != pair[0].1 {
            assert!(pair[1].3, "switch at keyframe");
        }
    }
}

#[test]
fn dominant_speaker_follows_loudest_without_flapping() {
    let mut w = World::new(4);
    for name in ["alice", "bob", "carol"] {
        w.join(name, true, false);
    }
    w.clients[0].loudness = 100;
    w.clients[1].loudness = 88;
    w.clients[2].loudness = 20;
    w.run_for(Duration::from_secs(3));
    let dominants = |w: &World, from| -> Vec<String> {
        w.events_since(from)
            .filter_map(|e| match e {
                Event::DominantSpeaker { participant, .. } => Some(participant.to_string()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(dominants(&w, w.start), vec!["alice"]);

    // Alice and Bob alternate being slightly louder: no flapping.
    let t = w.now;
    for i in 0..50 {
        let (a, b) = if i % 2 == 0 { (96, 100) } else { (100, 96) };
        w.clients[0].loudness = a;
        w.clients[1].loudness = b;
        w.run_for(Duration::from_millis(150));
    }
    assert!(
        dominants(&w, t).is_empty(),
        "no flapping: {:?}",
        dominants(&w, t)
    );

    // Bob clearly takes over: exactly one switch.
    let t = w.now;
    w.clients[0].loudness = 70;
    w.clients[1].loudness = 110;
    w.run_for(Duration::from_secs(3));
    assert_eq!(dominants(&w, t), vec!["bob"]);

    // Audio levels: a few times per second, loudest first, silent carol absent.
    let levels: Vec<_> = w
        .events_since(t + Duration::from_secs(1))
        .filter_map(|e| match e {
            Event::AudioLevels { levels, .. } => Some(levels.clone()),
            _ => None,
        })
        .collect();
    assert!(
        levels.len() >= 6,
        "levels reported per tick: {}",
        levels.len()
    );
    for l in &levels {
        assert_eq!(l[0].0.as_str(), "bob");
        assert!(l.iter().all(|(p, _)| p.as_str() != "carol"));
    }
}

#[test]
fn server_muted_audio_is_not_forwarded() {
    let mut w = World::new(5);
    for name in ["alice", "bob", "carol"] {
        w.join(name, true, true);
    }
    w.run_for(Duration::from_secs(2));
    let alice = w.clients[0].id.clone();
    w.sfu
        .set_server_muted(&alice, TrackSource::Microphone, true)
        .unwrap();
    w.run_for(Duration::from_millis(200));
    let (b_audio, c_audio) = (
        w.clients[1].audio_from(0).len(),
        w.clients[2].audio_from(0).len(),
    );
    let b_video = w.clients[1].video_from(0).len();
    let b_from_c = w.clients[1].audio_from(2).len();
    w.run_for(Duration::from_secs(2));
    assert_eq!(
        w.clients[1].audio_from(0).len(),
        b_audio,
        "muted: bob hears nothing"
    );
    assert_eq!(
        w.clients[2].audio_from(0).len(),
        c_audio,
        "muted: carol hears nothing"
    );
    assert!(
        w.clients[1].video_from(0).len() > b_video + 30,
        "video unaffected"
    );
    assert!(
        w.clients[1].audio_from(2).len() > b_from_c + 80,
        "others unaffected"
    );
    assert!(w.sfu.stats().packets_muted > 80);

    w.sfu
        .set_server_muted(&alice, TrackSource::Microphone, false)
        .unwrap();
    w.run_for(Duration::from_secs(1));
    assert!(
        w.clients[1].audio_from(0).len() > b_audio + 40,
        "unmuted: audio resumes"
    );
    assert!(w.clients[2].audio_from(0).len() > c_audio + 40);
}

#[test]
fn a_new_publisher_is_not_told_its_layers_are_unused_before_anyone_could_want_them() {
    // Alice publishes alone: nobody wants her layers, but subscribers joining now would need a
    // renegotiation before they could; stopping her layers at once cost them her first frames.
    let mut w = World::new(6);
    w.join("alice", true, true);
    let start = w.now;
    w.run_for(Duration::from_millis(1500));
    let early = unused_since(&w, start);
    assert!(
        early.iter().all(|rids| rids.is_empty()),
        "told unused within 1.5 s of publishing: {early:?}"
    );
    // Still alone later: all three layers are unused.
    w.run_for(Duration::from_secs(2));
    let later = unused_since(&w, start).pop().expect("a report");
    assert_eq!(later.len(), 3, "{later:?}");
}

/// Layers a publisher was told are unused, in the `LayersUnused` events from `since` on.
fn unused_since(w: &World, since: std::time::Instant) -> Vec<Vec<String>> {
    w.events
        .iter()
        .filter(|(at, _)| *at >= since)
        .filter_map(|(_, e)| match e {
            Event::LayersUnused { rids, .. } => Some(rids.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_layer_a_subscriber_watches_stays_wanted_until_its_switch_completes() {
    let mut w = World::new(5);
    w.join("alice", true, true);
    w.join("bob", true, false);
    w.run_for(Duration::from_secs(2));
    let track = w.video_track_of("alice");
    let bob = w.clients[1].id.clone();
    // Bob shows Alice as a thumbnail: the lowest layer, "l"; the others are unused.
    w.sfu
        .set_video_constraint(&bob, &track, Some((320, 180)), w.now)
        .unwrap();
    w.run_for(Duration::from_secs(2));
    let last = unused_since(&w, w.start).pop().expect("a report");
    assert_eq!(last, vec!["h".to_string(), "m".to_string()]);

    // Bob makes Alice large, but Alice's keyframe is slow to come: Bob keeps getting "l" meanwhile,
    // so Alice must not be told to stop it.
    w.clients[0].ignore_keyframe_requests = true;
    let switch_at = w.now;
    w.sfu
        .set_video_constraint(&bob, &track, Some((1280, 720)), w.now)
        .unwrap();
    w.run_for(Duration::from_secs(1));
    let during = unused_since(&w, switch_at);
    assert!(
        during.iter().all(|rids| !rids.contains(&"l".to_string())),
        "the layer Bob still receives was reported unused: {during:?}"
    );
    let lowest_meanwhile = w.clients[1]
        .video_from(0)
        .into_iter()
        .filter(|v| v.0 >= switch_at + Duration::from_millis(200) && v.1 == 0)
        .count();
    assert!(
        lowest_meanwhile > 15,
        "Bob keeps receiving: {lowest_meanwhile}"
    );

    // The keyframe comes: Bob switches up, and only then is "l" unused.
    w.clients[0].ignore_keyframe_requests = false;
    let keyframe_at = w.now;
    w.run_for(Duration::from_secs(2));
    let up = w.clients[1]
        .video_from(0)
        .into_iter()
        .rfind(|v| v.0 >= keyframe_at)
        .expect("video after the switch");
    assert!(up.1 > 0, "Bob switched up");
    let after = unused_since(&w, keyframe_at);
    assert!(
        after.iter().any(|rids| rids.contains(&"l".to_string())),
        "once switched, the lowest layer is unused: {after:?}"
    );
}

#[test]
fn a_participant_that_does_not_receive_gets_nothing_until_it_does() {
    let mut w = World::new(6);
    w.join("alice", true, true);
    w.join("bob", true, true);
    let bob = w.clients[1].id.clone();
    let now = w.now;
    w.sfu.set_receives(&bob, false, now).unwrap();
    w.join("carol", true, true);
    w.run_for(Duration::from_secs(2));
    assert_eq!(w.clients[1].audio_from(0).len(), 0, "bob receives nothing");
    assert_eq!(w.clients[1].video_from(2).len(), 0);
    assert!(
        w.clients[2].audio_from(1).len() > 40,
        "bob still publishes: carol hears him"
    );
    assert!(w.clients[2].audio_from(0).len() > 40);
    let now = w.now;
    w.sfu.set_receives(&bob, true, now).unwrap();
    w.run_for(Duration::from_secs(2));
    assert!(
        w.clients[1].audio_from(0).len() > 40,
        "receiving again, bob hears alice"
    );
    assert!(w.clients[1].audio_from(2).len() > 40);
}
