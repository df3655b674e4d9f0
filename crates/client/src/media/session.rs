//! The handle on a running session. Its type says what the session can do: a [`Publishing`]
//! session (str0m reassembles frames, and can write them) publishes; a [`ReceiveOnly`] one
//! (packet mode, or a tool's own runner) has no `publish` to call.

use std::marker::PhantomData;

use convene_proto::{ClientMessage, ParticipantId, ServerMessage, TrackId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::command::Command;
use super::config::{MediaConfig, PacketConfig};
use super::driver;
use super::error::MediaError;
use super::net::NetCounters;
use super::outcome::Outcome;
use super::publish::PublishOptions;
use super::stats::{MediaEvent, MediaStats};
use crate::signaling::Signaling;

/// A session that publishes (or may start to): [`MediaSession::start`].
#[derive(Debug)]
pub struct Publishing;

/// A session that only receives: [`MediaSession::receive_packets`], or one a tool runs itself
/// ([`MediaSession::from_parts`]). Its handle has no `publish`:
///
/// ```compile_fail
/// # async fn f(s: convene_client::MediaSession<convene_client::ReceiveOnly>) {
/// s.publish(convene_client::PublishOptions::default()).await;
/// # }
/// ```
#[derive(Debug)]
pub struct ReceiveOnly;

/// Handle to a running media session. Dropping it stops the task (and drops the connection).
pub struct MediaSession<Role = Publishing> {
    cmd: mpsc::Sender<Command>,
    events: mpsc::Receiver<MediaEvent>,
    task: JoinHandle<Outcome>,
    role: PhantomData<Role>,
}

impl MediaSession<Publishing> {
    /// Starts media on a joined connection: binds the transport and sends the first offer.
    /// `me` is our participant id (from `joined`); it identifies our frames to receivers.
    pub async fn start(
        signaling: Signaling,
        me: ParticipantId,
        config: MediaConfig,
    ) -> Result<MediaSession, MediaError> {
        spawn(signaling, me, config, false).await
    }

    /// Changes what is published. Adding audio or video that has no m-line yet renegotiates;
    /// turning one off only stops its frames; rates apply at once. The layer count of an
    /// existing video m-line stays.
    pub async fn publish(&self, opts: PublishOptions) -> Result<(), MediaError> {
        self.command(Command::Publish(opts)).await
    }
}

impl MediaSession<ReceiveOnly> {
    /// Starts a receive-only session in packet mode on a joined connection ([`PacketConfig`]).
    pub async fn receive_packets(
        signaling: Signaling,
        me: ParticipantId,
        config: PacketConfig,
    ) -> Result<MediaSession<ReceiveOnly>, MediaError> {
        spawn(signaling, me, config.into(), true).await
    }

    /// A handle on a receive-only session another runner drives (see [`super::parts`]): it
    /// takes `cmd`'s commands and reports on `events` until `task` ends.
    pub fn from_parts(
        cmd: mpsc::Sender<Command>,
        events: mpsc::Receiver<MediaEvent>,
        task: JoinHandle<Outcome>,
    ) -> MediaSession<ReceiveOnly> {
        MediaSession {
            cmd,
            events,
            task,
            role: PhantomData,
        }
    }
}

async fn spawn<R>(
    signaling: Signaling,
    me: ParticipantId,
    config: MediaConfig,
    packet_mode: bool,
) -> Result<MediaSession<R>, MediaError> {
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (ev_tx, ev_rx) = mpsc::channel(config.event_capacity.max(1));
    let d = driver::Driver::new(signaling, me, config, packet_mode, ev_tx).await?;
    Ok(MediaSession {
        cmd: cmd_tx,
        events: ev_rx,
        task: tokio::spawn(d.run(cmd_rx)),
        role: PhantomData,
    })
}

impl<R> MediaSession<R> {
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
        self.finish().await.into_result()
    }

    /// Stops media (unless it ended already) and says how it ended: after a reset the
    /// connection comes back too, for a new session.
    pub async fn finish(self) -> Outcome {
        let _ = self.cmd.send(Command::Stop).await;
        match self.task.await {
            Ok(o) => o,
            Err(e) => Outcome::Failed(MediaError::Io(std::io::Error::other(e))),
        }
    }
}
