//! One composition at a time per node: a bounded queue and the one task that works through it.
//! A composition's row moves queued → running (with progress) → done | failed; a row deleted
//! while queued is skipped, one deleted while running has its ffmpeg killed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use convene_store::{ComposedFile, CompositionId, CompositionOutcome, Store};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use super::graph::{self, Encoding};
use super::runner::{self, RunError};
use crate::config::ComposeConfig;
use crate::files::blob::BlobStore;

/// How often progress is written to the store at most.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// A composition to make.
#[derive(Debug)]
pub struct Job {
    pub id: CompositionId,
    pub public_id: String,
    /// The recording's folder.
    pub dir: PathBuf,
}

/// What the worker needs of the server.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub config: ComposeConfig,
    /// Where ffmpeg writes before the file goes into the blob store (cleared at start-up).
    pub scratch: PathBuf,
    /// Free bytes under which no composition starts and a running one stops
    /// (`recording.min_free_mb`: a video written must not fill the disk under the recordings).
    pub min_free: u64,
}

/// The node's queue. Its worker starts with the first composition asked for and ends when the
/// queue is dropped (with the server's state).
pub struct ComposeQueue {
    capacity: usize,
    tx: Mutex<Option<mpsc::Sender<Job>>>,
}

impl ComposeQueue {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            tx: Mutex::new(None),
        }
    }

    /// A place in the queue, or None when `capacity` compositions are already waiting.
    pub fn reserve(&self, deps: impl FnOnce() -> Deps) -> Option<mpsc::OwnedPermit<Job>> {
        // A poisoned lock means a panic while swapping an Option; the Option is still whole.
        let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let sender = tx.get_or_insert_with(|| {
            let (sender, rx) = mpsc::channel(self.capacity);
            tokio::spawn(work(deps(), rx));
            sender
        });
        sender.clone().try_reserve_owned().ok()
    }
}

async fn work(deps: Deps, mut rx: mpsc::Receiver<Job>) {
    while let Some(job) = rx.recv().await {
        let started = Instant::now();
        let outcome = compose(&deps, &job).await;
        let now = crate::clock::now_ms();
        let outcome = match outcome {
            Ok(Some(file)) => CompositionOutcome::Done(file),
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(composition = %job.public_id, error = %e, "composition failed");
                CompositionOutcome::Failed(e)
            }
        };
        match deps.store.finish_composition(job.id, &outcome, now).await {
            Ok(true) => {
                if let CompositionOutcome::Done(f) = &outcome {
                    tracing::info!(composition = %job.public_id, bytes = f.bytes,
                        duration_ms = f.duration_ms, took_ms = started.elapsed().as_millis() as u64,
                        "composition done");
                }
            }
            // Deleted meanwhile: its file goes too.
            Ok(false) => {
                if let CompositionOutcome::Done(f) = &outcome {
                    let _ = deps.blobs.delete(&f.blob_key).await;
                }
            }
            Err(e) => {
                tracing::error!(composition = %job.public_id, error = %e, "composition not recorded")
            }
        }
    }
}

/// Makes one composition. `Ok(None)`: it was deleted before or while it ran.
async fn compose(deps: &Deps, job: &Job) -> Result<Option<ComposedFile>, String> {
    if !deps
        .store
        .composition_progress(job.id, 0)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(None);
    }
    // It may have waited in the queue while the disk filled.
    if !crate::recording::disk::has_room(&deps.scratch, deps.min_free) {
        return Err(runner::DISK_FULL.to_owned());
    }
    let manifest = convene_record::Manifest::load(&job.dir)
        .map_err(|e| format!("the recording's manifest cannot be read: {e}"))?;
    let ffmpeg = runner::locate(&deps.config.ffmpeg).map_err(|e| e.to_string())?;
    tokio::fs::create_dir_all(&deps.scratch)
        .await
        .map_err(|e| format!("scratch folder: {e}"))?;
    let output = deps.scratch.join(format!("compose-{}.mp4", job.public_id));
    let plan = graph::plan(&manifest, &job.dir, &output, &encoding(&deps.config));
    tracing::info!(composition = %job.public_id, videos = plan.videos, audios = plan.audios,
        duration_ms = plan.duration_ms, "composing");
    let result = run(deps, job.id, &ffmpeg, &plan).await;
    let stored = match result {
        Ok(true) => store_file(deps.blobs.as_ref(), &output).await.map(Some),
        Ok(false) => Ok(None),
        Err(e) => Err(e.to_string()),
    };
    let _ = tokio::fs::remove_file(&output).await;
    Ok(stored?.map(|(blob_key, bytes)| ComposedFile {
        file_name: format!("meeting-{}.mp4", manifest.room.as_str()),
        blob_key,
        bytes,
        duration_ms: plan.duration_ms as i64,
    }))
}

fn encoding(c: &ComposeConfig) -> Encoding {
    Encoding {
        canvas: super::layout::Canvas {
            width: c.width,
            height: c.height,
        },
        fps: c.fps,
        preset: c.preset.clone(),
    }
}

/// Runs ffmpeg to the end; false if the composition was deleted meanwhile (ffmpeg is killed).
async fn run(
    deps: &Deps,
    id: CompositionId,
    ffmpeg: &Path,
    plan: &graph::Plan,
) -> Result<bool, RunError> {
    let mut running = runner::start(ffmpeg, &plan.args, deps.config.niceness, plan.duration_ms)?;
    let mut written = Instant::now();
    while let Some(pct) = running.next().await? {
        if written.elapsed() >= PROGRESS_EVERY {
            written = Instant::now();
            // Dropping `running` kills ffmpeg; the caller removes what it wrote.
            if !crate::recording::disk::has_room(&deps.scratch, deps.min_free) {
                return Err(RunError::DiskFull);
            }
            // A store that does not answer only delays the progress shown.
            if let Ok(false) = deps.store.composition_progress(id, i64::from(pct)).await {
                return Ok(false);
            }
        }
    }
    running.finish().await?;
    Ok(true)
}

/// Copies the made file into the blob store; its key and length.
async fn store_file(blobs: &dyn BlobStore, path: &Path) -> Result<(String, i64), String> {
    let io = |e: std::io::Error| format!("storing the composition: {e}");
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut upload = blobs.create().await.map_err(io)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut total: i64 = 0;
    loop {
        let n = match file.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                upload.abort().await;
                return Err(io(e));
            }
        };
        if let Err(e) = upload.write(&buf[..n]).await {
            upload.abort().await;
            return Err(io(e));
        }
        total += n as i64;
    }
    let key = upload.commit().await.map_err(io)?;
    Ok((key, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_refuses_past_its_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let store = convene_store::connect("sqlite::memory:").await.unwrap();
        let deps = || Deps {
            store: Arc::new(store),
            blobs: Arc::new(crate::files::blob::DirBlobStore::new(dir.path())),
            config: ComposeConfig::default(),
            scratch: dir.path().join("tmp"),
            min_free: 0,
        };
        let q = ComposeQueue::new(2);
        let a = q.reserve(deps).expect("a first place");
        let b = q
            .reserve(|| unreachable!("the worker starts once"))
            .expect("a second place");
        assert!(
            q.reserve(|| unreachable!()).is_none(),
            "a third waits for no place"
        );
        // A place given back is free again.
        drop(a);
        assert!(q.reserve(|| unreachable!()).is_some());
        drop(b);
    }
}
