//! One track's file: frames in, a WebM (VP8, VP9, AV1, Opus) or Matroska (H.264) file out.
//!
//! The muxing library is `oxideav-mkv`, a pure-Rust Matroska/WebM muxer, pinned to one release.
//! Why it: it writes all five codecs (WebM for VP8/VP9/AV1/Opus, refusing others there; Matroska
//! for H.264); it streams, writing the Segment and every Cluster with the EBML "unknown size", so
//! a file cut anywhere reads up to its last whole block, and at `finish` it appends Cues and patches
//! Duration in place; the cluster length is configurable (1 s here); it needs no C or system library.
//! Rejected: `webm` (Rust bindings to Google's libwebm, the most proven writer) has no H.264, no
//! cluster-length setting (an audio-only file would get a cluster every 32 s) and builds C++;
//! `mkv-element`, `webm-iterable`/`ebml-iterable` only write EBML elements, leaving the container
//! (clusters, block headers, cues) for us to write, which the issue rules out while a muxer fits;
//! `mkv` is unfinished by its own description; ffmpeg and GStreamer bindings need system libraries
//! this machine does not have. The risk taken: oxideav-mkv is young (0.0.x), so the tests read every
//! file back with a different demuxer (`matroska-demuxer`) rather than the library's own.
//!
//! One gap in the library, worked around here: until `finish`, its SeekHead's Cues entry holds a
//! placeholder position 0 (the SeekHead itself), which strict readers follow and fail on, so an
//! unfinished (crashed) file would not open for them. The writer turns that one entry into a Void of
//! the same length right after the header (what the library itself writes when a file has no Cues)
//! and puts it back just before `finish` lets the library fill it in. See `seek_fix`.
//!
//! AV1's av1C and size come from the sequence header (see `av1`).
//!
//! What the library does not allow: rewriting a track's PixelWidth/Height mid-file or cutting a
//! cluster on demand. A resolution change therefore travels in the bitstream (the keyframe's own
//! header, as in every WebM a browser records) while the track header keeps the first size; each
//! change is reported (`TrackStats::sizes`) for the manifest. Clusters are cut every second of media.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use oxideav_core::{CodecId, CodecParameters, Muxer, Packet, StreamInfo, TimeBase};
use oxideav_mkv::mux::MkvMuxer;

use crate::codec::{Codec, Container, MediaKind};
use crate::error::RecordError;
use crate::seek_fix::SeekEntryFix;
use crate::sink::{SharedSink, TrackOutput};
use crate::spec::{Frame, FrameSize, TrackSpec};
use crate::stats::{SizeChange, TrackStats};
use crate::time::MeetingTime;
use crate::{av1, h264, opus, vp8, vp9};

/// Longest cluster, in milliseconds of media: the crash guarantee's step.
const CLUSTER_MS: u32 = 1_000;
/// Largest cluster, in bytes (the library's floor is 1 KiB; a 1 s cluster stays far below this).
const CLUSTER_BYTES: u64 = 5_000_000;

/// When buffered bytes go to the operating system (survives a kill -9) and to the disk (survives a
/// power cut), in media time since the last time each happened. Every keyframe also goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushPolicy {
    pub to_os_every: Duration,
    pub sync_every: Duration,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        Self {
            to_os_every: Duration::from_secs(1),
            sync_every: Duration::from_secs(5),
        }
    }
}

enum State {
    /// Nothing written yet: the header needs the first frame (for video the first keyframe, which
    /// gives the size and H.264's parameter sets or AV1's sequence header).
    AwaitingFirstFrame,
    Open {
        muxer: Box<MkvMuxer>,
        /// Where the voided Cues Seek entry is, to restore before the trailer.
        cues_entry: Option<SeekEntryFix>,
    },
    Finished,
    /// An earlier write failed; the file holds what was written before it.
    Broken,
}

/// Whether a video track's next frame can be decoded from what the file already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decodable {
    Yes,
    /// Frames were lost: inter frames would reference pictures the file does not have.
    FromNextKeyframe,
}

/// Writes one track's frames into one file.
pub struct TrackWriter {
    spec: TrackSpec,
    sink: SharedSink,
    state: State,
    decodable: Decodable,
    stats: TrackStats,
    policy: FlushPolicy,
    last_to_os: Option<Duration>,
    last_sync: Option<Duration>,
}

impl TrackWriter {
    /// Creates (or truncates) the file at `path`. Its extension should be
    /// `spec.codec().container().extension()`.
    pub fn create(path: &Path, spec: TrackSpec) -> Result<Self, RecordError> {
        let file = File::create(path).map_err(RecordError::io(path))?;
        let sync = file.try_clone().map_err(RecordError::io(path))?;
        Self::with_sink(SharedSink::new(Box::new(file), Some(sync)), spec)
    }

    /// Writes into any seekable output (nothing is fsynced).
    pub fn new(out: impl TrackOutput + 'static, spec: TrackSpec) -> Result<Self, RecordError> {
        Self::with_sink(SharedSink::new(Box::new(out), None), spec)
    }

    fn with_sink(sink: SharedSink, spec: TrackSpec) -> Result<Self, RecordError> {
        if let TrackSpec::Audio {
            sample_rate,
            channels,
            ..
        } = spec
        {
            if sample_rate == 0 || !(1..=2).contains(&channels) {
                return Err(RecordError::BadSpec(
                    "audio needs a rate and 1 or 2 channels",
                ));
            }
        }
        Ok(Self {
            spec,
            sink,
            state: State::AwaitingFirstFrame,
            decodable: Decodable::Yes,
            stats: TrackStats::default(),
            policy: FlushPolicy::default(),
            last_to_os: None,
            last_sync: None,
        })
    }

    pub fn set_flush_policy(&mut self, policy: FlushPolicy) {
        self.policy = policy;
    }

    pub fn codec(&self) -> Codec {
        self.spec.codec()
    }

    /// An earlier write or finish failed: the file holds what came before, and nothing more goes in.
    pub fn is_broken(&self) -> bool {
        matches!(self.state, State::Broken)
    }

    pub fn stats(&self) -> &TrackStats {
        &self.stats
    }

    /// Says frames of this track were lost before reaching the writer (a full queue): a video track
    /// then refuses frames until the next keyframe, so the file never holds frames that reference
    /// pictures it lacks. Audio frames decode on their own, so audio goes on.
    pub fn frames_lost(&mut self) {
        if self.codec().kind() == MediaKind::Video {
            self.decodable = Decodable::FromNextKeyframe;
        }
    }

    /// Writes one frame. Returns the new picture size when this keyframe changed it. A refused frame
    /// (`AwaitingKeyframe`, `OutOfOrder`, `BadKeyframe`) leaves the file and the writer as they were.
    pub fn write_frame(&mut self, frame: Frame<'_>) -> Result<Option<SizeChange>, RecordError> {
        match self.state {
            State::Finished => return Err(RecordError::NotWritable("finished")),
            State::Broken => return Err(RecordError::NotWritable("broken by an earlier error")),
            State::AwaitingFirstFrame | State::Open { .. } => {}
        }
        if let Some(last) = self.stats.last {
            if MeetingTime::from_duration(frame.pts) < last {
                return Err(RecordError::OutOfOrder {
                    pts: frame.pts,
                    last: last.as_duration(),
                });
            }
        }
        let codec = self.codec();
        let nals = match codec {
            Codec::H264 => h264::split_annex_b(frame.data),
            _ => Vec::new(),
        };
        let size = self.keyframe_size(codec, &frame, &nals)?;
        let first = matches!(self.state, State::AwaitingFirstFrame);
        let waiting = first || self.decodable == Decodable::FromNextKeyframe;
        if waiting && codec.kind() == MediaKind::Video && !frame.keyframe {
            return Err(RecordError::AwaitingKeyframe);
        }
        if first {
            if let Err(e) = self.open(size, &frame, &nals) {
                // Refused before a byte was written, the writer can still take a good keyframe;
                // after, the file's start is unknown.
                if self.sink.len() > 0 {
                    self.state = State::Broken;
                }
                return Err(e);
            }
        }
        self.decodable = Decodable::Yes;
        let payload = match codec {
            Codec::H264 => h264::to_length_prefixed(&nals),
            _ => frame.data.to_vec(),
        };
        let at = MeetingTime::from_duration(frame.pts);
        let stored = payload.len();
        self.write_packet(at, frame.keyframe, payload)?;
        let change = self.stats.record(at, stored, size);
        self.stats.file_bytes = self.sink.len();
        if let Err(e) = self.after_write(frame.pts, frame.keyframe) {
            // The disk refused bytes: stop here rather than guess which reached it.
            self.state = State::Broken;
            return Err(e);
        }
        Ok(change)
    }

    /// The picture size a keyframe declares, when the codec's header says it (an H.264 keyframe
    /// without an SPS, or an AV1 one without a sequence header, keeps the size it had).
    fn keyframe_size(
        &self,
        codec: Codec,
        frame: &Frame<'_>,
        nals: &[&[u8]],
    ) -> Result<Option<FrameSize>, RecordError> {
        if !frame.keyframe {
            return Ok(None);
        }
        match codec {
            Codec::Vp8 => vp8::keyframe_size(frame.data)
                .map(Some)
                .map_err(RecordError::BadKeyframe),
            Codec::Vp9 => vp9::keyframe_size(frame.data)
                .map(Some)
                .map_err(RecordError::BadKeyframe),
            Codec::H264 => Ok(h264::first_sps(nals).map(|s| s.size)),
            Codec::Av1 => av1::sequence_header(frame.data)
                .map(|s| s.map(|s| s.max_size))
                .map_err(RecordError::BadKeyframe),
            Codec::Opus => Ok(None),
        }
    }

    /// Builds the muxer and writes the file's header.
    fn open(
        &mut self,
        size: Option<FrameSize>,
        frame: &Frame<'_>,
        nals: &[&[u8]],
    ) -> Result<(), RecordError> {
        let codec = self.codec();
        let id = CodecId::new(codec.library_id());
        let params = match self.spec {
            TrackSpec::Audio {
                sample_rate,
                channels,
                ..
            } => {
                let mut p = CodecParameters::audio(id);
                p.sample_rate = Some(sample_rate);
                p.channels = Some(u16::from(channels));
                p.extradata = opus::opus_head(channels, sample_rate);
                p
            }
            TrackSpec::Video { .. } => {
                let mut p = CodecParameters::video(id);
                p.extradata = match codec {
                    Codec::H264 => avc_config(nals)?,
                    Codec::Av1 => {
                        av1::sequence_header(frame.data)
                            .map_err(RecordError::BadKeyframe)?
                            .ok_or(RecordError::MissingCodecConfig("AV1 sequence header"))?
                            .config
                    }
                    Codec::Vp8 | Codec::Vp9 | Codec::Opus => Vec::new(),
                };
                // Every video codec's opening keyframe declares its size (or was refused above).
                let size = size.ok_or(RecordError::BadKeyframe("no picture size"))?;
                p.width = Some(size.width);
                p.height = Some(size.height);
                p
            }
        };
        let info = StreamInfo {
            index: 0,
            time_base: TimeBase::new(1, 1000),
            duration: None,
            start_time: None,
            params,
        };
        let out = Box::new(self.sink.clone());
        let mut muxer = match codec.container() {
            Container::WebM => MkvMuxer::new_webm(out, &[info]),
            Container::Matroska => MkvMuxer::new_matroska(out, &[info]),
        }
        .map_err(RecordError::muxer)?;
        muxer
            .with_cluster_limits(CLUSTER_MS, CLUSTER_BYTES)
            .and_then(|m| m.with_duration_finalization())
            .map_err(RecordError::muxer)?;
        self.sink.start_capture()?;
        let written = muxer.write_header();
        let header = self.sink.take_capture()?;
        written.map_err(RecordError::muxer)?;
        let cues_entry = SeekEntryFix::apply(&self.sink, &header)?;
        self.state = State::Open {
            muxer: Box::new(muxer),
            cues_entry,
        };
        Ok(())
    }

    fn write_packet(
        &mut self,
        at: MeetingTime,
        key: bool,
        data: Vec<u8>,
    ) -> Result<(), RecordError> {
        // Every audio frame decodes on its own: mark it so, as Matroska players expect.
        let key = key || self.codec().kind() == MediaKind::Audio;
        let State::Open { muxer, .. } = &mut self.state else {
            return Err(RecordError::NotWritable("not open"));
        };
        let mut packet = Packet::new(0, TimeBase::new(1, 1000), data);
        // Milliseconds since the meeting started fit an i64 for 292 million years.
        packet.pts = Some(i64::try_from(at.0).unwrap_or(i64::MAX));
        packet.dts = packet.pts;
        packet.flags.keyframe = key;
        if let Err(e) = muxer.write_packet(&packet) {
            self.state = State::Broken;
            return Err(RecordError::muxer(e));
        }
        Ok(())
    }

    /// Pushes bytes out per the flush policy.
    fn after_write(&mut self, pts: Duration, key: bool) -> Result<(), RecordError> {
        let due = |last: Option<Duration>, every: Duration| {
            last.is_none_or(|l| pts.saturating_sub(l) >= every)
        };
        if due(self.last_sync, self.policy.sync_every) {
            self.sink.sync()?;
            self.last_sync = Some(pts);
            self.last_to_os = Some(pts);
        } else if key || due(self.last_to_os, self.policy.to_os_every) {
            self.sink.flush_to_os()?;
            self.last_to_os = Some(pts);
        }
        Ok(())
    }

    /// Pushes everything written so far to the disk now (e.g. when a track pauses).
    pub fn flush_cluster(&mut self) -> Result<(), RecordError> {
        self.sink.sync()?;
        Ok(())
    }

    /// Finalises the file (Cues, Duration) and syncs it. A track that never got a frame leaves an
    /// empty file. Further writes are refused.
    pub fn finish(&mut self) -> Result<TrackStats, RecordError> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Open {
                mut muxer,
                cues_entry,
            } => {
                if let Some(fix) = cues_entry {
                    fix.restore(&self.sink)?;
                }
                if let Err(e) = muxer.write_trailer() {
                    self.state = State::Broken;
                    return Err(RecordError::muxer(e));
                }
            }
            State::AwaitingFirstFrame => {}
            State::Finished => return Ok(self.stats.clone()),
            State::Broken => {
                self.state = State::Broken;
                return Err(RecordError::NotWritable("broken by an earlier error"));
            }
        }
        self.sink.sync()?;
        self.stats.file_bytes = self.sink.len();
        Ok(self.stats.clone())
    }
}

impl Drop for TrackWriter {
    fn drop(&mut self) {
        // Dropped unfinished: leave the file as a crash would, with everything handed to the OS.
        if matches!(self.state, State::Open { .. }) {
            let _ = self.sink.flush_to_os();
        }
    }
}

fn avc_config(nals: &[&[u8]]) -> Result<Vec<u8>, RecordError> {
    let (sps_nal, pps_nal) =
        h264::parameter_sets(nals).ok_or(RecordError::MissingCodecConfig("H.264 SPS and PPS"))?;
    let sps =
        h264::Sps::parse(sps_nal).ok_or(RecordError::BadKeyframe("h264 sps not understood"))?;
    if sps_nal.len() < 4 {
        return Err(RecordError::BadKeyframe("h264 sps too short"));
    }
    Ok(h264::avc_config(sps_nal, pps_nal, &sps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::AudioCodec;
    use std::io::Cursor;
    use std::sync::{Arc, Mutex};

    /// An in-memory output whose bytes stay readable after the writer took it.
    #[derive(Clone, Default)]
    struct Memory(Arc<Mutex<Cursor<Vec<u8>>>>);
    impl std::io::Write for Memory {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("test lock").write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl std::io::Seek for Memory {
        fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
            self.0.lock().expect("test lock").seek(to)
        }
    }

    #[test]
    fn audio_needs_a_rate_and_one_or_two_channels() {
        for (sample_rate, channels) in [(0, 2), (48_000, 0), (48_000, 3)] {
            let spec = TrackSpec::Audio {
                codec: AudioCodec::Opus,
                sample_rate,
                channels,
            };
            assert!(matches!(
                TrackWriter::new(Memory::default(), spec),
                Err(RecordError::BadSpec(_))
            ));
        }
    }

    #[test]
    fn writes_to_any_seekable_output() {
        let out = Memory::default();
        let mut w = TrackWriter::new(out.clone(), TrackSpec::opus()).expect("writer");
        for i in 0..100u64 {
            let frame = Frame {
                pts: Duration::from_millis(i * 20),
                keyframe: false,
                data: &[0xfc, 1, 2, 3],
            };
            w.write_frame(frame).expect("frame");
        }
        let stats = w.finish().expect("finish");
        let bytes = out.0.lock().expect("lock").get_ref().clone();
        assert_eq!(&bytes[..4], &[0x1a, 0x45, 0xdf, 0xa3], "an EBML file");
        assert_eq!(stats.file_bytes, bytes.len() as u64);
        assert_eq!(stats.frames, 100);
        assert!(
            w.write_frame(Frame {
                pts: Duration::from_secs(9),
                keyframe: false,
                data: &[0xfc],
            })
            .is_err(),
            "a finished writer takes no more frames"
        );
    }
}
