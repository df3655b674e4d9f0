//! What every part of a running server shares.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use convene_proto::ParticipantId;

use convene_store::Store;

use crate::config::Config;
use crate::media::MediaPlane;
use crate::metrics::Metrics;
use crate::rooms::resume::ResumeKey;
use crate::rooms::{Registry, RoomHandle};

pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    /// The rooms running on this node.
    pub rooms: Arc<Registry>,
    /// How every caller addresses a room wherever it runs: `rooms` on a single node, the cluster's
    /// plane (local rooms, or their owner) in a cluster.
    pub plane: Arc<dyn crate::rooms::RoomPlane>,
    /// This node's part in a cluster; None on a single node.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Rooms spanning this node and others (cluster/span); None on a single node or without media.
    pub spans: Option<Arc<crate::cluster::span::Spans>>,
    /// Signs and verifies resume tokens; the key lives in the database, so tokens outlive the process.
    pub resume_key: ResumeKey,
    /// Rooms planned per account per hour.
    pub plan_limiter: crate::auth::limits::PlanLimiter,
    /// Joins per address per minute.
    pub join_limiter: crate::auth::limits::JoinLimiter,
    /// API keys checked lately.
    pub api_keys: crate::auth::apikeys::KeyCache,
    /// Failed sign-ins per account and per address.
    pub signin_limiter: crate::auth::limits::SignInLimiter,
    /// Closes of records that failed, retried before each heartbeat.
    pub pending_writes: crate::pending_writes::PendingWrites,
    /// Whether the room writers last found the database reachable (db_gate.rs).
    pub db_gate: crate::db_gate::DbGate,
    /// None when `media.enabled` is false.
    pub media: Option<MediaPlane>,
    /// The bytes of shared files (files/blob.rs).
    pub blobs: Arc<dyn crate::files::blob::BlobStore>,
    /// Writes recordings; None when `recording.enabled` is off or media is disabled.
    pub recorder: Option<Arc<crate::recording::Recorder>>,
    /// The embedded TURN server; None unless `turn.enabled` (and media).
    pub turn: Option<Arc<crate::turn::Embedded>>,
    /// This node's compositions, one at a time (compose/queue.rs).
    pub compose: crate::compose::ComposeQueue,
    /// Which room each participant with a media session is in, for routing media events.
    media_routes: Mutex<HashMap<ParticipantId, RoomHandle>>,
    draining: AtomicBool,
    /// Turns true after the rooms have drained: connections still open (not in a room) close then.
    close_all: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        media: Option<MediaPlane>,
        resume_key: ResumeKey,
    ) -> Self {
        let signin_limiter = crate::auth::limits::SignInLimiter::new(
            config.auth.signin_failures_per_account,
            config.auth.signin_failures_per_address,
            std::time::Duration::from_secs(config.auth.signin_window_secs),
        );
        let plan_limiter =
            crate::auth::limits::PlanLimiter::new(config.limits.rooms_per_hour_per_account);
        let join_limiter =
            crate::auth::limits::JoinLimiter::new(config.limits.joins_per_minute_per_address);
        // In a cluster every node must read the bytes any node stored: they go to the database.
        let blobs: Arc<dyn crate::files::blob::BlobStore> = if config.cluster.enabled() {
            Arc::new(crate::files::db_blob::DbBlobStore::new(store.clone()))
        } else {
            Arc::new(crate::files::blob::DirBlobStore::new(&config.files.dir))
        };
        let compose = crate::compose::ComposeQueue::new(config.compose.max_queued as usize);
        let rooms = Arc::new(Registry::default());
        Self {
            plane: rooms.clone(),
            cluster: None,
            spans: None,
            blobs,
            compose,
            config,
            store,
            metrics,
            rooms,
            resume_key,
            join_limiter,
            plan_limiter,
            signin_limiter,
            api_keys: Default::default(),
            pending_writes: Default::default(),
            db_gate: Default::default(),
            media,
            recorder: None,
            turn: None,
            media_routes: Mutex::new(HashMap::new()),
            draining: AtomicBool::new(false),
            close_all: tokio::sync::watch::channel(false).0,
        }
    }

    /// Makes this node part of a cluster: rooms are then addressed through the cluster's plane.
    pub fn set_cluster(&mut self, cluster: Arc<crate::cluster::Cluster>) {
        self.plane = Arc::new(crate::cluster::plane::ClusterPlane {
            cluster: cluster.clone(),
            local: self.rooms.clone(),
        });
        self.signin_limiter.share(cluster.clone());
        // The media plane places sessions on other nodes when this one is full.
        if let Some(media) = &self.media {
            let spans = crate::cluster::span::Spans::new(cluster.clone(), media.clone());
            media.set_remote(spans.clone());
            self.spans = Some(spans);
        }
        self.cluster = Some(cluster);
    }

    pub fn set_media_route(&self, participant: &ParticipantId, room: Option<RoomHandle>) {
        // Poisoning cannot leave the map inconsistent (single inserts and removes), so keep using it.
        let mut routes = self.media_routes.lock().unwrap_or_else(|p| p.into_inner());
        match room {
            Some(h) => routes.insert(participant.clone(), h),
            None => routes.remove(participant),
        };
    }

    pub fn media_route(&self, participant: &ParticipantId) -> Option<RoomHandle> {
        let routes = self.media_routes.lock().unwrap_or_else(|p| p.into_inner());
        routes.get(participant).cloned()
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn close_all_connections(&self) {
        self.close_all.send_replace(true);
    }

    pub fn watch_close_all(&self) -> tokio::sync::watch::Receiver<bool> {
        self.close_all.subscribe()
    }
}
