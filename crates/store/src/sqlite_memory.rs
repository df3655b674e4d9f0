//! SQLite's heap inside this process: how much it holds, and giving back what it caches.
//!
//! Each SQLite connection keeps a page cache (up to 2 MiB by default) that fills as the file
//! grows, and keeps it while the connection lives. After a long busy spell that is a few MiB the
//! node holds although it has gone idle, which the churn soak (scripts/soak.sh) counts as growth.
//! sqlx has no call for this, so the C library is asked directly.

use sqlx::{AnyPool, Executor};

use crate::traits::Result;

/// Bytes SQLite has allocated and not freed, over every connection of the process.
pub fn in_use() -> u64 {
    // SAFETY: sqlite3_memory_used takes no arguments and only reads SQLite's own counter (under
    // its mutex); it is safe from any thread at any time.
    let bytes = unsafe { libsqlite3_sys::sqlite3_memory_used() };
    u64::try_from(bytes).unwrap_or(0)
}

/// Frees the page cache of every connection no query holds now (`PRAGMA shrink_memory`: only
/// clean pages are dropped, so nothing written is lost; the next query reads them back from the
/// file). Connections in use are left alone.
pub async fn release(pool: &AnyPool) -> Result<()> {
    let mut held = Vec::new();
    for _ in 0..pool.num_idle() {
        match pool.try_acquire() {
            Some(conn) => held.push(conn),
            None => break,
        }
    }
    for conn in &mut held {
        conn.execute("PRAGMA shrink_memory").await?;
    }
    Ok(())
}
