//! Forwarding media frames from a publisher to its subscribers, and keyframe requests upstream.

use std::time::Instant;

use str0m::format::Codec;
use str0m::media::{KeyframeRequest, KeyframeRequestKind, MediaData, Mid};

use crate::participant::{ConnState, OutState, PeerIdx};
use crate::sfu::{drain, peer_in, Sfu};
use crate::simulcast::{Decision, LayerId};
use crate::types::TrackKind;

/// Bytes 3..6 of every VP8 keyframe (RFC 6386 §9.1).
const VP8_KEYFRAME_START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

impl Sfu {
    pub(crate) fn forward(&mut self, publisher: PeerIdx, d: MediaData, now: Instant) {
        let keyframe = d.is_keyframe();
        let Some(p) = peer_in(&mut self.peers, publisher) else {
            return;
        };
        let muted_sources = p.muted.clone();
        let room = p.room.clone();
        let Some(track) = p.published_mut(d.mid) else {
            return;
        };
        let kind = track.kind;
        let muted = muted_sources.contains(&track.source);
        let mut need_keyframe = None;
        match kind {
            TrackKind::Audio => {}
            TrackKind::Video => {
                if track.layer_mut(d.rid).is_none() {
                    // A rid the offer did not list (str0m only lets declared rids through, but
                    // be robust): treat it as one more layer.
                    track.layers.push(crate::participant::IngressLayer {
                        rid: d.rid,
                        bytes: 0,
                        bitrate_bps: 0,
                        peak_bps: 0,
                        size: None,
                        last_frame: None,
                        last_keyframe_request: None,
                    });
                }
                if let Some(layer) = track.layer_mut(d.rid) {
                    layer.bytes += d.data.len() as u64;
                    layer.last_frame = Some(now);
                    if keyframe && d.params.spec().codec == Codec::Vp8 {
                        if let Some(size) = vp8_keyframe_size(&d.data) {
                            layer.size = Some(size);
                        }
                    }
                }
                if !d.contiguous {
                    // Frames were lost upstream: subscribers of this layer need a fresh keyframe.
                    need_keyframe = Some(d.rid);
                }
            }
        }
        if muted {
            self.out.stats.frames_muted += 1;
        } else if kind == TrackKind::Audio {
            if let Some(level) = d.ext_vals.audio_level {
                // RFC 6464 level is -dBov (str0m gives it negative): 0 is loudest.
                let loudness = 127u8.saturating_sub(level.unsigned_abs().min(127));
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.speaker.on_level(publisher, loudness);
                }
            }
        }
        if let Some(rid) = need_keyframe {
            self.request_keyframe(publisher, d.mid, rid, now);
        }
        if muted {
            return;
        }

        // Take the subscriber list so we can borrow subscribers mutably; restored below.
        let subs = match peer_in(&mut self.peers, publisher).and_then(|p| p.published_mut(d.mid)) {
            Some(t) => std::mem::take(&mut t.subscribers),
            None => return,
        };
        for &s in &subs {
            let Some(sp) = self.peers.get_mut(s.0 as usize).and_then(|p| p.as_mut()) else {
                continue;
            };
            if sp.conn != ConnState::Connected {
                continue;
            }
            let Some(o) = sp.out.get_mut(&(publisher, d.mid)) else {
                continue;
            };
            let OutState::Open(out_mid) = o.state else {
                continue;
            };
            let decision = match kind {
                TrackKind::Audio => Decision::Forward { switched: false },
                TrackKind::Video => o.layer.on_frame(d.rid, keyframe),
            };
            let Decision::Forward { switched } = decision else {
                continue;
            };
            if switched {
                self.out.stats.layer_switches += 1;
            }
            let time = o.time.map(d.time, d.network_time, switched);
            let Some(mut w) = sp.rtc.writer(out_mid) else {
                continue;
            };
            let Some(pt) = w.match_params(d.params) else {
                continue;
            };
            if let (Some(level), Some(vad)) = (d.ext_vals.audio_level, d.ext_vals.voice_activity) {
                w = w.audio_level(level, vad);
            }
            // `data` is an Arc: no copy here; str0m packetizes per subscriber.
            if w.write(pt, d.network_time, time, d.data.clone()).is_ok() {
                self.out.stats.frames_forwarded += 1;
                self.out.stats.bytes_forwarded += d.data.len() as u64;
            }
            drain(sp, s, &mut self.out);
        }
        if let Some(t) = peer_in(&mut self.peers, publisher).and_then(|p| p.published_mut(d.mid)) {
            t.subscribers = subs;
        }
    }

    /// A subscriber asked for a keyframe on one of its receive m-lines: pass it upstream for
    /// the layer it currently receives (or is waiting for).
    pub(crate) fn relay_keyframe_request(
        &mut self,
        sub: PeerIdx,
        req: KeyframeRequest,
        now: Instant,
    ) {
        let Some(sp) = self.peer(sub) else { return };
        let Some(key) = sp.out_by_mid(req.mid) else {
            return;
        };
        let Some(layer) = sp.out.get(&key).and_then(|o| o.layer.target()) else {
            return;
        };
        self.request_keyframe(key.0, key.1, layer, now);
    }

    /// Ask the publisher for a keyframe on `rid`, at most once per interval per layer.
    pub(crate) fn request_keyframe(
        &mut self,
        publisher: PeerIdx,
        mid: Mid,
        rid: LayerId,
        now: Instant,
    ) {
        let interval = self.config.keyframe_request_interval;
        let Some(p) = self
            .peers
            .get_mut(publisher.0 as usize)
            .and_then(|p| p.as_mut())
        else {
            return;
        };
        let Some(layer) = p.published_mut(mid).and_then(|t| t.layer_mut(rid)) else {
            return;
        };
        if layer
            .last_keyframe_request
            .is_some_and(|t| now.saturating_duration_since(t) < interval)
        {
            self.out.stats.keyframe_requests_throttled += 1;
            return;
        }
        layer.last_keyframe_request = Some(now);
        let Some(mut w) = p.rtc.writer(mid) else {
            return;
        };
        if w.is_request_keyframe_possible(KeyframeRequestKind::Pli)
            && w.request_keyframe(rid, KeyframeRequestKind::Pli).is_ok()
        {
            self.out.stats.keyframe_requests += 1;
        }
        drain(p, publisher, &mut self.out);
    }
}

/// Width and height from a VP8 keyframe header (RFC 6386 §9.1), if `frame` is one.
pub(crate) fn vp8_keyframe_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != VP8_KEYFRAME_START_CODE {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((u32::from(w), u32::from(h)))
}
