//! The picture size of a VP9 keyframe, from its uncompressed header (VP9 bitstream spec §6.2:
//! frame marker, profile, frame type, sync code, colour config, then 16-bit width-1 and height-1).
//!
//! A superframe (several frames, index at the end) starts with its first frame, so the header read
//! here is the first frame's: with spatial layers (SVC) that is the base layer's size.

use crate::bits::BitReader;
use crate::spec::FrameSize;

const SYNC_CODE: u32 = 0x49_83_42;
const CS_RGB: u32 = 7;

pub(crate) fn keyframe_size(data: &[u8]) -> Result<FrameSize, &'static str> {
    parse(&mut BitReader::new(data))?.ok_or("vp9 header truncated")
}

fn parse(r: &mut BitReader<'_>) -> Result<Option<FrameSize>, &'static str> {
    let Some(marker) = r.bits(2) else {
        return Ok(None);
    };
    if marker != 2 {
        return Err("vp9 frame marker missing");
    }
    let (Some(low), Some(high)) = (r.bit(), r.bit()) else {
        return Ok(None);
    };
    let profile = (high << 1) | low;
    if profile == 3 && r.bit().is_none() {
        return Ok(None);
    }
    match r.flag() {
        Some(true) => return Err("vp9 show-existing-frame is not a keyframe"),
        Some(false) => {}
        None => return Ok(None),
    }
    match r.bit() {
        Some(0) => {}
        Some(_) => return Err("vp9 frame type says inter frame"),
        None => return Ok(None),
    }
    // show_frame, error_resilient_mode
    if r.bits(2).is_none() {
        return Ok(None);
    }
    match r.bits(24) {
        Some(SYNC_CODE) => {}
        Some(_) => return Err("vp9 keyframe sync code missing"),
        None => return Ok(None),
    }
    if skip_color_config(r, profile).is_none() {
        return Ok(None);
    }
    let (Some(w), Some(h)) = (r.bits(16), r.bits(16)) else {
        return Ok(None);
    };
    Ok(Some(FrameSize {
        width: w + 1,
        height: h + 1,
    }))
}

fn skip_color_config(r: &mut BitReader<'_>, profile: u32) -> Option<()> {
    if profile >= 2 {
        r.bit()?; // ten_or_twelve_bit
    }
    let color_space = r.bits(3)?;
    let subsampling_signalled = profile == 1 || profile == 3;
    if color_space != CS_RGB {
        r.bit()?; // color_range
        if subsampling_signalled {
            r.bits(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if subsampling_signalled {
        r.bit()?; // reserved_zero
    }
    Some(())
}

/// The first bytes of a VP9 profile-0 keyframe of the given size (for tests and synthesised frames).
pub fn keyframe_header(size: FrameSize) -> [u8; 10] {
    // Bits: marker 10, profile 00, show_existing 0, type 0 (key), show 1, error_res 0, sync code
    // (24 bits), color_space 3 bits = 1 (BT.601), color_range 0, width-1 (16), height-1 (16).
    let mut bits: u128 = 0;
    let mut n = 0;
    let mut push = |v: u128, len: u32| {
        bits = (bits << len) | v;
        n += len;
    };
    push(0b10, 2);
    push(0b00, 2);
    push(0, 1);
    push(0, 1);
    push(1, 1);
    push(0, 1);
    push(u128::from(SYNC_CODE), 24);
    push(1, 3);
    push(0, 1);
    push(u128::from(size.width - 1), 16);
    push(u128::from(size.height - 1), 16);
    let total = 80;
    bits <<= total - n;
    let bytes = bits.to_be_bytes();
    let mut out = [0u8; 10];
    out.copy_from_slice(&bytes[16 - 10..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_profile_0_keyframe_size() {
        let size = FrameSize {
            width: 640,
            height: 360,
        };
        assert_eq!(keyframe_size(&keyframe_header(size)), Ok(size));
    }

    #[test]
    fn refuses_inter_frames_and_truncation() {
        let mut h = keyframe_header(FrameSize {
            width: 320,
            height: 240,
        });
        assert!(keyframe_size(&h[..5]).is_err());
        h[0] |= 0b0000_0100; // frame_type bit
        assert!(keyframe_size(&h).is_err());
        assert!(keyframe_size(&[0x00, 0, 0]).is_err());
    }
}
