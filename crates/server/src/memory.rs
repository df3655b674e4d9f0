//! The process's memory: which allocator serves it, how freed memory goes back to the system, and
//! the allocators' own count of their heap for `/metrics`.
//!
//! Everything Rust allocates goes to jemalloc (the `convene` binary installs it with
//! [`JEMALLOC_CONF`]). glibc's malloc, which served it before, keeps the holes that a churn of
//! meetings leaves among long-lived allocations: after an hour of participants joining and leaving,
//! the churn soak (scripts/soak.sh) ended +7.8 % above its baseline with every participant gone, in
//! free pieces smaller than a page that no trim can return. jemalloc keeps each size class on
//! pages of its own, fills the lowest pages first, and a background thread gives back the pages
//! nothing uses within a second. In the 10-minute soak, side by side: +1.2 % with jemalloc (+344
//! KiB anonymous) from a baseline 1.7 MiB smaller, +3.4 % with glibc (+1,052 KiB); at the same
//! CPU per forwarded packet; and the hour ended +1.3 % (docs/benchmarks.md).
//!
//! The C libraries (SQLite) still call glibc's malloc directly: its arenas are capped and trimmed
//! here too. When the node is left without rooms, the database library gives back its caches
//! (SQLite's page caches: a few MiB after a long busy spell) and `malloc_trim` returns the free
//! pages of glibc's arenas. It runs once each time the node goes idle, never while a meeting runs
//! (it walks the heap holding each arena's lock).

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

/// Caps glibc's arenas at one per core, before the server starts its threads. glibc's malloc now
/// serves only the C libraries (SQLite, on any thread that queries it), but what follows, measured
/// while it served everything, holds for them too.
///
/// By default glibc makes up to eight per core, one for each thread that allocates while the
/// others' are busy (the runtime's workers, the media workers, the blocking pool, the database's
/// threads), and
/// each keeps pages that one long-lived allocation pins among freed ones: after a 10-minute churn
/// soak every one of the eight arenas had grown (scripts/soak.sh's smaps diff), by 1.3 MiB in all,
/// while the live heap had not (heaptrack: +45 KB). More arenas than cores buy nothing, since no
/// more threads than cores allocate at once.
///
/// It also fixes the size from which a block the arena has no room for gets pages of its own (mmap)
/// instead of growing the arena, at `MMAP_THRESHOLD`. glibc starts at 128 KiB but raises the
/// threshold to the size of each such block freed, up to 32 MiB (and the size past which it trims
/// an arena's top to twice that), so after a busy spell the large, short-lived buffers (a map's table while it grows, a
/// socket's read buffer) are carved from the arenas among small long-lived allocations and leave
/// holes there that trimming cannot return. In the 10-minute churn soak, side by side on one
/// machine: +3.5 % and +3.8 % resident memory after the churn with the threshold fixed, +4.0 %
/// and +6.7 % without (docs/benchmarks.md). Returns whether glibc took both settings.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn one_arena_per_core() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets the allocator's tunables; it takes no pointers.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas) == 1
            && libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    }
}

/// Blocks of this size or more get pages of their own when the arena has no room, returned whole
/// when freed: large and rare enough that a system call each costs nothing measurable (the media path's buffers are
/// datagram-sized and reused).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 64 * 1024;

/// Other allocators have no arenas to cap.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn one_arena_per_core() -> bool {
    false
}

/// jemalloc's settings, read once when it starts (before `main`), installed by the `convene`
/// binary as `malloc_conf`:
/// - `percpu_arena:percpu`: one arena per CPU, each thread allocating from the arena of the CPU it
///   runs on. jemalloc's default (four arenas per CPU, a thread keeping the one it got) spreads a
///   node's few long-lived allocations over many arenas, each pinning pages of its own.
/// - `tcache:false`: no per-thread caches. Each of the runtime's, the media plane's and the
///   database's threads would keep freed blocks of each size class for itself, which a thread
///   gone idle never gives back: with them, 1.5 MiB more resident at the soak's baseline and
///   nearly twice the growth after its churn. The media path's buffers are datagram-sized and reused,
///   so it rarely allocates: the CPU per forwarded packet is the same either way.
/// - `background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0`: a thread of jemalloc's own
///   returns the pages nothing has used for a second, while meetings run too, without waiting for
///   the next allocation to do it.
pub const JEMALLOC_CONF: &[u8] =
    b"percpu_arena:percpu,tcache:false,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// The allocators' own count of their heap, for `/metrics`: what the resident size alone cannot
/// tell, whether memory that stays after a busy spell is still in use (a leak) or free but kept
/// (fragmentation: free pages that live allocations around them keep from being returned).
#[derive(Debug, Clone, Copy)]
pub struct HeapUsage {
    /// Bytes in allocations not yet freed.
    pub in_use: u64,
    /// Bytes the allocators keep resident that no allocation holds: freed pieces, pages not yet
    /// returned, and jemalloc's own bookkeeping.
    pub free: u64,
}

/// jemalloc's heap (what Rust allocates) plus glibc's (what the C libraries allocate).
pub fn heap_usage() -> Option<HeapUsage> {
    [jemalloc_heap(), glibc_heap()]
        .into_iter()
        .flatten()
        .reduce(|a, b| HeapUsage {
            in_use: a.in_use.saturating_add(b.in_use),
            free: a.free.saturating_add(b.free),
        })
}

#[cfg(unix)]
fn jemalloc_heap() -> Option<HeapUsage> {
    use tikv_jemalloc_ctl::{epoch, stats};
    // jemalloc's statistics are a snapshot taken at each epoch: take a new one first.
    epoch::advance().ok()?;
    let allocated = u64::try_from(stats::allocated::read().ok()?).unwrap_or(u64::MAX);
    let resident = u64::try_from(stats::resident::read().ok()?).unwrap_or(u64::MAX);
    Some(HeapUsage {
        in_use: allocated,
        free: resident.saturating_sub(allocated),
    })
}

#[cfg(not(unix))]
fn jemalloc_heap() -> Option<HeapUsage> {
    None
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn glibc_heap() -> Option<HeapUsage> {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct; it sums every arena under
    // its lock.
    let m = unsafe { libc::mallinfo2() };
    let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
    Some(HeapUsage {
        in_use: n(m.uordblks).saturating_add(n(m.hblkhd)),
        free: n(m.fordblks),
    })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn glibc_heap() -> Option<HeapUsage> {
    None
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

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn glibc_takes_the_arena_cap_and_the_mmap_threshold() {
        assert!(super::one_arena_per_core(), "mallopt refused a setting");
        // glibc raises its own threshold to the size of each such block freed (here 4 MiB), so
        // without the fixed one the next 1 MiB block would be carved from the arena.
        drop(std::hint::black_box(vec![1u8; 4 << 20]));
        // SAFETY (both): mallinfo2 takes no arguments and returns a plain struct.
        let before = unsafe { libc::mallinfo2() }.hblkhd;
        let block = std::hint::black_box(vec![1u8; 1 << 20]);
        let during = unsafe { libc::mallinfo2() }.hblkhd;
        assert!(during >= before + (1 << 20), "{before} -> {during}");
        drop(block);
    }

    #[test]
    fn the_heap_count_sees_an_allocation_and_its_free() {
        let before = super::heap_usage().expect("glibc counts its heap");
        // In an arena or in pages of its own, it is counted in use; kept alive across the reading.
        let block = std::hint::black_box(vec![7u8; 64 * 1024]);
        let during = super::heap_usage().expect("glibc counts its heap");
        assert!(
            during.in_use >= before.in_use + 60 * 1024,
            "{before:?} -> {during:?}"
        );
        drop(block);
        let after = super::heap_usage().expect("glibc counts its heap");
        assert!(
            after.in_use + 60 * 1024 <= during.in_use,
            "{during:?} -> {after:?}"
        );
    }
}
