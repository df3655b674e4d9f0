//! Whether the database answered the room writers' last attempt. A room's writes run one at a time,
//! so during an outage each would wait the pool's acquire timeout (`database.acquire_timeout_secs`)
//! in turn, and the fifth chat message queued would be answered after five of them. Once a write
//! finds the database unreachable, the writes behind it are refused at once (the same
//! `storage_error` they would get), and at most once a second a short ping finds out whether it
//! is back. One gate for the node: every room writes to the same database.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use convene_store::{Store, StoreError};

/// How long after a failed attempt writes are refused without trying.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How long the ping that looks for the database's return may take.
const PROBE: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct DbGate {
    /// When the database was last found unreachable; None while it answers.
    down_since: Mutex<Option<Instant>>,
}

impl DbGate {
    /// Ok when a write may be tried: the database is not known to be down, or a ping answers now.
    pub async fn admit(&self, store: &dyn Store) -> Result<(), StoreError> {
        let Some(at) = *self.lock() else {
            return Ok(());
        };
        if at.elapsed() < RETRY_AFTER {
            return Err(StoreError::Unavailable);
        }
        let answered = matches!(tokio::time::timeout(PROBE, store.ping()).await, Ok(Ok(())));
        self.set(answered);
        if answered {
            tracing::info!("the database answers again");
            Ok(())
        } else {
            Err(StoreError::Unavailable)
        }
    }

    /// Learns from a write's result: a success opens the gate, an unreachable database closes it.
    pub fn observe<T>(&self, result: &Result<T, StoreError>) {
        match result {
            Ok(_) => self.set(true),
            Err(e) if e.is_unreachable() => {
                if self.lock().is_none() {
                    tracing::warn!(error = %e, "database unreachable: room writes are refused until it answers");
                }
                self.set(false);
            }
            Err(_) => {}
        }
    }

    fn set(&self, up: bool) {
        *self.lock() = if up { None } else { Some(Instant::now()) };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // A poisoned lock only means a panic elsewhere while holding it; the value is still valid.
        self.down_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
