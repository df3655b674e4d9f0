//! What a [`super::session::MediaSession`] handle asks of the task running its session.

use convene_proto::ClientMessage;
use tokio::sync::oneshot;

use super::net::NetCounters;
use super::publish::PublishOptions;
use super::stats::MediaStats;

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
