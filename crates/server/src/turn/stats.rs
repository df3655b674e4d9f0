//! The TURN server's counters, rendered on /metrics.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Stats {
    pub allocations_made: AtomicU64,
    /// 401 with credentials given (forged, expired, malformed); challenges are not counted.
    pub auth_refused: AtomicU64,
    /// 403: a peer address the relay may not reach.
    pub peers_refused: AtomicU64,
    /// 486: a participant's or the node's allocations.
    pub quota_refused: AtomicU64,
}

impl Stats {
    pub fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self, allocations: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP convene_turn_allocations TURN allocations held now.\n\
             # TYPE convene_turn_allocations gauge\nconvene_turn_allocations {allocations}"
        );
        let _ = writeln!(
            out,
            "# HELP convene_turn_allocations_total TURN allocations made.\n\
             # TYPE convene_turn_allocations_total counter\nconvene_turn_allocations_total {}",
            self.allocations_made.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP convene_turn_refused_total TURN requests refused, by reason (auth: 401 with \
             credentials; peer: 403 peer address not allowed; quota: 486).\n\
             # TYPE convene_turn_refused_total counter"
        );
        for (reason, c) in [
            ("auth", &self.auth_refused),
            ("peer", &self.peers_refused),
            ("quota", &self.quota_refused),
        ] {
            let _ = writeln!(
                out,
                "convene_turn_refused_total{{reason=\"{reason}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        out
    }
}
