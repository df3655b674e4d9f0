//! Convene's media core: a sans-IO SFU on top of str0m.
//!
//! No sockets, threads or clocks: the server feeds datagrams (`Sfu::handle_input`), time
//! (`Sfu::handle_timeout`) and signaling (`Sfu::handle_offer` ...) in, and drains
//! `Sfu::poll_transmit`, `Sfu::poll_event`, `Sfu::poll_recorded` and `Sfu::poll_timeout`.

mod config;
mod demux;
mod error;
mod ids;
mod keyframe_cache;
mod link;
mod outbox;
mod packet;
mod peer;
mod peers;
mod rewrite;
mod sfu;
mod simulcast;
mod sink;
mod speaker;
mod stats;
mod track;
mod types;

pub use config::SfuConfig;
pub use demux::{local_ufrag, stun_username};
pub use error::{DropReason, MediaError};
pub use ids::LinkId;
pub use link::{RelayDecoder, RelayEncoder, RelayMessage, WireError};
pub use sfu::Sfu;
pub use sink::output::{GapReason, Recorded, RecordedCodec, RecordingId};
pub use stats::Stats;
pub use types::{Event, OfferedTrack, Output, TrackKind, TrackSource};

/// Re-exported so the server can build inputs and send outputs without depending on str0m.
pub use str0m::net::{Protocol, Transmit};
