//! The task behind a [`crate::Meeting`]: it owns the current media session (which owns the
//! connection) and passes its events on; when the session ends it decides what comes next, as
//! the browser SDK does: after `media_reset` a new peer connection on the same connection; after
//! a lost connection a new one with the resume token (jittered backoff, within the server's
//! window); after a terminal close, the end.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use convene_proto::{ClientMessage, Joined, ParticipantId, ServerMessage, TrackId};
use tokio::sync::{mpsc, oneshot};

use super::attempt;
use super::backoff;
use super::types::{EndReason, JoinRequest, MeetingError, MeetingEvent, MeetingOptions};
use super::verdict::{after_error, retryable, Verdict};
use crate::media::{
    MediaConfig, MediaError, MediaEvent, MediaSession, MediaStats, Outcome, PublishOptions,
};
use crate::signaling::{ClientError, Signaling};

pub(crate) type Reply<T> = oneshot::Sender<Result<T, MeetingError>>;

/// What the handle asks of the task.
pub(crate) enum Cmd {
    Publish(PublishOptions, Reply<()>),
    Send(ClientMessage, Reply<()>),
    Constrain(TrackId, Option<(u32, u32)>, Reply<()>),
    Stats(Reply<MediaStats>),
    Leave(Reply<()>),
}

/// Why a live session stopped being served.
enum Exit {
    /// Its task ended (see its [`Outcome`]).
    Ended,
    /// Nothing heard for three ping intervals.
    Silent,
    Leave(Reply<()>),
    /// The handle is gone.
    Dropped,
}

/// How long `leave` waits for the server to close the socket.
const LEAVE_WAIT: Duration = Duration::from_secs(2);

pub(crate) struct Supervisor {
    url: String,
    request: JoinRequest,
    options: MeetingOptions,
    me: ParticipantId,
    resume_token: String,
    /// How long the server honours our resume token after a loss.
    window: Duration,
    /// Video constraints asked for, re-sent on a new peer connection.
    constraints: HashMap<TrackId, Option<(u32, u32)>>,
    /// The reason of the last `closing` on the current connection.
    closing: Option<String>,
    events: mpsc::UnboundedSender<MeetingEvent>,
    cmds: mpsc::Receiver<Cmd>,
}

impl Supervisor {
    pub fn new(
        url: &str,
        request: JoinRequest,
        options: MeetingOptions,
        joined: &Joined,
        events: mpsc::UnboundedSender<MeetingEvent>,
        cmds: mpsc::Receiver<Cmd>,
    ) -> Supervisor {
        let mut s = Supervisor {
            url: url.to_owned(),
            request,
            options,
            me: joined.participant_id.clone(),
            resume_token: String::new(),
            window: Duration::ZERO,
            constraints: HashMap::new(),
            closing: None,
            events,
            cmds,
        };
        s.on_joined(joined);
        s
    }

    fn on_joined(&mut self, j: &Joined) {
        self.me = j.participant_id.clone();
        self.resume_token = j.resume_token.clone();
        // A crashed server that comes back honours the token for the restart window.
        self.window = Duration::from_secs(j.resume_window_secs.max(j.restart_window_secs));
    }

    fn emit(&self, e: MeetingEvent) {
        // The handle may be gone; then nobody listens.
        let _ = self.events.send(e);
    }

    /// A new peer connection on a joined connection: publishes what is asked for now, and
    /// re-sends the video constraints.
    pub async fn start_media(&self, sig: Signaling) -> Result<MediaSession, MediaError> {
        let config = MediaConfig {
            local_ip: self.options.local_ip,
            transport: self.options.transport,
            publish: self.options.publish.clone(),
            ..MediaConfig::default()
        };
        let session = MediaSession::start(sig, self.me.clone(), config).await?;
        for (track, size) in &self.constraints {
            session.set_video_constraint(track.clone(), *size).await?;
        }
        Ok(session)
    }

    pub async fn run(mut self, first: MediaSession) {
        let mut session = first;
        let end = loop {
            let exit = self.live(&mut session).await;
            let outcome = session.finish().await;
            let next = match (exit, outcome) {
                (Exit::Dropped, _) => return,
                (Exit::Leave(reply), outcome) => {
                    if let Outcome::Stopped(sig) | Outcome::Reset { signaling: sig, .. } = outcome {
                        leave(sig).await;
                    }
                    let _ = reply.send(Ok(()));
                    break EndReason::Left;
                }
                (_, Outcome::Reset { signaling, reason }) => self.rebuild(signaling, reason).await,
                (Exit::Silent, _) => {
                    self.recover(Verdict::Retry("no answer from the server".into()))
                        .await
                }
                (_, Outcome::Failed(e)) => {
                    let verdict = after_error(&e, self.closing.as_deref());
                    self.recover(verdict).await
                }
                // Only our own Stop stops a session, and only `Leave` sends it.
                (Exit::Ended, Outcome::Stopped(sig)) => {
                    sig.abort();
                    self.recover(Verdict::Retry("media stopped".into())).await
                }
            };
            match next {
                Ok(s) => session = s,
                Err(end) => break end,
            }
        };
        self.emit(MeetingEvent::Ended(end));
    }

    /// Serves a running session until it ends, the handle leaves, or the server goes silent.
    async fn live(&mut self, session: &mut MediaSession) -> Exit {
        self.closing = None;
        let every = self.options.ping_interval;
        let mut ping = tokio::time::interval_at((Instant::now() + every).into(), every);
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                ev = session.next_event() => match ev {
                    None | Some(MediaEvent::Ended(_)) => return Exit::Ended,
                    Some(e) => {
                        if matches!(e, MediaEvent::Signaling(_)) {
                            heard = Instant::now();
                        }
                        self.on_media_event(e);
                    }
                },
                c = self.cmds.recv() => match c {
                    None => return Exit::Dropped,
                    Some(Cmd::Leave(reply)) => return Exit::Leave(reply),
                    Some(c) => self.on_command(session, c).await,
                },
                _ = ping.tick() => {
                    if heard.elapsed() > every * 3 {
                        return Exit::Silent;
                    }
                    // A failed send shows up as the session's end.
                    let _ = session.send(ClientMessage::Ping { ts: None }).await;
                }
            }
        }
    }

    fn on_media_event(&mut self, e: MediaEvent) {
        let out = match e {
            MediaEvent::Signaling(ServerMessage::Pong { .. }) => return,
            MediaEvent::Signaling(m) => {
                match &m {
                    ServerMessage::Closing { reason } => self.closing = Some(reason.clone()),
                    ServerMessage::TrackUnpublished { track_id, .. } => {
                        self.constraints.remove(track_id);
                    }
                    _ => {}
                }
                MeetingEvent::Message(m)
            }
            MediaEvent::Connected => MeetingEvent::MediaConnected,
            MediaEvent::Disconnected => MeetingEvent::MediaDisconnected,
            MediaEvent::TracksChanged => MeetingEvent::TracksChanged,
            MediaEvent::Ended(_) => return,
        };
        self.emit(out);
    }

    async fn on_command(&mut self, session: &MediaSession, c: Cmd) {
        match c {
            Cmd::Publish(opts, reply) => {
                let muted = ClientMessage::SetMuted {
                    mic: Some(!opts.audio),
                    camera: Some(!opts.video),
                };
                self.options.publish = opts.clone();
                let r = match session.publish(opts).await {
                    Ok(()) => session.send(muted).await,
                    Err(e) => Err(e),
                };
                let _ = reply.send(r.map_err(MeetingError::from));
            }
            Cmd::Send(m, reply) => {
                let _ = reply.send(session.send(m).await.map_err(MeetingError::from));
            }
            Cmd::Constrain(track, size, reply) => {
                self.constraints.insert(track.clone(), size);
                let r = session.set_video_constraint(track, size).await;
                let _ = reply.send(r.map_err(MeetingError::from));
            }
            Cmd::Stats(reply) => {
                let _ = reply.send(session.stats().await.map_err(MeetingError::from));
            }
            // Handled by `live`.
            Cmd::Leave(reply) => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// A command while there is no connection: what to publish and show is kept for the next
    /// one; what needs the server waits for nobody.
    fn on_command_away(&mut self, c: Cmd) {
        match c {
            Cmd::Publish(opts, reply) => {
                self.options.publish = opts;
                let _ = reply.send(Ok(()));
            }
            Cmd::Constrain(track, size, reply) => {
                self.constraints.insert(track, size);
                let _ = reply.send(Ok(()));
            }
            Cmd::Send(_, reply) => {
                let _ = reply.send(Err(MeetingError::Reconnecting));
            }
            Cmd::Stats(reply) => {
                let _ = reply.send(Err(MeetingError::Reconnecting));
            }
            Cmd::Leave(reply) => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// Awaits `fut` while serving commands; Err when the handle left (or went away) meanwhile.
    async fn away<T>(&mut self, fut: impl Future<Output = T>) -> Result<T, EndReason> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                t = &mut fut => return Ok(t),
                c = self.cmds.recv() => match c {
                    None => return Err(EndReason::Left),
                    Some(Cmd::Leave(reply)) => {
                        let _ = reply.send(Ok(()));
                        return Err(EndReason::Left);
                    }
                    Some(c) => self.on_command_away(c),
                },
            }
        }
    }

    /// After `media_reset`: a new peer connection on the same connection.
    async fn rebuild(&mut self, sig: Signaling, reason: String) -> Result<MediaSession, EndReason> {
        match self.start_media(sig).await {
            Ok(s) => {
                self.emit(MeetingEvent::MediaRebuilt { reason });
                Ok(s)
            }
            Err(e) => self.recover(after_error(&e, None)).await,
        }
    }

    /// After the connection ended: comes back with the resume token, or says why not.
    async fn recover(&mut self, verdict: Verdict) -> Result<MediaSession, EndReason> {
        let reason = match verdict {
            Verdict::Final(end) => return Err(end),
            Verdict::Retry(reason) => reason,
        };
        let Some(policy) = self.options.reconnect.clone() else {
            return Err(EndReason::Disconnected { last_error: reason });
        };
        let deadline = Instant::now() + policy.window.unwrap_or(self.window);
        let url = self.url.clone();
        let mut last_error = reason.clone();
        let mut attempt: u32 = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(EndReason::Disconnected { last_error });
            }
            let wait = backoff::delay(attempt, policy.max_delay, backoff::random_unit());
            attempt = attempt.saturating_add(1);
            self.emit(MeetingEvent::Reconnecting {
                attempt,
                reason: reason.clone(),
            });
            self.away(tokio::time::sleep(wait.min(left))).await?;
            let msg = self
                .request
                .message(Some(&self.resume_token), &self.options.publish);
            let tried = self
                .away(attempt::join(&url, msg, policy.attempt_timeout))
                .await?;
            match tried {
                Ok((sig, joined)) => match self.rejoined(sig, joined).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last_error = e.to_string(),
                },
                Err(ClientError::Refused { code, message }) if !retryable(code) => {
                    return Err(EndReason::Refused { code, message });
                }
                Err(e) => last_error = e.to_string(),
            }
        }
    }

    async fn rejoined(
        &mut self,
        sig: Signaling,
        joined: Joined,
    ) -> Result<MediaSession, MediaError> {
        let resumed = joined.resumed && joined.participant_id == self.me;
        self.on_joined(&joined);
        let participant_id = joined.participant_id.clone();
        self.emit(MeetingEvent::Message(ServerMessage::Joined(Box::new(
            joined,
        ))));
        // The old peer connection went with the old task, whatever `media_kept` says: a new one.
        let session = self.start_media(sig).await?;
        self.emit(MeetingEvent::Reconnected {
            participant_id,
            resumed,
        });
        Ok(session)
    }
}

/// Sends `leave` and waits a moment for the server to close the socket.
async fn leave(mut sig: Signaling) {
    if sig.send(&ClientMessage::Leave).await.is_ok() {
        let _ = tokio::time::timeout(LEAVE_WAIT, sig.closed()).await;
    }
}
