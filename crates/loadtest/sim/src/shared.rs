//! Receive-only sessions whose media runs in shards ([`SharedUdp`]): each session keeps a task for
//! its signaling, and its str0m peer lives in a shard with many others on one socket.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use convene_proto::{ClientMessage, ErrorCode, ServerMessage};
use str0m::Candidate;
use tokio::sync::{mpsc, oneshot};

use crate::path::RtpPath;
use crate::shard::{AddressPool, Key, Shard, ShardCmd};
use convene_client::parts::Command;
use convene_client::Signaling;
use convene_client::{MediaError, MediaEvent, MediaSession, Outcome, ReceiveOnly};
use str0m::config::DtlsCert;

/// Shards for receive-only sessions: each one task, one UDP socket on the loopback device, and
/// the str0m peers of every session placed on it (round robin). Linux only; binding the
/// sockets to the loopback device needs `CAP_NET_RAW`. Sessions get addresses 127.1.0.1,
/// 127.1.0.2 ... so the server (which must be reached over loopback) tells them apart.
/// Cloning shares the shards.
#[derive(Clone)]
pub struct SharedUdp {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Vec<mpsc::UnboundedSender<ShardCmd>>,
    next: AtomicUsize,
    overflow: Vec<Arc<AtomicU64>>,
}

impl std::fmt::Debug for SharedUdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedUdp")
            .field("shards", &self.inner.shards.len())
            .finish()
    }
}

impl SharedUdp {
    /// Binds `shards` sockets and starts their tasks on the current tokio runtime; sessions
    /// take in RTP by `path` once connected.
    pub fn new(shards: usize, path: RtpPath) -> Result<SharedUdp, MediaError> {
        let addresses = Arc::new(AddressPool::new());
        let mut txs = Vec::new();
        let mut overflow = Vec::new();
        for _ in 0..shards.max(1) {
            let o = Arc::new(AtomicU64::new(0));
            txs.push(Shard::spawn(addresses.clone(), o.clone(), path)?);
            overflow.push(o);
        }
        Ok(SharedUdp {
            inner: Arc::new(Inner {
                shards: txs,
                next: AtomicUsize::new(0),
                overflow,
            }),
        })
    }

    /// Datagrams the kernel dropped because a shard's socket buffer was full (the tool fell
    /// behind, not the server).
    pub fn receive_overflow(&self) -> u64 {
        self.inner
            .overflow
            .iter()
            .map(|o| o.load(Ordering::Relaxed))
            .sum()
    }

    /// Starts a receive-only session on a joined connection, its peer on one of the shards
    /// (round robin): it sends the first offer (an inactive audio m-line) and from then on takes
    /// in what the server offers, as [`MediaSession::start`] does. `cert` as
    /// [`convene_client::MediaConfig::dtls_cert`]; events beyond `event_capacity` are dropped
    /// and counted.
    pub async fn start(
        &self,
        signaling: Signaling,
        cert: Option<DtlsCert>,
        event_capacity: usize,
    ) -> Result<MediaSession<ReceiveOnly>, MediaError> {
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (ev_tx, ev_rx) = mpsc::channel(event_capacity.max(1));
        let d = SharedDriver::new(signaling, self, cert, ev_tx).await?;
        Ok(MediaSession::from_parts(
            cmd_tx,
            ev_rx,
            tokio::spawn(d.run(cmd_rx)),
        ))
    }

    fn pick(&self) -> mpsc::UnboundedSender<ShardCmd> {
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        self.inner.shards[n % self.inner.shards.len()].clone()
    }
}

/// The signaling side of one shared session.
struct SharedDriver {
    sig: Signaling,
    shard: mpsc::UnboundedSender<ShardCmd>,
    key: Key,
    events: mpsc::Sender<MediaEvent>,
    ended: oneshot::Receiver<String>,
}

impl SharedDriver {
    /// Opens a session on a shard and sends its first offer.
    pub async fn new(
        mut sig: Signaling,
        pool: &SharedUdp,
        cert: Option<DtlsCert>,
        events: mpsc::Sender<MediaEvent>,
    ) -> Result<SharedDriver, MediaError> {
        let shard = pool.pick();
        let (ended_tx, ended) = oneshot::channel();
        let (tx, rx) = oneshot::channel();
        shard
            .send(ShardCmd::Open {
                events: events.clone(),
                cert,
                ended: ended_tx,
                reply: tx,
            })
            .map_err(|_| MediaError::Ended)?;
        let (key, offer) = rx.await.map_err(|_| MediaError::Ended)??;
        sig.send(&ClientMessage::SdpOffer {
            sdp: offer,
            tracks: Vec::new(),
        })
        .await?;
        Ok(SharedDriver {
            sig,
            shard,
            key,
            events,
            ended,
        })
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, MediaError>>) -> ShardCmd,
    ) -> Result<T, MediaError> {
        let (tx, rx) = oneshot::channel();
        self.shard.send(make(tx)).map_err(|_| MediaError::Ended)?;
        rx.await.map_err(|_| MediaError::Ended)?
    }

    fn tell(&self, c: ShardCmd) {
        // A closed shard shows up at the next `ask` or as `ended`.
        let _ = self.shard.send(c);
    }

    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) -> Outcome {
        let result = loop {
            let step = tokio::select! {
                c = commands.recv() => match c {
                    None | Some(Command::Stop) => break Ok(()),
                    Some(c) => self.on_command(c).await,
                },
                m = self.sig.recv_untimed() => match m {
                    Ok(m) => self.on_signal(m).await,
                    Err(e) => Err(e.into()),
                },
                why = &mut self.ended => {
                    // The shard already reported `Ended` to the caller.
                    let why = why.unwrap_or_else(|_| "shard stopped".into());
                    return Outcome::Failed(MediaError::Failed(why));
                }
            };
            if let Err(e) = step {
                break Err(e);
            }
        };
        self.tell(ShardCmd::Close { key: self.key });
        let why = match &result {
            Ok(()) => "stopped".to_string(),
            Err(e) => e.to_string(),
        };
        let _ = self.events.try_send(MediaEvent::Ended(why));
        match result {
            Ok(()) => Outcome::Stopped(self.sig),
            // Only the media session is gone: the connection is still joined.
            Err(MediaError::ResetByServer(reason)) => Outcome::Reset {
                signaling: self.sig,
                reason,
            },
            Err(e) => Outcome::Failed(e),
        }
    }

    async fn on_command(&mut self, c: Command) -> Result<(), MediaError> {
        let key = self.key;
        match c {
            Command::Send(m) => self.sig.send(&m).await?,
            // A `ReceiveOnly` handle has no `publish` to send this.
            Command::Publish(_) => {}
            Command::RestartIce => {
                if let Some(sdp) = self
                    .ask(|reply| ShardCmd::RestartIce { key, reply })
                    .await?
                {
                    self.send_offer(sdp).await?;
                }
            }
            Command::Stats(reply) => self.tell(ShardCmd::Stats { key, reply }),
            Command::Counters(reply) => self.tell(ShardCmd::Counters { key, reply }),
            Command::Stop => {}
        }
        Ok(())
    }

    async fn send_offer(&mut self, sdp: String) -> Result<(), MediaError> {
        self.sig
            .send(&ClientMessage::SdpOffer {
                sdp,
                tracks: Vec::new(),
            })
            .await?;
        Ok(())
    }

    async fn on_signal(&mut self, m: ServerMessage) -> Result<(), MediaError> {
        let key = self.key;
        match m {
            ServerMessage::SdpAnswer { sdp } => {
                if let Some(offer) = self
                    .ask(|reply| ShardCmd::Answer { key, sdp, reply })
                    .await?
                {
                    self.send_offer(offer).await?;
                }
            }
            ServerMessage::SdpOffer { sdp, tracks } => {
                let answer = self
                    .ask(|reply| ShardCmd::Offer {
                        key,
                        sdp,
                        tracks,
                        reply,
                    })
                    .await?;
                if let Some(sdp) = answer {
                    self.sig.send(&ClientMessage::SdpAnswer { sdp }).await?;
                }
            }
            ServerMessage::IceCandidate { candidate, .. } => {
                let line = candidate.trim().trim_start_matches("a=");
                if let Ok(candidate) = Candidate::from_sdp_string(line) {
                    self.tell(ShardCmd::Candidate { key, candidate });
                }
            }
            ServerMessage::MediaReset { reason } => return Err(MediaError::ResetByServer(reason)),
            m => {
                match &m {
                    ServerMessage::TrackUnpublished { track_id, .. } => {
                        self.tell(ShardCmd::TrackEnded {
                            key,
                            track: track_id.clone(),
                        })
                    }
                    ServerMessage::Error {
                        code: ErrorCode::MediaError,
                        message,
                        ..
                    } => self.tell(ShardCmd::Note {
                        key,
                        error: message.clone(),
                    }),
                    _ => {}
                }
                if let Err(mpsc::error::TrySendError::Full(_)) =
                    self.events.try_send(MediaEvent::Signaling(m))
                {
                    self.tell(ShardCmd::EventDropped { key });
                }
            }
        }
        Ok(())
    }
}
