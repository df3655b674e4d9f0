//! Media for the client: a str0m peer connection to the server's SFU, driven by a tokio task,
//! that publishes synthetic audio/video and records what it receives.
//!
//! [`MediaSession::start`] takes a joined [`crate::Signaling`] connection; from then on the task
//! owns it: it makes the first offer, answers the server's offers, and hands every other server
//! message out as a [`MediaEvent::Signaling`]. [`MediaSession::stop`] gives the connection back.
//!
//! This file only declares and re-exports: every item lives in the file of its concept, and the
//! files name each other directly, so that none imports this one (no loop through it).

mod command;
mod config;
mod driver;
mod error;
mod link;
mod net;
mod outcome;
mod packets;
pub mod parts;
mod publish;
mod receive;
mod session;
pub mod stamped;
mod stats;

pub use config::{new_dtls_cert, MediaConfig, PacketConfig};
pub use error::MediaError;
pub use net::{NetCounters, Transport};
pub use outcome::Outcome;
pub use publish::{
    catch_up, BadLayers, Layers, PublishOptions, SendStats, Synthesizer, MAX_LAG, RIDS,
};
pub use receive::TrackStats;
pub use session::{MediaSession, Publishing, ReceiveOnly};
pub use stats::{LeanStats, MediaEvent, MediaStats};
