//! The media plane in the server: the sans-IO core (`convene-media`) driven by a worker thread that owns
//! the UDP socket, ICE-TCP connections handed over by the TCP listener, and the routing of the core's
//! events into rooms.

pub mod ice_servers;
pub mod ice_tcp;
mod metrics;
pub mod router;
mod worker;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use convene_media::{MediaError, SfuConfig, TrackSource};
use convene_proto::{ParticipantId, RoomId, TrackId};
use tokio::sync::mpsc;

use crate::config::MediaConfig;

/// Commands to the media worker. Sent in order on one channel, so that e.g. a participant is always
/// added before its first offer is handled.
#[derive(Debug)]
pub enum MediaCmd {
    AddParticipant {
        room: RoomId,
        participant: ParticipantId,
    },
    RemoveParticipant {
        participant: ParticipantId,
    },
    /// The answer (or the failure) comes back as a [`MediaOut`], in order with the events that follow.
    Offer {
        participant: ParticipantId,
        sdp: String,
        sources: Vec<(String, TrackSource)>,
    },
    Answer {
        participant: ParticipantId,
        sdp: String,
    },
    Candidate {
        participant: ParticipantId,
        candidate: String,
    },
    VideoConstraint {
        participant: ParticipantId,
        track: TrackId,
        size: Option<(u32, u32)>,
    },
    ServerMute {
        participant: ParticipantId,
        source: TrackSource,
        muted: bool,
    },
    TcpOpen {
        peer: SocketAddr,
        tx: mpsc::Sender<Vec<u8>>,
    },
    TcpInput {
        peer: SocketAddr,
        data: Vec<u8>,
    },
    TcpClosed {
        peer: SocketAddr,
    },
}

/// What the worker reports back, routed to rooms by [`router::route`].
#[derive(Debug)]
pub enum MediaOut {
    Event(convene_media::Event),
    Answer {
        participant: ParticipantId,
        sdp: String,
    },
    Failed {
        participant: ParticipantId,
        request: &'static str,
        error: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum MediaStartError {
    #[error("media.public_ips: `{0}` is not an IP address")]
    BadIp(String),
    #[error("cannot start the media core: {0}")]
    Core(#[from] MediaError),
    #[error("media socket: {0}")]
    Io(#[from] std::io::Error),
}

/// The handle the rest of the server uses. Cheap to clone.
#[derive(Clone)]
pub struct MediaPlane {
    tx: mpsc::UnboundedSender<MediaCmd>,
    pub udp_addr: SocketAddr,
    pub ice_tcp: bool,
}

impl MediaPlane {
    /// Starts the worker thread on `udp`; ICE-TCP is announced on `tcp_port` when enabled.
    pub fn start(
        config: &MediaConfig,
        udp: std::net::UdpSocket,
        tcp_port: u16,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Result<(Self, mpsc::UnboundedReceiver<MediaOut>), MediaStartError> {
        let public_ips = config
            .public_ips
            .iter()
            .map(|ip| ip.parse::<IpAddr>().map_err(|_| MediaStartError::BadIp(ip.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let udp_addr = udp.local_addr()?;
        let sfu_config = SfuConfig {
            public_ips: public_ips.clone(),
            udp_port: udp_addr.port(),
            tcp_port: config.ice_tcp.then_some(tcp_port),
            ..SfuConfig::default()
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let local_udp = SocketAddr::new(public_ips[0], udp_addr.port());
        let local_tcp = SocketAddr::new(public_ips[0], tcp_port);
        worker::spawn(sfu_config, udp, local_udp, local_tcp, rx, out_tx, metrics)?;
        Ok((
            Self {
                tx,
                udp_addr,
                ice_tcp: config.ice_tcp,
            },
            out_rx,
        ))
    }

    pub fn send(&self, cmd: MediaCmd) {
        // The worker only stops when the process does; a command then has nowhere to go.
        if self.tx.send(cmd).is_err() {
            tracing::warn!("media worker is gone; command dropped");
        }
    }
}

/// Maps the protocol's source names to the core's.
pub fn source_from_proto(s: convene_proto::Source) -> TrackSource {
    match s {
        convene_proto::Source::Microphone => TrackSource::Microphone,
        convene_proto::Source::Camera => TrackSource::Camera,
        convene_proto::Source::Screen => TrackSource::Screen,
        convene_proto::Source::ScreenAudio => TrackSource::ScreenAudio,
    }
}

pub fn source_to_proto(s: TrackSource) -> convene_proto::Source {
    match s {
        TrackSource::Microphone => convene_proto::Source::Microphone,
        TrackSource::Camera => convene_proto::Source::Camera,
        TrackSource::Screen => convene_proto::Source::Screen,
        TrackSource::ScreenAudio => convene_proto::Source::ScreenAudio,
    }
}

pub fn kind_to_proto(k: convene_media::TrackKind) -> convene_proto::MediaKind {
    match k {
        convene_media::TrackKind::Audio => convene_proto::MediaKind::Audio,
        convene_media::TrackKind::Video => convene_proto::MediaKind::Video,
    }
}
