//! Recording sinks in virtual time: what they hand out is what the publisher sent, frame for frame.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use convene_media::{Recorded, RecordedCodec, RecordingId, TrackKind, TrackSource};

use super::client::{decode, Payload};
use super::sim::World;

/// One recorded track, gathered from the sinks' output.
#[derive(Debug, Default)]
struct Track {
    kind: Option<TrackKind>,
    codec: Option<RecordedCodec>,
    started: Option<Instant>,
    frames: Vec<(Instant, bool, Vec<u8>)>,
    /// (from, to, index of the frame that follows)
    gaps: Vec<(Instant, Instant, usize)>,
    ended: Option<Instant>,
}

fn tracks(recorded: &[Recorded]) -> BTreeMap<RecordingId, Track> {
    let mut out: BTreeMap<RecordingId, Track> = BTreeMap::new();
    for r in recorded {
        match r {
            Recorded::Started {
                id,
                kind,
                codec,
                at,
                ..
            } => {
                let t = out.entry(*id).or_default();
                assert!(t.started.is_none(), "started twice");
                t.kind = Some(*kind);
                t.codec = Some(*codec);
                t.started = Some(*at);
            }
            Recorded::Frame {
                id,
                at,
                keyframe,
                data,
            } => {
                let t = out.get_mut(id).expect("a frame before its track started");
                assert!(t.ended.is_none(), "a frame after the end");
                t.frames.push((*at, *keyframe, data.clone()));
            }
            Recorded::Gap { id, from, to, .. } => {
                let t = out.get_mut(id).expect("a gap before its track started");
                t.gaps.push((*from, *to, t.frames.len()));
            }
            Recorded::Ended { id, at } => {
                out.get_mut(id).expect("an end before the start").ended = Some(*at);
            }
        }
    }
    out
}

fn of_kind(t: &BTreeMap<RecordingId, Track>, kind: TrackKind) -> &Track {
    let mut it = t.values().filter(|t| t.kind == Some(kind));
    let one = it.next().expect("a recorded track of that kind");
    assert!(it.next().is_none(), "one track of each kind");
    one
}

/// (layer, frame number, keyframe) of every recorded video frame; each must be byte for byte what
/// `publisher` generated for that layer and frame (`decode` rebuilds and compares it).
fn video_frames(t: &Track, publisher: u8) -> Vec<(u8, u32, bool)> {
    t.frames
        .iter()
        .map(|(_, key, data)| match decode(data) {
            Some(Payload::Video {
                publisher: p,
                layer,
                frame,
                key: k,
            }) => {
                assert_eq!(p, publisher);
                assert_eq!(*key, k, "the keyframe flag matches the frame");
                (layer, frame, k)
            }
            other => panic!("a recorded frame is not a frame the publisher sent: {other:?}"),
        })
        .collect()
}

fn record(w: &mut World, on: bool) {
    let (room, now) = (w.room.clone(), w.now);
    w.sfu.set_recording(&room, on, now);
}

#[test]
fn a_recorded_simulcast_track_is_its_top_layer_frame_for_frame() {
    let mut w = World::new(31);
    let a = w.join("alice", true, true);
    let num = w.clients[a].num;
    w.run_for(Duration::from_secs(2));
    record(&mut w, true);
    w.run_for(Duration::from_secs(5));
    record(&mut w, false);
    w.run_for(Duration::from_millis(20));

    let t = tracks(&w.recorded);
    assert_eq!(t.len(), 2);
    let video = of_kind(&t, TrackKind::Video);
    assert_eq!(video.codec, Some(RecordedCodec::Vp8));
    let frames = video_frames(video, num);
    assert!(
        frames.len() > 140,
        "{} frames in 5 s at 30 fps",
        frames.len()
    );
    assert!(frames[0].2, "the recording starts at a keyframe");
    assert!(frames.iter().all(|f| f.0 == 2), "all from the top layer");
    for pair in frames.windows(2) {
        assert_eq!(pair[1].1, pair[0].1 + 1, "no frame missing or repeated");
    }
    assert!(video.gaps.is_empty());
    // Frame times follow the RTP clock: 3000 ticks of 90 kHz apart.
    for pair in video.frames.windows(2) {
        let d = pair[1].0 - pair[0].0;
        assert!(
            d.abs_diff(Duration::from_micros(33_333)) < Duration::from_micros(50),
            "{d:?}"
        );
    }
    assert_eq!(video.started, Some(video.frames[0].0));
    assert_eq!(video.ended, Some(video.frames.last().unwrap().0));

    let audio = of_kind(&t, TrackKind::Audio);
    assert_eq!(audio.codec, Some(RecordedCodec::Opus));
    let seqs: Vec<u32> = audio
        .frames
        .iter()
        .map(|(_, _, data)| match decode(data) {
            Some(Payload::Audio { publisher, seq }) if publisher == num => seq,
            other => panic!("not the publisher's audio: {other:?}"),
        })
        .collect();
    assert!(seqs.len() > 240, "{} audio frames in 5 s", seqs.len());
    assert!(seqs.windows(2).all(|p| p[1] == p[0] + 1));
    // Both tracks start within a frame of each other on the core's clock.
    let skew = audio.started.unwrap().max(video.started.unwrap())
        - audio.started.unwrap().min(video.started.unwrap());
    assert!(skew < Duration::from_millis(100), "{skew:?}");
}

/// Files count time in milliseconds: two frames within one would share a timestamp, which players
/// take for a broken stream. A switch up to a layer that starts again shows the same captured
/// instant as the last frame of the layer below.
#[test]
fn across_layer_switches_recorded_frames_stay_a_millisecond_apart() {
    let mut w = World::new(37);
    let a = w.join("alice", true, true);
    let num = w.clients[a].num;
    w.run_for(Duration::from_secs(2));
    record(&mut w, true);
    w.run_for(Duration::from_secs(2));
    // The encoder drops its top layer for a while, then sends it again.
    w.clients[a].paused_layers = vec![2];
    w.run_for(Duration::from_secs(3));
    w.clients[a].paused_layers.clear();
    w.run_for(Duration::from_secs(3));
    record(&mut w, false);
    w.run_for(Duration::from_millis(20));

    let t = tracks(&w.recorded);
    let video = of_kind(&t, TrackKind::Video);
    let mut layers: Vec<u8> = video_frames(video, num).iter().map(|f| f.0).collect();
    layers.dedup();
    assert_eq!(
        layers,
        vec![2, 1, 2],
        "down to the middle layer and back up"
    );
    for pair in video.frames.windows(2) {
        let d = pair[1].0.checked_duration_since(pair[0].0);
        assert!(
            d.is_some_and(|d| d >= Duration::from_millis(1)),
            "frames {d:?} apart"
        );
    }
}

#[test]
fn with_loss_and_retransmission_no_broken_frame_is_written() {
    let mut w = World::new(32);
    let a = w.join("alice", true, true);
    let num = w.clients[a].num;
    w.run_for(Duration::from_secs(2));
    let addr = w.clients[a].addr;
    w.net.links.get_mut(&addr).expect("alice's link").up.loss = 0.05;
    record(&mut w, true);
    w.run_for(Duration::from_secs(10));
    record(&mut w, false);
    w.run_for(Duration::from_millis(20));

    let t = tracks(&w.recorded);
    let video = of_kind(&t, TrackKind::Video);
    // Every frame decodes as exactly what was sent (a frame missing a packet would not).
    let frames = video_frames(video, num);
    assert!(frames[0].2);
    for pair in frames.windows(2) {
        assert!(pair[1].1 > pair[0].1, "in order, no repeats");
    }
    // After a gap the recording resumes at a keyframe of its layer, never at a delta frame.
    for (from, to, next) in &video.gaps {
        assert!(to > from);
        assert!(frames[*next].2, "resumed at a delta frame");
    }
    for (i, pair) in frames.windows(2).enumerate() {
        if pair[1].1 != pair[0].1 + 1 {
            assert!(
                video.gaps.iter().any(|g| g.2 == i + 1),
                "frames skipped without a gap"
            );
        }
    }
    // A top-layer frame is about 5 packets: without retransmission about a quarter of them
    // would lose one. Retransmission recovers nearly all.
    let first = frames[0].1;
    let expected = (frames.last().unwrap().1 - first + 1) as usize;
    assert!(
        frames.len() * 100 >= expected * 90,
        "{} of {expected} frames recorded",
        frames.len()
    );
}

#[test]
fn recording_follows_the_room_tracks_that_come_and_a_server_mute_is_a_gap() {
    let mut w = World::new(33);
    let a = w.join("alice", true, true);
    w.run_for(Duration::from_secs(1));
    record(&mut w, true);
    // Published after the recording started: recorded too.
    let b = w.join("bob", false, true);
    let (num_a, num_b) = (w.clients[a].num, w.clients[b].num);
    w.run_for(Duration::from_secs(2));
    let alice = w.clients[a].id.clone();
    w.sfu
        .set_server_muted(&alice, TrackSource::Camera, true)
        .expect("alice");
    w.run_for(Duration::from_secs(1));
    w.sfu
        .set_server_muted(&alice, TrackSource::Camera, false)
        .expect("alice");
    w.run_for(Duration::from_secs(2));
    w.leave("bob");
    w.run_for(Duration::from_millis(100));
    let t = tracks(&w.recorded);
    let videos: Vec<&Track> = t
        .values()
        .filter(|t| t.kind == Some(TrackKind::Video))
        .collect();
    assert_eq!(videos.len(), 2);
    let of = |num: u8| {
        videos
            .iter()
            .find(|t| {
                matches!(decode(&t.frames[0].2), Some(Payload::Video { publisher, .. }) if publisher == num)
            })
            .expect("that publisher's video")
    };
    let bob = of(num_b);
    assert!(bob.ended.is_some(), "bob's track ended when he left");
    let alice_video = of(num_a);
    assert!(alice_video.ended.is_none());
    assert_eq!(alice_video.gaps.len(), 1, "{:?}", alice_video.gaps);
    let (from, to, next) = alice_video.gaps[0];
    let gap = to - from;
    assert!(
        gap >= Duration::from_millis(900) && gap < Duration::from_millis(1600),
        "the mute is a gap in time: {gap:?}"
    );
    assert!(alice_video.frames[next].1, "resumes at a keyframe");

    // Stopping ends alice's tracks; nothing more is recorded after.
    record(&mut w, false);
    w.run_for(Duration::from_millis(10));
    let n = w.recorded.len();
    w.run_for(Duration::from_secs(1));
    assert!(w.recorded[n..].is_empty());
    let t = tracks(&w.recorded);
    assert!(t.values().all(|t| t.ended.is_some()));
}

#[test]
fn a_resync_resumes_the_video_at_a_new_keyframe() {
    let mut w = World::new(34);
    let a = w.join("alice", false, true);
    let num = w.clients[a].num;
    w.run_for(Duration::from_secs(1));
    record(&mut w, true);
    w.run_for(Duration::from_secs(2));
    let id = match w.recorded.first() {
        Some(Recorded::Started { id, .. }) => *id,
        other => panic!("{other:?}"),
    };
    let before = w.recorded.len();
    let requests = w.clients[a].keyframe_requests;
    let now = w.now;
    w.sfu.resync_recording(id, now);
    w.run_for(Duration::from_secs(1));
    assert!(
        w.clients[a].keyframe_requests > requests,
        "a keyframe was asked for"
    );
    let t = tracks(&w.recorded[..]);
    let frames = video_frames(&t[&id], num);
    let next = w.recorded[before..]
        .iter()
        .position(|r| matches!(r, Recorded::Frame { .. }))
        .expect("frames after the resync");
    let Recorded::Frame { keyframe, .. } = &w.recorded[before + next] else {
        unreachable!()
    };
    assert!(*keyframe, "the first frame after a resync is a keyframe");
    assert!(frames.iter().all(|f| f.0 == 2));
}
