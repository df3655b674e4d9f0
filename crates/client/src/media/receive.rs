//! What arrives on the server's m-lines, per remote track: frames from str0m's depacketizer
//! (frame mode) or RTP packets checked as they come (packet mode, see `packets.rs`).

use std::collections::HashMap;
use std::time::Instant;

use convene_proto::{MediaKind, OfferedTrack, ParticipantId, Source, TrackId};
use str0m::media::{MediaData, Mid};
use str0m::rtp::RtpPacket;

use super::packets::{Assembler, Frame};
use crate::frame::{parse_frame, FrameHeader, FrameKind, ParsedFrame};
use crate::histogram::DelayHistogram;

/// Counters for one remote track (one receive m-line of the server's offers).
#[derive(Clone, Debug, PartialEq)]
pub struct TrackStats {
    pub mid: String,
    pub participant_id: ParticipantId,
    pub track_id: TrackId,
    pub kind: MediaKind,
    pub source: Source,
    /// False once the track was unpublished or its m-line stopped.
    pub active: bool,
    pub frames: u64,
    pub bytes: u64,
    /// Frames str0m's depacketizer flagged as keyframes.
    pub keyframes: u64,
    /// Video frames per simulcast layer (from our header), lowest first.
    pub layer_frames: [u64; 3],
    /// Frames without our header (not made by a convene client).
    pub foreign: u64,
    /// Frames whose filler differed from what the sender wrote.
    pub corrupt: u64,
    /// RTP packets were missing before a frame (frame mode: str0m's depacketizer says so;
    /// packet mode: packets given up since the previous complete frame).
    pub discontinuities: u64,
    /// Packet mode: RTP packets that arrived after their frame had been given up as lost.
    pub late_packets: u64,
    pub first_seq: Option<u32>,
    /// Highest header sequence number seen.
    pub max_seq: Option<u32>,
    /// Frames with a header whose sequence number was new and above every earlier one.
    pub in_order: u64,
    /// Frames whose sequence number was not above the highest seen (late or repeated).
    pub out_of_order: u64,
    /// One-way delay from the header's send time to arrival (wall clock, µs).
    pub delay_us_sum: i64,
    pub delay_us_max: i64,
    pub delay_samples: u64,
    /// The same delays, for percentiles.
    pub delay_hist: DelayHistogram,
    pub last_header: Option<FrameHeader>,
    pub last_keyframe: bool,
    pub last_at: Option<Instant>,
    /// The last frame's payload (the reassembled frame: VP8 bitstream or Opus packet).
    pub last_payload: Vec<u8>,
}

impl TrackStats {
    fn new(t: &OfferedTrack) -> Self {
        TrackStats {
            mid: t.mid.clone(),
            participant_id: t.participant_id.clone(),
            track_id: t.track_id.clone(),
            kind: t.kind,
            source: t.source,
            active: true,
            frames: 0,
            bytes: 0,
            keyframes: 0,
            layer_frames: [0; 3],
            foreign: 0,
            corrupt: 0,
            discontinuities: 0,
            late_packets: 0,
            first_seq: None,
            max_seq: None,
            in_order: 0,
            out_of_order: 0,
            delay_us_sum: 0,
            delay_us_max: 0,
            delay_samples: 0,
            delay_hist: DelayHistogram::default(),
            last_header: None,
            last_keyframe: false,
            last_at: None,
            last_payload: Vec::new(),
        }
    }

    /// Frames the sender numbered between the first and the highest received, inclusive.
    pub fn expected(&self) -> u64 {
        match (self.first_seq, self.max_seq) {
            (Some(a), Some(b)) => u64::from(b.wrapping_sub(a)) + 1,
            _ => 0,
        }
    }

    /// Frames in that range that never arrived (or arrived late, out of order).
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.in_order)
    }

    pub fn mean_delay_us(&self) -> Option<i64> {
        (self.delay_samples > 0).then(|| self.delay_us_sum / self.delay_samples as i64)
    }

    fn kind(&self) -> FrameKind {
        match self.kind {
            MediaKind::Audio => FrameKind::Audio,
            MediaKind::Video => FrameKind::Video,
        }
    }

    /// A frame from str0m's depacketizer (frame mode).
    fn record(&mut self, d: &MediaData, now_unix_us: u64, keep_payload: bool) {
        if keep_payload {
            // Reuses the buffer: no allocation once it has grown to the largest frame.
            self.last_payload.clear();
            self.last_payload.extend_from_slice(&d.data);
        }
        let f = Frame {
            bytes: d.data.len(),
            keyframe: d.is_keyframe(),
            contiguous: d.contiguous,
            at: d.network_time,
            parsed: parse_frame(self.kind(), &d.data),
        };
        self.record_frame(&f, now_unix_us);
    }

    /// One complete frame, however it was received.
    fn record_frame(&mut self, f: &Frame, now_unix_us: u64) {
        self.frames += 1;
        self.bytes += f.bytes as u64;
        self.keyframes += u64::from(f.keyframe);
        self.discontinuities += u64::from(!f.contiguous);
        self.last_keyframe = f.keyframe;
        self.last_at = Some(f.at);
        let Some(ParsedFrame {
            header: h, intact, ..
        }) = f.parsed
        else {
            self.foreign += 1;
            return;
        };
        self.corrupt += u64::from(!intact);
        if h.kind == FrameKind::Video {
            if let Some(n) = self.layer_frames.get_mut(usize::from(h.layer)) {
                *n += 1;
            }
        }
        // Serial-number comparison, so a wrap of the u32 counter is not a reorder.
        match self.max_seq {
            None => {
                self.first_seq = Some(h.seq);
                self.max_seq = Some(h.seq);
                self.in_order += 1;
            }
            Some(m) if h.seq.wrapping_sub(m) as i32 > 0 => {
                self.max_seq = Some(h.seq);
                self.in_order += 1;
            }
            Some(_) => self.out_of_order += 1,
        }
        let delay = now_unix_us as i64 - h.sent_us as i64;
        self.delay_us_sum += delay;
        self.delay_us_max = self.delay_us_max.max(delay);
        self.delay_samples += 1;
        self.delay_hist.record(delay);
        self.last_header = Some(h);
    }
}

/// What arrived on the server's m-lines, per remote track ([`TrackStats`]).
#[derive(Default)]
pub struct Receiver {
    /// Every track ever offered, in offer order (ended ones stay, marked inactive).
    pub tracks: Vec<TrackStats>,
    by_mid: HashMap<Mid, usize>,
    /// Packet mode: each track's reassembly state, by index in `tracks` (empty in frame mode).
    assemblers: Vec<Assembler>,
    pub packet_mode: bool,
    /// Copy each frame's payload into `last_payload` (off for load generation).
    pub keep_payload: bool,
    /// Frames (packet mode: RTP packets) on m-lines the offers did not describe.
    pub unmapped_frames: u64,
}

impl Receiver {
    /// Applies a server offer's mapping; a mid that now carries another track starts afresh.
    pub fn map_tracks(&mut self, offered: &[OfferedTrack]) {
        for t in offered {
            let mid = Mid::from(t.mid.as_str());
            if let Some(&i) = self.by_mid.get(&mid) {
                let s = &mut self.tracks[i];
                if s.track_id == t.track_id {
                    s.active = true;
                    continue;
                }
                s.active = false;
            }
            self.by_mid.insert(mid, self.tracks.len());
            let stats = TrackStats::new(t);
            if self.packet_mode {
                self.assemblers
                    .push(Assembler::new(stats.kind(), self.keep_payload));
            }
            self.tracks.push(stats);
        }
    }

    /// The first `n` tracks and their reassembly state (packet mode), the memory a packet for
    /// one of them updates: for a runner that prefetches it before the packet is handled.
    pub fn hot(&self, n: usize) -> (&[TrackStats], &[Assembler]) {
        let n = n.min(self.tracks.len());
        (
            &self.tracks[..n],
            &self.assemblers[..n.min(self.assemblers.len())],
        )
    }

    pub fn set_inactive_mid(&mut self, mid: Mid) {
        if let Some(&i) = self.by_mid.get(&mid) {
            self.tracks[i].active = false;
        }
    }

    pub fn set_inactive_track(&mut self, track: &TrackId) {
        for t in self.tracks.iter_mut().filter(|t| &t.track_id == track) {
            t.active = false;
        }
    }

    pub fn on_media(&mut self, d: &MediaData, now_unix_us: u64) {
        match self.by_mid.get(&d.mid) {
            Some(&i) => self.tracks[i].record(d, now_unix_us, self.keep_payload),
            None => self.unmapped_frames += 1,
        }
    }

    /// Packet mode: one RTP packet on `mid` (str0m has decrypted it and undone any RTX).
    pub fn on_packet(&mut self, mid: Mid, p: &RtpPacket, now_unix_us: u64) {
        self.on_rtp(
            mid,
            *p.header.ssrc,
            *p.seq_no,
            p.header.marker,
            &p.payload,
            p.timestamp,
            now_unix_us,
        );
    }

    /// Packet mode: one RTP packet of stream `ssrc` on `mid`, decrypted, RTX undone (`seq`
    /// extended, `payload` after the RTP header and padding).
    #[allow(clippy::too_many_arguments)]
    pub fn on_rtp(
        &mut self,
        mid: Mid,
        ssrc: u32,
        seq: u64,
        marker: bool,
        payload: &[u8],
        at: Instant,
        now_unix_us: u64,
    ) {
        let (Some(&i), true) = (self.by_mid.get(&mid), self.packet_mode) else {
            self.unmapped_frames += 1;
            return;
        };
        self.on_track_rtp(i, ssrc, seq, marker, payload, at, now_unix_us);
    }

    /// [`Receiver::on_rtp`] for the track at index `track` of [`Receiver::tracks`] (the lean
    /// path knows it per stream, and saves a lookup by mid per packet).
    #[allow(clippy::too_many_arguments)]
    pub fn on_track_rtp(
        &mut self,
        track: usize,
        ssrc: u32,
        seq: u64,
        marker: bool,
        payload: &[u8],
        at: Instant,
        now_unix_us: u64,
    ) {
        let (Some(track), Some(a)) = (self.tracks.get_mut(track), self.assemblers.get_mut(track))
        else {
            self.unmapped_frames += 1;
            return;
        };
        a.push(ssrc, seq, marker, payload, at, &mut |f, data| {
            if let Some(data) = data {
                track.last_payload.clear();
                track.last_payload.extend_from_slice(data);
            }
            track.record_frame(&f, now_unix_us);
        });
        track.late_packets = a.late_packets;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(mid: &str, track: &str) -> OfferedTrack {
        OfferedTrack {
            mid: mid.into(),
            participant_id: ParticipantId::new("p_x"),
            track_id: TrackId::new(track),
            kind: MediaKind::Video,
            source: Source::Camera,
        }
    }

    #[test]
    fn a_reused_mid_starts_a_new_track() {
        let mut r = Receiver::default();
        r.map_tracks(&[offered("1", "t1")]);
        r.map_tracks(&[offered("1", "t1")]);
        assert_eq!(
            r.tracks.len(),
            1,
            "re-offering the same track keeps its stats"
        );
        r.map_tracks(&[offered("1", "t2")]);
        assert_eq!(r.tracks.len(), 2);
        assert!(!r.tracks[0].active);
        assert!(r.tracks[1].active);
        r.set_inactive_track(&TrackId::new("t2"));
        assert!(!r.tracks[1].active);
    }
}
