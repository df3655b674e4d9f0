//! The media worker: one thread with its own single-threaded runtime, owning the SFU core and the UDP
//! socket. Packets and commands go in, packets and events come out; the core never waits on anything.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use convene_media::{Protocol, Sfu, SfuConfig};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{MediaCmd, MediaOut};
use crate::metrics::Metrics;

/// Largest datagram we read; media packets are far smaller (MTU), the rest is garbage.
const RECV_BUF: usize = 2048;
/// Datagrams read in one go before the core's output is flushed.
const BATCH: usize = 32;
/// How often the core's counters are published to /metrics.
const STATS_EVERY: Duration = Duration::from_secs(1);

pub(super) fn spawn(
    config: SfuConfig,
    udp: std::net::UdpSocket,
    local_udp: SocketAddr,
    local_tcp: SocketAddr,
    cmds: mpsc::UnboundedReceiver<MediaCmd>,
    out: mpsc::UnboundedSender<MediaOut>,
    metrics: Arc<Metrics>,
) -> Result<(), super::MediaStartError> {
    let sfu = Sfu::new(config, Instant::now())?;
    udp.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("convene-media".into())
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
                let udp = match UdpSocket::from_std(udp) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "media worker cannot use its UDP socket");
                        return;
                    }
                };
                let mut w = Worker {
                    sfu,
                    udp,
                    local_udp,
                    local_tcp,
                    tcp: HashMap::new(),
                    out,
                    metrics,
                };
                w.run(cmds).await;
            });
        })?;
    Ok(())
}

struct Worker {
    sfu: Sfu,
    udp: UdpSocket,
    local_udp: SocketAddr,
    local_tcp: SocketAddr,
    /// ICE-TCP connections by peer address: their writer tasks.
    tcp: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    out: mpsc::UnboundedSender<MediaOut>,
    metrics: Arc<Metrics>,
}

impl Worker {
    async fn run(&mut self, mut cmds: mpsc::UnboundedReceiver<MediaCmd>) {
        let mut buf = vec![0u8; RECV_BUF];
        let timer = tokio::time::sleep_until(self.sfu.poll_timeout().into());
        tokio::pin!(timer);
        let mut next_stats = Instant::now() + STATS_EVERY;
        loop {
            self.flush();
            let deadline = self.sfu.poll_timeout().min(next_stats);
            timer.as_mut().reset(deadline.into());
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => self.apply(cmd),
                    None => return,
                },
                r = self.udp.recv_from(&mut buf) => match r {
                    Ok((n, src)) => {
                        self.input_udp(src, &buf[..n]);
                        // Take what else is waiting before flushing: fewer wake-ups under load.
                        for _ in 1..BATCH {
                            match self.udp.try_recv_from(&mut buf) {
                                Ok((n, src)) => self.input_udp(src, &buf[..n]),
                                Err(_) => break,
                            }
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "UDP receive failed"),
                },
                _ = &mut timer => {
                    let now = Instant::now();
                    self.sfu.handle_timeout(now);
                    if now >= next_stats {
                        super::metrics::publish(&self.sfu.stats(), &self.metrics);
                        next_stats = now + STATS_EVERY;
                    }
                }
            }
        }
    }

    fn input_udp(&mut self, src: SocketAddr, data: &[u8]) {
        // Dropped datagrams are counted by the core, by reason; nothing else to do with them.
        let _ = self
            .sfu
            .handle_input(Instant::now(), Protocol::Udp, src, self.local_udp, data);
    }

    fn apply(&mut self, cmd: MediaCmd) {
        let now = Instant::now();
        let result = match cmd {
            MediaCmd::AddParticipant { room, participant } => {
                self.sfu.add_participant(room, participant.clone(), now).map_err(|e| (participant, "join", e))
            }
            MediaCmd::RemoveParticipant { participant } => {
                // Unknown is fine: a participant whose media already ended.
                let _ = self.sfu.remove_participant(&participant, now);
                Ok(())
            }
            MediaCmd::Offer {
                participant,
                sdp,
                sources,
            } => match self.sfu.handle_offer(&participant, &sdp, &sources, now) {
                Ok(answer) => {
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
        };
        if let Err((participant, request, e)) = result {
            let _ = self.out.send(MediaOut::Failed {
                participant,
                request,
                error: e.to_string(),
            });
        }
    }

    /// Sends what the core wants sent and hands its events to the router.
    fn flush(&mut self) {
        while let Some(t) = self.sfu.poll_transmit() {
            match t.proto {
                Protocol::Udp => {
                    // A full socket buffer drops the packet, as the network would; NACK/RTX recover.
                    let _ = self.udp.try_send_to(&t.contents, t.destination);
                }
                _ => {
                    if let Some(tx) = self.tcp.get(&t.destination) {
                        let _ = tx.try_send(t.contents.to_vec());
                    }
                }
            }
        }
        while let Some(e) = self.sfu.poll_event() {
            let _ = self.out.send(MediaOut::Event(e));
        }
    }
}
