//! A frame's packets to the codec's bitstream, as a file stores it.
//!
//! VP8 and H.264 use str0m's depacketizers (its `unversioned` API: the version is pinned in
//! Cargo.lock, and the tests below catch a change of behaviour). str0m does not export its VP9 and
//! AV1 ones, so those two are ours: VP9 only strips the payload descriptor (RFC 9628 §4.2); AV1
//! rebuilds the OBUs with their size fields (the "low overhead bitstream format" that Matroska and
//! WebM store, from the AV1 RTP specification §4.4–4.5). Opus packets are frames as they are.

use str0m::format::{Codec, CodecExtra};
use str0m::unversioned::{Depacketizer, H264Depacketizer, Vp8Depacketizer};

use super::assemble::Held;

/// The payload of a packet could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

#[derive(Debug)]
pub(crate) enum Depack {
    Opus,
    Vp8(Vp8Depacketizer),
    Vp9,
    Av1,
    H264(H264Depacketizer),
}

impl Depack {
    /// None for a codec the recorder does not store.
    pub(crate) fn for_codec(codec: Codec) -> Option<Self> {
        Some(match codec {
            Codec::Opus => Depack::Opus,
            Codec::Vp8 => Depack::Vp8(Vp8Depacketizer::default()),
            Codec::Vp9 => Depack::Vp9,
            Codec::Av1 => Depack::Av1,
            Codec::H264 => Depack::H264(H264Depacketizer::default()),
            _ => return None,
        })
    }

    /// One frame from its packets, in order.
    pub(crate) fn frame(&mut self, packets: &[Held]) -> Result<Vec<u8>, Malformed> {
        let size: usize = packets.iter().map(|p| p.payload.len()).sum();
        let mut out = Vec::with_capacity(size + 16);
        match self {
            Depack::Opus => packets
                .iter()
                .for_each(|p| out.extend_from_slice(&p.payload)),
            Depack::Vp8(d) => library(d, packets, &mut out)?,
            Depack::H264(d) => library(d, packets, &mut out)?,
            Depack::Vp9 => {
                for p in packets {
                    let skip = vp9_descriptor_len(&p.payload).ok_or(Malformed)?;
                    out.extend_from_slice(&p.payload[skip..]);
                }
            }
            Depack::Av1 => av1_frame(packets, &mut out)?,
        }
        Ok(out)
    }
}

fn library(
    d: &mut impl Depacketizer,
    packets: &[Held],
    out: &mut Vec<u8>,
) -> Result<(), Malformed> {
    let mut extra = CodecExtra::None;
    for p in packets {
        d.depacketize(&p.payload, out, &mut extra)
            .map_err(|_| Malformed)?;
    }
    Ok(())
}

/// Length of a VP9 payload descriptor (RFC 9628 §4.2), None when the payload is shorter.
pub(crate) fn vp9_descriptor_len(b: &[u8]) -> Option<usize> {
    let first = *b.first()?;
    let (i, p, l, f, v) = (
        first & 0x80 != 0,
        first & 0x40 != 0,
        first & 0x20 != 0,
        first & 0x10 != 0,
        first & 0x02 != 0,
    );
    let mut at = 1;
    let byte = |at: usize| b.get(at).copied();
    if i {
        let m = byte(at)? & 0x80 != 0;
        at += if m { 2 } else { 1 };
    }
    if l {
        at += 1;
        if !f {
            at += 1; // TL0PICIDX
        }
    }
    if f && p {
        // Up to three reference indices, each with a "more follow" bit.
        for _ in 0..3 {
            let more = byte(at)? & 0x01 != 0;
            at += 1;
            if !more {
                break;
            }
        }
    }
    if v {
        let ss = byte(at)?;
        at += 1;
        let spatial = usize::from(ss >> 5) + 1;
        if ss & 0x10 != 0 {
            at += 4 * spatial;
        }
        if ss & 0x08 != 0 {
            let groups = byte(at)?;
            at += 1;
            for _ in 0..groups {
                let refs = usize::from((byte(at)? >> 2) & 0x03);
                at += 1 + refs;
            }
        }
    }
    (at <= b.len()).then_some(at)
}

/// OBU types the stored stream leaves out (the AV1-in-Matroska mapping removes them).
const OBU_TEMPORAL_DELIMITER: u8 = 2;
const OBU_TILE_LIST: u8 = 8;

/// A temporal unit from its packets: OBU elements (fragments joined across packets) rewritten with
/// size fields.
fn av1_frame(packets: &[Held], out: &mut Vec<u8>) -> Result<(), Malformed> {
    let mut obu: Vec<u8> = Vec::new();
    for (n, p) in packets.iter().enumerate() {
        let b = &p.payload[..];
        let agg = *b.first().ok_or(Malformed)?;
        let (z, y, w) = (
            agg & 0x80 != 0,
            agg & 0x40 != 0,
            usize::from((agg >> 4) & 0x03),
        );
        if z != (n > 0 && !obu.is_empty()) {
            // A continuation with nothing to continue, or a fragment left unfinished.
            return Err(Malformed);
        }
        let mut at = 1;
        let mut element = 0;
        while at < b.len() {
            element += 1;
            let last = w != 0 && element == w;
            let len = if last {
                b.len() - at
            } else {
                let (len, used) = leb128(&b[at..]).ok_or(Malformed)?;
                at += used;
                usize::try_from(len).map_err(|_| Malformed)?
            };
            let end = at
                .checked_add(len)
                .filter(|e| *e <= b.len())
                .ok_or(Malformed)?;
            obu.extend_from_slice(&b[at..end]);
            at = end;
            let fragment_continues = y && at == b.len();
            if !fragment_continues {
                write_obu(&obu, out)?;
                obu.clear();
            }
            if last {
                break;
            }
        }
    }
    if obu.is_empty() {
        Ok(())
    } else {
        Err(Malformed)
    }
}

/// One whole OBU, with `obu_has_size_field` set and its size written.
fn write_obu(obu: &[u8], out: &mut Vec<u8>) -> Result<(), Malformed> {
    let header = *obu.first().ok_or(Malformed)?;
    let kind = (header >> 3) & 0x0f;
    if kind == OBU_TEMPORAL_DELIMITER || kind == OBU_TILE_LIST {
        return Ok(());
    }
    let header_len = if header & 0x04 != 0 { 2 } else { 1 };
    if obu.len() < header_len {
        return Err(Malformed);
    }
    if header & 0x02 != 0 {
        // Already sized (allowed, though the RTP mapping recommends against it).
        out.extend_from_slice(obu);
        return Ok(());
    }
    out.push(header | 0x02);
    out.extend_from_slice(&obu[1..header_len]);
    write_leb128((obu.len() - header_len) as u64, out);
    out.extend_from_slice(&obu[header_len..]);
    Ok(())
}

/// An unsigned LEB128 value and the bytes it took (at most 8, as AV1 allows).
fn leb128(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, byte) in b.iter().take(8).enumerate() {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn write_leb128(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
#[path = "depacketize_tests.rs"]
mod tests;
