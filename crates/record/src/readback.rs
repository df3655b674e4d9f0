//! Reading a track file back with a demuxer independent of the muxer (`matroska-demuxer`): the
//! check the tests make, and how `recover` learns what a cut file really holds.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::time::Duration;

use matroska_demuxer::{Frame as DemuxFrame, MatroskaFile};

use crate::error::RecordError;
use crate::time::MeetingTime;

/// One frame as the file holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadFrame {
    pub pts: Duration,
    pub keyframe: bool,
    pub data: Vec<u8>,
}

/// The track header of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadTrack {
    pub doc_type: String,
    pub codec_id: String,
    pub codec_private: Option<Vec<u8>>,
    /// PixelWidth and PixelHeight, for video.
    pub pixel_size: Option<(u64, u64)>,
    /// Sampling frequency and channels, for audio.
    pub audio: Option<(f64, u64)>,
    /// The Segment's Duration in milliseconds, when the file was finalised.
    pub duration_ms: Option<f64>,
    pub ending: Ending,
}

/// How the frames of a file ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// At the end of the bytes, between two blocks.
    Clean,
    /// At a damaged or cut block (what a crash mid-write leaves); the frames before it were read.
    Damaged(String),
}

/// What a file holds, without keeping the frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileSummary {
    pub first: Option<MeetingTime>,
    pub last: Option<MeetingTime>,
    pub frames: u64,
    pub bytes: u64,
    /// The frames ended at a damaged or cut block rather than between blocks.
    pub damaged: bool,
}

/// The header and every frame of a file (a test and tool helper: it holds all frames in memory).
pub fn read_file(path: &Path) -> Result<(ReadTrack, Vec<ReadFrame>), RecordError> {
    let mut frames = Vec::new();
    let track = for_each_frame(open(path)?, |f| {
        frames.push(ReadFrame {
            pts: Duration::from_millis(f.timestamp),
            keyframe: f.is_keyframe.unwrap_or(false),
            data: std::mem::take(&mut f.data),
        })
    })?;
    Ok((track, frames))
}

/// Counts what a file holds up to its end or its first damaged block. An empty file (a track that
/// never got a frame) holds nothing.
pub fn summarize(path: &Path) -> Result<FileSummary, RecordError> {
    let mut s = FileSummary::default();
    let len = std::fs::metadata(path)
        .map_err(RecordError::io(path))?
        .len();
    if len == 0 {
        return Ok(s);
    }
    let track = for_each_frame(open(path)?, |f| {
        let at = MeetingTime(f.timestamp);
        s.first.get_or_insert(at);
        s.last = Some(at);
        s.frames += 1;
        s.bytes += f.data.len() as u64;
    })?;
    s.damaged = matches!(track.ending, Ending::Damaged(_));
    Ok(s)
}

fn open(path: &Path) -> Result<BufReader<File>, RecordError> {
    Ok(BufReader::new(
        File::open(path).map_err(RecordError::io(path))?,
    ))
}

/// Walks the frames of a file's only track, up to the end or to the first block it cannot read
/// (a file cut mid-block by a crash): the frames before that are what the file holds.
fn for_each_frame<R: Read + Seek>(
    reader: R,
    mut f: impl FnMut(&mut DemuxFrame),
) -> Result<ReadTrack, RecordError> {
    let mut mkv = MatroskaFile::open(reader).map_err(|e| RecordError::Demuxer(e.to_string()))?;
    let mut track = describe(&mkv)?;
    let mut frame = DemuxFrame::default();
    loop {
        match mkv.next_frame(&mut frame) {
            Ok(true) => f(&mut frame),
            Ok(false) => break,
            Err(e) => {
                track.ending = Ending::Damaged(e.to_string());
                break;
            }
        }
    }
    Ok(track)
}

fn describe<R: Read + Seek>(mkv: &MatroskaFile<R>) -> Result<ReadTrack, RecordError> {
    let [t] = mkv.tracks() else {
        return Err(RecordError::Demuxer(format!(
            "expected one track, found {}",
            mkv.tracks().len()
        )));
    };
    Ok(ReadTrack {
        doc_type: mkv.ebml_header().doc_type().to_owned(),
        codec_id: t.codec_id().to_owned(),
        codec_private: t.codec_private().map(<[u8]>::to_vec),
        pixel_size: t
            .video()
            .map(|v| (v.pixel_width().get(), v.pixel_height().get())),
        audio: t
            .audio()
            .map(|a| (a.sampling_frequency(), a.channels().get())),
        duration_ms: mkv.info().duration(),
        ending: Ending::Clean,
    })
}
