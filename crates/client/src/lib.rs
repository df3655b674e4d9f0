//! A Rust client for Convene, used by the test suites and the load generator.

pub mod frame;
pub mod histogram;
pub mod media;
pub mod signaling;

pub use media::parts;
pub use media::{
    new_dtls_cert, LeanStats, MediaConfig, MediaError, MediaEvent, MediaSession, MediaStats,
    NetCounters, PacketConfig, PublishOptions, Publishing, ReceiveOnly, TrackStats, Transport,
};
pub use signaling::{join_msg, ClientError, Closed, Signaling};
