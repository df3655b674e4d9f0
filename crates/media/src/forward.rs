//! Forwarding media frames from a publisher to its subscribers, and keyframe requests upstream.

use std::time::Instant;

use str0m::media::{KeyframeRequest, KeyframeRequestKind, MediaData, Mid};

use crate::participant::{ConnState, OutState, PeerIdx, PubRef};
use crate::relay::{Msg, RelayMessage};
use crate::sfu::{drain, loudness, peer_in, Sfu};
use crate::simulcast::{Decision, LayerId};
use crate::types::TrackKind;

/// Bytes 3..6 of every VP8 keyframe (RFC 6386 §9.1).
const VP8_KEYFRAME_START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

impl Sfu {
    /// A frame from a local publisher: bookkeeping, then to this core's subscribers and to the
    /// other cores of the room that want it.
    pub(crate) fn forward(&mut self, publisher: PeerIdx, d: MediaData, now: Instant) {
        let Some(p) = peer_in(&mut self.peers, publisher) else {
            return;
        };
        let muted_sources = &p.muted;
        let Some(track) = p.published.iter_mut().find(|t| t.mid == d.mid) else {
            return;
        };
        let muted = muted_sources.contains(&track.source);
        let lost = track.on_frame(&d, now);
        let kind = track.kind;
        if muted {
            self.out.stats.frames_muted += 1;
        } else if kind == TrackKind::Audio {
            if let Some(level) = d.ext_vals.audio_level {
                if let Some(r) = self.rooms.get_mut(&p.room) {
                    r.speaker
                        .on_level(PubRef::Local(publisher), loudness(level));
                }
            }
        }
        if lost {
            // Frames were lost upstream: subscribers of this layer need a fresh keyframe.
            self.request_keyframe(PubRef::Local(publisher), d.mid, d.rid, now);
        }
        if muted {
            return;
        }
        self.relay_frame(publisher, &d);
        self.fan_out(PubRef::Local(publisher), &d, kind);
    }

    /// Hand a frame of `publisher`'s track to every subscriber on this core that wants it.
    pub(crate) fn fan_out(&mut self, publisher: PubRef, d: &MediaData, kind: TrackKind) {
        let keyframe = d.is_keyframe();
        let key = (publisher, d.mid);
        // Take the subscriber list so we can borrow subscribers mutably; restored below.
        let subs = match self.track_mut(key) {
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
            let Some(o) = sp.out.get_mut(&key) else {
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
        if let Some(t) = self.track_mut(key) {
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

    /// Ask the publisher for a keyframe on `rid`, at most once per interval per layer. For a
    /// remote publisher the request goes to its core (which rate-limits again).
    pub(crate) fn request_keyframe(
        &mut self,
        publisher: PubRef,
        mid: Mid,
        rid: LayerId,
        now: Instant,
    ) {
        let interval = self.config.keyframe_request_interval;
        let Some(layer) = self
            .track_mut((publisher, mid))
            .and_then(|t| t.layer_mut(rid))
        else {
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
        let idx = match publisher {
            PubRef::Local(idx) => idx,
            PubRef::Remote(ri) => {
                // The layer must be among those relayed to us before its keyframe is sent.
                self.send_demand(ri, mid);
                if let Some(rp) = self.remote(ri) {
                    let msg = Msg::KeyframeRequest {
                        publisher: rp.slot,
                        mid,
                        layer: rid,
                    };
                    self.out.relays.push_back((rp.link, RelayMessage(msg)));
                }
                return;
            }
        };
        let Some(p) = peer_in(&mut self.peers, idx) else {
            return;
        };
        let Some(mut w) = p.rtc.writer(mid) else {
            return;
        };
        if w.is_request_keyframe_possible(KeyframeRequestKind::Pli)
            && w.request_keyframe(rid, KeyframeRequestKind::Pli).is_ok()
        {
            self.out.stats.keyframe_requests += 1;
        }
        drain(p, idx, &mut self.out);
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
