//! Test 2: a subscriber whose downlink is throttled moves to a lower simulcast layer, and back
//! up when the link recovers; every switch happens at a keyframe. The link is a real bottleneck
//! (capacity + tail-drop queue) so str0m's TWCC estimator sees delay growth and loss.

use std::time::{Duration, Instant};

use super::sim::World;

fn layers_between(w: &World, sub: usize, from: Instant, to: Instant) -> Vec<u8> {
    w.clients[sub]
        .video_from(0)
        .into_iter()
        .filter(|v| v.0 >= from && v.0 < to)
        .map(|v| v.1)
        .collect()
}

fn bwe_of(w: &World, name: &str) -> Option<u64> {
    w.sfu
        .stats()
        .subscriber_bandwidth_bps
        .iter()
        .find(|(p, _)| p.as_str() == name)
        .map(|(_, b)| *b)
}

#[test]
fn subscriber_follows_bandwidth_down_and_up() {
    let mut w = World::new(2);
    w.join("alice", true, true);
    w.join("bob", true, false);
    let bob_addr = w.clients[1].addr;
    let mut trace = Vec::new();
    let run = |w: &mut World, secs: u64, trace: &mut Vec<String>| {
        for _ in 0..secs {
            w.run_for(Duration::from_secs(1));
            let now = w.now;
            let layers = layers_between(w, 1, now - Duration::from_secs(1), now);
            trace.push(format!(
                "t={:>2}s bwe={:?} layers={:?}",
                w.elapsed().as_secs(),
                bwe_of(w, "bob"),
                layers.last()
            ));
        }
    };

    // Phase 1: unconstrained; BWE ramps up and bob reaches the top layer.
    run(&mut w, 20, &mut trace);
    let t1 = w.now;
    let p1 = layers_between(&w, 1, t1 - Duration::from_secs(3), t1);

    // Phase 2: bob's downlink drops to 400 kbit/s.
    w.net.links.get_mut(&bob_addr).unwrap().down.capacity_bps = Some(400_000);
    run(&mut w, 25, &mut trace);
    let t2 = w.now;
    let p2 = layers_between(&w, 1, t2 - Duration::from_secs(3), t2);

    // Phase 3: the link recovers.
    w.net.links.get_mut(&bob_addr).unwrap().down.capacity_bps = None;
    run(&mut w, 40, &mut trace);
    let t3 = w.now;
    let p3 = layers_between(&w, 1, t3 - Duration::from_secs(3), t3);

    let trace = trace.join("\n");
    assert!(
        !p1.is_empty() && p1.iter().all(|l| *l == 2),
        "phase 1 top layer\n{trace}"
    );
    assert!(
        !p2.is_empty() && p2.iter().all(|l| *l == 0),
        "phase 2 low layer\n{trace}"
    );
    assert!(
        !p3.is_empty() && p3.iter().all(|l| *l == 2),
        "phase 3 top layer\n{trace}"
    );

    // Every layer change in what bob received starts with a keyframe, unless that keyframe was
    // lost on the congested link itself (the receiver then reports a gap, and asks for a new
    // keyframe, which we relay). Uncongested switches must be clean.
    let all = w.clients[1].video_from(0);
    let mut switches = 0;
    let mut lost_switch_keyframes = 0;
    for (i, pair) in all.windows(2).enumerate() {
        if pair[1].1 != pair[0].1 {
            switches += 1;
            let ctx: Vec<_> = all[i.saturating_sub(8)..(i + 8).min(all.len())]
                .iter()
                .map(|v| (v.1, v.2, v.3, (v.0 - w.start).as_millis()))
                .collect();
            let congested = pair[1].0 >= t1 && pair[1].0 < t2;
            if !pair[1].3 && !pair[1].4 && congested {
                lost_switch_keyframes += 1;
                continue;
            }
            assert!(
                pair[1].3,
                "switch to layer {} at a keyframe: {ctx:?}\n{trace}",
                pair[1].1
            );
        }
    }
    assert!(switches >= 2, "switched down and up: {switches}");
    assert!(
        lost_switch_keyframes <= 2,
        "lost switch keyframes: {lost_switch_keyframes}"
    );
    assert!(w.sfu.stats().layer_switches >= 2);
    println!("{trace}");
}
