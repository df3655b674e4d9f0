//! Whether a media worker can take one more participant: its measured busy ratio, projected
//! forward over the joins it took too recently for their load to show in that measure.
//!
//! A join costs a worker almost nothing until the newcomer's handshakes finish and its media flows,
//! and the meter reports once a second after that, smoothed over a few seconds (so that a burst of
//! handshakes refuses no one). Judged by that measure alone, a worker under a ramp of joins takes
//! newcomers for seconds after its real load passed the limit (run 6 in docs/benchmarks-history.md: 802
//! listeners admitted where about a third could be served). So each recent join counts as an
//! average participant of its worker already.
//!
//! The average is taken from the worker's steady share (its busy time without handshakes and
//! negotiation): during a ramp the handshakes make a worker read busy, and projecting that
//! forward refused joins at a third of a core (run 8, fan-out 1 → 500: 101 of 501 refused at 64 %
//! of the 2 cores). A worker whose whole ratio is at the limit takes no one either way.
//!
//! A join stops counting once its media session has been connected for [`SHOWS_AFTER`]: from
//! then on its load is in the measure. Counting every join of the last five seconds instead
//! counted a fast ramp's early joins twice, in the measure and in the projection, and refused
//! half of what a worker could carry while the ramp lasted (run 10, fan-out 1 → 500: 368 of 501
//! admitted at 83 % of one core).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use convene_proto::ParticipantId;

use super::busy::Busy;

/// A join whose media session has not connected within this long stops counting (handshakes
/// take a few hundred ms, up to 2 s on a busy worker; past that it may never connect).
pub(super) const PENDING_WINDOW: Duration = Duration::from_secs(5);
/// How long a connected participant's media takes to show in the steady share: a 250 ms
/// measuring period, then the smoothing (a step shows 94 % after a second).
pub(super) const SHOWS_AFTER: Duration = Duration::from_millis(1500);

/// A join whose load may not show in its worker's measure yet.
#[derive(Debug)]
struct Pending {
    participant: ParticipantId,
    placed: Instant,
    connected: Option<Instant>,
}

impl Pending {
    fn counts(&self, now: Instant) -> bool {
        match self.connected {
            None => now.saturating_duration_since(self.placed) < PENDING_WINDOW,
            Some(c) => now.saturating_duration_since(c) < SHOWS_AFTER,
        }
    }
}

/// Recent joins per worker.
#[derive(Debug)]
pub(super) struct Admission {
    recent: Vec<VecDeque<Pending>>,
}

impl Admission {
    pub fn new(workers: usize) -> Self {
        Self {
            recent: (0..workers.max(1)).map(|_| VecDeque::new()).collect(),
        }
    }

    /// `participant` was placed on `worker`.
    pub fn placed(&mut self, worker: usize, participant: ParticipantId, now: Instant) {
        if let Some(q) = self.recent.get_mut(worker) {
            q.push_back(Pending {
                participant,
                placed: now,
                connected: None,
            });
        }
    }

    /// `participant`'s media session on `worker` connected (its media starts to flow).
    pub fn connected(&mut self, worker: usize, participant: &ParticipantId, now: Instant) {
        let Some(q) = self.recent.get_mut(worker) else {
            return;
        };
        if let Some(p) = q
            .iter_mut()
            .rev()
            .find(|p| &p.participant == participant && p.connected.is_none())
        {
            p.connected = Some(now);
        }
    }

    /// Which workers take no newcomers (none when `limit` is 0: admission control is off):
    /// those busy at or over `limit` now, and those whose steady share, projected over their
    /// recent joins, reaches it. `busy` is each worker's measured ratios, `load` its participants
    /// now (those of the recent joins included).
    pub fn saturated(
        &mut self,
        busy: &[Busy],
        load: &[usize],
        limit: f64,
        now: Instant,
    ) -> Vec<bool> {
        (0..self.recent.len())
            .map(|w| {
                let q = &mut self.recent[w];
                q.retain(|p| p.counts(now));
                let b = busy.get(w).copied().unwrap_or_default();
                let load = load.get(w).copied().unwrap_or(0);
                limit > 0.0 && (b.total >= limit || projected(b.steady, load, q.len()) >= limit)
            })
            .collect()
    }
}

/// The ratio a worker measured at `ratio` with `load` participants will show once `pending` of
/// them (recent joins) bring their share. Each is taken to cost the worker's average: `ratio` /
/// `load`. That under-counts them (the measure holds only the older participants' load), but it
/// stays small when a ramp starts on an idle worker whose measure is mostly handshakes; it still
/// stops a ramp at most a window's joins past the limit, not several seconds' worth.
pub(super) fn projected(ratio: f64, load: usize, pending: usize) -> f64 {
    if load == 0 {
        return ratio;
    }
    ratio * (load + pending.min(load)) as f64 / load as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: f64 = 0.95;

    /// A worker measured at `r`, none of it joining work.
    fn same(r: f64) -> Busy {
        Busy {
            total: r,
            steady: r,
        }
    }

    fn id(i: usize) -> ParticipantId {
        ParticipantId::new(format!("p_{i}"))
    }

    /// `n` joins placed on `worker` at `at`.
    fn placed_n(a: &mut Admission, worker: usize, n: usize, at: Instant) {
        for i in 0..n {
            a.placed(worker, id(i), at);
        }
    }

    #[test]
    fn without_recent_joins_the_measure_decides() {
        let mut a = Admission::new(2);
        let now = Instant::now();
        let s = a.saturated(&[same(0.90), same(0.96)], &[300, 300], LIMIT, now);
        assert_eq!(s, vec![false, true]);
    }

    #[test]
    fn recent_joins_count_before_their_load_shows() {
        // 400 participants, 0.6 busy: fine by the measure. But 250 of them joined in the last
        // seconds, so the worker will soon be at 0.6 * 650 / 400 = 0.975.
        let mut a = Admission::new(1);
        let t0 = Instant::now();
        placed_n(&mut a, 0, 250, t0);
        assert_eq!(a.saturated(&[same(0.6)], &[400], LIMIT, t0), vec![true]);
        // Joins that never connect stop counting after the window.
        let later = t0 + PENDING_WINDOW;
        assert_eq!(a.saturated(&[same(0.6)], &[400], LIMIT, later), vec![false]);
    }

    #[test]
    fn a_join_stops_counting_once_its_media_shows() {
        let mut a = Admission::new(1);
        let t0 = Instant::now();
        placed_n(&mut a, 0, 250, t0);
        let t1 = t0 + Duration::from_millis(200);
        for i in 0..250 {
            a.connected(0, &id(i), t1);
        }
        // Connected, but their media is not in the measure yet: still counted.
        let soon = t1 + SHOWS_AFTER / 2;
        assert_eq!(a.saturated(&[same(0.6)], &[400], LIMIT, soon), vec![true]);
        // Now it is: counting them again would refuse a worker at 0.6.
        let shown = t1 + SHOWS_AFTER;
        assert!(shown < t0 + PENDING_WINDOW);
        assert_eq!(a.saturated(&[same(0.6)], &[400], LIMIT, shown), vec![false]);
    }

    #[test]
    fn only_the_joins_still_connecting_count_in_a_ramp() {
        // 100 joins a second for 4 s; each connects 100 ms after it was placed. At the end, the
        // last ~1.6 s of joins count (160), not all 400 of the last 5 s.
        let mut a = Admission::new(1);
        let t0 = Instant::now();
        for i in 0..400 {
            let at = t0 + Duration::from_millis(10 * i as u64);
            a.placed(0, id(i), at);
            if i >= 10 {
                a.connected(0, &id(i - 10), at);
            }
        }
        let end = t0 + Duration::from_secs(4);
        // 400 participants at 0.55: 0.55 * (400 + ~160) / 400 = ~0.77, under the limit; with
        // every join of the window counted it would be 0.55 * 2 = 1.1.
        assert_eq!(a.saturated(&[same(0.55)], &[400], LIMIT, end), vec![false]);
        assert_eq!(a.saturated(&[same(0.7)], &[400], LIMIT, end), vec![true]);
    }

    #[test]
    fn a_connect_is_matched_to_its_own_join_and_worker() {
        let mut a = Admission::new(2);
        let t0 = Instant::now();
        placed_n(&mut a, 0, 10, t0);
        // Another worker's participant, or an unknown one: nothing changes here.
        a.connected(1, &id(3), t0);
        a.connected(0, &id(99), t0);
        let later = t0 + SHOWS_AFTER;
        assert_eq!(a.recent[0].iter().filter(|p| p.counts(later)).count(), 10);
        a.connected(0, &id(3), t0);
        assert_eq!(a.recent[0].iter().filter(|p| p.counts(later)).count(), 9);
    }

    #[test]
    fn joins_count_only_on_their_own_worker() {
        let mut a = Admission::new(2);
        let t0 = Instant::now();
        placed_n(&mut a, 1, 200, t0);
        let s = a.saturated(&[same(0.7), same(0.7)], &[300, 300], LIMIT, t0);
        assert_eq!(s, vec![false, true]);
    }

    #[test]
    fn a_ramp_starting_on_an_idle_worker_is_not_refused() {
        // Everyone joined in the last seconds; the worker is busy with their handshakes only.
        let mut a = Admission::new(1);
        let t0 = Instant::now();
        for i in 0..100 {
            a.placed(0, id(i), t0 + Duration::from_millis(10 * i as u64));
        }
        let now = t0 + Duration::from_secs(1);
        assert_eq!(a.saturated(&[same(0.3)], &[100], LIMIT, now), vec![false]);
        assert!((projected(0.3, 100, 100) - 0.6).abs() < 1e-9);
    }

    #[test]
    fn handshakes_of_a_ramp_are_not_projected_forward() {
        // 200 participants, all recent: the worker reads 0.6 busy, but 0.4 of it is their
        // handshakes. Their media will cost about 0.2 * 2 = 0.4, not 0.6 * 2 = 1.2.
        let mut a = Admission::new(1);
        let t0 = Instant::now();
        placed_n(&mut a, 0, 200, t0);
        let ramp = Busy {
            total: 0.6,
            steady: 0.2,
        };
        assert_eq!(a.saturated(&[ramp], &[200], LIMIT, t0), vec![false]);
        // The same reading as all media is refused.
        assert_eq!(a.saturated(&[same(0.6)], &[200], LIMIT, t0), vec![true]);
    }

    #[test]
    fn a_worker_at_the_limit_takes_no_one_whatever_keeps_it_busy() {
        let mut a = Admission::new(1);
        let t0 = Instant::now();
        let handshakes = Busy {
            total: 0.97,
            steady: 0.1,
        };
        assert_eq!(a.saturated(&[handshakes], &[50], LIMIT, t0), vec![true]);
    }

    #[test]
    fn off_refuses_nothing() {
        let mut a = Admission::new(2);
        let t0 = Instant::now();
        a.placed(0, id(0), t0);
        assert_eq!(
            a.saturated(&[same(1.0), same(1.0)], &[10, 10], 0.0, t0),
            vec![false, false]
        );
    }

    #[test]
    fn an_empty_worker_reads_its_measure() {
        assert_eq!(projected(0.4, 0, 5), 0.4);
        assert_eq!(projected(0.5, 10, 0), 0.5);
    }
}
