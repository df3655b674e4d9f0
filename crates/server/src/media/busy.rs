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

/// Weight of the newest one-second sample in the smoothed ratio: a burst of handshakes lasting a
/// second moves it halfway, a sustained overload reaches 0.95 within five seconds.
const NEW_WEIGHT: f64 = 0.5;

/// Per worker: accumulates busy time and publishes the smoothed ratio once per period.
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
        let fold = |new: f64, old: f64| NEW_WEIGHT * new + (1.0 - NEW_WEIGHT) * old;
        self.smoothed = Busy {
            total: fold(total, self.smoothed.total),
            steady: fold(steady, self.smoothed.steady),
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

    #[test]
    fn a_sustained_overload_crosses_the_limit_and_a_short_burst_does_not() {
        let t0 = Instant::now();
        let mut m = BusyMeter::new(t0);
        let sec = Duration::from_secs(1);
        // One second fully busy: halfway.
        m.add(t0, t0 + sec);
        assert!((m.tick(t0 + sec).total - 0.5).abs() < 1e-9);
        // Then idle: it decays.
        assert!((m.tick(t0 + 2 * sec).total - 0.25).abs() < 1e-9);
        // Five busy seconds in a row: over 0.95.
        let mut r = 0.0;
        for i in 2..7 {
            m.add(t0 + i * sec, t0 + (i + 1) * sec);
            r = m.tick(t0 + (i + 1) * sec).total;
        }
        assert!(r > 0.95, "{r}");
    }

    #[test]
    fn a_quarter_busy_worker_reads_a_quarter() {
        let t0 = Instant::now();
        let mut m = BusyMeter::new(t0);
        let mut r = 0.0;
        for i in 0..20u32 {
            let start = t0 + Duration::from_millis(u64::from(i) * 1000);
            m.add(start, start + Duration::from_millis(250));
            r = m.tick(start + Duration::from_secs(1)).total;
        }
        assert!((r - 0.25).abs() < 1e-3, "{r}");
    }

    #[test]
    fn joining_work_counts_in_the_total_but_not_in_the_steady_share() {
        let t0 = Instant::now();
        let mut m = BusyMeter::new(t0);
        let mut r = Busy::default();
        for i in 0..20u32 {
            let start = t0 + Duration::from_millis(u64::from(i) * 1000);
            // 600 ms of work a second, 400 of them handshakes.
            m.add(start, start + Duration::from_millis(600));
            m.add_joining(Duration::from_millis(400));
            r = m.tick(start + Duration::from_secs(1));
        }
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
