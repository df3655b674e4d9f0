//! Test 1: three participants, each publishing audio + 3-layer simulcast video.

use std::time::Duration;

use convene_media::Event;

use super::sim::World;

#[test]
fn three_participants_receive_each_other_intact() {
    let mut w = World::new(1);
    for name in ["alice", "bob", "carol"] {
        w.join(name, true, true);
    }
    w.run_for(Duration::from_secs(6));

    let connected = w
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Connected { .. }))
        .count();
    assert_eq!(connected, 3, "all three connect");
    let published: Vec<_> = w
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::TrackPublished { layers, .. } => Some(layers.len()),
            _ => None,
        })
        .collect();
    assert_eq!(published.len(), 6, "3 audio + 3 video tracks published");
    assert_eq!(published.iter().filter(|l| **l == 3).count(), 3);

    for c in &w.clients {
        assert_eq!(c.corrupt_frames(), 0, "{}: no corrupted payloads", c.id);
        for other in &w.clients {
            let audio = c.audio_from(other.num);
            let video = c.video_from(other.num);
            if other.num == c.num {
                assert!(
                    audio.is_empty() && video.is_empty(),
                    "{} gets own media",
                    c.id
                );
                continue;
            }
            // ~5 s of media after connecting: 50 audio frames/s, 30 video frames/s.
            assert!(
                audio.len() > 150,
                "{} audio from {}: {}",
                c.id,
                other.id,
                audio.len()
            );
            assert!(
                video.len() > 60,
                "{} video from {}: {}",
                c.id,
                other.id,
                video.len()
            );
            // Audio arrives in order without gaps once flowing (no loss configured).
            for pair in audio.windows(2) {
                assert_eq!(pair[1].1, pair[0].1 + 1, "audio sequence from {}", other.id);
            }
            // Video starts on a keyframe and frame numbers increase; a frame may repeat only
            // where the layer switches (the new layer's keyframe for the same picture).
            assert!(video[0].3, "first video frame is a keyframe");
            for pair in video.windows(2) {
                let switch = pair[1].1 != pair[0].1;
                assert!(!switch || pair[1].3, "layer switch on a keyframe");
                assert!(
                    pair[1].2 > pair[0].2 || (switch && pair[1].2 == pair[0].2),
                    "video frames in order: {:?}",
                    video.iter().map(|v| (v.1, v.2, v.3)).collect::<Vec<_>>()
                );
            }
        }
    }
}
