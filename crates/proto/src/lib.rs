//! The signaling protocol of Convene. `docs/protocol.md` is the contract; this crate is its code.
//! Serde only: no I/O, so that the server, the Rust client and tests share one definition.

pub mod close;
pub mod error;
pub mod files;
pub mod ids;
pub mod limits;
pub mod messages;
pub mod model;
pub mod moderation;
pub mod parse;
pub mod quality;
pub mod reactions;
pub mod recording;

pub use error::ErrorCode;
pub use files::{FileAccess, SharedFile};
pub use ids::{ParticipantId, RoomId, TrackId};
pub use messages::{ClientMessage, Joined, ServerMessage, PROTOCOL_VERSION};
pub use model::*;
pub use moderation::{LobbyEntry, MeetingSettings, ModerationAction};
pub use parse::{parse_client_message, ParseError};
pub use quality::{ConnectionQuality, QualityLevel};
pub use reactions::{is_reaction, REACTIONS};
pub use recording::{RecordPower, RecordingStatus, RecordingStopReason};
