//! The media plane in the server: the sans-IO core (`convene-media`) driven by a worker thread that owns
//! the UDP socket, ICE-TCP connections handed over by the TCP listener, and the routing of the core's
//! events into rooms.

mod admission;
mod batch;
mod busy;
pub mod ice_servers;
pub mod ice_tcp;
mod messages;
mod metrics;
pub mod offer_sources;
mod placement;
mod remote;
pub mod reuseport;
pub mod router;
mod routes;
mod sockbuf;
mod threads;
mod worker;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, RwLock};

use convene_media::{MediaError, SfuConfig};
use convene_proto::RoomId;
use tokio::sync::mpsc;

use crate::config::MediaConfig;

pub(crate) use messages::participant_of;
pub use messages::{
    kind_from_proto, kind_to_proto, source_from_proto, source_to_proto, worker_link, MediaCmd,
    MediaOut,
};
pub use remote::{remote_link, split_link, RemoteMedia};

#[derive(Debug, thiserror::Error)]
pub enum MediaStartError {
    #[error("media.public_ips: `{0}` is not an IP address")]
    BadIp(String),
    #[error("cannot start the media core: {0}")]
    Core(#[from] MediaError),
    #[error("media socket: {0}")]
    Io(#[from] std::io::Error),
}

/// What the workers share: which worker owns which ICE ufrag and which remote address, so a datagram
/// read by any worker reaches the one that holds its participant; and each worker's counters.
pub struct Shared {
    pub(crate) routes: routes::RouteMaps,
    pub(crate) stats: Mutex<Vec<convene_media::Stats>>,
    pub(crate) send_counts: Mutex<Vec<batch::SendCounts>>,
    /// Datagrams handed to each worker and not yet taken: the hand-off queue is bounded by this,
    /// so an overloaded worker drops (as the kernel would) instead of queueing without end.
    pub(crate) handoff_queued: Vec<AtomicUsize>,
    pub(crate) handoff_dropped: AtomicU64,
    /// Which worker holds which participant (and links the workers a room spans).
    pub(crate) placement: Mutex<placement::Placement>,
    /// How busy each worker is, for admitting joins.
    pub(crate) busy: busy::BusyBoard,
    /// Joins each worker took too recently for their load to show in `busy`. Locked after
    /// `placement` when both are held.
    admission: Mutex<admission::Admission>,
    /// Other nodes' media planes, in a cluster (set once, at start).
    pub(crate) remote: std::sync::OnceLock<Arc<dyn RemoteMedia>>,
    /// Rooms being recorded: their newcomers' media stays on this node (a recording is written
    /// by the node running the room, from the tracks its own workers hold).
    recorded: Mutex<std::collections::HashSet<RoomId>>,
}

/// Poisoning is ignored: placement and admission hold plain values that a panicking holder cannot
/// leave half-made.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// `participant`'s media session on `worker` connected: its load starts to show.
    pub fn connected(&self, worker: usize, participant: &convene_proto::ParticipantId) {
        lock(&self.admission).connected(worker, participant, std::time::Instant::now());
    }

    /// Which workers take no newcomers now (see `admission.rs`).
    fn saturated(&self, limit: f64) -> Vec<bool> {
        if limit <= 0.0 {
            return Vec::new();
        }
        let load = lock(&self.placement).load().to_vec();
        let busy = self.busy.ratios();
        lock(&self.admission).saturated(&busy, &load, limit, std::time::Instant::now())
    }

    pub(crate) fn remote(&self) -> Option<&Arc<dyn RemoteMedia>> {
        self.remote.get()
    }

    /// Whether `worker` reports `room`'s room-wide events (every worker the room is on sees them).
    pub fn is_home(&self, room: &RoomId, worker: usize) -> bool {
        lock(&self.placement).home(room).is_none_or(|h| h == worker)
    }

    /// The worker that owns a packet: by the STUN username when it is STUN, else by its source.
    pub fn owner(&self, data: &[u8], src: SocketAddr) -> Option<usize> {
        self.routes.owner(data, src)
    }
}

/// Lock helpers: the maps hold plain values that a panicking writer cannot leave half-made.
pub(crate) fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

/// The handle the rest of the server uses. Cheap to clone.
#[derive(Clone)]
pub struct MediaPlane {
    workers: Arc<Vec<mpsc::UnboundedSender<MediaCmd>>>,
    /// Stops and joins the worker threads when the server stops or the last clone is dropped.
    threads: Arc<threads::WorkerThreads>,
    shared: Arc<Shared>,
    pub udp_addr: SocketAddr,
    pub ice_tcp: bool,
    /// Busy ratio at which a worker takes no newcomers (`media.max_worker_busy`; 0: off).
    max_busy: f64,
    /// Media sessions this node holds at most (`media.max_sessions`; 0: no bound).
    max_sessions: usize,
    /// The router's queue: other nodes' reports about sessions placed there join it.
    out: mpsc::UnboundedSender<MediaOut>,
}

impl MediaPlane {
    /// Starts the worker threads on `udp` (one per core unless configured); ICE-TCP is announced on
    /// `tcp_port` when enabled. Rooms are spread over the workers.
    pub fn start(
        config: &MediaConfig,
        udp: std::net::UdpSocket,
        tcp_port: u16,
        metrics: Arc<crate::metrics::Metrics>,
        recorder: Option<Arc<crate::recording::Recorder>>,
    ) -> Result<(Self, mpsc::UnboundedReceiver<MediaOut>), MediaStartError> {
        let public_ips = config
            .public_ips
            .iter()
            .map(|ip| {
                ip.parse::<IpAddr>()
                    .map_err(|_| MediaStartError::BadIp(ip.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let udp_addr = udp.local_addr()?;
        let sfu_config = SfuConfig {
            public_ips: public_ips.clone(),
            udp_port: udp_addr.port(),
            tcp_port: config.ice_tcp.then_some(tcp_port),
            ..SfuConfig::default()
        };
        // At most 255: a link between nodes names a worker in one byte, and a relay item lists
        // at most 255 receiving workers (cluster/span/wire.rs).
        let n = match config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        }
        .min(255);
        let shared = Arc::new(Shared {
            routes: routes::RouteMaps::default(),
            stats: Mutex::new(vec![convene_media::Stats::default(); n]),
            send_counts: Mutex::new(vec![batch::SendCounts::default(); n]),
            handoff_queued: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            handoff_dropped: AtomicU64::new(0),
            placement: Mutex::new(placement::Placement::new(
                n,
                config.room_spread_threshold as usize,
            )),
            busy: busy::BusyBoard::new(n),
            admission: Mutex::new(admission::Admission::new(n)),
            remote: std::sync::OnceLock::new(),
            recorded: Mutex::new(std::collections::HashSet::new()),
        });
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let out = out_tx.clone();
        let mut senders = Vec::with_capacity(n);
        let mut receivers = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            receivers.push(rx);
        }
        let workers = Arc::new(senders);
        let local_udp = SocketAddr::new(public_ips[0], udp_addr.port());
        let local_tcp = SocketAddr::new(public_ips[0], tcp_port);
        // A socket per worker on the one port (see `reuseport.rs`); a socket bound without
        // SO_REUSEPORT is shared instead, at the cost of reordering across workers.
        let own_sockets = n > 1 && reuseport::is_reuseport(&udp);
        if n > 1 && !own_sockets {
            tracing::warn!("the media UDP socket was not bound with SO_REUSEPORT: the workers share it, and a participant's packets may be reordered between them");
        }
        let mut granted = None;
        // Made first, so that if a later worker cannot start, those started are stopped.
        let threads = threads::WorkerThreads::new(workers.clone());
        for (index, rx) in receivers.into_iter().enumerate() {
            let udp = if index == 0 || !own_sockets {
                udp.try_clone()?
            } else {
                reuseport::bind(udp_addr)?
            };
            if config.socket_buffer_bytes > 0 && (index == 0 || own_sockets) {
                match sockbuf::set_buffers(&udp, config.socket_buffer_bytes) {
                    Ok(g) => {
                        granted = Some(
                            granted.map_or(g, |(r, s): (usize, usize)| (r.min(g.0), s.min(g.1))),
                        )
                    }
                    Err(e) => tracing::warn!(error = %e, "could not size the media socket buffers"),
                }
            }
            threads.add(worker::spawn(worker::WorkerSetup {
                index,
                config: sfu_config.clone(),
                udp,
                local_udp,
                local_tcp,
                cmds: rx,
                peers: workers.clone(),
                shared: shared.clone(),
                out: out_tx.clone(),
                metrics: metrics.clone(),
                batch_send: config.batch_send || config.gso,
                gso: config.gso,
                recorded: recorder.as_ref().map(|r| r.queue(index)),
            })?);
        }
        let threads = Arc::new(threads);
        if let Some((rx, tx)) = granted {
            // The kernel reports twice what it grants for data; below the request means capped.
            if rx / 2 < config.socket_buffer_bytes as usize {
                tracing::warn!(
                    requested = config.socket_buffer_bytes,
                    granted = rx / 2,
                    "media socket receive buffer capped by net.core.rmem_max; raise it for more"
                );
            }
            metrics.set_extra(
                "media_sockets",
                format!(
                    "# HELP convene_media_udp_buffer_bytes Kernel buffer of each media socket (as the kernel reports it, twice the data it holds).\n# TYPE convene_media_udp_buffer_bytes gauge\nconvene_media_udp_buffer_bytes{{direction=\"receive\"}} {rx}\nconvene_media_udp_buffer_bytes{{direction=\"send\"}} {tx}\n"
                ),
            );
        }
        Ok((
            Self {
                workers,
                threads,
                shared,
                udp_addr,
                ice_tcp: config.ice_tcp,
                max_busy: config.max_worker_busy,
                max_sessions: config.max_sessions as usize,
                out,
            },
            out_rx,
        ))
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// The mean share of the time the workers are busy (0-1): the media load a cluster compares.
    pub fn mean_busy(&self) -> f64 {
        let ratios = self.shared.busy.ratios();
        if ratios.is_empty() {
            return 0.0;
        }
        ratios.iter().map(|b| b.total).sum::<f64>() / ratios.len() as f64
    }

    /// Stops the worker threads and waits for them to end (blocking; see `threads.rs`). Commands
    /// sent afterwards are dropped. The number of threads joined: 0 if already stopped.
    pub fn stop(&self) -> usize {
        self.threads.stop()
    }

    /// Whether a newcomer to `room` can be placed: on a worker of this node that is not saturated
    /// (below `media.max_sessions`), or else, in a cluster, on another node's. Checked before a
    /// join commits: a saturated worker reads its socket late, so a newcomer's handshake there
    /// would time out instead of failing fast. (A soft limit: joins that race past it are placed.)
    pub fn admits(&self, room: &RoomId) -> bool {
        self.admits_here(room) || self.may_place_elsewhere(room)
    }

    /// Whether a newcomer of `room` may go to another node now: in a cluster, one has room, and
    /// the room is not being recorded (a recording holds the tracks of this node's workers only).
    fn may_place_elsewhere(&self, room: &RoomId) -> bool {
        !lock(&self.shared.recorded).contains(room)
            && self.shared.remote().is_some_and(|r| r.can_place(room))
    }

    /// Whether some of `room`'s media sessions are on another node.
    pub fn spans_nodes(&self, room: &RoomId) -> bool {
        self.shared.remote().is_some_and(|r| r.spans(room))
    }

    /// Whether this node's own workers take a newcomer to `room`.
    pub fn admits_here(&self, room: &RoomId) -> bool {
        let saturated = self.shared.saturated(self.max_busy);
        let placement = lock(&self.shared.placement);
        let full =
            self.max_sessions > 0 && placement.load().iter().sum::<usize>() >= self.max_sessions;
        !full && placement.admits(room, &saturated)
    }

    /// The workers of this node holding `room`, home first.
    pub fn hosts(&self, room: &RoomId) -> Vec<usize> {
        lock(&self.shared.placement).hosts(room)
    }

    /// A relay message from a core on another node (`from`) for this node's worker `to`; one for
    /// a worker we do not have is dropped, as is media for a worker too far behind.
    pub fn relay_in(
        &self,
        to: usize,
        from: convene_media::LinkId,
        msg: convene_media::RelayMessage,
    ) {
        let Some(queued) = self.shared.handoff_queued.get(to) else {
            return;
        };
        if msg.is_media()
            && queued.load(std::sync::atomic::Ordering::Relaxed) >= worker::HANDOFF_LIMIT
        {
            self.shared
                .handoff_dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        queued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.send_to(to, MediaCmd::Relay { from, msg });
    }

    /// Media sessions on this node's workers.
    pub fn sessions(&self) -> usize {
        lock(&self.shared.placement).load().iter().sum()
    }

    /// Whether any worker of this node holds participants of `room`.
    pub fn hosts_room(&self, room: &RoomId) -> bool {
        lock(&self.shared.placement).home(room).is_some()
    }

    /// Connects the plane to other nodes' (once, at start, in a cluster).
    pub fn set_remote(&self, remote: Arc<dyn RemoteMedia>) {
        let _ = self.shared.remote.set(remote);
    }

    /// Hands the rooms a report about a session another node holds for them.
    pub fn inject(&self, out: MediaOut) {
        let _ = self.out.send(out);
    }

    /// Sends a command about a participant of `room` wherever its media session is: a newcomer
    /// goes to this node's workers, or when they are full (and in a cluster) to another node's;
    /// commands about a participant follow its session.
    pub fn send(&self, room: &RoomId, cmd: MediaCmd) {
        let Some(remote) = self.shared.remote() else {
            return self.send_here(room, cmd);
        };
        let cmd = match cmd {
            MediaCmd::AddParticipant {
                room: r,
                participant,
            } => {
                // A session that moves (a resume) leaves the node it was on first.
                let _ = remote.send(MediaCmd::RemoveParticipant {
                    participant: participant.clone(),
                });
                let elsewhere = !self.admits_here(room) && self.may_place_elsewhere(room);
                if elsewhere && remote.place(room, &participant) {
                    // Placed there: one that was here before leaves this node's workers.
                    self.send_here(room, MediaCmd::RemoveParticipant { participant });
                    return;
                }
                MediaCmd::AddParticipant {
                    room: r,
                    participant,
                }
            }
            cmd => match remote.send(cmd) {
                Ok(()) => return,
                Err(cmd) => cmd,
            },
        };
        self.send_here(room, cmd)
    }

    /// Sends a command about a participant of `room` to the worker of this node holding it:
    /// placing the participant when its media session starts, releasing it when it ends, and
    /// linking or unlinking the workers the room spans. Done under the placement lock, so that
    /// every worker sees a participant added before the links that concern it.
    pub fn send_here(&self, room: &RoomId, cmd: MediaCmd) {
        let saturated = match &cmd {
            MediaCmd::AddParticipant { .. } => self.shared.saturated(self.max_busy),
            _ => Vec::new(),
        };
        let mut placement = lock(&self.shared.placement);
        let placed = matches!(
            cmd,
            MediaCmd::AddParticipant { .. } | MediaCmd::RemoveParticipant { .. }
        );
        match cmd {
            MediaCmd::AddParticipant {
                room: r,
                participant,
            } => {
                let join = placement.join(room, &participant, &saturated);
                lock(&self.shared.admission).placed(
                    join.worker,
                    participant.clone(),
                    std::time::Instant::now(),
                );
                let cmd = MediaCmd::AddParticipant {
                    room: r,
                    participant,
                };
                self.send_to(join.worker, cmd);
                for other in join.link_with {
                    let (r, link) = (room.clone(), worker_link(other));
                    self.send_to(join.worker, MediaCmd::AddLink { room: r, link });
                    let (r, link) = (room.clone(), worker_link(join.worker));
                    self.send_to(other, MediaCmd::AddLink { room: r, link });
                }
            }
            MediaCmd::RemoveParticipant { participant } => {
                // Not placed: it has no media session to end.
                let Some(leave) = placement.leave(&participant) else {
                    return;
                };
                self.send_to(leave.worker, MediaCmd::RemoveParticipant { participant });
                for other in leave.unlink_from {
                    let (room, link) = (room.clone(), worker_link(leave.worker));
                    self.send_to(other, MediaCmd::RemoveLink { room, link });
                }
            }
            cmd => {
                // A participant without a media session: any worker answers that it is unknown.
                let worker = participant_of(&cmd)
                    .and_then(|p| placement.worker(p))
                    .unwrap_or(0);
                self.send_to(worker, cmd);
            }
        }
        if let (true, Some(remote)) = (placed, self.shared.remote()) {
            let hosts = placement.hosts(room);
            drop(placement);
            remote.hosts_changed(room, &hosts);
        }
    }

    /// Records `room` or stops: told to every worker, so that a worker the room spreads to later
    /// records its tracks too (a worker without the room's participants only keeps the mark).
    pub fn set_recording(&self, room: &RoomId, on: bool) {
        match on {
            true => lock(&self.shared.recorded).insert(room.clone()),
            false => lock(&self.shared.recorded).remove(room),
        };
        for worker in 0..self.workers.len() {
            let room = room.clone();
            self.send_to(worker, MediaCmd::SetRecording { room, on });
        }
    }

    pub fn send_to(&self, worker: usize, cmd: MediaCmd) {
        // A worker only stops when the server does; a command then has nowhere to go. (A worker
        // number from another node's message may name none of ours.)
        let Some(tx) = self.workers.get(worker) else {
            tracing::warn!(worker, "no such media worker; command dropped");
            return;
        };
        if tx.send(cmd).is_err() {
            tracing::warn!(worker, "media worker is gone; command dropped");
        }
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }
}
