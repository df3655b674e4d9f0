//! The session task: one loop that owns the signaling connection, the str0m `Rtc` and the
//! transport, and waits on whichever of them (or the handle's commands, or the next timer) is
//! ready. Negotiation follows crates/media/NEGOTIATION.md: we offer first, the server answers,
//! then offers our subscriptions; while our offer is pending we ignore the server's (it is the
//! polite peer and offers again after answering).

use std::time::Instant;

use convene_proto::{
    ClientMessage, ErrorCode, MediaKind as ProtoKind, ParticipantId, ServerMessage, Source,
    TrackId, TrackSource,
};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Simulcast, SimulcastLayer};
use str0m::net::{Receive, Transmit};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::sync::mpsc;

use super::command::Command;
use super::config::MediaConfig;
use super::error::MediaError;
use super::link::{add_receive_only_line, packet_mid, Link};
use super::net::{self, Net};
use super::outcome::Outcome;
use super::publish::Synthesizer;
use super::receive::Receiver;
use super::stats::{MediaEvent, MediaStats};
use crate::frame::{sender_id, unix_micros};
use crate::signaling::Signaling;

/// Packets handled per wakeup before the loop looks at its other inputs again.
const MAX_READ_BATCH: usize = 64;
/// Wakeups for packets in a row before the other inputs get a turn.
const NET_STREAK: u32 = 8;

pub(crate) struct Driver {
    sig: Signaling,
    /// Boxed: str0m's `Rtc` is ~10 KiB, and every future that holds a `Driver` (the session task,
    /// and the caller's while it starts one) would otherwise carry that much inline.
    rtc: Box<Rtc>,
    net: Net,
    publisher: Synthesizer,
    receiver: Receiver,
    events: mpsc::Sender<MediaEvent>,
    config: MediaConfig,
    me: ParticipantId,
    /// Our offer awaiting the server's answer.
    pending: Option<SdpPendingOffer>,
    /// An ICE restart asked for while an offer was pending: goes into the next offer.
    want_restart: bool,
    /// Our own camera track, to recognise `layers_unused` for it.
    my_video_track: Option<TrackId>,
    link: Link,
    rtc_timeout: Instant,
    /// The kernel's arrival time of the datagram being handled (wall clock, µs), if any.
    arrival_us: Option<u64>,
    /// Reused between wakeups: what str0m wants sent.
    outbox: Vec<Transmit>,
    stats: MediaStats,
}

impl Driver {
    pub async fn new(
        sig: Signaling,
        me: ParticipantId,
        config: MediaConfig,
        // Only for receive-only handles, whose config publishes nothing and which cannot send
        // `Command::Publish`: str0m's RTP mode has no frame writer.
        packet_mode: bool,
        events: mpsc::Sender<MediaEvent>,
    ) -> Result<Driver, MediaError> {
        let now = Instant::now();
        let net = Net::bind(config.transport, config.local_ip).await?;
        let mut builder = Rtc::builder().set_rtp_mode(packet_mode);
        if let Some(cert) = &config.dtls_cert {
            builder = builder.set_dtls_cert(cert.clone());
        }
        let mut rtc = Box::new(builder.build(now));
        rtc.add_local_candidate(net.candidate()?);
        let mut receiver = Receiver::default();
        receiver.keep_payload = config.keep_last_payload;
        receiver.packet_mode = packet_mode;
        let stats = MediaStats {
            transport: config.transport,
            local_addr: Some(net.local),
            ice_state: format!("{:?}", IceConnectionState::New),
            ..MediaStats::default()
        };
        let mut d = Driver {
            sig,
            rtc,
            net,
            publisher: Synthesizer::new(config.publish.clone(), sender_id(me.as_str())),
            receiver,
            events,
            config,
            me,
            pending: None,
            want_restart: false,
            my_video_track: None,
            link: Link::new(),
            rtc_timeout: now,
            arrival_us: None,
            outbox: Vec::new(),
            stats,
        };
        d.offer(true).await?;
        Ok(d)
    }

    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) -> Outcome {
        let mut armed = self.rtc_timeout;
        let mut net_streak = 0;
        let sleep = tokio::time::sleep_until(armed.into());
        tokio::pin!(sleep);
        let result = loop {
            let deadline = match self.publisher.next_wakeup() {
                Some(t) => t.min(self.rtc_timeout),
                None => self.rtc_timeout,
            };
            // Re-arming moves the timer in tokio's wheel: only when the deadline changed.
            if deadline != armed || sleep.is_elapsed() {
                armed = deadline;
                sleep.as_mut().reset(deadline.into());
            }
            // Packets first: most wakeups are for them, and then the other branches (a channel,
            // the WebSocket, the timer) are not polled for nothing. Their wakers stay registered,
            // and after NET_STREAK packet turns in a row they get one turn, so a flood of packets
            // cannot starve commands or signaling.
            let net_turn = net_streak < NET_STREAK;
            let mut net_fired = false;
            // Each branch's future is dropped before its handler runs, so handlers may use `self`.
            let step = tokio::select! {
                biased;
                r = self.net.readable(), if net_turn => {
                    net_fired = true;
                    match r {
                        Ok(()) => self.read_packets(),
                        Err(e) => Err(e),
                    }
                }
                c = commands.recv() => match c {
                    None | Some(Command::Stop) => break Ok(()),
                    Some(c) => self.on_command(c).await,
                },
                m = self.sig.recv_untimed() => match m {
                    Ok(m) => self.on_signal(m).await,
                    Err(e) => Err(e.into()),
                },
                _ = &mut sleep => Ok(()),
                () = std::future::ready(()), if !net_turn => Ok(()),
            };
            // When the packets' branch did not fire, every other branch was polled.
            net_streak = if net_fired { net_streak + 1 } else { 0 };
            if let Err(e) = step {
                break Err(e);
            }
            if let Err(e) = self.tick().await {
                break Err(e);
            }
        };
        match result {
            Ok(()) => {
                self.emit(MediaEvent::Ended("stopped".into()));
                Outcome::Stopped(self.sig)
            }
            Err(MediaError::ResetByServer(reason)) => {
                self.emit(MediaEvent::Ended(format!(
                    "the server reset the media session: {reason}"
                )));
                // Only the media session is gone: the connection is still joined.
                Outcome::Reset {
                    signaling: self.sig,
                    reason,
                }
            }
            Err(e) => {
                self.emit(MediaEvent::Ended(e.to_string()));
                Outcome::Failed(e)
            }
        }
    }

    /// Runs str0m's timers and the publisher's frame clocks, then sends what is queued.
    async fn tick(&mut self) -> Result<(), MediaError> {
        let now = Instant::now();
        if self.rtc_timeout <= now {
            self.rtc.handle_input(Input::Timeout(now))?;
            self.drain()?;
        }
        if self.publisher.next_wakeup().is_some_and(|t| t <= now) {
            self.publisher.tick(&mut self.rtc, now, unix_micros());
            self.drain()?;
        }
        self.flush().await
    }

    fn read_packets(&mut self) -> Result<(), MediaError> {
        net::with_scratch(|scratch| self.read_batch(scratch))
    }

    fn read_batch(&mut self, scratch: &mut [u8]) -> Result<(), MediaError> {
        let now = Instant::now();
        for _ in 0..MAX_READ_BATCH {
            let Some(p) = self.net.next_packet(scratch)? else {
                break;
            };
            self.stats.remote_addr = Some(p.source);
            let arrival_us = p.arrival_us;
            // Not STUN/DTLS/RTP (or too short): nothing str0m could use.
            let Ok(r) = Receive::new(p.proto, p.source, p.destination, p.data) else {
                continue;
            };
            if let Err(e) = self.rtc.handle_input(Input::Receive(now, r)) {
                self.stats.last_error = Some(format!("input: {e}"));
            }
            // Frames this packet completes are stamped with its arrival.
            self.arrival_us = arrival_us;
            let drained = self.drain();
            self.arrival_us = None;
            drained?;
        }
        Ok(())
    }

    /// Polls str0m until it only has a timeout left.
    fn drain(&mut self) -> Result<(), MediaError> {
        loop {
            match self.rtc.poll_output()? {
                Output::Timeout(t) => {
                    self.rtc_timeout = t;
                    return Ok(());
                }
                Output::Transmit(t) => self.outbox.push(t),
                Output::Event(e) => self.on_rtc_event(e),
            }
        }
    }

    async fn flush(&mut self) -> Result<(), MediaError> {
        for t in self.outbox.drain(..) {
            self.net.send(t.destination, &t.contents).await?;
        }
        Ok(())
    }

    fn on_rtc_event(&mut self, e: Event) {
        if let Some(report) = self.link.on_event(&e, &mut self.stats) {
            self.publisher
                .set_flowing(self.stats.connected, Instant::now());
            if let Some(r) = report {
                self.emit(r);
            }
            return;
        }
        match e {
            Event::MediaData(d) => {
                let arrived = self.arrival_us.unwrap_or_else(unix_micros);
                self.receiver.on_media(&d, arrived)
            }
            Event::RtpPacket(p) => match packet_mid(&mut self.rtc, &p) {
                Some(mid) => {
                    let arrived = self.arrival_us.unwrap_or_else(unix_micros);
                    self.receiver.on_packet(mid, &p, arrived)
                }
                None => self.receiver.unmapped_frames += 1,
            },
            Event::KeyframeRequest(r) => self.publisher.keyframe_request(&r),
            Event::MediaChanged(c) if c.direction == Direction::Inactive => {
                self.receiver.set_inactive_mid(c.mid)
            }
            _ => {}
        }
    }

    fn emit(&mut self, e: MediaEvent) {
        // Never wait for a slow consumer: the media loop must keep its timing.
        if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(e) {
            self.stats.events_dropped += 1;
        }
    }

    async fn on_command(&mut self, c: Command) -> Result<(), MediaError> {
        match c {
            Command::Send(m) => self.sig.send(&m).await?,
            Command::Publish(opts) => {
                self.publisher.update(opts);
                if self.pending.is_none() && self.needs_media() {
                    self.offer(false).await?;
                }
            }
            Command::RestartIce => {
                self.want_restart = true;
                if self.pending.is_none() {
                    self.offer(false).await?;
                }
            }
            Command::Stats(tx) => {
                let _ = tx.send(self.snapshot());
            }
            Command::Counters(tx) => {
                let _ = tx.send(self.net.counters);
            }
            // Handled by the loop.
            Command::Stop => {}
        }
        Ok(())
    }

    fn needs_media(&self) -> bool {
        let o = &self.publisher.opts;
        (o.audio && self.publisher.audio_mid.is_none())
            || (o.video && self.publisher.video_mid.is_none())
    }

    /// Sends an offer with the m-lines the publisher still needs and any ICE restart asked
    /// for. The first offer always goes out (with an inactive m-line if nothing is published).
    async fn offer(&mut self, first: bool) -> Result<(), MediaError> {
        let mut api = self.rtc.sdp_api();
        let o = &self.publisher.opts;
        let (want_audio, want_video) = (o.audio, o.video);
        if want_audio && self.publisher.audio_mid.is_none() {
            let mid = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
            self.publisher.audio_mid = Some(mid);
        }
        if want_video && self.publisher.video_mid.is_none() {
            let rids = self.publisher.offer_rids();
            let sim = (!rids.is_empty()).then(|| {
                let mut s = Simulcast::new();
                for r in &rids {
                    s.add_send_layer(SimulcastLayer::new(r));
                }
                s
            });
            let mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, sim);
            self.publisher.set_video_mid(mid, &rids);
        }
        if first && !want_audio && !want_video {
            add_receive_only_line(&mut api);
        }
        let restart = std::mem::take(&mut self.want_restart);
        if restart {
            // Same host candidate: only the credentials change.
            api.ice_restart(true);
        }
        let Some((offer, pending)) = api.apply() else {
            return Ok(());
        };
        self.pending = Some(pending);
        self.stats.offers_sent += 1;
        self.stats.ice_restarts += u64::from(restart);
        let mut tracks = Vec::new();
        if let Some(mid) = self.publisher.audio_mid {
            tracks.push(TrackSource {
                mid: mid.to_string(),
                source: Source::Microphone,
            });
        }
        if let Some(mid) = self.publisher.video_mid {
            tracks.push(TrackSource {
                mid: mid.to_string(),
                source: Source::Camera,
            });
        }
        self.sig
            .send(&ClientMessage::SdpOffer {
                sdp: offer.to_sdp_string(),
                tracks,
            })
            .await?;
        Ok(())
    }

    async fn on_signal(&mut self, m: ServerMessage) -> Result<(), MediaError> {
        match m {
            ServerMessage::SdpAnswer { sdp } => self.on_answer(&sdp).await,
            ServerMessage::SdpOffer { sdp, tracks } => {
                if self.pending.is_some() {
                    self.stats.server_offers_ignored += 1;
                    return Ok(());
                }
                let offer =
                    SdpOffer::from_sdp_string(&sdp).map_err(|e| MediaError::Sdp(e.to_string()))?;
                let answer = self.rtc.sdp_api().accept_offer(offer)?;
                self.receiver.map_tracks(&tracks);
                self.publisher.renegotiated();
                self.stats.server_offers_answered += 1;
                self.drain()?;
                self.sig
                    .send(&ClientMessage::SdpAnswer {
                        sdp: answer.to_sdp_string(),
                    })
                    .await?;
                self.emit(MediaEvent::TracksChanged);
                Ok(())
            }
            ServerMessage::IceCandidate { candidate, .. } => {
                // The server does not trickle, but a candidate it sends is still usable.
                let line = candidate.trim().trim_start_matches("a=");
                if let Ok(c) = Candidate::from_sdp_string(line) {
                    self.rtc.add_remote_candidate(c);
                }
                Ok(())
            }
            ServerMessage::MediaReset { reason } => {
                // Our peer connection is dead to the server; ending here (rather than carrying on
                // with a session the server no longer knows) lets the caller start a new one.
                Err(MediaError::ResetByServer(reason))
            }
            m => {
                self.observe(&m);
                self.emit(MediaEvent::Signaling(m));
                Ok(())
            }
        }
    }

    async fn on_answer(&mut self, sdp: &str) -> Result<(), MediaError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| MediaError::Sdp(e.to_string()))?;
        self.rtc.sdp_api().accept_answer(pending, answer)?;
        self.stats.answers_received += 1;
        self.publisher.renegotiated();
        self.net.connect_from_sdp(sdp).await?;
        self.stats.remote_addr = self.net.peer().or(self.stats.remote_addr);
        self.drain()?;
        if self.want_restart || self.needs_media() {
            self.offer(false).await?;
        }
        Ok(())
    }

    /// Learns from messages that are passed on anyway.
    fn observe(&mut self, m: &ServerMessage) {
        match m {
            ServerMessage::TrackPublished {
                participant_id,
                track,
            } if participant_id == &self.me && track.kind == ProtoKind::Video => {
                self.my_video_track = Some(track.id.clone());
            }
            ServerMessage::TrackUnpublished { track_id, .. } => {
                self.receiver.set_inactive_track(track_id)
            }
            ServerMessage::LayersUnused { track_id, rids } if self.config.honor_layers_unused => {
                let ours = match (&self.my_video_track, self.publisher.video_mid) {
                    (Some(t), _) => t == track_id,
                    // The server names tracks `<participant>-<mid>` (NEGOTIATION.md).
                    (None, Some(mid)) => track_id.as_str() == format!("{}-{mid}", self.me),
                    (None, None) => false,
                };
                if ours {
                    self.publisher.set_unused(rids);
                }
            }
            ServerMessage::Error {
                code: ErrorCode::MediaError,
                message,
                request,
            } => {
                self.stats.last_error = Some(message.clone());
                if request.as_deref() == Some("sdp_offer") && self.pending.take().is_some() {
                    // Our offer was refused: forget m-lines that existed only in it.
                    if let Some(mid) = self.publisher.audio_mid {
                        if self.rtc.media(mid).is_none() {
                            self.publisher.audio_mid = None;
                        }
                    }
                    if let Some(mid) = self.publisher.video_mid {
                        if self.rtc.media(mid).is_none() {
                            self.publisher.video_mid = None;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn snapshot(&self) -> MediaStats {
        let mut s = self.stats.clone();
        s.net = self.net.counters;
        s.sent = self.publisher.stats.clone();
        s.tracks = self.receiver.tracks.clone();
        s.unmapped_frames = self.receiver.unmapped_frames;
        s
    }
}
