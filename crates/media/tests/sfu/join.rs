//! Issue 19, join fast: a newcomer's first picture of a video does not wait for a keyframe request's
//! round trip to the publisher. The publisher is asked for a keyframe when the server offers the
//! newcomer the video; the packets since that keyframe wait in the core and go out the moment the
//! newcomer can receive them. Links: 10 ms each way; the publisher sends a frame every 33 ms, so a
//! request made only then would bring the first frame 30-63 ms later.

use std::time::{Duration, Instant};

use convene_media::Event;

use super::sim::World;

/// Down-link delay plus slack for the subscriber's own handling; a keyframe request made only
/// when the subscriber is ready takes at least 30 ms more (10 ms up, 10 ms back, 10 ms down).
const AT_ONCE: Duration = Duration::from_millis(15);

fn connected_at(w: &World, name: &str) -> Option<Instant> {
    w.events.iter().find_map(|(t, e)| match e {
        Event::Connected { participant } if participant.as_str() == name => Some(*t),
        _ => None,
    })
}

/// Frame numbers increase; one repeats only where the layer switches, at the new layer's keyframe.
fn assert_in_order(video: &[(Instant, u8, u32, bool, bool)]) {
    for pair in video.windows(2) {
        let switch = pair[1].1 != pair[0].1;
        assert!(!switch || pair[1].3, "layer switch on a keyframe");
        assert!(
            pair[1].2 > pair[0].2 || (switch && pair[1].2 == pair[0].2),
            "frames in order: {:?}",
            video.iter().map(|v| (v.1, v.2, v.3)).collect::<Vec<_>>()
        );
    }
}

/// A room where alice has published for 3 s: her first keyframes are long gone.
fn room_with_alice() -> World {
    let mut w = World::new(19);
    w.join("alice", true, true);
    w.run_for(Duration::from_secs(3));
    w
}

#[test]
fn a_newcomer_sees_the_first_frame_as_soon_as_it_is_connected() {
    let mut w = room_with_alice();
    let requests_before = w.client("alice").keyframe_requests;
    let bob = w.join("bob", false, false);
    w.run_for(Duration::from_secs(2));
    let connected = connected_at(&w, "bob").expect("bob connects");
    let video = w.clients[bob].video_from(0);
    let first = video.first().expect("bob receives alice's video");
    assert!(first.3, "the first frame is a keyframe");
    assert!(
        first.0 <= connected + AT_ONCE,
        "first frame {:?} after bob connected",
        first.0 - connected
    );
    assert!(
        w.client("alice").keyframe_requests > requests_before,
        "alice was asked for a keyframe"
    );
    assert!(w.sfu.stats().keyframe_cache_starts >= 1);
    assert!(video.len() > 40, "and the video goes on: {}", video.len());
    assert_in_order(&video);
    assert_eq!(w.clients[bob].corrupt_frames(), 0);
}

#[test]
fn a_newcomer_that_answers_after_connecting_sees_the_first_frame_at_its_answer() {
    // As a browser does: the answer to the server's offer of the subscriptions comes after ICE and
    // DTLS are up (the client applies the server's answer to its own offer first).
    let mut w = room_with_alice();
    w.hold_offers_for = Some(convene_proto::ParticipantId::new("bob"));
    let bob = w.join("bob", false, false);
    while connected_at(&w, "bob").is_none() {
        w.step();
    }
    w.run_for(Duration::from_millis(100));
    assert!(
        w.clients[bob].video_from(0).is_empty(),
        "nothing before the answer"
    );
    let Some(Event::SendOffer { sdp, tracks, .. }) = w.held_offers.pop() else {
        panic!("the server offered bob the subscriptions");
    };
    w.hold_offers_for = None;
    let answered = w.now;
    let answer = w.clients[bob].accept_offer(&sdp, &tracks, answered);
    let id = w.clients[bob].id.clone();
    w.sfu.handle_answer(&id, &answer, answered).expect("answer");
    w.run_for(Duration::from_secs(1));
    let video = w.clients[bob].video_from(0);
    let first = video.first().expect("bob receives alice's video");
    assert!(first.3, "the first frame is a keyframe");
    assert!(
        first.0 <= answered + AT_ONCE,
        "first frame {:?} after bob answered",
        first.0 - answered
    );
    assert!(video.len() > 20, "and the video goes on: {}", video.len());
    assert_in_order(&video);
}

#[test]
fn a_video_shown_again_gets_a_new_keyframe_not_the_cached_pictures_again() {
    let mut w = room_with_alice();
    let bob = w.join("bob", false, false);
    while w.clients[bob].video_from(0).is_empty() {
        w.step();
    }
    // The cached run is fresh (bob started from it just now); hide alice and show her again at once.
    w.run_for(Duration::from_millis(50));
    let track = w.video_track_of("alice");
    let id = w.clients[bob].id.clone();
    let now = w.now;
    w.sfu
        .set_video_constraint(&id, &track, None, now)
        .expect("hide");
    w.run_for(Duration::from_millis(50));
    let last_before = w.clients[bob]
        .video_from(0)
        .last()
        .map(|v| v.2)
        .expect("frames");
    let shown = w.now;
    w.sfu
        .set_video_constraint(&id, &track, Some((1280, 720)), shown)
        .expect("show");
    w.run_for(Duration::from_secs(1));
    let after: Vec<_> = w.clients[bob]
        .video_from(0)
        .into_iter()
        .filter(|v| v.0 > shown)
        .collect();
    assert!(after.len() > 10, "video resumes: {}", after.len());
    assert!(after[0].3, "at a keyframe");
    assert!(
        after.iter().all(|v| v.2 > last_before),
        "no picture shown before the pause comes again: last {last_before}, then {:?}",
        after.iter().map(|v| v.2).take(8).collect::<Vec<_>>()
    );
}

#[test]
fn nothing_cached_before_a_server_mute_reaches_a_newcomer() {
    let mut w = room_with_alice();
    // Carol's arrival makes alice send a keyframe, which the core keeps for a while.
    let carol = w.join("carol", false, false);
    while w.clients[carol].video_from(0).is_empty() {
        w.step();
    }
    let alice = w.clients[0].id.clone();
    w.sfu
        .set_server_muted(&alice, convene_media::TrackSource::Camera, true)
        .expect("mute");
    w.run_for(Duration::from_millis(40));
    let bob = w.join("bob", false, false);
    w.run_for(Duration::from_secs(1));
    assert!(connected_at(&w, "bob").is_some(), "bob connects");
    assert!(
        w.clients[bob].video_from(0).is_empty(),
        "bob gets none of alice's muted camera"
    );
}

#[test]
fn a_newcomer_starts_on_a_lower_layer_while_the_wanted_one_has_no_keyframe_yet() {
    let mut w = room_with_alice();
    // Alice's encoder is slow to make keyframes of her two larger layers.
    w.clients[0].ignore_keyframe_layers = vec![1, 2];
    let bob = w.join("bob", false, false);
    w.run_for(Duration::from_millis(600));
    let connected = connected_at(&w, "bob").expect("bob connects");
    let video = w.clients[bob].video_from(0);
    let first = video.first().expect("bob receives alice's video at once");
    assert!(
        first.0 <= connected + AT_ONCE,
        "first frame {:?} after bob connected",
        first.0 - connected
    );
    assert_eq!(
        (first.1, first.3),
        (0, true),
        "a keyframe of the small layer"
    );
    // The larger layer's keyframe comes: bob moves up to the layer he was given.
    w.clients[0].ignore_keyframe_layers.clear();
    w.run_for(Duration::from_secs(2));
    let video = w.clients[bob].video_from(0);
    assert!(
        video.iter().any(|v| v.1 > 0),
        "bob switches up: {:?}",
        video
            .iter()
            .map(|v| v.1)
            .collect::<std::collections::BTreeSet<_>>()
    );
    assert_in_order(&video);
}

#[test]
fn the_publishers_are_asked_for_keyframes_when_a_newcomer_joins_before_it_offers() {
    // A browser makes its offer only after `joined` (its peer connection, its first offer): the
    // request goes out at the join, so that the keyframe is on its way meanwhile.
    let mut w = room_with_alice();
    let before = w.client("alice").keyframe_requests;
    let bob = convene_proto::ParticipantId::new("bob");
    let (room, now) = (w.room.clone(), w.now);
    w.sfu.add_participant(room, bob, now).expect("add");
    w.run_for(Duration::from_millis(50));
    assert!(
        w.client("alice").keyframe_requests > before,
        "alice is asked for a keyframe before bob's offer"
    );
}
