//! The `recording-writer` thread: owns one `MeetingRecording` per meeting being recorded, writes
//! what the media workers recorded (through the bounded queue, queue.rs) and what the rooms say
//! (start, names, stop), and reports finished recordings to the async side (records.rs). All disk
//! i/o of recording happens here, never on a media worker or on the async runtime.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use convene_media::{Recorded, RecordedCodec, RecordingId};
use convene_proto::{ParticipantId, RoomId, TrackId};
use convene_record::{
    Frame, Gap, GapReason, MeetingRecording, RecordError, TrackMeta, TrackSpec, VideoCodec,
};
use convene_store::{MeetingId, RecordingRowState};
use tokio::sync::mpsc::UnboundedSender;

use super::clock::MeetingClock;
use super::queue::{Item, What};
use super::{Control, RecorderMetrics, Report, StartRecording};

/// How long the writer waits for media before it looks at the rooms' commands again.
const POLL: Duration = Duration::from_millis(50);
/// How often a recording's manifest is saved with its counts (what `recover` starts from).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);

/// A meeting being recorded.
struct Active {
    public_id: String,
    meeting: MeetingId,
    rec: MeetingRecording,
    clock: MeetingClock,
    names: HashMap<ParticipantId, String>,
    last_checkpoint: Instant,
}

pub(super) struct Writer {
    pub media: Receiver<Item>,
    pub control: Receiver<Control>,
    pub reports: UnboundedSender<Report>,
    pub metrics: Arc<RecorderMetrics>,
    pub root: PathBuf,
    active: HashMap<RoomId, Active>,
    /// Which track of which room each of the cores' recorded tracks is.
    tracks: HashMap<(usize, RecordingId), (RoomId, TrackId)>,
}

impl Writer {
    pub fn new(
        media: Receiver<Item>,
        control: Receiver<Control>,
        reports: UnboundedSender<Report>,
        metrics: Arc<RecorderMetrics>,
        root: PathBuf,
    ) -> Self {
        Self {
            media,
            control,
            reports,
            metrics,
            root,
            active: HashMap::new(),
            tracks: HashMap::new(),
        }
    }

    /// Runs until told to stop (or every sender is gone); every recording is finished then.
    pub fn run(mut self) {
        loop {
            let item = self.media.recv_timeout(POLL);
            // Commands first: a room's start is sent before its workers record anything, so the
            // recording exists before its first track arrives.
            if !self.take_commands() {
                break;
            }
            match item {
                Ok(item) => self.media_item(item),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.checkpoints();
        }
        let rooms: Vec<RoomId> = self.active.keys().cloned().collect();
        for room in rooms {
            self.stop(&room, Instant::now());
        }
    }

    /// Applies the rooms' commands; false once told to shut down.
    fn take_commands(&mut self) -> bool {
        while let Ok(c) = self.control.try_recv() {
            match c {
                Control::Start(s) => self.start(*s),
                Control::Name {
                    room,
                    participant,
                    name,
                } => {
                    if let Some(a) = self.active.get_mut(&room) {
                        a.names.insert(participant, name);
                    }
                }
                Control::Stop { room, at } => self.stop(&room, at),
                Control::Shutdown => return false,
            }
        }
        true
    }

    fn start(&mut self, s: StartRecording) {
        let dir = self.root.join(&s.dir);
        let at = s.clock.stamp(s.at);
        let meeting = convene_record::MeetingId(s.meeting.0);
        match MeetingRecording::start(&dir, meeting, s.room.clone(), at) {
            Ok(rec) => {
                let active = Active {
                    public_id: s.public_id,
                    meeting: s.meeting,
                    rec,
                    clock: s.clock,
                    names: s.names.into_iter().collect(),
                    last_checkpoint: Instant::now(),
                };
                self.active.insert(s.room, active);
                self.metrics.active.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!(room = %s.room, error = %e, "cannot start a recording");
                let _ = self.reports.send(Report::Finished(super::Finished {
                    public_id: s.public_id,
                    meeting: s.meeting,
                    state: RecordingRowState::Failed,
                    ended_at: at.wall.0 as i64,
                    duration_ms: 0,
                    files: Vec::new(),
                }));
                let _ = self.reports.send(Report::Failed { room: s.room });
            }
        }
    }

    /// Finishes the room's recording: every file gets its index and duration, the manifest says
    /// `complete`, and the async side records it.
    fn stop(&mut self, room: &RoomId, at: Instant) {
        let Some(a) = self.active.remove(room) else {
            return;
        };
        self.metrics.active.fetch_sub(1, Ordering::Relaxed);
        self.tracks.retain(|_, (r, _)| r != room);
        let stamp = a.clock.stamp(at);
        let started = a.rec.manifest().started_at;
        let dir = a.rec.dir().to_path_buf();
        let (state, manifest) = match a.rec.finish(stamp) {
            Ok(m) => (RecordingRowState::Complete, Some(m)),
            Err(e) => {
                tracing::error!(room = %room, error = %e, "a recording did not finish cleanly");
                (
                    RecordingRowState::Failed,
                    convene_record::Manifest::load(&dir).ok(),
                )
            }
        };
        let files = manifest
            .map(|m| super::files_of(&dir, &m))
            .unwrap_or_default();
        let _ = self.reports.send(Report::Finished(super::Finished {
            public_id: a.public_id,
            meeting: a.meeting,
            state,
            ended_at: stamp.wall.0 as i64,
            duration_ms: stamp.meeting.0.saturating_sub(started.meeting.0),
            files,
        }));
    }

    fn media_item(&mut self, item: Item) {
        let worker = item.worker;
        match item.what {
            What::Core(Recorded::Started {
                id,
                room,
                participant,
                track,
                source,
                codec,
                channels,
                ..
            }) => self.track_started(
                worker,
                id,
                room,
                participant,
                track,
                source,
                codec,
                channels,
            ),
            What::Core(Recorded::Frame {
                id,
                at,
                keyframe,
                data,
            }) => self.frame(worker, id, at, keyframe, &data),
            What::Core(Recorded::Gap { id, from, to, .. }) => {
                // Packets lost on the way in (the core resumes a video at its next keyframe).
                self.gap(worker, id, from, to, GapReason::Lost);
            }
            What::Dropped { id, from, to, .. } => {
                self.gap(worker, id, from, to, GapReason::Dropped)
            }
            What::Core(Recorded::Ended { id, .. }) => {
                if let Some((room, track)) = self.tracks.remove(&(worker, id)) {
                    if let Some(a) = self.active.get_mut(&room) {
                        if let Err(e) = a.rec.end_track(&track) {
                            tracing::warn!(room = %room, track = %track, error = %e, "a recorded track did not end cleanly");
                        }
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn track_started(
        &mut self,
        worker: usize,
        id: RecordingId,
        room: RoomId,
        participant: ParticipantId,
        track: TrackId,
        source: convene_media::TrackSource,
        codec: RecordedCodec,
        channels: Option<u8>,
    ) {
        // A room that stopped recording meanwhile: its frames are not wanted.
        let Some(a) = self.active.get_mut(&room) else {
            return;
        };
        let meta = TrackMeta {
            track: track.clone(),
            participant_name: a
                .names
                .get(&participant)
                .cloned()
                .unwrap_or_else(|| participant.0.clone()),
            participant,
            source: crate::media::source_to_proto(source),
        };
        match a.rec.add_track(meta, spec(codec, channels)) {
            Ok(()) => {
                self.tracks.insert((worker, id), (room, track));
            }
            Err(e) => {
                tracing::warn!(room = %room, track = %track, error = %e, "cannot record a track");
            }
        }
    }

    fn frame(&mut self, worker: usize, id: RecordingId, at: Instant, keyframe: bool, data: &[u8]) {
        let Some((room, track)) = self.tracks.get(&(worker, id)) else {
            return;
        };
        let Some(a) = self.active.get_mut(room) else {
            return;
        };
        let frame = Frame {
            pts: a.clock.pts(at),
            keyframe,
            data,
        };
        match a.rec.write(track, frame) {
            Ok(()) => {
                self.metrics.frames.fetch_add(1, Ordering::Relaxed);
                self.metrics
                    .bytes
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
            }
            // The writer waits for a keyframe, or the track failed already (said once, below).
            Err(RecordError::AwaitingKeyframe | RecordError::NotWritable(_)) => {}
            Err(e) => {
                tracing::warn!(room = %room, track = %track, error = %e, "a recorded frame was not written");
            }
        }
    }

    fn gap(
        &mut self,
        worker: usize,
        id: RecordingId,
        from: Instant,
        to: Instant,
        reason: GapReason,
    ) {
        let Some((room, track)) = self.tracks.get(&(worker, id)) else {
            return;
        };
        let Some(a) = self.active.get_mut(room) else {
            return;
        };
        let gap = Gap {
            start: convene_record::MeetingTime::from_duration(a.clock.pts(from)),
            end: convene_record::MeetingTime::from_duration(a.clock.pts(to)),
            reason,
        };
        if let Err(e) = a.rec.gap(track, gap) {
            tracing::warn!(room = %room, error = %e, "a recording's gap was not saved");
        }
    }

    /// Saves each manifest with its counts now and then; a recording whose manifest cannot be
    /// saved (a full or failing disk) is finished as far as it goes and its room told.
    fn checkpoints(&mut self) {
        let now = Instant::now();
        let mut failed = Vec::new();
        for (room, a) in &mut self.active {
            if now < a.last_checkpoint + CHECKPOINT_EVERY {
                continue;
            }
            a.last_checkpoint = now;
            if let Err(e) = a.rec.checkpoint() {
                tracing::error!(room = %room, error = %e, "cannot save a recording's manifest");
                failed.push(room.clone());
            }
        }
        for room in failed {
            self.stop(&room, now);
            let _ = self.reports.send(Report::Failed { room });
        }
    }
}

/// The file format of a recorded codec.
fn spec(codec: RecordedCodec, channels: Option<u8>) -> TrackSpec {
    match codec {
        RecordedCodec::Opus => TrackSpec::Audio {
            codec: convene_record::AudioCodec::Opus,
            sample_rate: 48_000,
            channels: channels.unwrap_or(2),
        },
        RecordedCodec::Vp8 => TrackSpec::video(VideoCodec::Vp8),
        RecordedCodec::Vp9 => TrackSpec::video(VideoCodec::Vp9),
        RecordedCodec::Av1 => TrackSpec::video(VideoCodec::Av1),
        RecordedCodec::H264 => TrackSpec::video(VideoCodec::H264),
    }
}
