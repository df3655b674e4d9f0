//! Redis trouble. While Redis does not answer, the rooms running on a node go on (their media and
//! chat need no Redis), a join for a room this node runs is served here, and work that needs the
//! directory (a room another node runs, placing a new room, a relay) is refused as retryable.
//!
//! When Redis answers again, every node's lease and most room entries have expired meanwhile. For
//! a grace of one room lease after its last failed request, a node neither takes other nodes for
//! lost (they are re-registering too: the same outage stopped their heartbeats) nor places rooms
//! anew (their owners re-claim their entries at their next heartbeat, directory.rs). Every node
//! talks to Redis each third of a lease, so an outage long enough to expire a lease is one every
//! node has seen, and each waits its own grace.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use convene_proto::ErrorCode;

use super::Cluster;
use crate::error::ServerError;

#[derive(Default)]
pub(crate) struct RedisHealth {
    last_failure: Mutex<Option<Instant>>,
}

impl RedisHealth {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // A plain value: a panicking holder cannot leave it half-made.
        self.last_failure.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn failed(&self) {
        *self.lock() = Some(Instant::now());
    }

    /// True when no request has failed within `grace`.
    pub fn settled(&self, grace: Duration) -> bool {
        self.lock().is_none_or(|at| at.elapsed() >= grace)
    }
}

impl Cluster {
    /// Notes a failed Redis request and says what a client is told: the room's node cannot be
    /// found or chosen now.
    pub(crate) fn unavailable(&self, e: &redis::RedisError) -> ServerError {
        self.health.failed();
        tracing::warn!(error = %e, "cluster: Redis request failed");
        ServerError::client(
            ErrorCode::ServerBusy,
            "the cluster's room directory (Redis) does not answer; try again shortly",
        )
    }

    /// Notes a failed Redis request of a background task (heartbeat, renewal, sweep).
    pub(crate) fn redis_failed(&self) {
        self.health.failed();
    }

    /// Whether Redis has answered every request for a room lease: other nodes have had time to
    /// re-register and re-claim their rooms after an outage.
    pub(crate) fn settled(&self) -> bool {
        self.health
            .settled(Duration::from_millis(self.room_lease_ms()))
    }

    /// The refusal while the cluster recovers from an outage (retryable).
    pub(crate) fn recovering() -> ServerError {
        ServerError::client(
            ErrorCode::ServerBusy,
            "the cluster is recovering from a Redis outage; try again in a few seconds",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settles_a_grace_after_the_last_failure() {
        let h = RedisHealth::default();
        assert!(h.settled(Duration::from_secs(60)), "never failed");
        h.failed();
        assert!(!h.settled(Duration::from_secs(60)));
        assert!(h.settled(Duration::ZERO));
        std::thread::sleep(Duration::from_millis(30));
        assert!(h.settled(Duration::from_millis(20)));
        assert!(!h.settled(Duration::from_secs(60)));
    }
}
