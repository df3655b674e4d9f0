//! How shared-socket sessions take in RTP.

/// How a shared-socket session ([`crate::SharedUdp`]) takes in RTP once ICE and DTLS are up.
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
