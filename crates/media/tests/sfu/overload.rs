//! A worker that falls behind its timers (an overloaded server).

use std::time::Duration;

use crate::sim::World;

/// str0m's pacer sends one packet per timeout. When the core's timers run only every 400 ms, a
/// listener of 10 speakers still gets (nearly) all their audio, in bursts at each timeout, rather
/// than one packet per stream per timeout with the rest queued in the server for ever (which
/// is what an overloaded server did: memory and delay grew without bound).
#[test]
fn a_late_worker_still_sends_each_listener_all_its_audio() {
    let mut w = World::new(41);
    for i in 0..10 {
        w.join(&format!("speaker{i}"), true, false);
    }
    for i in 0..10 {
        w.join(&format!("listener{i}"), false, false);
    }
    w.run_for(Duration::from_secs(3));
    w.timeouts_every = Some(Duration::from_millis(400));
    let from = w.clients[3].audio_seq;
    w.run_for(Duration::from_secs(4));
    let end = w.now;
    // Frames of the last 400 ms may wait for the next timeout: 20 ms each.
    let until = w.clients[3].audio_seq - 20;
    for l in &w.clients[10..] {
        let got = l
            .audio_from(3)
            .iter()
            .filter(|(at, seq)| (from..until).contains(seq) && *at <= end)
            .count();
        let sent = (until - from) as usize;
        assert!(
            got * 10 >= sent * 9,
            "{} got {got} of the {sent} frames speaker3 sent while the worker was late",
            l.id
        );
    }
}
