//! Messages to bytes (the layout is in `wire.rs`).

use super::{ParamsTable, AVAILABLE, LEVEL, MARKER, MAX_LAYERS, PARAMS, RESET, SIZE, VERSION};
use super::{T_DEMAND, T_KEYFRAME, T_LAYERS, T_LEFT, T_PACKET, T_PUBLISH, T_UNPUBLISH};
use super::{VOICE, VOICE_KNOWN};
use crate::link::msg::{LayerInfo, Msg, RelayMessage};
use crate::packet::InPacket;
use crate::simulcast::LayerId;
use crate::types::{TrackKind, TrackSource};

/// Turns one direction of a link's messages into bytes. Every message encoded must reach the
/// peer's [`RelayDecoder`](super::RelayDecoder), in order, as the two keep the same table of codec
/// parameters: a media message dropped under overload must be dropped before it is encoded.
#[derive(Debug, Default)]
pub struct RelayEncoder {
    pub(super) params: ParamsTable,
}

impl RelayEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    pub(crate) fn with_params_cap(cap: usize) -> Self {
        let mut e = Self::new();
        e.params.cap = cap;
        e
    }

    /// Appends `msg`'s bytes to `out`.
    ///
    /// Lists are cut at 8 entries (more simulcast layers than a browser sends; the other core then
    /// knows only the first 8). Ids over their bounds are written as they are, and refused by the
    /// decoder, rather than cut into another id.
    pub fn encode(&mut self, msg: &RelayMessage, out: &mut Vec<u8>) {
        out.push(VERSION);
        match &msg.0 {
            Msg::Publish { .. } => put_publish(out, &msg.0),
            Msg::Unpublish { publisher, mid } => {
                out.push(T_UNPUBLISH);
                put_u32(out, *publisher);
                put_id(out, mid);
            }
            Msg::Left { publisher } => {
                out.push(T_LEFT);
                put_u32(out, *publisher);
            }
            Msg::Packet { publisher, packet } => self.encode_packet(*publisher, packet, out),
            Msg::Layers {
                publisher,
                mid,
                layers,
            } => {
                out.push(T_LAYERS);
                put_u32(out, *publisher);
                put_id(out, mid);
                let layers = &layers[..layers.len().min(MAX_LAYERS)];
                out.push(layers.len() as u8);
                for l in layers {
                    put_layer_info(out, l);
                }
            }
            Msg::Demand {
                publisher,
                mid,
                layers,
            } => {
                out.push(T_DEMAND);
                put_u32(out, *publisher);
                put_id(out, mid);
                let layers = &layers[..layers.len().min(MAX_LAYERS)];
                out.push(layers.len() as u8);
                for l in layers {
                    put_layer(out, *l);
                }
            }
            Msg::KeyframeRequest {
                publisher,
                mid,
                layer,
            } => {
                out.push(T_KEYFRAME);
                put_u32(out, *publisher);
                put_id(out, mid);
                put_layer(out, *layer);
            }
        }
        self.params.forget(&msg.0);
    }

    fn encode_packet(&mut self, publisher: u32, p: &InPacket, out: &mut Vec<u8>) {
        out.push(T_PACKET);
        put_u32(out, publisher);
        put_id(out, &p.mid);
        put_layer(out, p.rid);
        let key = (publisher, p.mid);
        let send_params = self.params.map.get(&key) != Some(&p.params);
        // Full: start afresh, and tell the decoder to (the other tracks' sets go again as needed).
        let reset = send_params && self.params.full_for(&key);
        let mut flags = 0;
        for (on, bit) in [
            (p.marker, MARKER),
            (p.audio_level.is_some(), LEVEL),
            (p.voice_activity.is_some(), VOICE_KNOWN),
            (p.voice_activity == Some(true), VOICE),
            (send_params, PARAMS),
            (reset, RESET),
        ] {
            if on {
                flags |= bit;
            }
        }
        out.push(flags);
        out.extend_from_slice(&(*p.seq).to_be_bytes());
        out.extend_from_slice(&p.time.numer().to_be_bytes());
        put_u32(out, p.time.denom());
        if let Some(level) = p.audio_level {
            out.extend_from_slice(&level.to_be_bytes());
        }
        if send_params {
            // Serializing a plain struct of numbers cannot fail; an empty set would be refused.
            let json = serde_json::to_vec(&p.params).unwrap_or_default();
            put_bytes16(out, &json);
            self.params.insert(key, p.params, reset);
        }
        let payload = &p.payload[..p.payload.len().min(u32::MAX as usize)];
        put_u32(out, payload.len() as u32);
        out.extend_from_slice(payload);
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// A string of more than 65,535 bytes is cut there: that is over every bound, so the decoder
/// refuses it instead of reading its tail as the fields after it.
fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes16(out, s.as_bytes());
}

fn put_bytes16(out: &mut Vec<u8>, b: &[u8]) {
    let b = &b[..b.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&(b.len() as u16).to_be_bytes());
    out.extend_from_slice(b);
}

/// A mid or rid (str0m holds at most 16 bytes of one).
fn put_id(out: &mut Vec<u8>, id: &str) {
    let b = &id.as_bytes()[..id.len().min(usize::from(u8::MAX))];
    out.push(b.len() as u8);
    out.extend_from_slice(b);
}

fn put_layer(out: &mut Vec<u8>, layer: LayerId) {
    match layer {
        None => out.push(0),
        Some(rid) => {
            let b = &rid.as_bytes()[..rid.len().min(usize::from(u8::MAX) - 1)];
            out.push(b.len() as u8 + 1);
            out.extend_from_slice(b);
        }
    }
}

fn put_publish(out: &mut Vec<u8>, msg: &Msg) {
    let Msg::Publish {
        room,
        publisher,
        id,
        track,
        mid,
        kind,
        source,
        rids,
    } = msg
    else {
        return;
    };
    out.push(T_PUBLISH);
    put_str(out, room.as_str());
    put_u32(out, *publisher);
    put_str(out, id.as_str());
    put_str(out, track.as_str());
    put_id(out, mid);
    out.push(match kind {
        TrackKind::Audio => 0,
        TrackKind::Video => 1,
    });
    out.push(match source {
        TrackSource::Microphone => 0,
        TrackSource::Camera => 1,
        TrackSource::Screen => 2,
        TrackSource::ScreenAudio => 3,
    });
    let rids = &rids[..rids.len().min(MAX_LAYERS)];
    out.push(rids.len() as u8);
    for rid in rids {
        put_id(out, rid);
    }
}

fn put_layer_info(out: &mut Vec<u8>, l: &LayerInfo) {
    put_layer(out, l.rid);
    out.extend_from_slice(&l.bitrate_bps.to_be_bytes());
    out.extend_from_slice(&l.peak_bps.to_be_bytes());
    let flags = if l.size.is_some() { SIZE } else { 0 } | if l.available { AVAILABLE } else { 0 };
    out.push(flags);
    if let Some((w, h)) = l.size {
        put_u32(out, w);
        put_u32(out, h);
    }
}
