//! One incoming RTP stream (a media SSRC and its RTX): which packets arrived, which to ask for
//! again (NACK), and the figures of its receiver report (RFC 3550 6.4.1, A.3 and A.8).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::rtcp::ReportBlock;
use super::rtp::SeqExt;

/// A jump of more sequence numbers than this is a new start, not a loss to recover.
const MAX_GAP: u64 = 1000;
/// A missing packet is asked for again this often ...
const NACK_INTERVAL: Duration = Duration::from_millis(33);
/// ... at most this many times ...
const MAX_NACKS: u8 = 5;
/// ... and not once it is this old (the receiver gives up on its frame sooner).
const NACK_WINDOW: Duration = Duration::from_millis(500);
/// A missing packet that arrives this late is no longer taken (it counts as a duplicate).
const MISSING_KEEP: Duration = Duration::from_secs(2);

struct Missing {
    since: Instant,
    nacks: u8,
    last_nack: Option<Instant>,
}

/// What became of a packet's sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Not seen before: hand it on.
    New,
    /// Seen already (a repeated retransmission), or too late to be waited for.
    Duplicate,
}

pub(crate) struct RxStream {
    pub ssrc: u32,
    pub rtx: Option<u32>,
    /// The receiver's track (its index) this stream's packets are for: found once per mapping,
    /// not per packet.
    pub track: usize,
    clock_rate: u32,
    /// Extends the media sequence numbers (and RTX's original ones) of packets taken.
    pub seq: SeqExt,
    base: Option<u64>,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Interarrival jitter in timestamp units (RFC 3550 A.8), and the last transit time.
    jitter: f64,
    transit: Option<u32>,
    /// The last sender report: the middle of its NTP time, and when it came.
    last_sr: Option<(u32, Instant)>,
    missing: BTreeMap<u64, Missing>,
}

impl RxStream {
    pub fn new(ssrc: u32, rtx: Option<u32>, track: usize, clock_rate: u32) -> Self {
        RxStream {
            ssrc,
            rtx,
            track,
            clock_rate,
            seq: SeqExt::default(),
            base: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter: 0.0,
            transit: None,
            last_sr: None,
            missing: BTreeMap::new(),
        }
    }

    /// A packet (original or recovered) with extended sequence number `ext`.
    pub fn arrive(&mut self, ext: u64, now: Instant) -> Arrival {
        match self.seq.max() {
            None => self.base = Some(ext),
            Some(max) if ext > max => {
                let gap = ext - max - 1;
                if gap <= MAX_GAP {
                    for s in max + 1..ext {
                        self.missing.insert(
                            s,
                            Missing {
                                since: now,
                                nacks: 0,
                                last_nack: None,
                            },
                        );
                    }
                }
            }
            Some(_) => {
                if self.missing.remove(&ext).is_none() {
                    return Arrival::Duplicate;
                }
            }
        }
        self.seq.accept(ext);
        self.received += 1;
        Arrival::New
    }

    /// Jitter from an original packet's RTP timestamp and arrival (µs on any fixed clock).
    pub fn timing(&mut self, rtp_time: u32, arrival_us: u64) {
        // In u64 (a u128 division is a library call): µs times 90 kHz overflows after 6 years.
        let arrival = (arrival_us.wrapping_mul(u64::from(self.clock_rate)) / 1_000_000) as u32;
        let transit = arrival.wrapping_sub(rtp_time);
        if let Some(prev) = self.transit {
            let d = f64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }

    pub fn sender_report(&mut self, ntp_middle: u32, now: Instant) {
        self.last_sr = Some((ntp_middle, now));
    }

    /// Sequence numbers to ask for now, and whether any may still be asked for later. Nothing
    /// for a stream without RTX: the sender has no way to resend (str0m and browsers negotiate
    /// none for Opus), and asking would only load it with feedback.
    pub fn nacks(&mut self, now: Instant, out: &mut Vec<u16>) -> bool {
        self.missing
            .retain(|_, m| now.saturating_duration_since(m.since) < MISSING_KEEP);
        if self.rtx.is_none() {
            return false;
        }
        let mut later = false;
        for (&seq, m) in self.missing.iter_mut() {
            if m.nacks >= MAX_NACKS || now.saturating_duration_since(m.since) >= NACK_WINDOW {
                continue;
            }
            if m.last_nack
                .is_none_or(|t| now.saturating_duration_since(t) >= NACK_INTERVAL)
            {
                out.push(seq as u16);
                m.nacks += 1;
                m.last_nack = Some(now);
            }
            later |= m.nacks < MAX_NACKS;
        }
        later
    }

    pub fn has_missing(&self) -> bool {
        !self.missing.is_empty()
    }

    /// This stream's report block; None before its first packet.
    pub fn report(&mut self, now: Instant) -> Option<ReportBlock> {
        let (base, max) = (self.base?, self.seq.max()?);
        let expected = max - base + 1;
        let lost = expected as i64 - self.received as i64;
        let expected_interval = expected - self.expected_prior;
        let received_interval = self.received - self.received_prior;
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((ntp, at)) => {
                let d = now.saturating_duration_since(at);
                (ntp, (d.as_micros() * 65_536 / 1_000_000) as u32)
            }
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: lost.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
            highest_seq: max as u32,
            jitter: self.jitter.round() as u32,
            last_sr,
            delay_since_last_sr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> RxStream {
        RxStream::new(5, Some(6), 0, 90_000)
    }

    #[test]
    fn gaps_are_asked_for_until_they_arrive_and_repeats_are_dropped() {
        let t = Instant::now();
        let mut s = stream();
        for seq in [10, 11, 14] {
            assert_eq!(s.arrive(seq, t), Arrival::New);
        }
        let mut want = Vec::new();
        assert!(s.nacks(t, &mut want));
        assert_eq!(want, [12, 13]);
        // Not again before the interval; again after it.
        want.clear();
        s.nacks(t + Duration::from_millis(10), &mut want);
        assert!(want.is_empty());
        s.nacks(t + NACK_INTERVAL, &mut want);
        assert_eq!(want, [12, 13]);
        // 13 is recovered; a second copy of it, and an old packet, are duplicates.
        assert_eq!(s.arrive(13, t), Arrival::New);
        assert_eq!(s.arrive(13, t), Arrival::Duplicate);
        assert_eq!(s.arrive(11, t), Arrival::Duplicate);
        want.clear();
        s.nacks(t + NACK_INTERVAL * 2, &mut want);
        assert_eq!(want, [12]);
        // After the window nothing is asked for; after the keep time it is not taken either.
        want.clear();
        assert!(!s.nacks(t + NACK_WINDOW, &mut want) && want.is_empty());
        assert!(s.has_missing());
        s.nacks(t + MISSING_KEEP, &mut want);
        assert!(!s.has_missing());
        assert_eq!(s.arrive(12, t + MISSING_KEEP), Arrival::Duplicate);
    }

    #[test]
    fn a_stream_without_rtx_asks_for_nothing() {
        let t = Instant::now();
        let mut s = RxStream::new(5, None, 0, 48_000);
        s.arrive(1, t);
        s.arrive(5, t);
        let mut want = Vec::new();
        assert!(!s.nacks(t, &mut want));
        assert!(want.is_empty());
        // A late packet is still taken.
        assert_eq!(s.arrive(3, t), Arrival::New);
    }

    #[test]
    fn asking_stops_after_the_most_nacks() {
        let t = Instant::now();
        let mut s = stream();
        s.arrive(1, t);
        s.arrive(3, t);
        let mut n = 0;
        for k in 0..20 {
            let mut want = Vec::new();
            s.nacks(t + NACK_INTERVAL * k, &mut want);
            n += want.len();
        }
        assert_eq!(n, usize::from(MAX_NACKS));
    }

    #[test]
    fn a_jump_is_a_new_start_not_a_loss() {
        let t = Instant::now();
        let mut s = stream();
        s.arrive(1, t);
        s.arrive(1 + MAX_GAP + 2, t);
        assert!(!s.has_missing());
    }

    #[test]
    fn reports_count_loss_per_interval_and_in_all() {
        let t = Instant::now();
        let mut s = stream();
        assert!(s.report(t).is_none(), "nothing received yet");
        // 100..=199 with 10 lost.
        for seq in 100..200 {
            if seq % 10 != 5 {
                s.arrive(seq, t);
            }
        }
        s.sender_report(0x1234_5678, t);
        let r = s.report(t + Duration::from_millis(500)).expect("report");
        assert_eq!(r.ssrc, 5);
        assert_eq!(r.highest_seq, 199);
        assert_eq!(r.cumulative_lost, 10);
        assert_eq!(r.fraction_lost, (10 * 256 / 100) as u8);
        assert_eq!((r.last_sr, r.delay_since_last_sr), (0x1234_5678, 32_768));
        // The next interval lost nothing.
        for seq in 200..250 {
            s.arrive(seq, t);
        }
        let r = s.report(t).expect("report");
        assert_eq!((r.fraction_lost, r.cumulative_lost), (0, 10));
    }

    #[test]
    fn jitter_follows_uneven_arrivals() {
        let mut s = stream();
        // 30 fps at 90 kHz, arriving exactly on time: no jitter.
        for k in 0..50u32 {
            s.timing(k * 3000, u64::from(k) * 33_333 + 1);
        }
        let even = s.report_jitter();
        assert!(even <= 1.0, "{even}");
        // Every other frame 10 ms late: jitter grows towards ~900 units.
        for k in 50..200u32 {
            let late = if k % 2 == 0 { 10_000 } else { 0 };
            s.timing(k * 3000, u64::from(k) * 33_333 + late);
        }
        let uneven = s.report_jitter();
        assert!((800.0..1000.0).contains(&uneven), "{uneven}");
    }

    impl RxStream {
        fn report_jitter(&self) -> f64 {
            self.jitter
        }
    }
}
