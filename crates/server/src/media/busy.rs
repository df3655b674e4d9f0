//! How busy a media worker is: the share of wall-clock time it spends handling input, timers and
//! output rather than waiting for them. A worker that keeps up sleeps between packets; one near 1.0
//! is saturated (its socket backs up, so new participants' handshakes would time out), and joins
//! are refused instead (`server_busy`, see [`super::MediaPlane::admits`] and `admission.rs`).
//!
//! Wall-clock time, not CPU time: a worker starved of a core by other processes falls behind just
//! the same.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Weight of the newest one-second sample in the smoothed ratio: a burst of handshakes lasting a
/// second moves it halfway, a sustained overload reaches 0.95 within five seconds.
const NEW_WEIGHT: f64 = 0.5;

/// Per worker: accumulates busy time and publishes the smoothed ratio once per period.
#[derive(Debug)]
pub(super) struct BusyMeter {
    busy: Duration,
    since: Instant,
    smoothed: f64,
}

impl BusyMeter {
    pub fn new(now: Instant) -> Self {
        Self {
            busy: Duration::ZERO,
            since: now,
            smoothed: 0.0,
        }
    }

    /// The worker worked from `from` to `to`.
    pub fn add(&mut self, from: Instant, to: Instant) {
        self.busy += to.saturating_duration_since(from);
    }

    /// Ends a period: folds its ratio into the smoothed one and returns that.
    pub fn tick(&mut self, now: Instant) -> f64 {
        let span = now.saturating_duration_since(self.since);
        if span.is_zero() {
            return self.smoothed;
        }
        let ratio = (self.busy.as_secs_f64() / span.as_secs_f64()).min(1.0);
        self.smoothed = NEW_WEIGHT * ratio + (1.0 - NEW_WEIGHT) * self.smoothed;
        self.busy = Duration::ZERO;
        self.since = now;
        self.smoothed
    }
}

/// The workers' smoothed ratios, in thousandths, where the join path can read them.
#[derive(Debug)]
pub struct BusyBoard {
    permille: Vec<AtomicU32>,
}

impl BusyBoard {
    pub fn new(workers: usize) -> Self {
        Self {
            permille: (0..workers).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    pub fn set(&self, worker: usize, ratio: f64) {
        if let Some(p) = self.permille.get(worker) {
            p.store(
                (ratio.clamp(0.0, 1.0) * 1000.0).round() as u32,
                Ordering::Relaxed,
            );
        }
    }

    /// Every worker's ratio, 0.0-1.0.
    pub fn ratios(&self) -> Vec<f64> {
        self.permille
            .iter()
            .map(|p| f64::from(p.load(Ordering::Relaxed)) / 1000.0)
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
        assert!((m.tick(t0 + sec) - 0.5).abs() < 1e-9);
        // Then idle: it decays.
        assert!((m.tick(t0 + 2 * sec) - 0.25).abs() < 1e-9);
        // Five busy seconds in a row: over 0.95.
        let mut r = 0.0;
        for i in 2..7 {
            m.add(t0 + i * sec, t0 + (i + 1) * sec);
            r = m.tick(t0 + (i + 1) * sec);
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
            r = m.tick(start + Duration::from_secs(1));
        }
        assert!((r - 0.25).abs() < 1e-3, "{r}");
    }

    #[test]
    fn the_board_holds_each_workers_ratio() {
        let b = BusyBoard::new(3);
        b.set(0, 0.5);
        b.set(1, 0.97);
        b.set(2, 1.0);
        assert_eq!(b.ratios(), vec![0.5, 0.97, 1.0]);
    }
}
