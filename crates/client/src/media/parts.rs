//! Building blocks for tools that run a session's peer their own way (the load tool runs
//! thousands of receive-only peers in a few shared tasks and sockets): the handle's command set,
//! the received-media bookkeeping and the connection tracking the crate's own sessions use, so
//! that such a session reports exactly what one of ours would. A program joining a meeting needs
//! none of this: [`super::MediaSession::start`] runs everything.

use convene_proto::ClientMessage;
use tokio::sync::oneshot;

pub use super::link::{add_receive_only_line, packet_mid, Link};
pub use super::packets::Assembler;
pub use super::receive::Receiver;
use super::{MediaStats, NetCounters, PublishOptions};

/// What a [`super::MediaSession`] handle asks of the task running its session.
pub enum Command {
    /// A signaling message to send on the session's connection.
    Send(ClientMessage),
    /// New publish options; a receive-only runner ignores them.
    Publish(PublishOptions),
    RestartIce,
    Stats(oneshot::Sender<MediaStats>),
    Counters(oneshot::Sender<NetCounters>),
    Stop,
}

/// What a tool's own receive path counted for one session (the load tool's lean SRTP path,
/// which decrypts RTP and sends the feedback itself), in [`MediaStats::lean`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeanStats {
    /// RTP and RTCP that did not authenticate (or could not be parsed).
    pub srtp_failures: u64,
    /// Packets on SSRCs no m-line declared.
    pub unknown_ssrc: u64,
    /// Padding-only packets (bandwidth probes).
    pub padding: u64,
    /// Repeated or too late packets, not handed on.
    pub duplicates: u64,
    pub nacks_sent: u64,
    pub twcc_feedback_sent: u64,
    pub receiver_reports_sent: u64,
    /// RTCP str0m wanted to send for streams it never saw, dropped.
    pub str0m_rtcp_dropped: u64,
}
