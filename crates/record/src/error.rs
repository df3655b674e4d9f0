//! The crate's one error type.

use std::path::PathBuf;
use std::time::Duration;

/// What went wrong while writing or reading a recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("i/o on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("i/o: {0}")]
    Stream(#[from] std::io::Error),
    /// The muxing library refused a call (its own words).
    #[error("muxer: {0}")]
    Muxer(String),
    #[error("demuxer: {0}")]
    Demuxer(String),
    /// A video file must start with a keyframe, and after lost frames go on from one; this frame
    /// came before it and was not written.
    #[error("frame before a keyframe the file needs (not written)")]
    AwaitingKeyframe,
    /// Frames of a track must come in order of their timestamps.
    #[error("frame at {pts:?} is older than the last written frame at {last:?}")]
    OutOfOrder { pts: Duration, last: Duration },
    /// A frame flagged as a keyframe whose header is not a keyframe's (so its picture size is unknown).
    #[error("keyframe header not understood: {0}")]
    BadKeyframe(&'static str),
    /// The keyframe that opens an H.264 or AV1 file must carry the codec's configuration (SPS and
    /// PPS; the sequence header), which becomes the file's CodecPrivate.
    #[error("the first keyframe has no {0}")]
    MissingCodecConfig(&'static str),
    #[error("the track writer is {0}")]
    NotWritable(&'static str),
    #[error("unknown track {0}")]
    UnknownTrack(String),
    #[error("track {0} is already recorded")]
    DuplicateTrack(String),
    #[error("manifest: {0}")]
    Manifest(#[from] serde_json::Error),
    #[error("bad track spec: {0}")]
    BadSpec(&'static str),
}

impl RecordError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    pub(crate) fn muxer(e: oxideav_core::Error) -> Self {
        Self::Muxer(e.to_string())
    }
}
