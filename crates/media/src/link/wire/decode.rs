//! Bytes to messages, every length, count and value checked (the layout is in `wire.rs`).

use std::sync::Arc;
use std::time::Instant;

use convene_proto::{ParticipantId, RoomId, TrackId};
use str0m::format::PayloadParams;
use str0m::media::{Frequency, MediaTime, Mid, Rid};

use super::{ParamsTable, ParamsUpdate, WireError, AVAILABLE, LEVEL, MARKER, PACKET_FLAGS};
use super::{
    MAX_CLOCK_HZ, MAX_ID, MAX_LAYERS, MAX_MID, MAX_PARAMS_JSON, MAX_PAYLOAD, MAX_RID, MAX_ROOM,
};
use super::{PARAMS, RESET, SIZE, VERSION, VOICE, VOICE_KNOWN};
use super::{T_DEMAND, T_KEYFRAME, T_LAYERS, T_LEFT, T_PACKET, T_PUBLISH, T_UNPUBLISH};
use crate::link::msg::{LayerInfo, Msg, RelayMessage};
use crate::packet::{self, InPacket};
use crate::simulcast::LayerId;
use crate::types::{TrackKind, TrackSource};

/// Turns the bytes of one direction of a link back into messages, in the order they were encoded.
#[derive(Debug, Default)]
pub struct RelayDecoder {
    pub(super) params: ParamsTable,
}

impl RelayDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    pub(crate) fn with_params_cap(cap: usize) -> Self {
        let mut d = Self::new();
        d.params.cap = cap;
        d
    }

    /// One message's bytes. `now` is the packet's arrival on this machine's clock.
    pub fn decode(&mut self, bytes: &[u8], now: Instant) -> Result<RelayMessage, WireError> {
        let mut r = Reader { rest: bytes };
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(WireError::UnknownVersion(version));
        }
        let mut update = None;
        let msg = match r.u8("type")? {
            T_PUBLISH => read_publish(&mut r)?,
            T_UNPUBLISH => Msg::Unpublish {
                publisher: r.u32("publisher")?,
                mid: r.mid()?,
            },
            T_LEFT => Msg::Left {
                publisher: r.u32("publisher")?,
            },
            T_PACKET => {
                let (msg, u) = self.read_packet(&mut r, now)?;
                update = u;
                msg
            }
            T_LAYERS => read_layers(&mut r)?,
            T_DEMAND => {
                let (publisher, mid) = (r.u32("publisher")?, r.mid()?);
                let n = r.count("demanded layers")?;
                let mut layers = Vec::with_capacity(n);
                for _ in 0..n {
                    layers.push(r.layer()?);
                }
                Msg::Demand {
                    publisher,
                    mid,
                    layers,
                }
            }
            T_KEYFRAME => Msg::KeyframeRequest {
                publisher: r.u32("publisher")?,
                mid: r.mid()?,
                layer: r.layer()?,
            },
            other => return Err(WireError::UnknownType(other)),
        };
        r.end()?;
        // Only a whole, valid message changes the table: a refused one leaves it as it was.
        if let Some((key, params, reset)) = update {
            self.params.insert(key, params, reset);
        }
        self.params.forget(&msg);
        Ok(RelayMessage(msg))
    }

    /// A packet, and the parameter set it brings (to remember once the whole message is read).
    fn read_packet(
        &self,
        r: &mut Reader<'_>,
        now: Instant,
    ) -> Result<(Msg, Option<ParamsUpdate>), WireError> {
        let (publisher, mid, rid) = (r.u32("publisher")?, r.mid()?, r.layer()?);
        let flags = r.u8("packet flags")?;
        let inconsistent = (flags & VOICE != 0 && flags & VOICE_KNOWN == 0)
            || (flags & RESET != 0 && flags & PARAMS == 0);
        if flags & !PACKET_FLAGS != 0 || inconsistent {
            return Err(bad("packet flags", flags));
        }
        let seq = r.u64("sequence number")?;
        let numer = r.u64("RTP time")?;
        // str0m extends these from 16 and 32 bits, forwards or back past 0, so they stay far
        // from 2^62 either side of 0 as i64 (the rewriting's arithmetic on them is signed).
        for (what, v) in [("sequence number", seq), ("RTP time", numer)] {
            if (v as i64).unsigned_abs() >= 1 << 62 {
                return Err(bad(what, v as i64));
            }
        }
        let hz = r.u32("clock rate")?;
        let clock = Frequency::new(hz)
            .filter(|f| f.get() <= MAX_CLOCK_HZ)
            .ok_or_else(|| bad("clock rate", hz))?;
        let audio_level = match flags & LEVEL {
            0 => None,
            // -dBov, as str0m reads it from the header extension.
            _ => match i8::from_be_bytes([r.u8("audio level")?]) {
                l @ -127..=0 => Some(l),
                l => return Err(bad("audio level", l)),
            },
        };
        let key = (publisher, mid);
        let (params, update) = if flags & PARAMS != 0 {
            let params = read_params(r)?;
            let reset = flags & RESET != 0;
            if !reset && self.params.full_for(&key) {
                return Err(WireError::ParamsTableFull(self.params.cap));
            }
            (params, Some((key, params, reset)))
        } else {
            let known = self.params.map.get(&key).copied();
            let params = known.ok_or_else(|| WireError::UnknownParams {
                publisher,
                mid: mid.to_string(),
            })?;
            (params, None)
        };
        let len = r.u32("payload length")?;
        let payload = r.bytes(len as usize, MAX_PAYLOAD, "payload")?;
        let info = packet::inspect(params.spec().codec, payload);
        let packet = InPacket {
            mid,
            rid,
            params,
            seq: seq.into(),
            time: MediaTime::new(numer, clock),
            marker: flags & MARKER != 0,
            audio_level,
            voice_activity: (flags & VOICE_KNOWN != 0).then_some(flags & VOICE != 0),
            arrival: now,
            payload: Arc::from(payload),
            keyframe_start: info.keyframe_start,
            vp8: info.vp8,
        };
        let packet = Box::new(packet);
        Ok((Msg::Packet { publisher, packet }, update))
    }
}

fn read_publish(r: &mut Reader<'_>) -> Result<Msg, WireError> {
    let room = RoomId::new(r.str(MAX_ROOM, "room")?);
    let publisher = r.u32("publisher")?;
    let id = ParticipantId::new(r.str(MAX_ID, "participant")?);
    let track = TrackId::new(r.str(MAX_ID, "track")?);
    let mid = r.mid()?;
    let kind = match r.u8("kind")? {
        0 => TrackKind::Audio,
        1 => TrackKind::Video,
        k => return Err(bad("track kind", k)),
    };
    let source = match r.u8("source")? {
        0 => TrackSource::Microphone,
        1 => TrackSource::Camera,
        2 => TrackSource::Screen,
        3 => TrackSource::ScreenAudio,
        s => return Err(bad("track source", s)),
    };
    let n = r.count("rids")?;
    let mut rids = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.u8("rid")?;
        rids.push(Rid::from(r.id(len, MAX_RID, "rid")?));
    }
    Ok(Msg::Publish {
        room,
        publisher,
        id,
        track,
        mid,
        kind,
        source,
        rids,
    })
}

fn read_layers(r: &mut Reader<'_>) -> Result<Msg, WireError> {
    let (publisher, mid) = (r.u32("publisher")?, r.mid()?);
    let n = r.count("layers")?;
    let mut layers = Vec::with_capacity(n);
    for _ in 0..n {
        let rid = r.layer()?;
        let bitrate_bps = r.u64("bitrate")?;
        let peak_bps = r.u64("peak bitrate")?;
        let flags = r.u8("layer flags")?;
        if flags & !(SIZE | AVAILABLE) != 0 {
            return Err(bad("layer flags", flags));
        }
        let size = match flags & SIZE {
            0 => None,
            _ => Some((r.u32("width")?, r.u32("height")?)),
        };
        layers.push(LayerInfo {
            rid,
            bitrate_bps,
            peak_bps,
            size,
            available: flags & AVAILABLE != 0,
        });
    }
    Ok(Msg::Layers {
        publisher,
        mid,
        layers,
    })
}

fn read_params(r: &mut Reader<'_>) -> Result<PayloadParams, WireError> {
    let len = r.u16("codec parameters")?;
    let json = r.bytes(len.into(), MAX_PARAMS_JSON, "codec parameters")?;
    let params: PayloadParams =
        serde_json::from_slice(json).map_err(|e| WireError::BadParams(e.to_string()))?;
    // RTP payload types are 7 bits.
    for pt in [Some(params.pt()), params.resend(), params.red()]
        .into_iter()
        .flatten()
    {
        if *pt > 127 {
            return Err(bad("payload type", *pt));
        }
    }
    Ok(params)
}

fn bad(what: &'static str, value: impl Into<i64>) -> WireError {
    WireError::BadValue {
        what,
        value: value.into(),
    }
}

/// The bytes of one message, read from the front; every read checks that they are there.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if self.rest.len() < n {
            return Err(WireError::Truncated(what));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// `len` bytes, checked against `limit` before anything is taken.
    fn bytes(
        &mut self,
        len: usize,
        limit: usize,
        what: &'static str,
    ) -> Result<&'a [u8], WireError> {
        if len > limit {
            return Err(WireError::TooLong { what, len, limit });
        }
        self.take(len, what)
    }

    fn str(&mut self, limit: usize, what: &'static str) -> Result<&'a str, WireError> {
        let len = self.u16(what)?;
        let b = self.bytes(len.into(), limit, what)?;
        std::str::from_utf8(b).map_err(|_| WireError::NotUtf8(what))
    }

    /// A mid's or rid's characters: only those `Mid::from` and `Rid::from` keep as they are, so
    /// that the id made is the one sent.
    fn id(&mut self, len: u8, limit: usize, what: &'static str) -> Result<&'a str, WireError> {
        let b = self.bytes(len.into(), limit, what)?;
        if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_') {
            return Err(WireError::BadId(what));
        }
        std::str::from_utf8(b).map_err(|_| WireError::NotUtf8(what))
    }

    fn mid(&mut self) -> Result<Mid, WireError> {
        let len = self.u8("mid")?;
        Ok(Mid::from(self.id(len, MAX_MID, "mid")?))
    }

    fn layer(&mut self) -> Result<LayerId, WireError> {
        match self.u8("layer")? {
            0 => Ok(None),
            n => Ok(Some(Rid::from(self.id(n - 1, MAX_RID, "rid")?))),
        }
    }

    fn count(&mut self, what: &'static str) -> Result<usize, WireError> {
        let count = usize::from(self.u8(what)?);
        if count > MAX_LAYERS {
            return Err(WireError::TooMany {
                what,
                count,
                limit: MAX_LAYERS,
            });
        }
        Ok(count)
    }

    fn end(self) -> Result<(), WireError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(WireError::TrailingBytes(n)),
        }
    }
}
