//! How busy a media worker is: the share of wall-clock time it spends handling input, timers and
//! output rather than waiting for them. A worker that keeps up sleeps between packets; one near 1.0
//! is saturated (its socket backs up, so new participants' handshakes would time out), and joins
//! are refused instead (`server_busy`, see [`super::MediaPlane::admits`] and `admission.rs`).
//!
//! Wall-clock time, not CPU time: a worker starved of a core by other processes falls behind just
//! the same.
//!
//! Joining work (handshake datagrams: STUN and DTLS; commands that add, negotiate or remove
//! participants) is also counted on its own. It lasts only while people join, so a ramp of joins
//! reads busy for a moment without the worker's steady load being high; admission projects the
//! steady share forward, not the whole (`admission.rs`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How often a worker samples its busy time.
pub(super) const PERIOD: Duration = Duration::from_millis(250);
/// Weight of the newest sample in the smoothed total: a burst of handshakes lasting a second
/// (four samples) moves it halfway, a sustained overload reaches 0.95 within five seconds.
const TOTAL_WEIGHT: f64 = 0.16;
/// Weight of the newest sample in the smoothed steady share, which holds no handshakes and so
/// can follow quickly (94 % of a step within a second): while a ramp of joins runs, every
/// moment its newcomers' media goes unseen lets more in than the worker can carry.
const STEADY_WEIGHT: f64 = 0.5;

/// Per worker: accumulates busy time and publishes the smoothed ratios once per [`PERIOD`].
#[derive(Debug)]
pub(super) struct BusyMeter {
    busy: Duration,
    /// The part of `busy` spent on joining work.
    joining: Duration,
    since: Instant,
    smoothed: Busy,
}

/// A worker's smoothed busy ratios, 0.0-1.0.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Busy {
    /// Everything the worker did.
    pub total: f64,
    /// Without joining work: what its participants' media costs.
    pub steady: f64,
}

impl BusyMeter {
    pub fn new(now: Instant) -> Self {
        Self {
            busy: Duration::ZERO,
            joining: Duration::ZERO,
            since: now,
            smoothed: Busy::default(),
        }
    }

    /// The worker worked from `from` to `to`.
    pub fn add(&mut self, from: Instant, to: Instant) {
        self.busy += to.saturating_duration_since(from);
    }

    /// Of the time given to `add`, `spent` went to joining work.
    pub fn add_joining(&mut self, spent: Duration) {
        self.joining += spent;
    }

    /// Ends a period: folds its ratios into the smoothed ones and returns those.
    pub fn tick(&mut self, now: Instant) -> Busy {
        let span = now.saturating_duration_since(self.since);
        if span.is_zero() {
            return self.smoothed;
        }
        let ratio = |d: Duration| (d.as_secs_f64() / span.as_secs_f64()).min(1.0);
        let total = ratio(self.busy);
        let steady = ratio(self.busy.saturating_sub(self.joining));
        let fold = |w: f64, new: f64, old: f64| w * new + (1.0 - w) * old;
        self.smoothed = Busy {
            total: fold(TOTAL_WEIGHT, total, self.smoothed.total),
            steady: fold(STEADY_WEIGHT, steady, self.smoothed.steady),
        };
        self.busy = Duration::ZERO;
        self.joining = Duration::ZERO;
        self.since = now;
        self.smoothed
    }
}

/// The workers' smoothed ratios, in thousandths, where the join path can read them.
#[derive(Debug)]
pub struct BusyBoard {
    total: Vec<AtomicU32>,
    steady: Vec<AtomicU32>,
}

impl BusyBoard {
    pub fn new(workers: usize) -> Self {
        let zeros = || (0..workers).map(|_| AtomicU32::new(0)).collect();
        Self {
            total: zeros(),
            steady: zeros(),
        }
    }

    pub fn set(&self, worker: usize, busy: Busy) {
        let permille = |r: f64| (r.clamp(0.0, 1.0) * 1000.0).round() as u32;
        if let (Some(t), Some(s)) = (self.total.get(worker), self.steady.get(worker)) {
            t.store(permille(busy.total), Ordering::Relaxed);
            s.store(permille(busy.steady), Ordering::Relaxed);
        }
    }

    /// Every worker's ratios.
    pub fn ratios(&self) -> Vec<Busy> {
        let read = |p: &AtomicU32| f64::from(p.load(Ordering::Relaxed)) / 1000.0;
        self.total
            .iter()
            .zip(&self.steady)
            .map(|(t, s)| Busy {
                total: read(t),
                steady: read(s),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `periods` samples, each busy `busy` of the period and joining `joining` of it.
    fn feed(m: &mut BusyMeter, t: &mut Instant, periods: u32, busy: f64, joining: f64) -> Busy {
        let mut r = Busy::default();
        for _ in 0..periods {
            m.add(*t, *t + PERIOD.mul_f64(busy));
            m.add_joining(PERIOD.mul_f64(joining));
            *t += PERIOD;
            r = m.tick(*t);
        }
        r
    }

    #[test]
    fn a_sustained_overload_crosses_the_limit_and_a_short_burst_does_not() {
        let mut t = Instant::now();
        let mut m = BusyMeter::new(t);
        // One second fully busy: about halfway.
        let r = feed(&mut m, &mut t, 4, 1.0, 0.0);
        assert!((r.total - 0.5).abs() < 0.02, "{r:?}");
        // Then a second idle: it decays.
        let r = feed(&mut m, &mut t, 4, 0.0, 0.0);
        assert!((r.total - 0.25).abs() < 0.02, "{r:?}");
        // Five busy seconds in a row: over 0.95.
        let r = feed(&mut m, &mut t, 20, 1.0, 0.0);
        assert!(r.total > 0.95, "{r:?}");
    }

    #[test]
    fn the_steady_share_follows_a_step_within_a_second() {
        let mut t = Instant::now();
        let mut m = BusyMeter::new(t);
        let r = feed(&mut m, &mut t, 4, 0.8, 0.0);
        assert!(r.steady > 0.74, "{r:?}");
        assert!(r.total < 0.45, "{r:?}");
    }

    #[test]
    fn a_quarter_busy_worker_reads_a_quarter() {
        let mut t = Instant::now();
        let mut m = BusyMeter::new(t);
        let r = feed(&mut m, &mut t, 80, 0.25, 0.0);
        assert!((r.total - 0.25).abs() < 1e-3, "{r:?}");
        assert!((r.steady - 0.25).abs() < 1e-3, "{r:?}");
    }

    #[test]
    fn joining_work_counts_in_the_total_but_not_in_the_steady_share() {
        let mut t = Instant::now();
        let mut m = BusyMeter::new(t);
        // 60 % of the time working, 40 % of it on handshakes.
        let r = feed(&mut m, &mut t, 80, 0.6, 0.4);
        assert!((r.total - 0.6).abs() < 1e-3, "{r:?}");
        assert!((r.steady - 0.2).abs() < 1e-3, "{r:?}");
    }

    #[test]
    fn the_board_holds_each_workers_ratio() {
        let b = BusyBoard::new(3);
        let busy = |total, steady| Busy { total, steady };
        b.set(0, busy(0.5, 0.25));
        b.set(1, busy(0.97, 0.9));
        b.set(2, busy(1.0, 1.0));
        assert_eq!(
            b.ratios(),
            vec![busy(0.5, 0.25), busy(0.97, 0.9), busy(1.0, 1.0)]
        );
    }
}
