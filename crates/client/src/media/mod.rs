//! Media for the client: a str0m peer connection to the server's SFU, driven by a tokio task,
//! that publishes synthetic audio/video and records what it receives.
//!
//! [`MediaSession::start`] takes a joined [`Signaling`] connection; from then on the task owns it:
//! it makes the first offer, answers the server's offers, and hands every other server message
//! out as a [`MediaEvent::Signaling`]. [`MediaSession::stop`] gives the connection back.

mod driver;
mod link;
mod net;
mod packets;
pub mod parts;
mod publish;
mod receive;
pub mod stamped;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use convene_proto::{ClientMessage, ParticipantId, ServerMessage, TrackId};
use str0m::config::DtlsCert;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::signaling::{ClientError, Signaling};
use parts::Command;

pub use net::{NetCounters, Transport};
pub use parts::LeanStats;
pub use publish::{catch_up, PublishOptions, SendStats, MAX_LAG, RIDS};
pub use receive::TrackStats;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("signaling: {0}")]
    Signaling(#[from] ClientError),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad local candidate: {0}")]
    Candidate(String),
    #[error("the server's answer has no passive ICE-TCP candidate")]
    NoTcpCandidate,
    #[error("WebRTC: {0}")]
    Rtc(#[from] str0m::RtcError),
    #[error("bad SDP from the server: {0}")]
    Sdp(String),
    #[error("the media session has ended")]
    Ended,
    /// [`ReceiveMode::Packets`] receives only: str0m's RTP mode has no frame writer.
    #[error("a session in packet mode cannot publish")]
    PacketModePublish,
    #[error("could not make a DTLS certificate")]
    DtlsCertificate,
    /// The server reset this client's media session (it heard nothing for too long). The signaling
    /// connection is still good: a new `MediaSession` on it starts over.
    #[error("the server reset the media session: {0}")]
    ResetByServer(String),
    /// Whatever ran this session's peer (a tool's own runner, see [`parts`]) ended it.
    #[error("media failed: {0}")]
    Failed(String),
}

/// How to run a session.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// The IP to bind and announce as our host candidate.
    pub local_ip: IpAddr,
    pub transport: Transport,
    /// Published from the first offer; [`PublishOptions::none`] offers an inactive audio m-line only.
    pub publish: PublishOptions,
    /// Keep each track's last frame in [`TrackStats::last_payload`] (a copy per frame).
    pub keep_last_payload: bool,
    /// Stop encoding simulcast layers the server reports in `layers_unused`.
    pub honor_layers_unused: bool,
    /// Capacity of the event queue; events beyond it are dropped and counted.
    pub event_capacity: usize,
    /// How received media is taken in and checked.
    pub receive: ReceiveMode,
    /// Our DTLS certificate; None makes one for this session (an ECDSA key generation each).
    /// A load generator shares one ([`new_dtls_cert`]) across all its sessions.
    pub dtls_cert: Option<DtlsCert>,
}

/// How a session takes in media. Both modes measure the same things per frame (loss and
/// reordering by our header's sequence number, delay, corruption, foreign frames).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReceiveMode {
    /// str0m's depacketizer and jitter buffer reassemble each frame, which is then checked
    /// whole. Needed to publish.
    #[default]
    Frames,
    /// str0m's RTP mode: each packet is checked as it arrives and frames are completed by
    /// sequence number, without a jitter buffer or a copy of the frame (cheaper, for load
    /// generation). Receive only: publishing in this mode is refused.
    Packets,
}

/// A DTLS certificate to share between sessions ([`MediaConfig::dtls_cert`]).
pub fn new_dtls_cert() -> Result<DtlsCert, MediaError> {
    str0m::crypto::from_feature_flags()
        .dtls_provider
        .generate_certificate()
        .ok_or(MediaError::DtlsCertificate)
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            local_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            transport: Transport::Udp,
            publish: PublishOptions::default(),
            keep_last_payload: true,
            honor_layers_unused: true,
            event_capacity: 1024,
            receive: ReceiveMode::Frames,
            dtls_cert: None,
        }
    }
}

/// What the session reports besides stats.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaEvent {
    /// A server message the session did not consume (everything but `sdp_offer`, `sdp_answer`
    /// and `ice_candidate`; `error`, `track_*` and `layers_unused` are passed on too).
    Signaling(ServerMessage),
    /// ICE and DTLS are up: media flows.
    Connected,
    /// ICE lost the server (it may come back, e.g. after [`MediaSession::restart_ice`]).
    Disconnected,
    /// A server offer was answered; [`MediaStats::tracks`] has the new mapping.
    TracksChanged,
    /// The task stopped, with the reason.
    Ended(String),
}

/// A snapshot of the session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaStats {
    pub connected: bool,
    /// str0m's ICE state, e.g. "Connected", "Disconnected".
    pub ice_state: String,
    pub transport: Transport,
    /// Our host candidate's address (ICE-TCP: the announced active address, port 9).
    pub local_addr: Option<SocketAddr>,
    /// The server address media goes to, once known.
    pub remote_addr: Option<SocketAddr>,
    pub offers_sent: u64,
    pub answers_received: u64,
    /// Server offers answered / ignored because our own offer was pending (glare).
    pub server_offers_answered: u64,
    pub server_offers_ignored: u64,
    pub ice_restarts: u64,
    pub net: NetCounters,
    pub sent: SendStats,
    /// Every remote track offered so far.
    pub tracks: Vec<TrackStats>,
    /// Frames (packet mode: RTP packets) on m-lines the offers did not describe.
    pub unmapped_frames: u64,
    /// Events not delivered because the queue was full.
    pub events_dropped: u64,
    /// The last error the server sent about media (`media_error`), or a local media failure.
    pub last_error: Option<String>,
    /// What a tool's own receive path counted (the load tool's lean SRTP path), once the
    /// session took it; always None for sessions this crate runs.
    pub lean: Option<LeanStats>,
}

impl MediaStats {
    pub fn track(&self, id: &TrackId) -> Option<&TrackStats> {
        self.tracks.iter().rev().find(|t| &t.track_id == id)
    }

    /// Active tracks of one publisher.
    pub fn tracks_from<'a>(
        &'a self,
        participant: &'a ParticipantId,
    ) -> impl Iterator<Item = &'a TrackStats> + 'a {
        self.tracks
            .iter()
            .filter(move |t| t.active && &t.participant_id == participant)
    }
}

pub(crate) fn publishes(o: &PublishOptions) -> bool {
    o.audio || o.video
}

/// Handle to a running media session. Dropping it stops the task (and drops the connection).
pub struct MediaSession {
    cmd: mpsc::Sender<Command>,
    events: mpsc::Receiver<MediaEvent>,
    task: JoinHandle<Result<Signaling, MediaError>>,
}

impl MediaSession {
    /// Starts media on a joined connection: binds the transport and sends the first offer.
    /// `me` is our participant id (from `joined`); it identifies our frames to receivers.
    pub async fn start(
        signaling: Signaling,
        me: ParticipantId,
        config: MediaConfig,
    ) -> Result<MediaSession, MediaError> {
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (ev_tx, ev_rx) = mpsc::channel(config.event_capacity.max(1));
        let d = driver::Driver::new(signaling, me, config, ev_tx).await?;
        let task = tokio::spawn(d.run(cmd_rx));
        Ok(MediaSession {
            cmd: cmd_tx,
            events: ev_rx,
            task,
        })
    }

    /// A handle on a session another runner drives (see [`parts`]): it takes `cmd`'s commands
    /// and reports on `events` until `task` ends.
    pub fn from_parts(
        cmd: mpsc::Sender<Command>,
        events: mpsc::Receiver<MediaEvent>,
        task: JoinHandle<Result<Signaling, MediaError>>,
    ) -> MediaSession {
        MediaSession { cmd, events, task }
    }

    async fn command(&self, c: Command) -> Result<(), MediaError> {
        self.cmd.send(c).await.map_err(|_| MediaError::Ended)
    }

    /// Sends any signaling message (chat, mute ...) on the session's connection.
    pub async fn send(&self, msg: ClientMessage) -> Result<(), MediaError> {
        self.command(Command::Send(msg)).await
    }

    /// How large we show a remote video; `None` hides it (the server then sends nothing).
    pub async fn set_video_constraint(
        &self,
        track: TrackId,
        size: Option<(u32, u32)>,
    ) -> Result<(), MediaError> {
        self.send(ClientMessage::SetVideoConstraint {
            track,
            width: size.map(|s| s.0),
            height: size.map(|s| s.1),
        })
        .await
    }

    /// Changes what is published. Adding audio or video that has no m-line yet renegotiates;
    /// turning one off only stops its frames; rates apply at once. The layer count of an
    /// existing video m-line stays.
    pub async fn publish(&self, opts: PublishOptions) -> Result<(), MediaError> {
        self.command(Command::Publish(opts)).await
    }

    /// Offers new ICE credentials (after a network change); tracks and subscriptions stay.
    pub async fn restart_ice(&self) -> Result<(), MediaError> {
        self.command(Command::RestartIce).await
    }

    pub async fn stats(&self) -> Result<MediaStats, MediaError> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Stats(tx)).await?;
        rx.await.map_err(|_| MediaError::Ended)
    }

    /// Only the packet and byte counters of [`MediaSession::stats`]: cheap enough to ask for
    /// every second (the full stats copy every track's figures and delay histogram).
    pub async fn counters(&self) -> Result<NetCounters, MediaError> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Counters(tx)).await?;
        rx.await.map_err(|_| MediaError::Ended)
    }

    /// The next event; None once the task has stopped and the queue is empty.
    pub async fn next_event(&mut self) -> Option<MediaEvent> {
        self.events.recv().await
    }

    /// An event if one is queued.
    pub fn try_next_event(&mut self) -> Option<MediaEvent> {
        self.events.try_recv().ok()
    }

    /// Waits for a server message `pick` accepts, skipping (and dropping) other events.
    pub async fn recv_until<T>(
        &mut self,
        mut pick: impl FnMut(&ServerMessage) -> Option<T>,
    ) -> Result<T, MediaError> {
        loop {
            match self.events.recv().await {
                Some(MediaEvent::Signaling(m)) => {
                    if let Some(t) = pick(&m) {
                        return Ok(t);
                    }
                }
                Some(_) => {}
                None => return Err(MediaError::Ended),
            }
        }
    }

    /// Stops media and returns the signaling connection (still joined), or the error that
    /// ended the task earlier.
    pub async fn stop(self) -> Result<Signaling, MediaError> {
        let _ = self.cmd.send(Command::Stop).await;
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(MediaError::Io(std::io::Error::other(e))),
        }
    }
}
