//! One str0m peer connection to Janus on its own UDP socket, run by a task: a publisher (its
//! frames written by the client's [`Synthesizer`]) or a subscriber.

use std::net::SocketAddr;
use std::time::Instant;

use convene_client::frame::{sender_id, unix_micros, FrameKind};
use convene_client::media::stamped;
use convene_client::{PublishOptions, Synthesizer};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{MediaData, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use super::offer::{add_sent, publisher_offer};
use super::receive::Tracks;
use crate::convene::publish_options;
use crate::options::Options;
use crate::session::{shared_dtls_cert, Snap};

/// Datagrams handled per wakeup before the loop looks at its other inputs.
const READ_BATCH: usize = 64;

pub(super) enum PcCmd {
    Stats(oneshot::Sender<Snap>),
    StopPublishing,
    Stop,
}

pub(super) struct PcHandle {
    pub cmd: mpsc::Sender<PcCmd>,
    pub connected: watch::Receiver<bool>,
}

impl PcHandle {
    pub fn spawn(pc: Pc) -> PcHandle {
        let (cmd, rx) = mpsc::channel(8);
        let (ctx, connected) = watch::channel(false);
        tokio::spawn(pc.run(rx, ctx));
        PcHandle { cmd, connected }
    }
}

pub(super) struct Pc {
    rtc: Rtc,
    sock: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    synth: Option<Synthesizer>,
    tracks: Tracks,
    snap: Snap,
    buf: Vec<u8>,
    /// The kernel's arrival time of the datagram being handled (wall clock, µs), if any: the
    /// frame it completes arrived then.
    arrival_us: Option<u64>,
}

impl Pc {
    async fn bind(ip: std::net::IpAddr) -> Result<Pc, String> {
        let sock = UdpSocket::bind(SocketAddr::new(ip, 0))
            .await
            .map_err(|e| e.to_string())?;
        let local = sock.local_addr().map_err(|e| e.to_string())?;
        stamped::enable(&sock).map_err(|e| format!("SO_TIMESTAMP: {e}"))?;
        let mut builder = Rtc::builder();
        if let Some(cert) = shared_dtls_cert() {
            builder = builder.set_dtls_cert(cert);
        }
        let mut rtc = builder.build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
        Ok(Pc {
            rtc,
            sock,
            local,
            pending: None,
            synth: None,
            tracks: Tracks::default(),
            snap: Snap::default(),
            buf: vec![0; 2000],
            arrival_us: None,
        })
    }

    /// A publishing PC and its offer.
    pub async fn new_publisher(o: &Options, feed: u64) -> Result<(Pc, String), String> {
        let mut pc = Pc::bind(o.local_ip).await?;
        let mut synth = Synthesizer::new(
            publish_options(o, true),
            sender_id(&format!("janus-{feed}")),
        );
        let (offer, pending) = publisher_offer(&mut pc.rtc, &mut synth)?;
        pc.pending = Some(pending);
        pc.synth = Some(synth);
        Ok((pc, offer))
    }

    /// A receiving PC answering Janus's offer.
    pub async fn new_subscriber(o: &Options, offer: &str) -> Result<(Pc, String), String> {
        let mut pc = Pc::bind(o.local_ip).await?;
        let offer = SdpOffer::from_sdp_string(offer).map_err(|e| e.to_string())?;
        let answer = pc
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| e.to_string())?;
        Ok((pc, answer.to_sdp_string()))
    }

    pub fn accept_answer(&mut self, sdp: &str) -> Result<(), String> {
        let pending = self.pending.take().ok_or("no offer pending")?;
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| e.to_string())
    }

    /// Polls str0m until only a timeout is left: sends what it transmits, handles its events.
    /// None: the connection failed.
    fn drain(&mut self, connected: &watch::Sender<bool>) -> Option<Instant> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Some(t),
                Ok(Output::Transmit(t)) => {
                    if self.sock.try_send_to(&t.contents, t.destination).is_ok() {
                        self.snap.packets_out += 1;
                        self.snap.bytes_out += t.contents.len() as u64;
                    } else {
                        self.snap.send_dropped += 1;
                    }
                }
                Ok(Output::Event(e)) => self.on_event(e, connected),
                Err(_) => return None,
            }
        }
    }

    fn snapshot(&self) -> Snap {
        let mut s = self.snap.clone();
        if let Some(synth) = &self.synth {
            add_sent(&mut s, synth.stats());
        }
        s
    }

    /// Reads what arrived; None: the connection failed.
    fn read(&mut self, connected: &watch::Sender<bool>) -> Option<Instant> {
        let mut timeout = None;
        for _ in 0..READ_BATCH {
            let Ok((n, source, arrival)) = stamped::try_recv(&self.sock, &mut self.buf) else {
                break;
            };
            self.snap.packets_in += 1;
            self.snap.bytes_in += n as u64;
            let Ok(r) = Receive::new(Protocol::Udp, source, self.local, &self.buf[..n]) else {
                continue;
            };
            let _ = self.rtc.handle_input(Input::Receive(Instant::now(), r));
            // Frames this packet completes are stamped with its arrival.
            self.arrival_us = arrival;
            let drained = self.drain(connected);
            self.arrival_us = None;
            timeout = Some(drained?);
        }
        timeout.or_else(|| self.drain(connected))
    }

    async fn run(mut self, mut cmd: mpsc::Receiver<PcCmd>, connected: watch::Sender<bool>) {
        let Some(mut timeout) = self.drain(&connected) else {
            return;
        };
        loop {
            let wake = match self.synth.as_ref().and_then(Synthesizer::next_wakeup) {
                Some(n) => n.min(timeout),
                None => timeout,
            };
            tokio::select! {
                c = cmd.recv() => match c {
                    Some(PcCmd::Stats(tx)) => { let _ = tx.send(self.snapshot()); }
                    Some(PcCmd::StopPublishing) => {
                        if let Some(s) = &mut self.synth {
                            s.update(PublishOptions { audio: false, video: false, ..s.options().clone() });
                        }
                    }
                    Some(PcCmd::Stop) | None => return,
                },
                r = self.sock.readable() => {
                    if r.is_err() { return; }
                    match self.read(&connected) {
                        Some(t) => timeout = t,
                        None => return,
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
            let now = Instant::now();
            if timeout <= now && self.rtc.handle_input(Input::Timeout(now)).is_err() {
                return;
            }
            if let Some(s) = &mut self.synth {
                if s.next_wakeup().is_some_and(|t| t <= now) {
                    s.tick(&mut self.rtc, now, unix_micros());
                }
            }
            match self.drain(&connected) {
                Some(t) => timeout = t,
                None => return,
            }
        }
    }

    fn on_event(&mut self, e: Event, connected: &watch::Sender<bool>) {
        match e {
            Event::Connected => {
                let _ = connected.send(true);
                if let Some(s) = &mut self.synth {
                    s.set_flowing(true, Instant::now());
                }
            }
            Event::KeyframeRequest(r) => {
                if let Some(s) = &mut self.synth {
                    s.keyframe_request(&r);
                }
            }
            Event::MediaData(d) => self.on_media(&d),
            _ => {}
        }
    }

    fn on_media(&mut self, d: &MediaData) {
        let kind = match self.rtc.media(d.mid).map(|m| m.kind()) {
            Some(MediaKind::Audio) => FrameKind::Audio,
            _ => FrameKind::Video,
        };
        let arrived = self.arrival_us.unwrap_or_else(unix_micros);
        self.tracks
            .record(d.mid, kind, &d.data, arrived, &mut self.snap);
    }
}
