//! The byte encoding of [`RelayMessage`](super::RelayMessage), for a link between cores on
//! different machines (between the cores of one process the messages move in memory). The
//! transport frames the messages and delivers them reliably and in order (a WebSocket, say): one
//! `encode` or `decode` is one message.
//!
//! Layout, version 1. Integers are big-endian. `str`: a u16 length, then UTF-8. `id` (a mid or a
//! rid): a u8 length, then str0m's id characters (`A-Z a-z 0-9 _`, all `Mid::from` keeps as they
//! are; at most 16 bytes for a mid, 8 for a rid). `layer`: a u8, 0 for a track without simulcast
//! or 1 + the rid's length, then the rid.
//!
//! ```text
//! message = version:u8 (1) type:u8 body
//! 1 publish     room:str publisher:u32 participant:str track:str mid:id kind:u8 source:u8
//!               count:u8 rid:id*count
//! 2 unpublish   publisher:u32 mid:id
//! 3 left        publisher:u32
//! 4 packet      publisher:u32 mid:id layer flags:u8 seq:u64 rtp_time:u64 clock_hz:u32
//!               [audio_level:i8] [params: u16 length, JSON] payload: u32 length, bytes
//! 5 layers      publisher:u32 mid:id count:u8
//!               (layer bitrate:u64 peak:u64 flags:u8 [width:u32 height:u32])*count
//! 6 demand      publisher:u32 mid:id count:u8 layer*count
//! 7 keyframe    publisher:u32 mid:id layer
//! ```
//!
//! Packet flags: 0x01 marker, 0x02 an audio level follows, 0x04 voice activity known, 0x08 voice
//! active, 0x10 codec parameters follow, 0x20 forget every known parameter set first. Layer flags:
//! 0x01 a size follows, 0x02 available. kind: 0 audio, 1 video. source: 0 microphone, 1 camera,
//! 2 screen, 3 screen audio. Any other value or bit, a length or count over its bound, and bytes
//! after the end are errors. Ids are at most 1024 bytes for a room (the protocol's bound on a
//! room name) and 256 for a participant or a track; at most 8 rids or layers; payloads 64 KiB;
//! clock rates 1 MHz; sequence numbers and RTP times within 2^62 of 0 as signed numbers.
//!
//! A packet's codec parameters (str0m's `PayloadParams`, in its serde JSON form) change rarely, so
//! they go only when they differ from the last sent for the same publisher and mid. Both ends keep
//! that table alike: it changes only with messages the decoder accepts, `left` and `unpublish`
//! drop their entries, and at 4,096 entries the encoder starts afresh and says so (0x20),
//! so that the decoder never needs to hold more. Not sent: a packet's arrival (the receiver's
//! clock stands in), its keyframe flag and VP8 ids (read from the payload again, as on ingress).

mod decode;
mod encode;

use std::collections::HashMap;

use str0m::format::PayloadParams;
use str0m::media::Mid;

use super::msg::Msg;

pub use decode::RelayDecoder;
pub use encode::RelayEncoder;

const VERSION: u8 = 1;

const T_PUBLISH: u8 = 1;
const T_UNPUBLISH: u8 = 2;
const T_LEFT: u8 = 3;
const T_PACKET: u8 = 4;
const T_LAYERS: u8 = 5;
const T_DEMAND: u8 = 6;
const T_KEYFRAME: u8 = 7;

const MARKER: u8 = 0x01;
const LEVEL: u8 = 0x02;
const VOICE_KNOWN: u8 = 0x04;
const VOICE: u8 = 0x08;
const PARAMS: u8 = 0x10;
const RESET: u8 = 0x20;
const PACKET_FLAGS: u8 = MARKER | LEVEL | VOICE_KNOWN | VOICE | PARAMS | RESET;

const SIZE: u8 = 0x01;
const AVAILABLE: u8 = 0x02;

const MAX_ROOM: usize = convene_proto::limits::MAX_NAME_BYTES;
const MAX_ID: usize = 256;
/// str0m's `Mid` and `Rid` hold this many bytes.
const MAX_MID: usize = 16;
const MAX_RID: usize = 8;
const MAX_LAYERS: usize = 8;
const MAX_PAYLOAD: usize = 64 * 1024;
/// RTP clocks run at 90 kHz at most (video); more would be no codec the cores negotiate.
const MAX_CLOCK_HZ: u32 = 1_000_000;
/// A `PayloadParams` is about 600 bytes of JSON.
const MAX_PARAMS_JSON: usize = 4096;
/// Parameter sets both ends remember (one per relayed track: far more than a link carries).
const MAX_PARAMS: usize = 4096;

/// What was wrong with a message's bytes. The link's two ends no longer agree (or one is broken):
/// the message is refused whole and the decoder's state is as before it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the message ends inside its {0}")]
    Truncated(&'static str),
    #[error("{0} bytes after the end of the message")]
    TrailingBytes(usize),
    #[error("unknown encoding version {0} (this core speaks {VERSION})")]
    UnknownVersion(u8),
    #[error("unknown message type {0}")]
    UnknownType(u8),
    #[error("{what} of {len} bytes, over the limit of {limit}")]
    TooLong {
        what: &'static str,
        len: usize,
        limit: usize,
    },
    #[error("{count} {what}, over the limit of {limit}")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("{0} is not UTF-8")]
    NotUtf8(&'static str),
    #[error("{0} has characters other than A-Z, a-z, 0-9 and _")]
    BadId(&'static str),
    #[error("invalid {what}: {value}")]
    BadValue { what: &'static str, value: i64 },
    #[error("bad codec parameters: {0}")]
    BadParams(String),
    #[error("a packet of publisher {publisher}, mid {mid}: no codec parameters, none sent before")]
    UnknownParams { publisher: u32, mid: String },
    #[error(
        "codec parameters of one track more than the {0} the table holds, not starting afresh"
    )]
    ParamsTableFull(usize),
}

/// A parameter set a packet brought, for its (publisher slot, mid); and whether to forget the
/// others first.
type ParamsUpdate = ((u32, Mid), PayloadParams, bool);

/// Codec parameters by (publisher slot, mid): the last sent, or received, on one link direction.
#[derive(Debug)]
struct ParamsTable {
    map: HashMap<(u32, Mid), PayloadParams>,
    cap: usize,
}

impl Default for ParamsTable {
    fn default() -> Self {
        ParamsTable {
            map: HashMap::new(),
            cap: MAX_PARAMS,
        }
    }
}

impl ParamsTable {
    /// An entry for `key` would go past the cap.
    fn full_for(&self, key: &(u32, Mid)) -> bool {
        !self.map.contains_key(key) && self.map.len() >= self.cap
    }

    fn insert(&mut self, key: (u32, Mid), params: PayloadParams, reset: bool) {
        if reset {
            self.map.clear();
        }
        self.map.insert(key, params);
    }

    /// Both ends drop what `msg` ends, after it went through.
    fn forget(&mut self, msg: &Msg) {
        match msg {
            Msg::Left { publisher } => self.map.retain(|(slot, _), _| slot != publisher),
            Msg::Unpublish { publisher, mid } => {
                self.map.remove(&(*publisher, *mid));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
