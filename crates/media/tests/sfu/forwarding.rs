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

    w.assert_everyone_receives_everyone_intact();
}
