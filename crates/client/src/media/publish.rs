//! The frame synthesiser: Opus every 20 ms with the audio-level extension, and VP8 (simulcast
//! or not) at a frame rate, with keyframes on request and periodically, written into a str0m
//! `Rtc`. The client's sessions publish with it, and so does any other driver of a str0m peer
//! (the load tool's Janus participant), so that every sender makes the same frames.

use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::{Frequency, KeyframeRequest, MediaTime, Mid, Pt, Rid};
use str0m::Rtc;

use crate::frame::{write_opus, write_vp8, FrameHeader, FrameKind};

/// Simulcast rids, lowest layer first; a track with n layers uses the first n.
pub const RIDS: [&str; 3] = ["q", "h", "f"];
const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
/// A sender this far behind its schedule (an overloaded process) skips frames instead of
/// bursting them all out at once.
pub const MAX_LAG: Duration = Duration::from_millis(200);

/// How many simulcast layers a video track sends: one (plain video, without rids) to three, as
/// the protocol allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Layers {
    One,
    Two,
    #[default]
    Three,
}

impl Layers {
    pub fn count(self) -> usize {
        match self {
            Layers::One => 1,
            Layers::Two => 2,
            Layers::Three => 3,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("simulcast layers are 1, 2 or 3, not {0}")]
pub struct BadLayers(pub String);

impl TryFrom<u8> for Layers {
    type Error = BadLayers;

    fn try_from(n: u8) -> Result<Self, BadLayers> {
        match n {
            1 => Ok(Layers::One),
            2 => Ok(Layers::Two),
            3 => Ok(Layers::Three),
            _ => Err(BadLayers(n.to_string())),
        }
    }
}

impl std::str::FromStr for Layers {
    type Err = BadLayers;

    fn from_str(s: &str) -> Result<Self, BadLayers> {
        let n: u8 = s.trim().parse().map_err(|_| BadLayers(s.to_owned()))?;
        Layers::try_from(n)
    }
}

impl std::fmt::Display for Layers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.count())
    }
}

/// What to publish and how.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishOptions {
    pub audio: bool,
    pub video: bool,
    /// Simulcast layers. Fixed once the video m-line exists.
    pub layers: Layers,
    /// Bitrate of the top layer; each lower layer gets a quarter of the one above.
    pub video_bitrate_bps: u32,
    pub frame_rate: u32,
    /// Size of the top layer; each lower layer is half as wide and high.
    pub width: u16,
    pub height: u16,
    /// A keyframe on every layer this often (besides those the server asks for).
    pub keyframe_interval: Duration,
    /// Opus packet size: 80 bytes per 20 ms is 32 kbit/s.
    pub audio_frame_bytes: usize,
    /// Loudness written in the audio-level extension, 0 (silence) to 127 (loudest), as the
    /// server reports it in `audio_levels`.
    pub audio_loudness: u8,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            audio: true,
            video: true,
            layers: Layers::Three,
            video_bitrate_bps: 1_000_000,
            frame_rate: 30,
            width: 1280,
            height: 720,
            keyframe_interval: Duration::from_millis(2500),
            audio_frame_bytes: 80,
            audio_loudness: 64,
        }
    }
}

impl PublishOptions {
    /// Nothing at all (the first offer then carries only an inactive audio m-line).
    pub fn none() -> Self {
        PublishOptions {
            audio: false,
            video: false,
            ..Self::default()
        }
    }

    pub(crate) fn layer_count(&self) -> usize {
        self.layers.count()
    }

    /// (width, height, delta frame bytes) of `layer` (0 = lowest) when `n` layers are sent.
    fn layer_shape(&self, layer: usize, n: usize) -> (u16, u16, usize) {
        let down = (n - 1 - layer) as u32;
        let bps = u64::from(self.video_bitrate_bps) >> (2 * down);
        let bytes = bps / 8 / u64::from(self.frame_rate.max(1));
        (
            (self.width >> down).max(16),
            (self.height >> down).max(16),
            bytes as usize,
        )
    }
}

/// What the publisher has sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendStats {
    pub audio_frames: u64,
    pub audio_bytes: u64,
    /// Per layer, lowest first (index 0 for non-simulcast video).
    pub video_frames: [u64; 3],
    pub video_bytes: [u64; 3],
    pub keyframes: [u64; 3],
    /// PLI/FIR received from the server.
    pub keyframe_requests: u64,
    /// Frames not generated because the process was behind schedule.
    pub frames_skipped: u64,
    /// Layers not encoded because the server said nobody receives them (`layers_unused`).
    pub paused_layers: Vec<String>,
}

/// Writes the frames [`PublishOptions`] ask for, on the m-lines it is given, when they are due.
/// Its owner runs the peer: it says when media can flow ([`Synthesizer::set_flowing`]), passes
/// keyframe requests on, and calls [`Synthesizer::tick`] at [`Synthesizer::next_wakeup`].
pub struct Synthesizer {
    pub(crate) opts: PublishOptions,
    sender: u32,
    pub(crate) audio_mid: Option<Mid>,
    pub(crate) video_mid: Option<Mid>,
    /// The video m-line's rids, as negotiated (empty: no simulcast).
    rids: Vec<Rid>,
    audio_pt: Option<Pt>,
    video_pt: Option<Pt>,
    /// None until media can flow (writes before ICE+DTLS are up are dropped by str0m).
    next_audio: Option<Instant>,
    next_video: Option<Instant>,
    next_periodic_key: Option<Instant>,
    audio_seq: u32,
    video_seq: u32,
    want_key: [bool; 3],
    paused: [bool; 3],
    scratch: Vec<u8>,
    pub(crate) stats: SendStats,
}

impl Synthesizer {
    /// `sender` goes into every frame's header ([`crate::frame::sender_id`] of the publisher).
    pub fn new(opts: PublishOptions, sender: u32) -> Self {
        Synthesizer {
            opts,
            sender,
            audio_mid: None,
            video_mid: None,
            rids: Vec::new(),
            audio_pt: None,
            video_pt: None,
            next_audio: None,
            next_video: None,
            next_periodic_key: None,
            audio_seq: 0,
            video_seq: 0,
            want_key: [true; 3],
            paused: [false; 3],
            scratch: Vec::new(),
            stats: SendStats::default(),
        }
    }

    pub fn options(&self) -> &PublishOptions {
        &self.opts
    }

    /// What was written so far.
    pub fn stats(&self) -> &SendStats {
        &self.stats
    }

    /// The audio m-line to write Opus on (None: no audio).
    pub fn set_audio_mid(&mut self, mid: Option<Mid>) {
        self.audio_mid = mid;
    }

    /// The rids to offer for a new video m-line, lowest layer first.
    pub fn offer_rids(&self) -> Vec<&'static str> {
        match self.opts.layer_count() {
            1 => Vec::new(),
            n => RIDS[..n].to_vec(),
        }
    }

    /// The video m-line to write VP8 on, and its rids, lowest layer first (empty: no simulcast).
    pub fn set_video_mid(&mut self, mid: Mid, rids: &[&str]) {
        self.video_mid = Some(mid);
        self.rids = rids.iter().map(|r| Rid::from(*r)).collect();
    }

    /// After any negotiation: payload types may have changed.
    pub fn renegotiated(&mut self) {
        self.audio_pt = None;
        self.video_pt = None;
    }

    /// Starts (or keeps) the frame clocks once media can flow, stops them when it cannot.
    pub fn set_flowing(&mut self, flowing: bool, now: Instant) {
        if !flowing {
            self.next_audio = None;
            self.next_video = None;
            return;
        }
        self.next_audio.get_or_insert(now);
        self.next_video.get_or_insert(now);
        self.next_periodic_key
            .get_or_insert(now + self.opts.keyframe_interval);
    }

    /// New options: a kind can be turned off and on, rates change at once; the layer count of
    /// an existing video m-line stays.
    pub fn update(&mut self, opts: PublishOptions) {
        // A kind turned back on restarts its clock: the pause is not "behind schedule".
        let now = Instant::now();
        if opts.audio && !self.opts.audio {
            self.next_audio = self.next_audio.map(|_| now);
        }
        if opts.video && !self.opts.video {
            self.next_video = self.next_video.map(|_| now);
            self.want_key = [true; 3];
        }
        // The rids of an existing m-line cannot change without renegotiation; keep the count.
        let layers = self.opts.layers;
        self.opts = opts;
        if self.video_mid.is_some() {
            self.opts.layers = layers;
        }
    }

    /// `layers_unused` for our video track: pause those rids (empty = all wanted).
    pub fn set_unused(&mut self, rids: &[String]) {
        for (i, rid) in RIDS.iter().enumerate() {
            let unused = rids.iter().any(|r| r == rid);
            if self.paused[i] && !unused {
                // A resumed layer must start with a keyframe.
                self.want_key[i] = true;
            }
            self.paused[i] = unused;
        }
        self.stats.paused_layers = rids.to_vec();
    }

    /// A PLI/FIR from the peer: the next frame of that layer (or all) is a keyframe.
    pub fn keyframe_request(&mut self, r: &KeyframeRequest) {
        if Some(r.mid) != self.video_mid {
            return;
        }
        self.stats.keyframe_requests += 1;
        match r
            .rid
            .and_then(|rid| self.rids.iter().position(|x| *x == rid))
        {
            Some(l) => self.want_key[l] = true,
            None => self.want_key = [true; 3],
        }
    }

    /// When the next frame is due; None when nothing is (not flowing, or nothing to publish).
    pub fn next_wakeup(&self) -> Option<Instant> {
        let audio = self
            .next_audio
            .filter(|_| self.opts.audio && self.audio_mid.is_some());
        let video = self
            .next_video
            .filter(|_| self.opts.video && self.video_mid.is_some());
        match (audio, video) {
            (Some(a), Some(v)) => Some(a.min(v)),
            (a, v) => a.or(v),
        }
    }

    /// Writes every frame that is due; `unix_us` is the send time written in their headers.
    pub fn tick(&mut self, rtc: &mut Rtc, now: Instant, unix_us: u64) {
        if let (Some(mid), Some(at), true) = (self.audio_mid, self.next_audio, self.opts.audio) {
            if at <= now {
                let skipped = catch_up(&mut self.next_audio, at, now, AUDIO_INTERVAL);
                self.stats.frames_skipped += skipped;
                self.audio_seq = self.audio_seq.wrapping_add(skipped as u32);
                self.write_audio(rtc, mid, now, unix_us);
            }
        }
        if let (Some(mid), Some(at), true) = (self.video_mid, self.next_video, self.opts.video) {
            if at <= now {
                let interval = Duration::from_secs(1) / self.opts.frame_rate.max(1);
                let skipped = catch_up(&mut self.next_video, at, now, interval);
                self.stats.frames_skipped += skipped;
                self.video_seq = self.video_seq.wrapping_add(skipped as u32);
                if self.next_periodic_key.is_some_and(|k| k <= now) {
                    self.next_periodic_key = Some(now + self.opts.keyframe_interval);
                    self.want_key = [true; 3];
                }
                self.write_video(rtc, mid, now, unix_us);
            }
        }
    }

    fn write_audio(&mut self, rtc: &mut Rtc, mid: Mid, now: Instant, unix_us: u64) {
        let Some(w) = rtc.writer(mid) else {
            return;
        };
        let pt = match self.audio_pt {
            Some(pt) => pt,
            None => match find_pt(
                w.payload_params().map(|p| (p.pt(), p.spec().codec)),
                Codec::Opus,
            ) {
                Some(pt) => *self.audio_pt.insert(pt),
                None => return,
            },
        };
        let header = FrameHeader {
            kind: FrameKind::Audio,
            layer: 0,
            sender: self.sender,
            seq: self.audio_seq,
            sent_us: unix_us,
        };
        write_opus(&mut self.scratch, &header, self.opts.audio_frame_bytes);
        let time = MediaTime::new(u64::from(self.audio_seq) * 960, Frequency::FORTY_EIGHT_KHZ);
        // RFC 6464 level is -dBov: 0 is loudest, -127 silence.
        let loud = self.opts.audio_loudness.min(127);
        let level = -(127 - loud as i8);
        let len = self.scratch.len();
        if w.audio_level(level, loud > 40)
            .write(pt, now, time, Arc::<[u8]>::from(&self.scratch[..]))
            .is_ok()
        {
            self.stats.audio_frames += 1;
            self.stats.audio_bytes += len as u64;
        }
        self.audio_seq = self.audio_seq.wrapping_add(1);
    }

    fn write_video(&mut self, rtc: &mut Rtc, mid: Mid, now: Instant, unix_us: u64) {
        let seq = self.video_seq;
        self.video_seq = self.video_seq.wrapping_add(1);
        let time = MediaTime::new(
            u64::from(seq) * 90_000 / u64::from(self.opts.frame_rate.max(1)),
            Frequency::NINETY_KHZ,
        );
        let n = self.rids.len().max(1);
        for layer in 0..n {
            if self.paused[layer] {
                continue;
            }
            let Some(w) = rtc.writer(mid) else {
                return;
            };
            let pt = match self.video_pt {
                Some(pt) => pt,
                None => {
                    match find_pt(
                        w.payload_params().map(|p| (p.pt(), p.spec().codec)),
                        Codec::Vp8,
                    ) {
                        Some(pt) => *self.video_pt.insert(pt),
                        None => return,
                    }
                }
            };
            let key = self.want_key[layer];
            let (width, height, size) = self.opts.layer_shape(layer, n);
            let header = FrameHeader {
                kind: FrameKind::Video,
                layer: layer as u8,
                sender: self.sender,
                seq,
                sent_us: unix_us,
            };
            write_vp8(
                &mut self.scratch,
                &header,
                key,
                width,
                height,
                if key { size * 3 } else { size },
            );
            let w = match self.rids.get(layer) {
                Some(rid) => w.rid(*rid),
                None => w,
            };
            let len = self.scratch.len();
            if w.write(pt, now, time, Arc::<[u8]>::from(&self.scratch[..]))
                .is_ok()
            {
                self.want_key[layer] = false;
                self.stats.video_frames[layer] += 1;
                self.stats.video_bytes[layer] += len as u64;
                self.stats.keyframes[layer] += u64::from(key);
            }
        }
    }
}

fn find_pt(mut params: impl Iterator<Item = (Pt, Codec)>, codec: Codec) -> Option<Pt> {
    params.find(|(_, c)| *c == codec).map(|(pt, _)| pt)
}

/// Advances a frame clock that was due at `at` past `now`; returns how many frames a sender
/// [`MAX_LAG`] or more behind skips to catch up (it then advances its sequence numbers by as
/// many, so receivers count them lost).
pub fn catch_up(next: &mut Option<Instant>, at: Instant, now: Instant, interval: Duration) -> u64 {
    let mut n = at + interval;
    let mut skipped = 0;
    if now.saturating_duration_since(at) > MAX_LAG {
        while n <= now {
            n += interval;
            skipped += 1;
        }
    }
    *next = Some(n);
    skipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_quarter_the_bitrate_and_halve_the_size() {
        let o = PublishOptions {
            video_bitrate_bps: 960_000,
            frame_rate: 30,
            ..PublishOptions::default()
        };
        assert_eq!(o.layer_shape(2, 3), (1280, 720, 4000));
        assert_eq!(o.layer_shape(1, 3), (640, 360, 1000));
        assert_eq!(o.layer_shape(0, 3), (320, 180, 250));
        assert_eq!(o.layer_shape(0, 1), (1280, 720, 4000));
    }

    #[test]
    fn layers_are_one_to_three() {
        assert_eq!("2".parse(), Ok(Layers::Two));
        assert_eq!(Layers::try_from(3), Ok(Layers::Three));
        assert!(Layers::try_from(0).is_err());
        assert!("4".parse::<Layers>().is_err());
        assert!("two".parse::<Layers>().is_err());
        assert_eq!(Layers::One.to_string(), "1");
    }

    #[test]
    fn a_late_clock_skips_instead_of_bursting() {
        let t = Instant::now();
        let iv = Duration::from_millis(20);
        let mut next = None;
        assert_eq!(catch_up(&mut next, t, t + iv / 2, iv), 0);
        assert_eq!(next, Some(t + iv));
        let now = t + Duration::from_millis(1010);
        let skipped = catch_up(&mut next, t, now, iv);
        assert_eq!(skipped, 50);
        assert!(next.is_some_and(|n| n > now && n <= now + iv));
    }
}
