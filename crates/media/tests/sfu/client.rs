//! A str0m-based test client: publishes synthetic Opus (with audio level) and 3-layer VP8
//! simulcast whose payloads encode (publisher, layer, frame), and records what it receives.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use convene_media::{OfferedTrack, Protocol, TrackSource, Transmit};
use convene_proto::ParticipantId;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, Frequency, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer,
};
use str0m::net::Receive;
use str0m::{Candidate, Event, Input, Output, Rtc};

pub const RIDS: [&str; 3] = ["l", "m", "h"];
/// (width, height, delta frame bytes) per layer, lowest first. ~150k / 500k / 1.5M bit/s at 30 fps.
pub const LAYERS: [(u16, u16, usize); 3] = [(320, 180, 600), (640, 360, 2000), (1280, 720, 6000)];
const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
const VIDEO_INTERVAL: Duration = Duration::from_micros(33_333);
const MAGIC: &[u8; 3] = b"CNV";

/// Deterministic VP8 "frame": a real VP8 frame tag (P bit = !keyframe), keyframe start code and
/// size, then (publisher, layer, frame) and filler derived from them.
pub fn vp8_frame(publisher: u8, layer: u8, frame: u32, key: bool) -> Vec<u8> {
    let (w, h, size) = LAYERS[layer as usize];
    let mut v = Vec::with_capacity(size * 2);
    if key {
        // frame tag: key frame (bit0 = 0), version 0, show_frame (bit4) = 1.
        v.extend_from_slice(&[0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a]);
        v.extend_from_slice(&w.to_le_bytes());
        v.extend_from_slice(&h.to_le_bytes());
    } else {
        v.extend_from_slice(&[0x11, 0x00, 0x00]);
    }
    v.extend_from_slice(MAGIC);
    v.push(publisher);
    v.push(layer);
    v.extend_from_slice(&frame.to_be_bytes());
    let total = if key { size * 2 } else { size };
    let mut i = 0u32;
    while v.len() < total {
        v.push((frame.wrapping_mul(31).wrapping_add(i) ^ u32::from(publisher)) as u8);
        i += 1;
    }
    v
}

pub fn opus_frame(publisher: u8, seq: u32) -> Vec<u8> {
    let mut v = vec![b'A', publisher];
    v.extend_from_slice(&seq.to_be_bytes());
    while v.len() < 80 {
        v.push((seq as u8).wrapping_add(v.len() as u8));
    }
    v
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Audio {
        publisher: u8,
        seq: u32,
    },
    Video {
        publisher: u8,
        layer: u8,
        frame: u32,
        key: bool,
    },
}

/// Decode and verify a received payload byte-for-byte against what the publisher generated.
pub fn decode(data: &[u8]) -> Option<Payload> {
    if data.first() == Some(&b'A') && data.len() >= 6 {
        let publisher = data[1];
        let seq = u32::from_be_bytes([data[2], data[3], data[4], data[5]]);
        return (opus_frame(publisher, seq) == data).then_some(Payload::Audio { publisher, seq });
    }
    let key = data.first()? & 1 == 0;
    let off = if key { 10 } else { 3 };
    if data.get(off..off + 3)? != MAGIC {
        return None;
    }
    let publisher = *data.get(off + 3)?;
    let layer = *data.get(off + 4)?;
    if layer as usize >= LAYERS.len() {
        return None;
    }
    let f = data.get(off + 5..off + 9)?;
    let frame = u32::from_be_bytes([f[0], f[1], f[2], f[3]]);
    (vp8_frame(publisher, layer, frame, key) == data).then_some(Payload::Video {
        publisher,
        layer,
        frame,
        key,
    })
}

#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub mid: Mid,
    /// str0m's receiver saw no gap before this frame (false: packets were lost upstream of it).
    pub contiguous: bool,
    /// None when the payload did not match what any publisher sends (corruption).
    pub payload: Option<Payload>,
}

pub struct TestClient {
    pub num: u8,
    pub id: ParticipantId,
    pub addr: SocketAddr,
    pub rtc: Rtc,
    pub outbox: Vec<Transmit>,
    pending: Option<SdpPendingOffer>,
    publish_audio: bool,
    publish_video: bool,
    pub audio_mid: Option<Mid>,
    pub video_mid: Option<Mid>,
    pub received: Vec<Received>,
    pub tracks: HashMap<String, OfferedTrack>,
    /// Loudness 0..=127 written in the audio level extension.
    pub loudness: u8,
    /// Stop generating media (e.g. to simulate a dead client).
    pub silent: bool,
    next_audio: Instant,
    next_video: Instant,
    pub audio_seq: u32,
    video_frame: u32,
    want_key: [bool; 3],
    pub keyframe_requests: u32,
    /// Count keyframe requests but make no keyframe (a slow encoder, a lost request).
    pub ignore_keyframe_requests: bool,
    /// Layers (by index in `RIDS`) whose keyframe requests are counted but not honoured (an encoder
    /// slow on its large layers).
    pub ignore_keyframe_layers: Vec<usize>,
    /// Layers (by index in `RIDS`) the encoder does not send at the moment (CPU or bandwidth);
    /// each starts again at a keyframe.
    pub paused_layers: Vec<usize>,
    timeout: Instant,
    pub connected: bool,
    /// Publishing nothing, offer a data channel (`m=application`) rather than an inactive audio
    /// m-line: the two first offers the protocol allows.
    pub data_channel: bool,
    /// The server's answers to this client's offers, last one last.
    pub answers: Vec<String>,
}

impl TestClient {
    pub fn new(
        num: u8,
        id: ParticipantId,
        addr: SocketAddr,
        audio: bool,
        video: bool,
        now: Instant,
    ) -> Self {
        let mut rtc = Rtc::builder().build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
        TestClient {
            num,
            id,
            addr,
            rtc,
            outbox: Vec::new(),
            pending: None,
            publish_audio: audio,
            publish_video: video,
            audio_mid: None,
            video_mid: None,
            received: Vec::new(),
            tracks: HashMap::new(),
            loudness: 0,
            silent: false,
            next_audio: now,
            next_video: now,
            audio_seq: 0,
            video_frame: 0,
            want_key: [true; 3],
            keyframe_requests: 0,
            ignore_keyframe_requests: false,
            ignore_keyframe_layers: Vec::new(),
            paused_layers: Vec::new(),
            timeout: now,
            connected: false,
            data_channel: false,
            answers: Vec::new(),
        }
    }

    /// First offer: sendonly audio + sendonly simulcast video (or, publishing nothing, an
    /// inactive audio m-line as a browser offers its unused transceivers, or with `data_channel`
    /// a data channel: ICE and DTLS need one m-line).
    pub fn make_offer(&mut self) -> (String, Vec<(String, TrackSource)>) {
        let mut change = self.rtc.sdp_api();
        let mut sources = Vec::new();
        if self.publish_audio {
            let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
            sources.push((mid.to_string(), TrackSource::Microphone));
            self.audio_mid = Some(mid);
        }
        if self.publish_video {
            let mut sim = Simulcast::new();
            for r in RIDS {
                sim.add_send_layer(SimulcastLayer::new(r));
            }
            let mid =
                change.add_media(MediaKind::Video, Direction::SendOnly, None, None, Some(sim));
            sources.push((mid.to_string(), TrackSource::Camera));
            self.video_mid = Some(mid);
        }
        if !self.publish_audio && !self.publish_video {
            if self.data_channel {
                change.add_channel("chat".into());
            } else {
                change.add_media(MediaKind::Audio, Direction::Inactive, None, None, None);
            }
        }
        let (offer, pending) = change.apply().expect("offer");
        self.pending = Some(pending);
        self.drain();
        (offer.to_sdp_string(), sources)
    }

    /// A later offer adding a simulcast camera (renegotiation by the client).
    pub fn offer_video(&mut self) -> (String, Vec<(String, TrackSource)>) {
        self.publish_video = true;
        let mut sim = Simulcast::new();
        for r in RIDS {
            sim.add_send_layer(SimulcastLayer::new(r));
        }
        let mut change = self.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, Some(sim));
        self.video_mid = Some(mid);
        let (offer, pending) = change.apply().expect("offer");
        self.pending = Some(pending);
        self.drain();
        (
            offer.to_sdp_string(),
            vec![(mid.to_string(), TrackSource::Camera)],
        )
    }

    pub fn accept_answer(&mut self, sdp: &str) {
        self.answers.push(sdp.to_owned());
        let answer = SdpAnswer::from_sdp_string(sdp).expect("answer parses");
        let pending = self.pending.take().expect("pending");
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("answer accepted");
        self.drain();
    }

    pub fn accept_offer(&mut self, sdp: &str, tracks: &[OfferedTrack], _now: Instant) -> String {
        for t in tracks {
            self.tracks.insert(t.mid.clone(), t.clone());
        }
        let offer = SdpOffer::from_sdp_string(sdp).expect("offer parses");
        let answer = self.rtc.sdp_api().accept_offer(offer).expect("accept");
        self.drain();
        answer.to_sdp_string()
    }

    pub fn receive(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        let Ok(r) = Receive::new(proto, source, destination, data) else {
            return;
        };
        let _ = self.rtc.handle_input(Input::Receive(now, r));
        self.drain();
    }

    pub fn next_wakeup(&self) -> Instant {
        let mut t = self.timeout;
        if self.connected && !self.silent {
            if self.publish_audio {
                t = t.min(self.next_audio);
            }
            if self.publish_video {
                t = t.min(self.next_video);
            }
        }
        t
    }

    pub fn tick(&mut self, now: Instant) {
        if self.timeout <= now {
            let _ = self.rtc.handle_input(Input::Timeout(now));
            self.drain();
        }
        if !self.connected || self.silent {
            return;
        }
        if let (Some(mid), true) = (self.audio_mid, self.next_audio <= now) {
            self.next_audio += AUDIO_INTERVAL;
            self.write_audio(mid, now);
        }
        if let (Some(mid), true) = (self.video_mid, self.next_video <= now) {
            self.next_video += VIDEO_INTERVAL;
            self.write_video(mid, now);
        }
    }

    fn write_audio(&mut self, mid: Mid, now: Instant) {
        let Some(w) = self.rtc.writer(mid) else {
            return;
        };
        let Some(pt) = w
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())
        else {
            return;
        };
        let time = MediaTime::new(u64::from(self.audio_seq) * 960, Frequency::FORTY_EIGHT_KHZ);
        let level = -(127i16 - i16::from(self.loudness.min(127))) as i8;
        let data = opus_frame(self.num, self.audio_seq);
        let _ = w
            .audio_level(level, self.loudness > 40)
            .write(pt, now, time, data);
        self.audio_seq += 1;
        self.drain();
    }

    fn write_video(&mut self, mid: Mid, now: Instant) {
        let frame = self.video_frame;
        self.video_frame += 1;
        let time = MediaTime::new(u64::from(frame) * 3000, Frequency::NINETY_KHZ);
        for (layer, rid) in RIDS.iter().enumerate() {
            if self.paused_layers.contains(&layer) {
                self.want_key[layer] = true;
                continue;
            }
            let Some(w) = self.rtc.writer(mid) else {
                return;
            };
            let Some(pt) = w
                .payload_params()
                .find(|p| p.spec().codec == Codec::Vp8)
                .map(|p| p.pt())
            else {
                return;
            };
            let key = std::mem::replace(&mut self.want_key[layer], false);
            let data = vp8_frame(self.num, layer as u8, frame, key);
            let _ = w.rid(Rid::from(*rid)).write(pt, now, time, data);
            self.drain();
        }
    }

    pub fn drain(&mut self) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => self.outbox.push(t),
                Ok(Output::Event(e)) => self.on_event(e),
                Err(_) => return,
            }
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Connected => self.connected = true,
            Event::MediaData(d) => {
                self.received.push(Received {
                    at: d.network_time,
                    mid: d.mid,
                    contiguous: d.contiguous,
                    payload: decode(&d.data),
                });
            }
            Event::KeyframeRequest(r) => {
                self.keyframe_requests += 1;
                if self.ignore_keyframe_requests {
                    return;
                }
                let layer = r
                    .rid
                    .and_then(|rid| RIDS.iter().position(|x| Rid::from(*x) == rid));
                match layer {
                    Some(l) if self.ignore_keyframe_layers.contains(&l) => {}
                    Some(l) => self.want_key[l] = true,
                    None => self.want_key = [true; 3],
                }
            }
            _ => {}
        }
    }

    /// Received video frames from `publisher` (decoded), in arrival order:
    /// (time, layer, frame number, keyframe, contiguous).
    pub fn video_from(&self, publisher: u8) -> Vec<(Instant, u8, u32, bool, bool)> {
        self.received
            .iter()
            .filter_map(|r| match r.payload {
                Some(Payload::Video {
                    publisher: p,
                    layer,
                    frame,
                    key,
                }) if p == publisher => Some((r.at, layer, frame, key, r.contiguous)),
                _ => None,
            })
            .collect()
    }

    pub fn audio_from(&self, publisher: u8) -> Vec<(Instant, u32)> {
        self.received
            .iter()
            .filter_map(|r| match r.payload {
                Some(Payload::Audio { publisher: p, seq }) if p == publisher => Some((r.at, seq)),
                _ => None,
            })
            .collect()
    }

    pub fn corrupt_frames(&self) -> usize {
        self.received.iter().filter(|r| r.payload.is_none()).count()
    }
}
