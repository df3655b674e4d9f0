//! What the recording sinks hand the server: per recorded track, when it starts, its frames and
//! gaps on the core's clock, and its end. Drained with [`crate::Sfu::poll_recorded`].

use std::time::Instant;

use convene_proto::{ParticipantId, RoomId, TrackId};

use crate::types::{TrackKind, TrackSource};

/// A recorded track, numbered by this core (unique for the core's lifetime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordingId(pub u64);

/// The codecs a recording stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordedCodec {
    Opus,
    Vp8,
    Vp9,
    Av1,
    /// Frames in Annex B form (start codes before each NAL unit).
    H264,
}

/// Why frames are missing from a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapReason {
    /// Packets were lost (and not retransmitted in time) or could not be read; for a video the
    /// frames up to the next keyframe went with them.
    Lost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The first frame of a track follows. `at` is that frame's time.
    Started {
        id: RecordingId,
        room: RoomId,
        participant: ParticipantId,
        track: TrackId,
        kind: TrackKind,
        source: TrackSource,
        codec: RecordedCodec,
        /// RTP clock rate (48 kHz for Opus, 90 kHz for video).
        clock_rate: u32,
        /// Opus: the channels negotiated.
        channels: Option<u8>,
        at: Instant,
    },
    /// One whole frame, in order; a video's first frame is a keyframe. `at` maps the frame's RTP
    /// time onto the core's clock from the first frame's arrival, so it is as steady as the
    /// sender's clock; the tracks of one meeting line up to within their first frames' transit.
    Frame {
        id: RecordingId,
        at: Instant,
        keyframe: bool,
        data: Vec<u8>,
    },
    /// Nothing was recorded between the last frame (`from`) and the next one (`to`), which
    /// follows at once.
    Gap {
        id: RecordingId,
        from: Instant,
        to: Instant,
        reason: GapReason,
        /// Packets given up on.
        packets: u64,
    },
    /// The track ended or its recording stopped; nothing more comes for `id`.
    Ended { id: RecordingId, at: Instant },
}
