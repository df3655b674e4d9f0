//! Forwarding RTP packets from a publisher to its subscribers, and keyframe requests upstream.
//!
//! The core runs str0m in RTP mode: a packet is parsed once (`packet.rs`), and each subscriber
//! gets the same payload with its own sequence number, RTP time and VP8 ids (`rewrite.rs`).
//! Nothing is depacketized or re-packetized on the way.

use std::time::Instant;

use str0m::media::{KeyframeRequest, KeyframeRequestKind, Mid};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};

use super::Sfu;
use crate::ids::{PeerIdx, TrackKey, TrackOrigin};
use crate::link::Msg;
use crate::outbox::{drain, Outbox};
use crate::packet::{self, InPacket};
use crate::peer::{ConnState, OutState, Participant};
use crate::simulcast::{Decision, LayerId};
use crate::track::Subscription;
use crate::types::TrackKind;

impl Sfu {
    /// A packet from a local publisher: parse it once, bookkeeping, then to this core's
    /// subscribers and to the other cores of the room that want it.
    pub(crate) fn forward(&mut self, publisher: PeerIdx, rtp: RtpPacket, now: Instant) {
        if rtp.payload.is_empty() {
            // Padding (bandwidth probes): nothing to forward.
            return;
        }
        let Some(p) = self.peers.get_mut(publisher) else {
            return;
        };
        let Some(rtc) = p.rtc.live() else {
            return;
        };
        let Some((mid, rid)) = rtc
            .direct_api()
            .stream_rx(&rtp.header.ssrc)
            .map(|s| (s.mid(), s.rid()))
        else {
            return;
        };
        let muted_sources = &p.muted;
        let Some(track) = p.published.iter_mut().find(|t| t.mid == mid) else {
            return;
        };
        let pt = rtp.header.payload_type;
        let params = match track.params {
            Some(params) if params.pt() == pt => params,
            _ => {
                let Some(params) = p
                    .rtc
                    .get()
                    .and_then(|rtc| rtc.codec_config().params().iter().find(|c| c.pt() == pt))
                    .copied()
                else {
                    return;
                };
                track.params = Some(params);
                params
            }
        };
        let info = packet::inspect(params.spec().codec, &rtp.payload);
        let d = InPacket {
            mid,
            rid,
            params,
            seq: rtp.seq_no,
            time: rtp.time,
            marker: rtp.header.marker,
            audio_level: rtp.header.ext_vals.audio_level,
            voice_activity: rtp.header.ext_vals.voice_activity,
            arrival: rtp.timestamp,
            keyframe_start: info.keyframe_start,
            vp8: info.vp8,
            payload: rtp.payload,
        };
        let muted = muted_sources.contains(&track.source);
        track.on_packet(&d, info.size, now);
        let kind = track.kind;
        if muted {
            // What came before the mute must not reach a subscriber who starts during it.
            for l in &mut track.layers {
                l.cache.clear();
            }
            self.out.stats.packets_muted += 1;
            return;
        }
        if kind == TrackKind::Audio {
            if let Some(level) = d.audio_level {
                if self.rooms.contains_key(&p.room) {
                    self.speakers
                        .on_level(&p.room, TrackOrigin::Local(publisher), level);
                }
            }
        }
        // Losses upstream are left to NACK and to the subscribers' own keyframe requests:
        // each packet is forwarded as it comes, so a retransmission still reaches them.
        self.fan_out(TrackOrigin::Local(publisher), &d, kind);
    }

    /// Hand a packet of `publisher`'s track to every subscriber on this core that wants it (and keep
    /// a video packet in its layer's keyframe cache).
    pub(crate) fn fan_out(&mut self, publisher: TrackOrigin, d: &InPacket, kind: TrackKind) {
        let key = (publisher, d.mid);
        let max_age = self.config.keyframe_request_interval;
        // Take the subscriber list so we can borrow subscribers mutably; restored below.
        let subs = match self.track_mut(key) {
            Some(t) => {
                if kind == TrackKind::Video {
                    if let Some(layer) = t.layer_mut(d.rid) {
                        layer.cache.on_packet(d, max_age);
                    }
                }
                std::mem::take(&mut t.subscribers)
            }
            None => return,
        };
        // Only audio carries extension values to pass on; video leaves the default.
        let ext =
            (d.audio_level.is_some() || d.voice_activity.is_some()).then(|| ExtensionValues {
                audio_level: d.audio_level,
                voice_activity: d.voice_activity,
                ..Default::default()
            });
        let mut keyframes = Vec::new();
        for sub in &subs {
            match sub {
                Subscription::Sink(s) => {
                    keyframes.extend(self.sinks.on_packet(*s, d));
                }
                Subscription::Peer(s) => {
                    let Some(sp) = self.peers.get_mut(*s) else {
                        continue;
                    };
                    forward_to(&mut self.out, sp, *s, key, d, kind, ext.as_ref());
                }
                Subscription::Link(link, layers) => {
                    // Only a local track has link subscribers: its slot names it on the link.
                    let TrackOrigin::Local(slot) = publisher else {
                        continue;
                    };
                    if layers.contains(&d.rid) {
                        let msg = Msg::Packet {
                            publisher: slot.0,
                            packet: Box::new(d.clone()),
                        };
                        self.links.send(*link, msg);
                        self.out.stats.relay_packets_out += 1;
                    }
                }
            }
        }
        if let Some(t) = self.track_mut(key) {
            t.subscribers = subs;
        }
        for layer in keyframes {
            self.request_keyframe(publisher, d.mid, layer, d.arrival);
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
        publisher: TrackOrigin,
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
            TrackOrigin::Local(idx) => idx,
            TrackOrigin::Remote(ri) => {
                // The layer must be among those relayed to us before its keyframe is sent.
                self.send_demand(ri, mid);
                if let Some(rp) = self.links.get(ri) {
                    let msg = Msg::KeyframeRequest {
                        publisher: rp.slot,
                        mid,
                        layer: rid,
                    };
                    self.links.send(rp.link, msg);
                }
                return;
            }
        };
        let Some(p) = self.peers.get_mut(idx) else {
            return;
        };
        if let Some(rtc) = p.rtc.live() {
            if let Some(rx) = rtc.direct_api().stream_rx_by_mid(mid, rid) {
                rx.request_keyframe(KeyframeRequestKind::Pli);
                self.out.stats.keyframe_requests += 1;
            }
        }
        drain(p, idx, &mut self.out);
    }
}

/// Hand one packet of track `key` to subscriber `sp` (index `s`), if its stream of the track is
/// open and its layer state takes the packet, rewritten for that stream.
pub(crate) fn forward_to(
    out: &mut Outbox,
    sp: &mut Participant,
    s: PeerIdx,
    key: TrackKey,
    d: &InPacket,
    kind: TrackKind,
    ext: Option<&ExtensionValues>,
) {
    if sp.conn != ConnState::Connected {
        return;
    }
    let Some(o) = sp.out.get_mut(&key) else {
        return;
    };
    let OutState::Open(out_mid) = o.state else {
        return;
    };
    let decision = match kind {
        TrackKind::Audio => Decision::Forward { switched: false },
        TrackKind::Video => o.layer.on_frame(d.rid, d.keyframe_start),
    };
    let Decision::Forward { switched } = decision else {
        return;
    };
    let pt = match o.pt {
        Some((from, to)) if from == d.params.pt() => to,
        _ => {
            let Some(to) = sp
                .rtc
                .get()
                .and_then(|rtc| rtc.codec_config().match_params(d.params))
                .map(|p| p.pt())
            else {
                return;
            };
            o.pt = Some((d.params.pt(), to));
            to
        }
    };
    let Some(w) = o.rewrite.rewrite(d, switched) else {
        return;
    };
    if switched {
        out.stats.layer_switches += 1;
    }
    // Connected (checked above) means the first offer made the Rtc.
    let Some(rtc) = sp.rtc.live() else {
        return;
    };
    let mut api = rtc.direct_api();
    let Some(tx) = api.stream_tx_by_mid(out_mid, None) else {
        return;
    };
    // `payload` is an Arc: no copy here; str0m copies it once, into the SRTP packet.
    let mut write = RtpWrite::new(pt, w.seq.into(), w.time, d.arrival, d.payload.clone())
        .marker(d.marker)
        .nackable(kind == TrackKind::Video);
    if let Some(ext) = ext {
        write = write.ext_vals(ext.clone());
    }
    if let Some(patch) = w.vp8_patch {
        write = write.vp8_patch(patch);
    }
    tx.write_rtp(write);
    out.stats.packets_forwarded += 1;
    out.stats.bytes_forwarded += d.payload.len() as u64;
    drain(sp, s, out);
}
