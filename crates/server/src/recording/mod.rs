//! Recording meetings (issue 23): the media workers hand what their cores record to a bounded
//! queue (queue.rs); one `recording-writer` thread writes it to files (writer.rs) through
//! `convene-record`; the async side keeps the rows, webhooks and rooms in step (records.rs).
//!
//! Storage: each recording is a folder `<recording.dir>/<recording id>/` of track files and their
//! manifest. This is the blob-store idea of files/blob.rs (a directory under the data directory,
//! objects named by unguessable ids) but not its trait: the track writers need files they can
//! seek in (Matroska's header and index are rewritten when a file is finished), which a blob
//! store that takes whole objects does not offer.

pub mod api;
pub mod clock;
pub mod disk;
pub mod queue;
pub mod records;
pub mod retention;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use convene_proto::{ParticipantId, RoomId};
use convene_store::{MeetingId, NewRecording, RecordingRowState};
use tokio::sync::mpsc::UnboundedSender;

use self::clock::MeetingClock;
use self::queue::{Item, QUEUE_CAPACITY};

/// What a room tells the writer.
#[derive(Debug)]
pub enum Control {
    Start(Box<StartRecording>),
    /// A participant's display name, for the tracks it publishes.
    Name {
        room: RoomId,
        participant: ParticipantId,
        name: String,
    },
    Stop {
        room: RoomId,
        at: Instant,
    },
    Shutdown,
}

#[derive(Debug)]
pub struct StartRecording {
    pub public_id: String,
    pub meeting: MeetingId,
    pub room: RoomId,
    /// The folder under the recording directory.
    pub dir: String,
    pub clock: MeetingClock,
    pub at: Instant,
    pub names: Vec<(ParticipantId, String)>,
}

/// What the async side is told, in order: rows to write, recordings finished, rooms to stop.
#[derive(Debug)]
pub enum Report {
    Insert(NewRecording),
    Finished(Finished),
    /// The writer could not go on with the room's recording: the room stops it (`failed`).
    Failed {
        room: RoomId,
    },
    /// Answered once every report before it is handled.
    Done(tokio::sync::oneshot::Sender<()>),
}

#[derive(Debug)]
pub struct Finished {
    pub public_id: String,
    pub meeting: MeetingId,
    pub state: RecordingRowState,
    pub ended_at: i64,
    pub duration_ms: u64,
    /// Each track file's name and size.
    pub files: Vec<(String, u64)>,
}

/// Counters for /metrics.
#[derive(Debug, Default)]
pub struct RecorderMetrics {
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    pub dropped: Arc<AtomicU64>,
    pub active: AtomicU64,
}

impl RecorderMetrics {
    pub fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# HELP convene_recording_frames_total Frames written to recordings.\n\
             # TYPE convene_recording_frames_total counter\n\
             convene_recording_frames_total {}\n\
             # HELP convene_recording_bytes_total Frame bytes written to recordings.\n\
             # TYPE convene_recording_bytes_total counter\n\
             convene_recording_bytes_total {}\n\
             # HELP convene_recording_dropped_frames_total Recorded frames dropped because the writer fell behind.\n\
             # TYPE convene_recording_dropped_frames_total counter\n\
             convene_recording_dropped_frames_total {}\n\
             # HELP convene_recordings_active Meetings being recorded on this node.\n\
             # TYPE convene_recordings_active gauge\n\
             convene_recordings_active {}\n",
            get(&self.frames),
            get(&self.bytes),
            get(&self.dropped),
            get(&self.active),
        )
    }
}

/// The server's handle on recording. Cheap to share.
pub struct Recorder {
    root: PathBuf,
    media_tx: SyncSender<Item>,
    control: Mutex<mpsc::Sender<Control>>,
    reports: UnboundedSender<Report>,
    pub metrics: Arc<RecorderMetrics>,
    /// Rooms being recorded now, with their recording's id (for the disk guard).
    active: Mutex<HashMap<RoomId, String>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Recorder {
    /// Starts the writer thread on `root` (made by the first recording). Reports go to `reports`.
    pub fn start(root: &Path, reports: UnboundedSender<Report>) -> std::io::Result<Self> {
        let (media_tx, media_rx) = mpsc::sync_channel(QUEUE_CAPACITY);
        let (control_tx, control_rx) = mpsc::channel();
        let metrics = Arc::new(RecorderMetrics::default());
        let writer = writer::Writer::new(
            media_rx,
            control_rx,
            reports.clone(),
            metrics.clone(),
            root.to_path_buf(),
        );
        let thread = std::thread::Builder::new()
            .name("recording-writer".into())
            .spawn(move || writer.run())?;
        Ok(Self {
            root: root.to_path_buf(),
            media_tx,
            control: Mutex::new(control_tx),
            reports,
            metrics,
            active: Mutex::new(HashMap::new()),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A media worker's end of the queue.
    pub fn queue(&self, worker: usize) -> queue::RecordQueue {
        queue::RecordQueue::new(worker, self.media_tx.clone(), self.metrics.dropped.clone())
    }

    /// Records the row, then starts the files (in that order, so the row exists when the writer
    /// reports the end).
    pub fn start_recording(&self, row: NewRecording, start: StartRecording) {
        lock(&self.active).insert(start.room.clone(), start.public_id.clone());
        let _ = self.reports.send(Report::Insert(row));
        self.control(Control::Start(Box::new(start)));
    }

    pub fn stop_recording(&self, room: &RoomId, at: Instant) {
        lock(&self.active).remove(room);
        self.control(Control::Stop {
            room: room.clone(),
            at,
        });
    }

    pub fn name(&self, room: &RoomId, participant: &ParticipantId, name: &str) {
        self.control(Control::Name {
            room: room.clone(),
            participant: participant.clone(),
            name: name.to_owned(),
        });
    }

    /// The rooms being recorded now.
    pub fn active_rooms(&self) -> Vec<RoomId> {
        lock(&self.active).keys().cloned().collect()
    }

    /// Whether the recording `public_id` is being written now.
    pub fn is_active(&self, public_id: &str) -> bool {
        lock(&self.active).values().any(|p| p == public_id)
    }

    /// Finishes every recording and ends the writer thread (blocking: call off the runtime).
    pub fn shutdown(&self) {
        self.control(Control::Shutdown);
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }

    /// Resolves once the reports sent so far are handled (rows written).
    pub fn reports_done(&self) -> tokio::sync::oneshot::Receiver<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = self.reports.send(Report::Done(tx));
        rx
    }

    fn control(&self, c: Control) {
        // The writer only ends at shutdown; a command after that has nothing to do.
        let _ = lock(&self.control).send(c);
    }
}

/// The REST routes of recordings (api.rs).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<Arc<crate::state::AppState>> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(api::list))
        .routes(routes!(api::manifest))
        .routes(routes!(api::file))
        .routes(routes!(api::delete))
        .routes(routes!(api::start, api::stop))
        .routes(routes!(api::room_recording))
}

/// Poisoning is ignored: the maps hold plain values a panicking holder cannot leave half-made.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Each track file of a manifest with its size on disk (0 for a file that is missing).
pub fn files_of(dir: &Path, m: &convene_record::Manifest) -> Vec<(String, u64)> {
    m.tracks
        .iter()
        .map(|t| {
            let size = std::fs::metadata(dir.join(&t.file)).map_or(0, |m| m.len());
            (t.file.clone(), size)
        })
        .collect()
}

/// A new recording's id: 16 random bytes, hex (unguessable, and a safe folder name).
pub fn new_public_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("rec_{hex}")
}
