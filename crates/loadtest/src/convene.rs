//! A participant on Convene: the client library's signaling and str0m media session.

use std::time::{Duration, Instant};

use convene_client::{
    ClientError, MediaConfig, MediaError, MediaEvent, MediaSession, NetCounters, PacketConfig,
    PublishOptions, ReceiveOnly, Signaling, Transport,
};
use convene_proto::{ClientMessage, Role, PROTOCOL_VERSION};
use convene_sim::SharedUdp;

use crate::options::{Options, Receive};
use crate::pacing::Slot;
use crate::session::{shared_dtls_cert, Failure, Snap};

/// Events queued per participant (the tool reads only a few kinds).
const EVENT_CAPACITY: usize = 64;

pub struct ConveneSession {
    media: Media,
}

/// A publisher's session, or a subscriber's (receive-only in packet mode, which has no
/// `publish`).
enum Media {
    Publishing(MediaSession),
    Receiving(MediaSession<ReceiveOnly>),
}

impl Media {
    async fn stats(&self) -> Result<convene_client::MediaStats, MediaError> {
        match self {
            Media::Publishing(m) => m.stats().await,
            Media::Receiving(m) => m.stats().await,
        }
    }

    async fn counters(&self) -> Result<NetCounters, MediaError> {
        match self {
            Media::Publishing(m) => m.counters().await,
            Media::Receiving(m) => m.counters().await,
        }
    }

    async fn next_event(&mut self) -> Option<MediaEvent> {
        match self {
            Media::Publishing(m) => m.next_event().await,
            Media::Receiving(m) => m.next_event().await,
        }
    }

    async fn stop(self) -> Result<Signaling, MediaError> {
        match self {
            Media::Publishing(m) => m.stop().await,
            Media::Receiving(m) => m.stop().await,
        }
    }
}

/// What a publisher sends, from the options; subscribers publish nothing (an inactive audio m-line only).
pub fn publish_options(o: &Options, publisher: bool) -> PublishOptions {
    if !publisher {
        return PublishOptions::none();
    }
    PublishOptions {
        audio: !o.no_audio,
        video: !o.no_video,
        layers: o.layers,
        video_bitrate_bps: o.video_bitrate,
        frame_rate: o.fps,
        ..PublishOptions::default()
    }
}

/// Packet mode for those that only receive; publishers need str0m's frame writer.
pub fn packet_mode(o: &Options, publisher: bool) -> bool {
    o.receive == Receive::Packets && !publisher
}

/// The run's shards, for a participant that receives only in packet mode over UDP.
pub fn shared_sockets(o: &Options, publisher: bool) -> Option<SharedUdp> {
    let packets = packet_mode(o, publisher);
    o.shared.clone().filter(|_| packets && !o.tcp)
}

fn join_failure(e: ClientError) -> Failure {
    match &e {
        ClientError::Refused { code, .. } => Failure::new(format!("join_refused:{code}"), &e),
        ClientError::Timeout => Failure::new("join_timeout", &e),
        ClientError::Closed(_) => Failure::new("join_closed", &e),
        _ => Failure::new("join", &e),
    }
}

impl ConveneSession {
    /// Connects, joins and waits until media is up. Returns the session, the time to `joined`
    /// and the time until ICE and DTLS were up, both from the start of the WebSocket connect.
    pub async fn start(
        o: &Options,
        slot: Slot,
    ) -> Result<(ConveneSession, Duration, Duration), Failure> {
        let t0 = Instant::now();
        let mut sig = Signaling::connect(&o.url)
            .await
            .map_err(|e| Failure::new("connect", e))?;
        sig.timeout = Duration::from_secs_f64(o.connect_timeout);
        let name = format!(
            "{}{}",
            if slot.publisher { "pub" } else { "sub" },
            slot.index
        );
        let joined = sig
            .join(ClientMessage::Join {
                room: o.room_name(slot.room),
                display_name: name,
                version: Some(PROTOCOL_VERSION),
                access_token: o.access_token.clone(),
                password: None,
                resume_token: None,
                mic_muted: None,
                camera_muted: None,
            })
            .await
            .map_err(join_failure)?;
        let join_time = t0.elapsed();
        // The first of an ad-hoc room hosts it, and hosts may record.
        if o.record && joined.role == Role::Host {
            sig.send(&ClientMessage::StartRecording)
                .await
                .map_err(|e| Failure::new("record", e))?;
        }
        let transport = if o.tcp {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        let me = joined.participant_id;
        let started = match shared_sockets(o, slot.publisher) {
            Some(shards) => shards
                .start(sig, shared_dtls_cert(), EVENT_CAPACITY)
                .await
                .map(Media::Receiving),
            None if packet_mode(o, slot.publisher) => {
                let config = PacketConfig {
                    transport,
                    local_ip: o.local_ip,
                    keep_last_payload: false,
                    event_capacity: EVENT_CAPACITY,
                    dtls_cert: shared_dtls_cert(),
                };
                MediaSession::receive_packets(sig, me, config)
                    .await
                    .map(Media::Receiving)
            }
            None => {
                let config = MediaConfig {
                    transport,
                    publish: publish_options(o, slot.publisher),
                    local_ip: o.local_ip,
                    keep_last_payload: false,
                    event_capacity: EVENT_CAPACITY,
                    dtls_cert: shared_dtls_cert(),
                    ..MediaConfig::default()
                };
                MediaSession::start(sig, me, config)
                    .await
                    .map(Media::Publishing)
            }
        };
        let mut media = started.map_err(|e| Failure::new("media_start", e))?;
        loop {
            match media.next_event().await {
                Some(MediaEvent::Connected) => break,
                Some(MediaEvent::Ended(why)) => return Err(Failure::new("media_ended", why)),
                None => return Err(Failure::new("media_ended", "task stopped")),
                Some(_) => {}
            }
        }
        Ok((ConveneSession { media }, join_time, t0.elapsed()))
    }

    pub async fn snap(&mut self) -> Result<Snap, Failure> {
        self.media
            .stats()
            .await
            .map(|s| Snap::of(&s))
            .map_err(|e| Failure::new("media_ended", e))
    }

    /// Datagrams received and sent (all kinds, as [`Snap`] counts them).
    pub async fn packets(&mut self) -> Result<(u64, u64), Failure> {
        self.media
            .counters()
            .await
            .map(|c| (c.packets_in, c.packets_out))
            .map_err(|e| Failure::new("media_ended", e))
    }

    /// Sends a chat message (its acknowledgement is not waited for: the run counts media).
    pub async fn chat(&self, text: String) -> Result<(), Failure> {
        let msg = ClientMessage::ChatSend {
            text,
            client_msg_id: None,
        };
        let sent = match &self.media {
            Media::Publishing(m) => m.send(msg).await,
            Media::Receiving(m) => m.send(msg).await,
        };
        sent.map_err(|e| Failure::new("media_ended", e))
    }

    /// Stops generating frames (no renegotiation: the m-lines stay).
    pub async fn stop_publishing(&mut self) {
        if let Media::Publishing(m) = &self.media {
            let _ = m.publish(PublishOptions::none()).await;
        }
    }

    /// Resolves when the session ends by itself (drains and drops other events meanwhile).
    pub async fn ended(&mut self) -> Failure {
        loop {
            match self.media.next_event().await {
                Some(MediaEvent::Ended(why)) => return Failure::new("media_ended", why),
                None => return Failure::new("media_ended", "task stopped"),
                Some(_) => {}
            }
        }
    }

    /// Leaves the room politely.
    pub async fn close(self) {
        if let Ok(mut sig) = self.media.stop().await {
            let _ = sig.send(&ClientMessage::Leave).await;
            sig.close().await;
        }
    }
}
