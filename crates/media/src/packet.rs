//! An RTP packet as the SFU forwards it: parsed once on ingress, shared by every subscriber.
//!
//! The core forwards packets, not frames (str0m's RTP mode): nothing is depacketized or
//! re-packetized per subscriber. What the forwarding decisions need from the payload — is this
//! the first packet of a keyframe, the VP8 picture ids to keep continuous across simulcast
//! switches, the resolution — is read here, once per packet.

use std::sync::Arc;
use std::time::Instant;

use str0m::format::{Codec, PayloadParams};
use str0m::media::{MediaTime, Mid};
use str0m::rtp::{SeqNo, Vp8Descriptor};

use crate::simulcast::LayerId;

/// One incoming media packet of a published track.
#[derive(Debug, Clone)]
pub(crate) struct InPacket {
    pub mid: Mid,
    pub rid: LayerId,
    /// The publisher's payload type and codec; each subscriber maps it to its own PT.
    pub params: PayloadParams,
    /// Extended sequence number and RTP time (no wrap-around to handle).
    pub seq: SeqNo,
    pub time: MediaTime,
    pub marker: bool,
    /// Audio level (-dBov) and voice activity, from the header extension.
    pub audio_level: Option<i8>,
    pub voice_activity: Option<bool>,
    /// When the packet arrived: the wallclock of its RTP time for the subscribers' streams.
    pub arrival: Instant,
    pub payload: Arc<[u8]>,
    /// The first packet of a keyframe: a subscriber may start (or switch layers) here.
    pub keyframe_start: bool,
    /// For VP8: the payload descriptor fields a subscriber's rewriter may patch.
    pub vp8: Option<Vp8Ids>,
}

/// The VP8 payload descriptor (RFC 7741 §4.2) of one packet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vp8Ids {
    /// str0m's parse of the same bytes; it builds the byte patch for a rewritten id.
    pub descriptor: Vp8Descriptor,
    /// PictureID and whether it is the 15-bit form.
    pub picture_id: Option<(u16, bool)>,
    pub tl0_pic_idx: Option<u8>,
}

/// Bytes 3..6 of every VP8 keyframe (RFC 6386 §9.1).
const VP8_KEYFRAME_START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

/// What the payload says, codec by codec.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PayloadInfo {
    pub keyframe_start: bool,
    /// Width and height, when this packet starts a VP8 keyframe.
    pub size: Option<(u32, u32)>,
    /// For VP8: the descriptor's ids.
    pub vp8: Option<Vp8Ids>,
}

/// Read the first-packet-of-keyframe flag (and, for VP8, the frame size and the descriptor's
/// ids) from a payload.
pub(crate) fn inspect(codec: Codec, payload: &[u8]) -> PayloadInfo {
    match codec {
        Codec::Vp8 => vp8_info(payload),
        Codec::H264 => PayloadInfo {
            keyframe_start: h264_keyframe_start(payload),
            ..Default::default()
        },
        Codec::Vp9 => PayloadInfo {
            keyframe_start: vp9_keyframe_start(payload),
            ..Default::default()
        },
        Codec::Av1 => PayloadInfo {
            // Aggregation header Z|Y|W|W|N|-|-|-: N starts a new coded video sequence.
            keyframe_start: payload.first().is_some_and(|b| b & 0x08 != 0),
            ..Default::default()
        },
        _ => PayloadInfo::default(),
    }
}

/// The VP8 payload descriptor's length and ids.
struct Vp8Header {
    len: usize,
    picture_id: Option<(u16, bool)>,
    tl0_pic_idx: Option<u8>,
}

/// Parse the VP8 payload descriptor; `None` if truncated.
fn vp8_descriptor(payload: &[u8]) -> Option<Vp8Header> {
    let b0 = *payload.first()?;
    let mut i = 1;
    let mut picture_id = None;
    let mut tl0 = None;
    if b0 & 0x80 != 0 {
        let x = *payload.get(i)?;
        i += 1;
        if x & 0x80 != 0 {
            let m = *payload.get(i)?;
            if m & 0x80 != 0 {
                let lo = *payload.get(i + 1)?;
                picture_id = Some(((u16::from(m & 0x7f) << 8) | u16::from(lo), true));
                i += 2;
            } else {
                picture_id = Some((u16::from(m), false));
                i += 1;
            }
        }
        if x & 0x40 != 0 {
            tl0 = Some(*payload.get(i)?);
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    (i < payload.len()).then_some(Vp8Header {
        len: i,
        picture_id,
        tl0_pic_idx: tl0,
    })
}

fn vp8_info(payload: &[u8]) -> PayloadInfo {
    let Some(Vp8Header {
        len,
        picture_id,
        tl0_pic_idx,
    }) = vp8_descriptor(payload)
    else {
        return PayloadInfo::default();
    };
    // S (start of partition) with partition index 0 starts a frame; P = 0 in the frame tag
    // makes it a keyframe (RFC 6386 §9.1).
    let start = payload[0] & 0x10 != 0 && payload[0] & 0x07 == 0;
    let frame = &payload[len..];
    let keyframe_start = start && frame[0] & 0x01 == 0;
    PayloadInfo {
        keyframe_start,
        size: if keyframe_start {
            vp8_keyframe_size(frame)
        } else {
            None
        },
        vp8: Vp8Descriptor::parse(payload).ok().map(|descriptor| Vp8Ids {
            descriptor,
            picture_id,
            tl0_pic_idx,
        }),
    }
}

/// Width and height from a VP8 keyframe header (RFC 6386 §9.1), if `frame` is one.
fn vp8_keyframe_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != VP8_KEYFRAME_START_CODE {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((u32::from(w), u32::from(h)))
}

/// The ids of a VP8 packet's descriptor.
#[cfg(test)]
pub(crate) fn vp8_ids(payload: &[u8]) -> Option<Vp8Ids> {
    vp8_info(payload).vp8
}

/// H.264 (RFC 6184): an SPS, or the start of an IDR slice, in a single NAL unit, a STAP-A or
/// the first fragment of an FU-A. Browsers send SPS and PPS ahead of every IDR, so the SPS is
/// where a decoder can start.
fn h264_keyframe_start(payload: &[u8]) -> bool {
    const IDR: u8 = 5;
    const SPS: u8 = 7;
    let Some(&b0) = payload.first() else {
        return false;
    };
    match b0 & 0x1f {
        t @ 1..=23 => t == SPS || t == IDR,
        24 => {
            // STAP-A: (16-bit size, NAL unit) repeated.
            let mut i = 1;
            while let (Some(&hi), Some(&lo)) = (payload.get(i), payload.get(i + 1)) {
                let size = usize::from(u16::from_be_bytes([hi, lo]));
                if let Some(&h) = payload.get(i + 2) {
                    let t = h & 0x1f;
                    if t == SPS || t == IDR {
                        return true;
                    }
                }
                i += 2 + size;
            }
            false
        }
        28 => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && (fu & 0x1f == IDR || fu & 0x1f == SPS)),
        _ => false,
    }
}

/// VP9 (RFC 9628): an intra-coded (P = 0) frame's first packet (B = 1) in spatial layer 0.
fn vp9_keyframe_start(payload: &[u8]) -> bool {
    let Some(&b0) = payload.first() else {
        return false;
    };
    let inter = b0 & 0x40 != 0;
    let begin = b0 & 0x08 != 0;
    if inter || !begin {
        return false;
    }
    if b0 & 0x20 == 0 {
        return true;
    }
    // L: the layer indices follow the picture id; only spatial layer 0 can start a decoder.
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let Some(&m) = payload.get(i) else {
            return false;
        };
        i += if m & 0x80 != 0 { 2 } else { 1 };
    }
    payload.get(i).is_some_and(|l| (l >> 1) & 0x07 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8 packet: descriptor with a 15-bit picture id and TL0PICIDX, then a frame tag.
    fn vp8(start: bool, keyframe: bool, picture_id: u16) -> Vec<u8> {
        let mut p = vec![
            0x80 | if start { 0x10 } else { 0 },
            0x80 | 0x40 | 0x20,
            0x80 | (picture_id >> 8) as u8,
            picture_id as u8,
            7,
            0,
        ];
        // Frame tag (P bit), then the keyframe start code and a 640x360 size.
        p.extend_from_slice(&[if keyframe { 0x10 } else { 0x11 }, 0, 0]);
        p.extend_from_slice(&[0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
        p
    }

    #[test]
    fn vp8_keyframe_start_and_size() {
        let info = inspect(Codec::Vp8, &vp8(true, true, 300));
        assert!(info.keyframe_start);
        assert_eq!(info.size, Some((640, 360)));
        // A later packet of the same keyframe, or a delta frame, is no start.
        assert!(!inspect(Codec::Vp8, &vp8(false, true, 300)).keyframe_start);
        assert!(!inspect(Codec::Vp8, &vp8(true, false, 300)).keyframe_start);
    }

    #[test]
    fn vp8_ids_are_read() {
        let ids = vp8_ids(&vp8(true, false, 0x1234)).expect("valid descriptor");
        assert_eq!(ids.picture_id, Some((0x1234, true)));
        assert_eq!(ids.tl0_pic_idx, Some(7));
        // 7-bit form, no TL0PICIDX.
        let ids = vp8_ids(&[0x90, 0x80, 0x05, 0x10]).expect("valid descriptor");
        assert_eq!(ids.picture_id, Some((5, false)));
        assert_eq!(ids.tl0_pic_idx, None);
    }

    #[test]
    fn truncated_payloads_are_no_keyframes() {
        for p in [&[][..], &[0x90], &[0x90, 0x80], &[0x90, 0x80, 0x85]] {
            assert!(!inspect(Codec::Vp8, p).keyframe_start);
            assert!(vp8_ids(p).is_none());
            assert!(!inspect(Codec::H264, p).keyframe_start);
            assert!(!inspect(Codec::Vp9, p).keyframe_start);
        }
    }

    #[test]
    fn h264_sps_idr_and_fragments() {
        assert!(inspect(Codec::H264, &[0x67, 0x42]).keyframe_start); // SPS
        assert!(inspect(Codec::H264, &[0x65, 0x88]).keyframe_start); // IDR slice
        assert!(!inspect(Codec::H264, &[0x41, 0x9a]).keyframe_start); // non-IDR slice
                                                                      // STAP-A holding SPS and PPS.
        let stap = [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce];
        assert!(inspect(Codec::H264, &stap).keyframe_start);
        // FU-A: the first fragment of an IDR starts, a later one does not.
        assert!(inspect(Codec::H264, &[0x7c, 0x85, 0x00]).keyframe_start);
        assert!(!inspect(Codec::H264, &[0x7c, 0x05, 0x00]).keyframe_start);
        // A STAP-A whose sizes run past its end is read safely.
        assert!(!inspect(Codec::H264, &[0x78, 0xff, 0xff, 0x41]).keyframe_start);
    }

    #[test]
    fn vp9_and_av1_keyframes() {
        assert!(inspect(Codec::Vp9, &[0x08, 0x00]).keyframe_start); // P=0, B=1
        assert!(!inspect(Codec::Vp9, &[0x48, 0x00]).keyframe_start); // inter
        assert!(!inspect(Codec::Vp9, &[0x00, 0x00]).keyframe_start); // not the first packet
                                                                     // With layer indices: spatial layer 1 is no start.
        assert!(!inspect(Codec::Vp9, &[0xa8, 0x01, 0x02]).keyframe_start);
        assert!(inspect(Codec::Vp9, &[0xa8, 0x01, 0x00]).keyframe_start);
        assert!(inspect(Codec::Av1, &[0x18]).keyframe_start);
        assert!(!inspect(Codec::Av1, &[0x10]).keyframe_start);
    }
}
