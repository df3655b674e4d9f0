//! The media worker: one thread with its own single-threaded runtime, owning the SFU core and the UDP
//! socket. Packets and commands go in, packets and events come out; the core never waits on anything.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use convene_media::{Event, LinkId, Output, Protocol, RelayEncoder, Sfu, SfuConfig, Transmit};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use convene_proto::ParticipantId;

mod remote;

use super::routes::OwnRoutes;
use super::{MediaCmd, MediaOut, Shared};
use crate::metrics::Metrics;
use remote::PendingRelay;

/// Largest datagram we read; media packets are far smaller (MTU), the rest is garbage.
const RECV_BUF: usize = 2048;
/// Datagrams read in one go before the core's output is flushed.
const BATCH: usize = 32;
/// Datagrams waiting for one worker from the others before more are dropped (about 50 ms of a
/// busy worker's input; the socket's own buffer is of the same order).
pub(super) const HANDOFF_LIMIT: usize = 4096;
/// How often the core's counters are published to /metrics.
const STATS_EVERY: Duration = Duration::from_secs(1);

pub(super) struct WorkerSetup {
    pub index: usize,
    pub config: SfuConfig,
    pub udp: std::net::UdpSocket,
    pub local_udp: SocketAddr,
    pub local_tcp: SocketAddr,
    pub cmds: mpsc::UnboundedReceiver<MediaCmd>,
    /// Every worker's command queue (this one's too), for handing over datagrams.
    pub peers: Arc<Vec<mpsc::UnboundedSender<MediaCmd>>>,
    pub shared: Arc<Shared>,
    pub out: mpsc::UnboundedSender<MediaOut>,
    pub metrics: Arc<Metrics>,
    pub batch_send: bool,
    pub gso: bool,
    /// The queue to the recording writer; None when recording is off.
    pub recorded: Option<crate::recording::queue::RecordQueue>,
}

pub(super) fn spawn(
    setup: WorkerSetup,
) -> Result<std::thread::JoinHandle<()>, super::MediaStartError> {
    let sfu = Sfu::new(setup.config, Instant::now())?;
    setup.udp.set_nonblocking(true)?;
    let index = setup.index;
    let handle = std::thread::Builder::new()
        .name(format!("convene-media-{index}"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "media worker cannot start its runtime");
                    return;
                }
            };
            runtime.block_on(async move {
                let udp = match UdpSocket::from_std(setup.udp) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "media worker cannot use its UDP socket");
                        return;
                    }
                };
                let mut w = Worker {
                    index,
                    sfu,
                    udp,
                    local_udp: setup.local_udp,
                    local_tcp: setup.local_tcp,
                    tcp: HashMap::new(),
                    routes: OwnRoutes::new(index),
                    peers: setup.peers,
                    shared: setup.shared,
                    out: setup.out,
                    metrics: setup.metrics,
                    batch_send: setup.batch_send,
                    batch: super::batch::Batch::new(setup.gso),
                    joining: Duration::ZERO,
                    recorded: setup.recorded,
                    encoders: HashMap::new(),
                    remote_links: HashMap::new(),
                    pending: None,
                };
                w.run(setup.cmds).await;
            });
        })?;
    Ok(handle)
}

/// What ended a wait.
enum Wake {
    Cmd(Option<MediaCmd>),
    Udp(std::io::Result<(usize, SocketAddr)>),
    Timer,
}

struct Worker {
    index: usize,
    sfu: Sfu,
    udp: UdpSocket,
    local_udp: SocketAddr,
    local_tcp: SocketAddr,
    /// ICE-TCP connections by peer address: their writer tasks.
    tcp: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    /// This worker's participants' entries in the shared routing maps.
    routes: OwnRoutes,
    peers: Arc<Vec<mpsc::UnboundedSender<MediaCmd>>>,
    shared: Arc<Shared>,
    out: mpsc::UnboundedSender<MediaOut>,
    metrics: Arc<Metrics>,
    /// Send UDP in batches (sendmmsg) rather than one syscall per datagram.
    batch_send: bool,
    batch: super::batch::Batch,
    /// Time spent on joining work since the busy meter last took it (see `busy.rs`).
    joining: Duration,
    recorded: Option<crate::recording::queue::RecordQueue>,
    /// The encoding of what this worker sends each other node (by connection: one stream to all
    /// of that node's cores, which sends a packet's codec parameters only when they change),
    /// dropped with the last link to that node.
    encoders: HashMap<u32, RelayEncoder>,
    /// Links to cores of other nodes, by connection.
    remote_links: HashMap<u32, usize>,
    /// A packet for cores of another node, gathering the cores it goes to before it is sent once.
    pending: Option<PendingRelay>,
}

impl Worker {
    async fn run(&mut self, mut cmds: mpsc::UnboundedReceiver<MediaCmd>) {
        let mut buf = vec![0u8; RECV_BUF];
        let timer = tokio::time::sleep_until(self.sfu.poll_timeout().into());
        tokio::pin!(timer);
        let mut next_stats = Instant::now() + STATS_EVERY;
        let mut next_busy = Instant::now() + super::busy::PERIOD;
        let mut meter = super::busy::BusyMeter::new(Instant::now());
        let mut woke = Instant::now();
        loop {
            self.flush();
            meter.add(woke, Instant::now());
            meter.add_joining(std::mem::take(&mut self.joining));
            let deadline = self.sfu.poll_timeout().min(next_stats).min(next_busy);
            timer.as_mut().reset(deadline.into());
            let woken = tokio::select! {
                cmd = cmds.recv() => Wake::Cmd(cmd),
                r = self.udp.recv_from(&mut buf) => Wake::Udp(r),
                _ = &mut timer => Wake::Timer,
            };
            // Busy from here until the next wait (flush included).
            woke = Instant::now();
            match woken {
                Wake::Cmd(Some(MediaCmd::Stop) | None) => return,
                Wake::Cmd(Some(cmd)) => self.apply(cmd),
                Wake::Udp(Ok((n, src))) => {
                    self.input_udp(src, &buf[..n]);
                    // Take what else is waiting before flushing: fewer wake-ups under load.
                    for _ in 1..BATCH {
                        match self.udp.try_recv_from(&mut buf) {
                            Ok((n, src)) => self.input_udp(src, &buf[..n]),
                            Err(_) => break,
                        }
                    }
                }
                Wake::Udp(Err(e)) => tracing::debug!(error = %e, "UDP receive failed"),
                Wake::Timer => {
                    self.sfu.handle_timeout(woke);
                    if woke >= next_busy {
                        self.shared.busy.set(self.index, meter.tick(woke));
                        next_busy = woke + super::busy::PERIOD;
                    }
                    if woke >= next_stats {
                        self.publish_stats();
                        next_stats = woke + STATS_EVERY;
                    }
                }
            }
        }
    }

    fn input_udp(&mut self, src: SocketAddr, data: &[u8]) {
        if self.peers.len() > 1 {
            if let Some(owner) = self.shared.owner(data, src) {
                if owner != self.index {
                    let queued = &self.shared.handoff_queued[owner];
                    if queued.load(Ordering::Relaxed) >= HANDOFF_LIMIT {
                        self.shared.handoff_dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    queued.fetch_add(1, Ordering::Relaxed);
                    let cmd = MediaCmd::Datagram {
                        src,
                        data: data.to_vec(),
                    };
                    let _ = self.peers[owner].send(cmd);
                    return;
                }
            }
        }
        self.handle_udp(src, data);
    }

    fn handle_udp(&mut self, src: SocketAddr, data: &[u8]) {
        let now = Instant::now();
        // Dropped datagrams are counted by the core, by reason; nothing else to do with them.
        let ok = self
            .sfu
            .handle_input(now, Protocol::Udp, src, self.local_udp, data)
            .is_ok();
        if is_handshake(data) {
            self.joining += now.elapsed();
        }
        // A STUN request that checked out proves the address is this worker's participant's:
        // later non-STUN packets from it are routed here.
        if ok && self.peers.len() > 1 {
            if let Some(ufrag) =
                convene_media::stun_username(data).and_then(convene_media::local_ufrag)
            {
                self.routes.validated(&self.shared.routes, ufrag, src);
            }
        }
    }

    /// Keeps the shared routing maps in step with this worker's participants (a join, an ICE
    /// restart; a leave takes out its addresses too).
    fn sync_ufrag(&mut self, participant: &ParticipantId) {
        let now = self.sfu.local_ufrag(participant);
        self.routes.set_ufrag(&self.shared.routes, participant, now);
    }

    fn publish_stats(&mut self) {
        let mut all = self.shared.stats.lock().unwrap_or_else(|p| p.into_inner());
        all[self.index] = self.sfu.stats();
        let handoff_dropped = self.shared.handoff_dropped.load(Ordering::Relaxed);
        {
            let mut counts = self
                .shared
                .send_counts
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            counts[self.index] = self.batch.counts;
        }
        let load = {
            let placement = self
                .shared
                .placement
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            placement.load().to_vec()
        };
        let counts = self
            .shared
            .send_counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let busy = self.shared.busy.ratios();
        let routes = self.shared.routes.len();
        super::metrics::publish(
            &all,
            &load,
            &busy,
            &counts,
            handoff_dropped,
            routes,
            &self.metrics,
        );
    }

    fn apply(&mut self, cmd: MediaCmd) {
        let now = Instant::now();
        let joining = match &cmd {
            // Datagrams handed over are counted by `handle_udp`; ICE-TCP input is a byte stream
            // (RFC 4571 framing) and counts as media.
            MediaCmd::Datagram { .. }
            | MediaCmd::TcpInput { .. }
            | MediaCmd::Relay { .. }
            | MediaCmd::VideoConstraint { .. }
            | MediaCmd::ServerMute { .. }
            | MediaCmd::SetReceives { .. }
            | MediaCmd::SetRecording { .. }
            | MediaCmd::Stop => false,
            // Listed, not a wildcard, so that a new command is classified when it is added.
            MediaCmd::AddParticipant { .. }
            | MediaCmd::RemoveParticipant { .. }
            | MediaCmd::Offer { .. }
            | MediaCmd::Answer { .. }
            | MediaCmd::Candidate { .. }
            | MediaCmd::TcpOpen { .. }
            | MediaCmd::TcpClosed { .. }
            | MediaCmd::AddLink { .. }
            | MediaCmd::RemoveLink { .. } => true,
        };
        self.apply_cmd(cmd, now);
        if joining {
            self.joining += now.elapsed();
        }
    }

    fn apply_cmd(&mut self, cmd: MediaCmd, now: Instant) {
        let result = match cmd {
            MediaCmd::AddParticipant { room, participant } => {
                let r = self.sfu.add_participant(room, participant.clone(), now);
                self.sync_ufrag(&participant);
                r.map_err(|e| (participant, "join", e))
            }
            MediaCmd::RemoveParticipant { participant } => {
                // Unknown is fine: a participant whose media already ended.
                let _ = self.sfu.remove_participant(&participant, now);
                self.sync_ufrag(&participant);
                Ok(())
            }
            MediaCmd::Datagram { src, data } => {
                self.shared.handoff_queued[self.index].fetch_sub(1, Ordering::Relaxed);
                self.handle_udp(src, &data);
                Ok(())
            }
            MediaCmd::Offer {
                participant,
                sdp,
                sources,
            } => match self.sfu.handle_offer(&participant, &sdp, &sources, now) {
                Ok(answer) => {
                    self.sync_ufrag(&participant);
                    // The answer goes out before any event the offer caused (e.g. a re-offer).
                    let _ = self.out.send(MediaOut::Answer {
                        participant,
                        sdp: answer,
                    });
                    Ok(())
                }
                Err(e) => Err((participant, "sdp_offer", e)),
            },
            MediaCmd::Answer { participant, sdp } => self
                .sfu
                .handle_answer(&participant, &sdp, now)
                .map_err(|e| (participant, "sdp_answer", e)),
            MediaCmd::Candidate {
                participant,
                candidate,
            } => self
                .sfu
                .handle_candidate(&participant, &candidate)
                .map_err(|e| (participant, "ice_candidate", e)),
            MediaCmd::VideoConstraint {
                participant,
                track,
                size,
            } => self
                .sfu
                .set_video_constraint(&participant, &track, size, now)
                .map_err(|e| (participant, "set_video_constraint", e)),
            MediaCmd::ServerMute {
                participant,
                source,
                muted,
            } => self
                .sfu
                .set_server_muted(&participant, source, muted)
                .map_err(|e| (participant, "mute", e)),
            MediaCmd::SetReceives {
                participant,
                receives,
            } => self
                .sfu
                .set_receives(&participant, receives, now)
                .map_err(|e| (participant, "receives", e)),
            MediaCmd::TcpOpen { peer, tx } => {
                self.tcp.insert(peer, tx);
                Ok(())
            }
            MediaCmd::TcpInput { peer, data } => {
                let _ = self
                    .sfu
                    .handle_input(now, Protocol::Tcp, peer, self.local_tcp, &data);
                Ok(())
            }
            MediaCmd::TcpClosed { peer } => {
                self.tcp.remove(&peer);
                Ok(())
            }
            MediaCmd::SetRecording { room, on } => {
                // Without a writer nothing records (the room refuses to start).
                if self.recorded.is_some() {
                    self.sfu.set_recording(&room, on, now);
                }
                Ok(())
            }
            MediaCmd::AddLink { room, link } => {
                if let Some((slot, _)) = super::split_link(link) {
                    *self.remote_links.entry(slot).or_default() += 1;
                }
                self.sfu.add_link(&room, link, now);
                Ok(())
            }
            MediaCmd::RemoveLink { room, link } => {
                self.sfu.remove_link(&room, link, now);
                if let Some((slot, _)) = super::split_link(link) {
                    let left = self.remote_links.get_mut(&slot).map(|n| {
                        *n = n.saturating_sub(1);
                        *n
                    });
                    if left == Some(0) {
                        self.remote_links.remove(&slot);
                        self.encoders.remove(&slot);
                    }
                }
                Ok(())
            }
            MediaCmd::Relay { from, msg } => {
                self.shared.handoff_queued[self.index].fetch_sub(1, Ordering::Relaxed);
                self.sfu.handle_relay(from, msg, now);
                Ok(())
            }
            // Taken by `run`, which ends the loop; nothing to do here.
            MediaCmd::Stop => Ok(()),
        };
        if let Err((participant, request, e)) = result {
            let _ = self.out.send(MediaOut::Failed {
                participant,
                request,
                error: e,
            });
        }
    }

    /// Sends what the core wants sent, passes other cores' messages on and hands its events to the
    /// router.
    fn flush(&mut self) {
        while let Some(o) = self.sfu.poll_output() {
            match o {
                Output::Transmit(t) => self.transmit(t),
                Output::Relay(link, msg) => self.relay(link, msg),
                Output::Event(e) => self.event(e),
                Output::Recorded(r) => self.recorded(r),
            }
        }
        self.flush_remote();
        if let Some(q) = &mut self.recorded {
            q.flush_held();
        }
        if !self.batch.is_empty() {
            use std::os::fd::AsRawFd;
            self.batch.send(self.udp.as_raw_fd());
        }
    }

    /// Hands a recorded frame to the writer's queue; never waits (see recording/queue.rs).
    fn recorded(&mut self, r: convene_media::Recorded) {
        let Some(q) = &mut self.recorded else { return };
        let sfu = &mut self.sfu;
        let now = Instant::now();
        q.push(r, &mut |id| sfu.resync_recording(id, now));
    }

    fn transmit(&mut self, t: Transmit) {
        match t.proto {
            Protocol::Udp if self.batch_send => self.batch.push(t.destination, &t.contents),
            // A full socket buffer drops the packet, as the network would; NACK/RTX recover.
            // Counted: /metrics shows it (dropped packets, reason "send_failed").
            Protocol::Udp => self.batch.send_one(&self.udp, t.destination, &t.contents),
            _ => {
                if let Some(tx) = self.tcp.get(&t.destination) {
                    let _ = tx.try_send(t.contents.to_vec());
                }
            }
        }
    }

    fn relay(&mut self, link: LinkId, msg: convene_media::RelayMessage) {
        if let Some((slot, to)) = super::split_link(link) {
            return self.relay_remote(slot, to as u8, link, msg);
        }
        let to = link.0 as usize;
        let Some(worker) = self.peers.get(to) else {
            return;
        };
        // Frames for an overloaded worker are dropped like datagrams; control always goes.
        let queued = &self.shared.handoff_queued[to];
        if msg.is_media() && queued.load(Ordering::Relaxed) >= HANDOFF_LIMIT {
            self.shared.handoff_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        queued.fetch_add(1, Ordering::Relaxed);
        let _ = worker.send(MediaCmd::Relay {
            from: super::worker_link(self.index),
            msg,
        });
    }

    fn event(&mut self, e: Event) {
        if let Event::Connected { participant } = &e {
            self.shared.connected(self.index, participant);
        }
        // Every worker a room spans sees its audio; one of them speaks for the room.
        if let Event::DominantSpeaker { room, .. } | Event::AudioLevels { room, .. } = &e {
            if self.peers.len() > 1 && !self.shared.is_home(room, self.index) {
                return;
            }
        }
        let _ = self.out.send(MediaOut::Event(e));
    }
}

/// STUN, DTLS (and anything else that is not RTP or RTCP, RFC 7983's first byte 128-191): the
/// datagrams of joining and of ICE consent, not of media.
fn is_handshake(data: &[u8]) -> bool {
    data.first().is_none_or(|b| !(128..=191).contains(b))
}
