//! The handle a program holds on a meeting it joined.

use convene_proto::{ClientMessage, Joined, TrackId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::task::{Cmd, Reply, Supervisor};
use super::types::{JoinRequest, MeetingError, MeetingEvent, MeetingOptions};
use crate::media::{MediaStats, PublishOptions};
use crate::signaling::Signaling;

/// A meeting joined from a program: publishes synthetic media, receives everyone else's, and
/// comes back by itself after a lost connection or a media reset (see [`MeetingEvent`]).
/// Dropping it drops the connection (a disconnect, which the server holds open for the resume
/// window); [`Meeting::leave`] leaves for good.
pub struct Meeting {
    cmds: mpsc::Sender<Cmd>,
    events: mpsc::UnboundedReceiver<MeetingEvent>,
    task: JoinHandle<()>,
    joined: Joined,
}

impl Meeting {
    /// Connects to `url` (`ws://host:port/ws` or `wss://`), joins, and starts media with
    /// `options.publish`. A refused join is an error (nothing is retried before the first
    /// `joined`); a join held in the lobby must be admitted within the signaling timeout (10 s).
    pub async fn join(
        url: &str,
        request: JoinRequest,
        options: MeetingOptions,
    ) -> Result<Meeting, MeetingError> {
        let mut sig = Signaling::connect(url).await?;
        let joined = sig.join(request.message(None, &options.publish)).await?;
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let supervisor = Supervisor::new(url, request, options, &joined, ev_tx, cmd_rx);
        let session = supervisor.start_media(sig).await?;
        Ok(Meeting {
            cmds: cmd_tx,
            events: ev_rx,
            task: tokio::spawn(supervisor.run(session)),
            joined,
        })
    }

    /// The first `joined` (participants, chat history, resume token ...). Later ones, after a
    /// reconnection, come as [`MeetingEvent::Message`].
    pub fn joined(&self) -> &Joined {
        &self.joined
    }

    /// The next event; None once the meeting has ended and every event was read. Events queue
    /// up until read.
    pub async fn next_event(&mut self) -> Option<MeetingEvent> {
        self.events.recv().await
    }

    /// An event if one is queued.
    pub fn try_next_event(&mut self) -> Option<MeetingEvent> {
        self.events.try_recv().ok()
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Cmd) -> Result<T, MeetingError> {
        let (tx, rx) = oneshot::channel();
        self.cmds
            .send(make(tx))
            .await
            .map_err(|_| MeetingError::Ended)?;
        rx.await.map_err(|_| MeetingError::Ended)?
    }

    /// Changes what is published (and the mute state the others see). Kept across
    /// reconnections and media rebuilds.
    pub async fn publish(&self, opts: PublishOptions) -> Result<(), MeetingError> {
        self.ask(|r| Cmd::Publish(opts, r)).await
    }

    /// Sends a signaling message (chat, hand raise ...). While reconnecting:
    /// [`MeetingError::Reconnecting`].
    pub async fn send(&self, msg: ClientMessage) -> Result<(), MeetingError> {
        self.ask(|r| Cmd::Send(msg, r)).await
    }

    /// How large we show a remote video; None hides it. Kept across media rebuilds.
    pub async fn set_video_constraint(
        &self,
        track: TrackId,
        size: Option<(u32, u32)>,
    ) -> Result<(), MeetingError> {
        self.ask(|r| Cmd::Constrain(track, size, r)).await
    }

    /// What the current peer connection sent and received (a new one starts from zero).
    pub async fn stats(&self) -> Result<MediaStats, MeetingError> {
        self.ask(Cmd::Stats).await
    }

    /// Leaves the meeting: sends `leave` and waits (briefly) for the server to close.
    pub async fn leave(self) -> Result<(), MeetingError> {
        self.ask(Cmd::Leave).await
    }
}

impl Drop for Meeting {
    fn drop(&mut self) {
        self.task.abort();
    }
}
