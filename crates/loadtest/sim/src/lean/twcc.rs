//! Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
//! section 3.1): what arrived of the server's packets, and when, so that its send-side bandwidth
//! estimate works as it would with a browser.

use std::time::Instant;

use super::rtp::SeqExt;
use crate::prefetch::prefetch;

/// Received packets one feedback packet reports at most (about 1,100 octets when all arrived).
const MAX_RECEIVED_PER_PACKET: usize = 500;
/// Reference time unit, and receive delta unit.
const REFERENCE_UNIT_US: i64 = 64_000;
const DELTA_UNIT_US: i64 = 250;
/// Packet status symbols.
const NOT_RECEIVED: u8 = 0;
const SMALL_DELTA: u8 = 1;
const LARGE_DELTA: u8 = 2;

/// Arrivals of one session's packets, by transport-wide sequence number.
pub(crate) struct TwccRx {
    seq: SeqExt,
    /// Arrivals not reported yet: (extended sequence number, arrival).
    pending: Vec<(u64, Instant)>,
    /// Every number below this was reported (received or not).
    reported_to: Option<u64>,
    feedback_count: u8,
    /// Arrival times are counted from here.
    epoch: Instant,
    /// Packets that arrived after a report had called them lost.
    pub late: u64,
    symbols: Vec<u8>,
    deltas: Vec<i64>,
}

impl TwccRx {
    pub fn new(epoch: Instant) -> Self {
        TwccRx {
            seq: SeqExt::default(),
            pending: Vec::new(),
            reported_to: None,
            feedback_count: 0,
            epoch,
            late: 0,
            symbols: Vec::new(),
            deltas: Vec::new(),
        }
    }

    /// Brings the end of the pending list, where the next arrival goes, towards the cache.
    pub fn prefetch(&self) {
        prefetch(self.pending.as_ptr().wrapping_add(self.pending.len()));
    }

    pub fn record(&mut self, seq: u16, at: Instant) {
        let ext = self.seq.extend(seq);
        if self.reported_to.is_some_and(|r| ext < r) {
            self.late += 1;
            return;
        }
        self.seq.accept(ext);
        self.pending.push((ext, at));
    }

    /// Appends feedback RTCP packets (PT 205, FMT 15) for everything pending to `out`; returns
    /// how many.
    pub fn write_feedback(&mut self, sender_ssrc: u32, media_ssrc: u32, out: &mut Vec<u8>) -> u32 {
        if self.pending.is_empty() {
            return 0;
        }
        let mut pending = std::mem::take(&mut self.pending);
        // Arrival order may differ from sequence order; a repeated number is reported once.
        pending.sort_by_key(|&(seq, _)| seq);
        pending.dedup_by_key(|&mut (seq, _)| seq);
        let mut base = self.reported_to.unwrap_or(pending[0].0);
        let mut rest = &pending[..];
        let mut packets = 0;
        while !rest.is_empty() {
            // A report spans at most 65,535 numbers: past that, the gap is not reported.
            if rest[0].0 - base > 0xffff - MAX_RECEIVED_PER_PACKET as u64 {
                base = rest[0].0;
            }
            let n = self.write_one(base, rest, sender_ssrc, media_ssrc, out);
            base = rest[n - 1].0 + 1;
            rest = &rest[n..];
            packets += 1;
        }
        self.reported_to = Some(base);
        pending.clear();
        self.pending = pending;
        packets
    }

    /// One feedback packet from `base` through as many of `arrivals` as fit; returns how many.
    fn write_one(
        &mut self,
        base: u64,
        arrivals: &[(u64, Instant)],
        sender_ssrc: u32,
        media_ssrc: u32,
        out: &mut Vec<u8>,
    ) -> usize {
        let us = |t: Instant| t.saturating_duration_since(self.epoch).as_micros() as i64;
        let reference = us(arrivals[0].1).div_euclid(REFERENCE_UNIT_US);
        let mut at = reference * REFERENCE_UNIT_US;
        self.symbols.clear();
        self.deltas.clear();
        let mut next = base;
        let mut taken = 0;
        for &(seq, t) in arrivals.iter().take(MAX_RECEIVED_PER_PACKET) {
            let delta = (us(t) - at + DELTA_UNIT_US / 2).div_euclid(DELTA_UNIT_US);
            let symbol = match delta {
                0..=255 => SMALL_DELTA,
                d if i16::try_from(d).is_ok() => LARGE_DELTA,
                // Too far from the previous arrival for this packet: the next one starts there.
                _ if taken > 0 => break,
                // Not for the first arrival, which is within 64 ms of the reference time.
                _ => LARGE_DELTA,
            };
            let delta = delta.clamp(i64::from(i16::MIN), i64::from(i16::MAX));
            self.symbols
                .extend(std::iter::repeat_n(NOT_RECEIVED, (seq - next) as usize));
            self.symbols.push(symbol);
            self.deltas.push(delta);
            at += delta * DELTA_UNIT_US;
            next = seq + 1;
            taken += 1;
        }

        let start = out.len();
        out.extend_from_slice(&[0x80 | 15, 205, 0, 0]);
        out.extend_from_slice(&sender_ssrc.to_be_bytes());
        out.extend_from_slice(&media_ssrc.to_be_bytes());
        out.extend_from_slice(&(base as u16).to_be_bytes());
        out.extend_from_slice(&(self.symbols.len() as u16).to_be_bytes());
        let reference = (reference as u32) & 0x00ff_ffff;
        out.extend_from_slice(&((reference << 8) | u32::from(self.feedback_count)).to_be_bytes());
        self.feedback_count = self.feedback_count.wrapping_add(1);
        write_chunks(&self.symbols, out);
        for &d in &self.deltas {
            if (0..=255).contains(&d) {
                out.push(d as u8);
            } else {
                out.extend_from_slice(&(d as i16).to_be_bytes());
            }
        }
        // RTCP padding to a 32-bit boundary: the P bit, and the last octet counts the padding.
        let pad = (4 - (out.len() - start) % 4) % 4;
        if pad > 0 {
            out.extend(std::iter::repeat_n(0, pad - 1));
            out.push(pad as u8);
            out[start] |= 0x20;
        }
        let words = ((out.len() - start) / 4 - 1) as u16;
        out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
        taken
    }
}

/// Packet status chunks: a run-length chunk for a run of 7 or more equal symbols and for the
/// last few, otherwise a status vector of seven 2-bit symbols (never a partly used vector).
fn write_chunks(symbols: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < symbols.len() {
        let s = symbols[i];
        let run = symbols[i..]
            .iter()
            .take(0x1fff)
            .take_while(|&&x| x == s)
            .count();
        if run >= 7 || symbols.len() - i < 7 {
            let chunk = (u16::from(s) << 13) | run as u16;
            out.extend_from_slice(&chunk.to_be_bytes());
            i += run;
        } else {
            let mut chunk: u16 = 0b11 << 14;
            for (k, &x) in symbols[i..i + 7].iter().enumerate() {
                chunk |= u16::from(x) << (12 - 2 * k);
            }
            out.extend_from_slice(&chunk.to_be_bytes());
            i += 7;
        }
    }
}

/// Reads a feedback packet back (for tests): base, (sequence number, arrival offset from the
/// reference time in µs or None) for every status, and the feedback count.
#[cfg(test)]
pub(crate) fn parse(p: &[u8]) -> (u16, Vec<(u16, Option<i64>)>, u8) {
    let base = u16::from_be_bytes([p[12], p[13]]);
    let count = usize::from(u16::from_be_bytes([p[14], p[15]]));
    let mut symbols = Vec::new();
    let mut i = 20;
    while symbols.len() < count {
        let c = u16::from_be_bytes([p[i], p[i + 1]]);
        i += 2;
        if c >> 15 == 0 {
            let s = ((c >> 13) & 3) as u8;
            symbols.extend(std::iter::repeat_n(s, usize::from(c & 0x1fff)));
        } else {
            assert_eq!(c >> 14, 0b11, "this writer only makes 2-bit vectors");
            for k in 0..7 {
                symbols.push(((c >> (12 - 2 * k)) & 3) as u8);
            }
        }
    }
    assert_eq!(symbols.len(), count, "no symbol beyond the count");
    let mut at = 0i64;
    let mut out = Vec::new();
    for (k, s) in symbols.iter().enumerate() {
        let seq = base.wrapping_add(k as u16);
        let d = match *s {
            NOT_RECEIVED => {
                out.push((seq, None));
                continue;
            }
            SMALL_DELTA => {
                i += 1;
                i64::from(p[i - 1])
            }
            _ => {
                i += 2;
                i64::from(i16::from_be_bytes([p[i - 2], p[i - 1]]))
            }
        };
        at += d * DELTA_UNIT_US;
        out.push((seq, Some(at)));
    }
    (base, out, p[19])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn feedback(t: &mut TwccRx) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let n = t.write_feedback(1, 2, &mut out);
        let mut packets = Vec::new();
        let mut rest = &out[..];
        while !rest.is_empty() {
            let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
            assert_eq!(rest[0] & 0x1f, 15);
            assert_eq!(rest[1], 205);
            packets.push(rest[..len].to_vec());
            rest = &rest[len..];
        }
        assert_eq!(packets.len(), n as usize);
        packets
    }

    #[test]
    fn arrivals_and_losses_are_reported_with_their_times() {
        let t0 = Instant::now();
        let mut t = TwccRx::new(t0);
        let ms = |n: u64| t0 + Duration::from_micros(n * 1000);
        // 100, 101, (102 lost), 104 before 103, then 105 after a 300 ms pause (a large delta).
        t.record(100, ms(70));
        t.record(101, ms(71));
        t.record(104, ms(75));
        t.record(103, ms(76));
        t.record(105, ms(376));
        let p = feedback(&mut t);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].len() % 4, 0);
        let (base, statuses, count) = parse(&p[0]);
        assert_eq!((base, count), (100, 0));
        // Reference time 64 ms; arrivals in sequence order (104's delta from 103 is negative).
        let got: Vec<(u16, Option<i64>)> = statuses
            .iter()
            .map(|&(s, at)| (s, at.map(|a| a + 64_000)))
            .collect();
        let want = vec![
            (100, Some(70_000)),
            (101, Some(71_000)),
            (102, None),
            (103, Some(76_000)),
            (104, Some(75_000)),
            (105, Some(376_000)),
        ];
        assert_eq!(got, want);
        // The next report starts after 105; one that was called lost and comes late is not
        // reported again.
        t.record(102, ms(400));
        t.record(106, ms(401));
        assert_eq!(t.late, 1);
        let (base, statuses, count) = parse(&feedback(&mut t)[0]);
        assert_eq!((base, statuses.len(), count), (106, 1, 1));
        assert!(feedback(&mut t).is_empty(), "nothing pending");
    }

    #[test]
    fn long_runs_and_many_packets_split_into_chunks_and_packets() {
        let t0 = Instant::now();
        let mut t = TwccRx::new(t0);
        // 1,200 arrivals, every third lost, 65,530 onwards (wrapping the 16-bit numbers).
        let mut expect = Vec::new();
        for k in 0..1800u64 {
            let seq = (65_530 + k) as u16;
            if k % 3 != 2 {
                t.record(seq, t0 + Duration::from_micros(k * 400));
                expect.push(seq);
            }
        }
        let packets = feedback(&mut t);
        assert_eq!(packets.len(), 3, "500 arrivals at most per packet");
        let mut received = Vec::new();
        let mut next = 65_530u16;
        for (i, p) in packets.iter().enumerate() {
            let (base, statuses, count) = parse(p);
            assert_eq!(base, next, "packets follow each other");
            assert_eq!(usize::from(count), i);
            received.extend(statuses.iter().filter(|s| s.1.is_some()).map(|s| s.0));
            next = statuses.last().expect("some").0.wrapping_add(1);
        }
        assert_eq!(received, expect);
        // A long loss: a vector, a run of 12 lost, a run of 2 received.
        let mut t = TwccRx::new(t0);
        for seq in [1, 20, 21] {
            t.record(seq, t0);
        }
        let p = &feedback(&mut t)[0];
        assert_eq!(u16::from_be_bytes([p[22], p[23]]), 12, "run-length chunk");
        let (_, statuses, _) = parse(p);
        assert_eq!(statuses.len(), 21);
        assert_eq!(statuses.iter().filter(|s| s.1.is_none()).count(), 18);
    }

    #[test]
    fn chunks_never_leave_symbols_beyond_the_count() {
        for n in 1..30 {
            let symbols: Vec<u8> = (0..n).map(|k| [1, 1, 0, 2][k % 4]).collect();
            let mut out = Vec::new();
            write_chunks(&symbols, &mut out);
            let mut back = Vec::new();
            for c in out.chunks(2) {
                let c = u16::from_be_bytes([c[0], c[1]]);
                if c >> 15 == 0 {
                    back.extend(std::iter::repeat_n(
                        ((c >> 13) & 3) as u8,
                        usize::from(c & 0x1fff),
                    ));
                } else {
                    back.extend((0..7).map(|k| ((c >> (12 - 2 * k)) & 3) as u8));
                }
            }
            assert_eq!(back, symbols, "{n} symbols");
        }
    }
}
