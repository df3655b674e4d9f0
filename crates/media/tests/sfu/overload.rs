//! A worker that falls behind its timers (an overloaded server).

use std::time::Duration;

use crate::sim::World;

/// 10 speakers and 10 listeners settle for 3 s; then the core's timers run only every 400 ms.
fn ten_speakers_ten_listeners_then_late(w: &mut World) {
    for i in 0..10 {
        w.join(&format!("speaker{i}"), true, false);
    }
    for i in 0..10 {
        w.join(&format!("listener{i}"), false, false);
    }
    w.run_for(Duration::from_secs(3));
    w.timeouts_every = Some(Duration::from_millis(400));
}

/// str0m's pacer sends one packet per timeout. When the core's timers run only every 400 ms, a
/// listener of 10 speakers still gets (nearly) all their audio, in bursts at each timeout, rather
/// than one packet per stream per timeout with the rest queued in the server for ever (which
/// is what an overloaded server did: memory and delay grew without bound).
#[test]
fn a_late_worker_still_sends_each_listener_all_its_audio() {
    let mut w = World::new(41);
    ten_speakers_ten_listeners_then_late(&mut w);
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

/// The catching up is bounded per call: one `handle_timeout` of a late core runs at most
/// `timeout_rounds_per_call` str0m timeouts (each sends at most a media packet and its RTCP),
/// so the worker gets back to its sockets; the rest stays due for the next call.
#[test]
fn one_wakeup_catches_up_a_bounded_amount() {
    let sent_in_one_call = |rounds: usize| {
        let mut w = World::with_config(43, |c| c.timeout_rounds_per_call = rounds);
        ten_speakers_ten_listeners_then_late(&mut w);
        w.run_for(Duration::from_millis(1300));
        let before = w.sfu.stats().packets_out;
        let now = w.now;
        w.sfu.handle_timeout(now);
        let sent = w.sfu.stats().packets_out - before;
        w.timeouts_every = None;
        w.run_for(Duration::from_millis(500));
        let due = w.sfu.poll_timeout();
        (sent, due > w.now)
    };
    let (bounded, drained_later) = sent_in_one_call(40);
    let (unbounded, _) = sent_in_one_call(100_000);
    assert!(
        bounded <= 3 * 40,
        "{bounded} packets from one call of at most 40 rounds"
    );
    assert!(
        unbounded > 3 * bounded,
        "the backlog was there: {unbounded} packets without the bound"
    );
    assert!(drained_later, "what was left went out in the next calls");
}
