//! Gives freed heap memory back to the system when the node goes idle. glibc keeps what a busy
//! spell freed in its arenas (one per thread that allocated), so after a burst of meetings a node's
//! resident size stays near its peak although nothing is in use any more: the churn soak
//! (scripts/soak.sh) saw +28 % after every participant had left. `malloc_trim` returns the free
//! pages of every arena. It runs once each time the node is left without rooms, never while a
//! meeting runs (it walks the heap holding each arena's lock). Before it, the database library
//! gives back its caches (SQLite's page caches: a few MiB after a long busy spell).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::state::AppState;

/// How often the node looks whether it has become idle.
const CHECK_EVERY: Duration = Duration::from_secs(10);

pub async fn trim_when_idle(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let mut trimmed = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if !state.rooms.is_empty() {
            trimmed = false;
            continue;
        }
        if trimmed {
            continue;
        }
        trimmed = true;
        if let Err(e) = state.store.release_memory().await {
            tracing::debug!(error = %e, "the database kept its caches");
        }
        let released = tokio::task::spawn_blocking(trim).await.unwrap_or(false);
        tracing::debug!(
            released,
            "no rooms: freed heap memory returned to the system"
        );
    }
}

/// Whether glibc gave memory back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() -> bool {
    // SAFETY: malloc_trim only takes the allocator's own locks; 0 keeps no padding at the top.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other allocators (musl, other systems) have no such call.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}
