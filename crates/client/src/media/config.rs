//! How to run a session: [`MediaConfig`] for one that publishes (or may), [`PacketConfig`] for
//! a receive-only one in packet mode.

use std::net::{IpAddr, Ipv4Addr};

use str0m::config::DtlsCert;

use super::error::MediaError;
use super::net::Transport;
use super::publish::PublishOptions;

/// How to run a session.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// The IP to bind and announce as our host candidate.
    pub local_ip: IpAddr,
    pub transport: Transport,
    /// Published from the first offer; [`PublishOptions::none`] offers an inactive audio m-line only.
    pub publish: PublishOptions,
    /// Keep each track's last frame in [`crate::TrackStats::last_payload`] (a copy per frame).
    pub keep_last_payload: bool,
    /// Stop encoding simulcast layers the server reports in `layers_unused`.
    pub honor_layers_unused: bool,
    /// Capacity of the event queue; events beyond it are dropped and counted.
    pub event_capacity: usize,
    /// Our DTLS certificate; None makes one for this session (an ECDSA key generation each).
    /// A load generator shares one ([`new_dtls_cert`]) across all its sessions.
    pub dtls_cert: Option<DtlsCert>,
}

/// How to run a receive-only session in packet mode ([`crate::MediaSession::receive_packets`]): str0m's
/// RTP mode, each packet checked as it arrives and frames completed by sequence number, without
/// a jitter buffer or a copy of the frame (cheaper, for load generation). It measures the same
/// things per frame as a [`MediaConfig`] session (loss and reordering by our header's sequence
/// number, delay, corruption, foreign frames). str0m's RTP mode has no frame writer, so such a
/// session has nothing to publish with, and its handle no [`crate::MediaSession::publish`].
#[derive(Clone, Debug)]
pub struct PacketConfig {
    /// The IP to bind and announce as our host candidate.
    pub local_ip: IpAddr,
    pub transport: Transport,
    /// Keep each track's last frame in [`crate::TrackStats::last_payload`] (a copy per frame).
    pub keep_last_payload: bool,
    /// Capacity of the event queue; events beyond it are dropped and counted.
    pub event_capacity: usize,
    /// As [`MediaConfig::dtls_cert`].
    pub dtls_cert: Option<DtlsCert>,
}

impl Default for PacketConfig {
    fn default() -> Self {
        let c = MediaConfig::default();
        PacketConfig {
            local_ip: c.local_ip,
            transport: c.transport,
            keep_last_payload: c.keep_last_payload,
            event_capacity: c.event_capacity,
            dtls_cert: None,
        }
    }
}

impl From<PacketConfig> for MediaConfig {
    /// The same session, publishing nothing (an inactive audio m-line only).
    fn from(c: PacketConfig) -> Self {
        MediaConfig {
            local_ip: c.local_ip,
            transport: c.transport,
            publish: PublishOptions::none(),
            keep_last_payload: c.keep_last_payload,
            honor_layers_unused: false,
            event_capacity: c.event_capacity,
            dtls_cert: c.dtls_cert,
        }
    }
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
            dtls_cert: None,
        }
    }
}
