//! convene-sim: what makes thousands of simulated participants cheap for the load tool, on top
//! of convene-client's sessions. Receive-only peers run in shards ([`SharedUdp`]): many per task
//! and socket, read with `recvmmsg` and written with `sendmmsg` (`mux.rs`), their state
//! prefetched (`prefetch.rs`), and once connected their RTP taken in by a lean SRTP/RTCP path of
//! our own (`lean/`) instead of str0m's. Linux only.

mod lean;
mod mux;
mod prefetch;
mod shard;
mod shared;

pub use shared::SharedUdp;

/// How a shared-socket session ([`SharedUdp`]) takes in RTP once ICE and DTLS are up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RtpPath {
    /// str0m decrypts every packet and sends its own RTCP feedback.
    Str0m,
    /// The session decrypts SRTP itself and sends the feedback a browser would (transport-wide
    /// congestion control, receiver reports, NACKs); str0m keeps ICE and DTLS. 40-47 % less
    /// CPU per packet than [`RtpPath::Str0m`] (docs/benchmarks.md). Needs an AES-GCM SRTP
    /// profile (str0m and browsers pick one); otherwise the session stays with str0m.
    #[default]
    Lean,
}
