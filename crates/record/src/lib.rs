//! Convene's recording files (issue 23 §2, §6): one Matroska/WebM file per track, written as frames
//! arrive, and a JSON manifest per meeting, rewritten atomically as it changes.
//!
//! Plain synchronous std IO: the server runs a [`MeetingRecording`] on a blocking thread fed by a
//! bounded queue of complete, ordered frames from the media core's recording sink.

mod av1;
mod bits;
mod codec;
mod error;
mod h264;
mod manifest;
mod opus;
mod readback;
mod recording;
mod recover;
mod seek_fix;
mod sink;
mod spec;
mod stats;
pub mod synth;
mod time;
mod vp8;
mod vp9;
mod writer;

pub use codec::{Codec, Container, MediaKind};
pub use error::RecordError;
pub use manifest::{
    Gap, GapReason, Manifest, MeetingId, RecordingState, TrackEntry, TrackState, MANIFEST_FILE,
    MANIFEST_VERSION,
};
pub use readback::{read_file, summarize, Ending, FileSummary, ReadFrame, ReadTrack};
pub use recording::{MeetingRecording, TrackMeta};
pub use recover::{recover_all, Recovered, Recovery};
pub use sink::TrackOutput;
pub use spec::{AudioCodec, Frame, FrameSize, TrackSpec, VideoCodec};
pub use stats::{SizeChange, TrackStats};
pub use time::{MeetingTime, Stamp, WallTime};
pub use writer::{FlushPolicy, TrackWriter};
