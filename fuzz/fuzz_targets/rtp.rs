//! RTP entering the media core, past decryption: `mallory` (a str0m client in session with the
//! core, set up as the media crate's tests do) writes fuzzed RTP packets — payload type, sequence
//! number and timestamp steps, marker, audio level, simulcast layer and payload bytes all chosen by
//! the input — which her SRTP context encrypts, so the core decrypts them and forwards, switches
//! layers, detects keyframes and records (the room is recorded) on fuzzed payloads. `bob`
//! subscribes. Inputs may also send raw datagrams from mallory's address (SRTP, DTLS and STUN that
//! fail their checks) and move virtual time on, so that timers (NACK, keyframe requests, layer
//! allocation, the recording's loss wait) run on what was sent.
//!
//! The RTCP that reaches the core past decryption is what mallory's str0m sends on its own
//! (reports, feedback): a fuzzed RTCP packet cannot be encrypted through str0m's API.
#![no_main]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use convene_fuzz::bytes::Bytes;
use convene_fuzz::client::RIDS;
use convene_fuzz::sim::{sfu_addr, World};
use convene_media::Protocol;
use libfuzzer_sys::fuzz_target;
use str0m::media::{Mid, Pt, Rid};
use str0m::rtp::{ExtensionValues, RtpWrite, SeqNo};

/// Inputs a world serves before it is made anew (see fuzz/src/media.rs).
const RENEW_AFTER: u64 = 500;
/// Most operations one input runs.
const MAX_OPS: usize = 64;

struct Stream {
    seq: u64,
    time: u32,
}

struct State {
    w: World,
    mallory: usize,
    streams: HashMap<(Mid, Option<Rid>), Stream>,
    inputs: u64,
}

impl State {
    fn new() -> Self {
        let mut w = World::new(7);
        w.join("bob", false, false);
        let mallory = w.join("mallory", true, true);
        // Her own media generator stays off: the input writes her packets.
        w.clients[mallory].silent = true;
        let (room, now) = (w.room.clone(), w.now);
        w.sfu.set_recording(&room, true, now);
        w.run_for(Duration::from_millis(500));
        State {
            w,
            mallory,
            streams: HashMap::new(),
            inputs: 0,
        }
    }

    fn healthy(&self) -> bool {
        self.inputs < RENEW_AFTER && self.w.clients.iter().all(|c| c.connected)
    }

    fn write_rtp(&mut self, b: &mut Bytes) {
        let now = self.w.now;
        let c = &mut self.w.clients[self.mallory];
        let (Some(audio), Some(video)) = (c.audio_mid, c.video_mid) else {
            return;
        };
        let flags = b.u8();
        let (mid, rid) = if flags & 1 == 0 {
            (audio, None)
        } else {
            let layer = (flags >> 1) % 4;
            (video, RIDS.get(usize::from(layer)).map(|r| Rid::from(*r)))
        };
        let pts: Vec<Pt> = c
            .rtc
            .media(mid)
            .map(|m| m.remote_pts().to_vec())
            .unwrap_or_default();
        let pick = b.u8();
        let pt = match pts.get(usize::from(pick & 0x7f) % pts.len().max(1)) {
            Some(pt) if pick & 0x80 == 0 => *pt,
            _ => Pt::from(pick & 0x7f),
        };
        let seq_step = i64::from(b.u8() as i8);
        let time_step = b.u16();
        let stream = self.streams.entry((mid, rid)).or_insert(Stream {
            seq: 1000,
            time: 0,
        });
        // Mostly forward, as a sender goes; a negative step replays or reorders.
        stream.seq = stream.seq.saturating_add_signed(seq_step).max(1);
        stream.time = stream.time.wrapping_add(u32::from(time_step));
        let (seq, time) = (stream.seq, stream.time);
        let mut ext = ExtensionValues::default();
        if flags & 0x10 != 0 {
            ext.audio_level = Some(-((b.u8() & 0x7f) as i8));
            ext.voice_activity = Some(flags & 0x20 != 0);
        }
        let marker = flags & 0x40 != 0;
        let payload = b.chunk(1200).to_vec();
        let write = RtpWrite::new(pt, SeqNo::from(seq), time, now, payload)
            .marker(marker)
            .nackable(true)
            .ext_vals(ext);
        if let Some(tx) = c.rtc.direct_api().stream_tx_by_mid(mid, rid) {
            tx.write_rtp(write);
        }
        c.drain();
    }

    fn raw(&mut self, b: &mut Bytes) {
        let data = b.chunk(1500);
        let (now, src) = (self.w.now, self.w.clients[self.mallory].addr);
        let _ = self
            .w
            .sfu
            .handle_input(now, Protocol::Udp, src, sfu_addr(), data);
    }

    /// Drops what the world collected, so that memory stays flat over many inputs.
    fn forget(&mut self) {
        self.w.events.clear();
        self.w.recorded.clear();
        for c in &mut self.w.clients {
            c.received.clear();
            c.answers.clear();
        }
    }
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut slot = STATE.lock().unwrap_or_else(|p| p.into_inner());
    if !slot.as_ref().is_some_and(State::healthy) {
        *slot = Some(State::new());
    }
    let s = slot.as_mut().expect("just made");
    s.inputs += 1;
    let mut b = Bytes::new(data);
    for _ in 0..MAX_OPS {
        if b.is_empty() {
            break;
        }
        match b.u8() % 4 {
            0 | 1 => s.write_rtp(&mut b),
            2 => s.raw(&mut b),
            _ => {
                let ms = u64::from(b.u8() % 64);
                s.w.run_for(Duration::from_millis(ms));
            }
        }
    }
    // Deliver what was written and let the core act on it.
    s.w.run_for(Duration::from_millis(20));
    s.forget();
});
