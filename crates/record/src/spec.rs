//! What a track writer is told: the track's format up front, then its frames.

use std::time::Duration;

use crate::codec::Codec;
use serde::{Deserialize, Serialize};

/// A picture size in pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameSize {
    pub width: u32,
    pub height: u32,
}

/// An audio track's codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioCodec {
    Opus,
}

/// A video track's codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    Vp9,
    Av1,
    H264,
}

/// A track's format, known when its recording starts. Frames' timestamps are on the meeting's clock
/// (time since the meeting started) for every track, so the files of one meeting line up without any
/// per-track origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackSpec {
    Audio {
        codec: AudioCodec,
        /// Opus always decodes at 48 kHz; this is what the file declares.
        sample_rate: u32,
        channels: u8,
    },
    /// The picture size and any codec configuration come from the first keyframe.
    Video { codec: VideoCodec },
}

impl TrackSpec {
    /// Opus as WebRTC sends it: 48 kHz, two channels signalled.
    pub fn opus() -> Self {
        TrackSpec::Audio {
            codec: AudioCodec::Opus,
            sample_rate: 48_000,
            channels: 2,
        }
    }

    pub fn video(codec: VideoCodec) -> Self {
        TrackSpec::Video { codec }
    }

    pub fn codec(&self) -> Codec {
        match self {
            TrackSpec::Audio {
                codec: AudioCodec::Opus,
                ..
            } => Codec::Opus,
            TrackSpec::Video { codec } => match codec {
                VideoCodec::Vp8 => Codec::Vp8,
                VideoCodec::Vp9 => Codec::Vp9,
                VideoCodec::Av1 => Codec::Av1,
                VideoCodec::H264 => Codec::H264,
            },
        }
    }
}

/// One complete, in-order frame of a track. For H.264 `data` is an Annex B access unit (NAL units
/// each after a 00 00 01 or 00 00 00 01 start code); the file stores them length-prefixed, as
/// Matroska's AVC mapping requires. Every other codec's frame is stored as it is.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Time since the meeting started. A mute or a pause is simply a later timestamp.
    pub pts: Duration,
    pub keyframe: bool,
    pub data: &'a [u8],
}
