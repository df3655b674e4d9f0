use super::*;

fn pkt(seq: u64, time: u64, marker: bool, key: bool) -> Held {
    Held {
        seq,
        time,
        marker,
        keyframe_start: key,
        arrival: Instant::now(),
        payload: Arc::from(vec![seq as u8].into_boxed_slice()),
    }
}

/// Frame `n` of three packets at seq 3n..3n+2, a keyframe when `key`.
fn frame(n: u64, key: bool) -> Vec<Held> {
    (0..3)
        .map(|i| pkt(3 * n + i, 100 * n, i == 2, key && i == 0))
        .collect()
}

fn seqs(a: Option<Assembled>) -> Vec<u64> {
    match a {
        Some(Assembled::Frame(f)) => f.iter().map(|p| p.seq).collect(),
        other => panic!("expected a frame, got {other:?}"),
    }
}

const WAIT: Duration = Duration::from_millis(300);

#[test]
fn frames_come_out_whole_and_in_order_whatever_the_arrival_order() {
    let now = Instant::now();
    let mut a = Assembler::video(WAIT);
    let mut all: Vec<Held> = (0..3).flat_map(|n| frame(n, n == 0)).collect();
    // The first packet first (the recorder admits from a keyframe's start), the rest reversed.
    let first = all.remove(0);
    a.push(first);
    assert!(
        a.poll(now).is_none(),
        "an incomplete frame is not handed out"
    );
    for p in all.into_iter().rev() {
        a.push(p);
    }
    assert_eq!(seqs(a.poll(now)), vec![0, 1, 2]);
    assert_eq!(seqs(a.poll(now)), vec![3, 4, 5]);
    assert_eq!(seqs(a.poll(now)), vec![6, 7, 8]);
    assert!(a.poll(now).is_none());
}

#[test]
fn a_retransmission_within_the_wait_fills_the_hole() {
    let now = Instant::now();
    let mut a = Assembler::video(WAIT);
    for p in frame(0, true).into_iter().chain(frame(1, false)) {
        if p.seq != 4 {
            a.push(p);
        }
    }
    assert_eq!(seqs(a.poll(now)), vec![0, 1, 2]);
    assert!(
        a.poll(now + WAIT / 2).is_none(),
        "waits for the missing packet"
    );
    a.push(pkt(4, 100, false, false));
    assert_eq!(seqs(a.poll(now + WAIT / 2)), vec![3, 4, 5]);
}

#[test]
fn a_packet_lost_for_good_skips_to_the_next_keyframe() {
    let now = Instant::now();
    let mut a = Assembler::video(WAIT);
    let frames: Vec<Held> = (0..4).flat_map(|n| frame(n, n == 0 || n == 3)).collect();
    for p in frames {
        if p.seq != 4 {
            a.push(p);
        }
    }
    assert_eq!(seqs(a.poll(now)), vec![0, 1, 2]);
    assert!(a.poll(now).is_none());
    // Past the wait: frame 1 (the hole) and frame 2 (a delta after it) are skipped, not written.
    match a.poll(now + WAIT) {
        Some(Assembled::Skipped { packets }) => assert_eq!(packets, 6, "frames 1 and 2"),
        other => panic!("expected a skip, got {other:?}"),
    }
    assert_eq!(seqs(a.poll(now + WAIT)), vec![9, 10, 11]);
    // The retransmission that comes too late is dropped.
    a.push(pkt(4, 100, false, false));
    assert!(a.poll(now + WAIT).is_none());
}

#[test]
fn a_frame_without_its_marker_is_never_written() {
    let now = Instant::now();
    let mut a = Assembler::video(WAIT);
    a.push(pkt(0, 0, false, true));
    a.push(pkt(1, 0, false, false));
    // Seq 2 starts the next frame (another time) although frame 0 never ended.
    a.push(pkt(2, 100, true, false));
    a.push(pkt(3, 200, false, true));
    a.push(pkt(4, 200, true, false));
    match a.poll(now) {
        Some(Assembled::Skipped { packets }) => assert_eq!(packets, 3),
        other => panic!("expected a skip, got {other:?}"),
    }
    assert_eq!(seqs(a.poll(now)), vec![3, 4]);
}

#[test]
fn the_wait_ends_at_once_when_too_many_packets_are_held() {
    let now = Instant::now();
    let mut a = Assembler::video(WAIT);
    a.push(pkt(0, 0, true, true));
    assert_eq!(seqs(a.poll(now)), vec![0]);
    // Seq 1 is missing; a long run of deltas piles up behind it, then a keyframe.
    let n = MAX_HELD_PACKETS as u64;
    for seq in 2..n + 2 {
        a.push(pkt(seq, seq, true, false));
    }
    a.push(pkt(n + 2, n + 2, true, true));
    // No time has passed, yet the buffer is full: the hole is given up on.
    assert!(matches!(a.poll(now), Some(Assembled::Skipped { .. })));
    assert_eq!(seqs(a.poll(now)), vec![n + 2]);
    assert!(a.held() == 0);
}

#[test]
fn audio_goes_on_past_a_lost_packet() {
    let now = Instant::now();
    let mut a = Assembler::audio(Duration::from_millis(60));
    for seq in [0u64, 1, 3, 4] {
        a.push(pkt(seq, seq * 960, seq == 0, false));
    }
    assert_eq!(seqs(a.poll(now)), vec![0]);
    assert_eq!(seqs(a.poll(now)), vec![1]);
    assert!(a.poll(now).is_none(), "waits briefly for seq 2");
    assert!(matches!(
        a.poll(now + Duration::from_millis(60)),
        Some(Assembled::Skipped { packets: 1 })
    ));
    assert_eq!(seqs(a.poll(now + Duration::from_millis(60))), vec![3]);
    assert_eq!(seqs(a.poll(now + Duration::from_millis(60))), vec![4]);
}
