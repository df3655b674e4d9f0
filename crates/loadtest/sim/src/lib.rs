//! convene-sim: what makes thousands of simulated participants cheap for the load tool, on top
//! of convene-client's sessions. Receive-only peers run in shards ([`SharedUdp`]): many per task
//! and socket, read with `recvmmsg` and written with `sendmmsg` (`mux.rs`), their state
//! prefetched (`prefetch.rs`), and once connected their RTP taken in by a lean SRTP/RTCP path of
//! our own (`lean/`) instead of str0m's. Linux only.

mod lean;
mod mux;
mod path;
mod prefetch;
mod shard;
mod shared;

pub use path::RtpPath;
pub use shared::SharedUdp;
