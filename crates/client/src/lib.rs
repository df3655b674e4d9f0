//! A Rust client for Convene, used by the test suites and the load generator.

pub mod frame;
pub mod histogram;
pub mod media;
pub mod signaling;

pub use media::{
    new_dtls_cert, MediaConfig, MediaError, MediaEvent, MediaSession, MediaStats, PublishOptions,
    ReceiveMode, RtpPath, SharedUdp, TrackStats, Transport,
};
pub use signaling::{join_msg, ClientError, Closed, Signaling};
