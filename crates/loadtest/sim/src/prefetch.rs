//! Asking the CPU to load a session's state before it is needed.
//!
//! A shard's batch of datagrams is for as many different sessions (a fan-out sends each frame to
//! every subscriber in turn), and a session's state is spread over a dozen heap blocks (its
//! decryption key, SSRC table, feedback list, tracks, reassembly state): with hundreds of
//! sessions they are out of the cache, and each packet waited for one load after another. Issued
//! a few datagrams ahead, the loads overlap with the work on the packets before.

use convene_client::parts::Receiver;

/// Hints the CPU to bring the cache line at `p` in; a no-op where there is no such hint.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache: it never faults and reads nothing into the
    // program, whatever the address. SSE, which it needs, is part of every x86_64 target.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>())
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`] for each cache line of `*r` (a struct whose fields are used together).
#[inline(always)]
pub(crate) fn prefetch_all<T>(r: &T) {
    prefetch_slice(std::slice::from_ref(r));
}

/// [`prefetch`] for each cache line of the items of `items`.
#[inline(always)]
pub(crate) fn prefetch_slice<T>(items: &[T]) {
    let p = items.as_ptr().cast::<u8>();
    let mut at = 0;
    while at < std::mem::size_of_val(items) {
        prefetch(p.wrapping_add(at));
        at += 64;
    }
}

/// Tracks whose state is prefetched: a subscriber of one publisher has two; with more, which
/// one a packet is for is not known before it is decrypted, and all of them would be too many.
const PREFETCH_TRACKS: usize = 2;

/// Brings the state a packet of the receiver's first [`PREFETCH_TRACKS`] tracks updates towards
/// the cache: only addresses, as reading a track here would wait for the load being hinted.
pub(crate) fn prefetch_receiver(r: &Receiver) {
    let (tracks, assemblers) = r.hot(PREFETCH_TRACKS);
    prefetch_slice(tracks);
    prefetch_slice(assemblers);
}

/// After [`prefetch_receiver`]: the delay histogram buckets those tracks counted last.
pub(crate) fn prefetch_histograms(r: &Receiver) {
    for t in r.hot(PREFETCH_TRACKS).0 {
        prefetch(t.delay_hist.hot());
    }
}
