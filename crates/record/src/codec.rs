//! The codecs a recording holds, and which container each one goes in.

use serde::{Deserialize, Serialize};

/// A recorded track's codec, as the manifest names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    Opus,
    Vp8,
    Vp9,
    Av1,
    H264,
}

/// The file format of one track's file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// WebM: VP8, VP9, AV1 and Opus.
    WebM,
    /// Matroska: H.264 (WebM does not allow it).
    Matroska,
}

/// Whether a track carries sound or pictures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Audio,
    Video,
}

impl Codec {
    pub fn container(self) -> Container {
        match self {
            Codec::H264 => Container::Matroska,
            Codec::Opus | Codec::Vp8 | Codec::Vp9 | Codec::Av1 => Container::WebM,
        }
    }

    pub fn kind(self) -> MediaKind {
        match self {
            Codec::Opus => MediaKind::Audio,
            Codec::Vp8 | Codec::Vp9 | Codec::Av1 | Codec::H264 => MediaKind::Video,
        }
    }

    /// The Matroska `CodecID` the file carries.
    pub fn matroska_id(self) -> &'static str {
        match self {
            Codec::Opus => "A_OPUS",
            Codec::Vp8 => "V_VP8",
            Codec::Vp9 => "V_VP9",
            Codec::Av1 => "V_AV1",
            Codec::H264 => "V_MPEG4/ISO/AVC",
        }
    }

    /// The muxing library's name for the codec.
    pub(crate) fn library_id(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Vp8 => "vp8",
            Codec::Vp9 => "vp9",
            Codec::Av1 => "av1",
            Codec::H264 => "h264",
        }
    }
}

impl Container {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Container::WebM => "webm",
            Container::Matroska => "mkv",
        }
    }

    /// The EBML `DocType` the file declares.
    pub fn doc_type(self) -> &'static str {
        match self {
            Container::WebM => "webm",
            Container::Matroska => "matroska",
        }
    }
}
